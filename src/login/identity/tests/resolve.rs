//! `resolve` end to end on SQLite: linking, provisioning, invitations, role mapping,
//! eligibility, and a first sign-in that fails midway leaving nothing behind.

use super::*;

#[tokio::test]
async fn jit_then_the_same_external_identity_is_the_same_user() {
    let fx = fixture(true).await;
    let mut i = ident(&fx.conn, "sub-1", "Alice@ACME.test", true);
    i.groups = vec!["sales-team".into(), "unknown".into()];
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
        .await
        .unwrap();
    assert_eq!(r.via, Via::Jit);
    assert_eq!(r.org.id.as_str(), "acme");
    assert_eq!(r.user.email.as_str(), "alice@acme.test");
    assert!(r.user.email_verified);
    assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
    let again = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
    assert_eq!(again.via, Via::Existing);
    assert_eq!(again.user.id, r.user.id);
    let ev = audits(&fx.st, "login.federated").await;
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e.outcome == Outcome::Success));
    // Audit ids order by millisecond only (ULID), so both events may share one: compare
    // as a set.
    let mut via: Vec<_> = ev.iter().map(|e| e.details["via"].clone()).collect();
    via.sort_by_key(|v| v.to_string());
    assert_eq!(via, ["existing", "jit"]);
}

#[tokio::test]
async fn unverified_or_missing_email_never_provisions() {
    let fx = fixture(true).await;
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "bob@acme.test", false),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::EmailNotVerified), "{e:?}");
    let mut i = ident(&fx.conn, "s", "x", true);
    i.email = None;
    let e = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err();
    assert!(matches!(e, IdentityError::MissingEmail));
    let mut i = ident(&fx.conn, "s", "not an email", true);
    i.email = Some("not an email".into());
    assert!(matches!(
        resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err(),
        IdentityError::MissingEmail
    ));
    assert_eq!(user_count(&fx.st).await, 0);
    let ev = audits(&fx.st, "login.federated").await;
    assert_eq!(ev.len(), 3);
    assert!(ev.iter().all(|e| e.outcome == Outcome::Denied));
    // Order within one millisecond is not defined (ULID ids): compare as a set.
    let mut reasons: Vec<_> = ev.iter().map(|e| e.details["reason"].clone()).collect();
    reasons.sort_by_key(|v| v.to_string());
    assert_eq!(
        reasons,
        ["email_missing", "email_missing", "email_not_verified"]
    );
}

#[tokio::test]
async fn an_email_match_alone_never_links_to_an_existing_user() {
    let fx = fixture(true).await;
    let s = fx.st.storage.as_ref();
    let existing = User {
        id: UserId::parse("u-pw").unwrap(),
        email: Email::parse("alice@acme.test").unwrap(),
        email_verified: true,
        name: None,
        password_hash: None,
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    };
    s.create_user(&existing).await.unwrap();
    let r = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s1", "alice@acme.test", true),
    )
    .await
    .unwrap();
    assert_ne!(r.user.id, existing.id);
    // A second IdP asserting the same email is yet another user.
    let mut i = ident(&fx.conn, "s2", "alice@acme.test", true);
    i.issuer = "https://other-issuer.test".into();
    let r2 = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
    assert_ne!(r2.user.id, r.user.id);
    assert_eq!(user_count(&fx.st).await, 3);
}

#[tokio::test]
async fn no_jit_and_no_invitation_is_no_access() {
    let fx = fixture(false).await;
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "bob@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::NotProvisioned));
    assert_eq!(user_count(&fx.st).await, 0);
}

#[tokio::test]
async fn invitations_are_redeemed_once_in_their_own_org_for_their_own_email() {
    let fx = fixture(false).await;
    let (inv, token) = invite(&fx, "acme", "carol@acme.test").await;
    let with = |sub: &str, email: &str, tok: &str| {
        let mut i = ident(&fx.conn, sub, email, true);
        i.invitation_token = Some(Secret::new(tok));
        i
    };
    // Another email: refused, invitation untouched, nothing created.
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        with("s0", "mallory@acme.test", &token),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::InvitationEmailMismatch));
    assert_eq!(user_count(&fx.st).await, 0);
    // Unverified email: refused even with the token.
    let mut i = with("s0", "carol@acme.test", &token);
    i.email_verified = false;
    assert!(matches!(
        resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err(),
        IdentityError::EmailNotVerified
    ));
    let mut i = with("s1", "carol@acme.test", &token);
    i.groups = vec!["sales-team".into()];
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
    assert_eq!(r.via, Via::Invitation);
    // The invitation's roles, except those the IdP's groups manage (finance is mapped from
    // a group carol is not in), plus the mapped ones.
    assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
    assert!(r.membership.org_roles.contains(&OrgRole::MemberAdmin));
    let stored = fx
        .st
        .storage
        .get_invitation(&inv.org_id, &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, InvitationStatus::Accepted);
    // Used once: a second person with the same link gets nothing.
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        with("s2", "carol@acme.test", &token),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::InvitationInvalid));
    assert_eq!(user_count(&fx.st).await, 1);
    // An invitation of globex cannot be redeemed through acme's IdP.
    let (_, gtoken) = invite(&fx, "globex", "dave@acme.test").await;
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        with("s3", "dave@acme.test", &gtoken),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::InvitationWrongOrg));
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        with("s4", "dave@acme.test", "bogus"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::InvitationInvalid));
    assert_eq!(user_count(&fx.st).await, 1);
}

#[tokio::test]
async fn a_connection_signs_users_into_its_own_org_only() {
    let fx = fixture(true).await;
    // An identity that arrived on globex's connection cannot be resolved against acme's.
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.other_conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::WrongConnection));
    // globex's IdP asserting an acme address: not an email globex's IdP may vouch for (the
    // one rule of `email.rs`), so no JIT into globex; flagged in the audit log; nobody created.
    let e = resolve_now(
        &fx.st,
        &fx.other_conn,
        &fx.app,
        ident(&fx.other_conn, "s", "ceo@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::EmailNotVerified), "{e:?}");
    let flagged = audits(&fx.st, "identity.email_foreign_domain").await;
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].details["verified_by_org"], "acme");
    assert_eq!(flagged[0].org_id.as_ref().unwrap().as_str(), "globex");
    assert_eq!(user_count(&fx.st).await, 0);
}

#[tokio::test]
async fn inactive_connection_org_or_membership_is_refused() {
    let fx = fixture(true).await;
    let s = fx.st.storage.as_ref();
    let r = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap();
    let mut m = r.membership.clone();
    m.status = MemberStatus::Suspended;
    s.update_membership(&m).await.unwrap();
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::MembershipInactive));
    let mut c = fx.conn.clone();
    c.state = ConnectionState::Disabled;
    let e = resolve_now(
        &fx.st,
        &c,
        &fx.app,
        ident(&fx.conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::ConnectionInactive));
    let mut o = s.get_org(&fx.conn.org_id).await.unwrap().unwrap();
    o.status = OrgStatus::Suspended;
    s.update_org(&o).await.unwrap();
    let e = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, IdentityError::OrgInactive));
}

#[tokio::test]
async fn mapped_roles_follow_the_idp_groups_and_keep_admin_grants() {
    let fx = fixture(true).await;
    let s = fx.st.storage.as_ref();
    let mut i = ident(&fx.conn, "s", "a@acme.test", true);
    i.groups = vec!["finance-team".into()];
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
        .await
        .unwrap();
    // `admin` is mapped but outside acme's allowed role groups.
    assert_eq!(r.roles, vec![rv("finance"), rv("viewer")]);
    // The IdP moves the user to sales: finance (managed) goes, viewer (a default, not
    // managed) stays.
    i.groups = vec!["sales-team".into()];
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
        .await
        .unwrap();
    assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
    let stored = s
        .get_membership(&fx.conn.org_id, &r.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.roles[&fx.app.id], [rv("sales"), rv("viewer")].into());
    assert_eq!(audits(&fx.st, "member.roles_sync").await.len(), 1);
    // Name and email follow the IdP.
    i.name = Some("Alice Renamed".into());
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
    assert_eq!(r.user.name.as_deref(), Some("Alice Renamed"));
}

#[tokio::test]
async fn federated_sessions_are_eligible_only_for_their_connection_org() {
    let fx = fixture(true).await;
    let r = resolve_now(
        &fx.st,
        &fx.conn,
        &fx.app,
        ident(&fx.conn, "s", "a@acme.test", true),
    )
    .await
    .unwrap();
    let s = fx.st.storage.as_ref();
    let e = eligible_federated_orgs(s, &fx.app, &r.user.id, &fx.conn.id)
        .await
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].org.id.as_str(), "acme");
    // The same user is not eligible through globex's connection.
    let e = eligible_federated_orgs(s, &fx.app, &r.user.id, &fx.other_conn.id)
        .await
        .unwrap();
    assert!(e.is_empty());
}

/// A first sign-in whose last write fails (the membership INSERT, refused by a trigger put
/// under the store) leaves nothing behind: no user, no identity, the invitation still pending
/// and usable, which the next attempt then redeems.
#[tokio::test]
async fn a_first_sign_in_failing_midway_leaves_nothing_behind() {
    use sqlx::{Connection as _, Executor as _};
    let fx = fixture(false).await;
    let (inv, token) = invite(&fx, "acme", "erin@acme.test").await;
    let mut i = ident(&fx.conn, "s-erin", "erin@acme.test", true);
    i.invitation_token = Some(Secret::new(&token));

    let mut db = sqlx::AnyConnection::connect(&fx.url).await.unwrap();
    db.execute(
        "CREATE TRIGGER fail_membership BEFORE INSERT ON memberships \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .await
    .unwrap();
    let e = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
        .await
        .unwrap_err();
    assert!(matches!(e, IdentityError::Storage(_)), "{e:?}");

    let s = fx.st.storage.as_ref();
    assert_eq!(user_count(&fx.st).await, 0, "no user left behind");
    assert!(
        s.find_identity_member(&fx.conn.id, ISS, "s-erin", &fx.conn.org_id)
            .await
            .unwrap()
            .is_none(),
        "no identity left behind"
    );
    let stored = s
        .get_invitation(&inv.org_id, &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, inv, "the invitation is untouched");
    assert!(audits(&fx.st, "invitation.accept").await.is_empty());
    assert!(audits(&fx.st, "member.create").await.is_empty());

    db.execute("DROP TRIGGER fail_membership").await.unwrap();
    db.close().await.unwrap();
    let r = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
    assert_eq!(r.via, Via::Invitation);
    assert_eq!(user_count(&fx.st).await, 1);
    let stored = s
        .get_invitation(&inv.org_id, &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, InvitationStatus::Accepted);
    assert_eq!(audits(&fx.st, "invitation.accept").await.len(), 1);
    assert_eq!(audits(&fx.st, "member.create").await.len(), 1);
}
