//! Who reaches what in the portal: CSRF on every POST (without a token, or with another
//! session's), a `member_admin` gets 404 on settings URLs and sees no settings in the
//! navigation, an admin of another org gets 404 on every page of this org (GET and POST).

use super::{add_admin, csrf, set_org_roles, signed_in};
use crate::provider::fixture::{Lobby, org_id, user_id};
use lobby::domain::*;

/// Every portal POST of this branch, on acme (alice is a member, bob an org admin).
async fn posts(lobby: &Lobby) -> Vec<String> {
    let inv = lobby
        .storage()
        .list_invitations(&org_id("acme"), &lobby::storage::PageRequest::first(10))
        .await
        .unwrap()
        .items
        .first()
        .map(|i| i.id.to_string())
        .unwrap_or_else(|| "none".into());
    vec![
        "/portal/logout".into(),
        "/portal/orgs/acme/members/alice/roles".into(),
        "/portal/orgs/acme/members/alice/org-roles".into(),
        "/portal/orgs/acme/members/alice/suspend".into(),
        "/portal/orgs/acme/members/alice/reactivate".into(),
        "/portal/orgs/acme/members/alice/remove".into(),
        "/portal/orgs/acme/invitations".into(),
        format!("/portal/orgs/acme/invitations/{inv}/resend"),
        format!("/portal/orgs/acme/invitations/{inv}/revoke"),
    ]
}

async fn alice(lobby: &Lobby) -> Membership {
    lobby
        .storage()
        .get_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap()
        .unwrap()
}

/// An invitation to look at (and to resend or revoke).
async fn seed_invitation(lobby: &Lobby) {
    let b = signed_in(lobby, "bob@acme.test").await;
    let t = csrf(&b, "/portal/orgs/acme/invitations").await;
    let r = b
        .post(
            "/portal/orgs/acme/invitations",
            &[
                ("_csrf", &t),
                ("email", "erin@acme.test"),
                ("roles", "crm:sales"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn every_post_needs_this_sessions_csrf_token() {
    let lobby = Lobby::start().await;
    seed_invitation(&lobby).await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let other = signed_in(&lobby, "bob@acme.test").await;
    let mine = csrf(&b, "/portal/orgs/acme").await;
    let theirs = csrf(&other, "/portal/orgs/acme").await;
    assert_ne!(mine, theirs, "each session has its own token");
    let before = alice(&lobby).await;
    let form = |t: Option<&str>| {
        let mut f: Vec<(&str, String)> = vec![
            ("roles", "crm:finance".into()),
            ("org_roles", "org_admin".into()),
            ("email", "mallory@acme.test".into()),
            ("version", before.version.to_string()),
        ];
        if let Some(t) = t {
            f.push(("_csrf", t.to_owned()));
        }
        f
    };
    for path in posts(&lobby).await {
        for token in [None, Some(theirs.as_str()), Some("")] {
            let f = form(token);
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = b.post(&path, &f).await;
            assert_eq!(r.status, 403, "{path} with {token:?}: {}", r.body);
            assert!(r.body.contains("This form expired."), "{path}");
        }
    }
    // Nothing changed, and the session is still there.
    assert_eq!(alice(&lobby).await, before);
    let invs = lobby
        .storage()
        .list_invitations(&org_id("acme"), &lobby::storage::PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(invs.len(), 1);
    assert_eq!(invs[0].status, InvitationStatus::Pending);
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
    // With the right token the same kind of POST works.
    let r = b
        .post(
            "/portal/orgs/acme/members/alice/roles",
            &[("_csrf", &mine), ("roles", "crm:finance")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn a_member_admin_gets_404_on_settings_and_sees_none() {
    let lobby = Lobby::start().await;
    set_org_roles(&lobby, "acme", "alice", &[OrgRole::MemberAdmin]).await;
    let b = signed_in(&lobby, "alice@acme.test").await;
    let overview = b.get("/portal/orgs/acme").await;
    assert_eq!(overview.status, 200);
    for shown in ["id=\"nav-members\"", "id=\"nav-invitations\""] {
        assert!(overview.body.contains(shown), "{shown}");
    }
    for hidden in [
        "nav-connections",
        "nav-domains",
        "nav-branding",
        "nav-audit",
        "nav-children",
    ] {
        assert!(
            !overview.body.contains(hidden),
            "{hidden} shown to a member_admin"
        );
    }
    for path in [
        "/portal/orgs/acme/connections",
        "/portal/orgs/acme/connections/new",
        "/portal/orgs/acme/connections/acme-pw",
        "/portal/orgs/acme/domains",
        "/portal/orgs/acme/branding",
        "/portal/orgs/acme/audit",
        "/portal/orgs/acme/children",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 404, "{path}");
    }
    // The people pages work, but not on an org_admin's membership (the API's field limit).
    assert_eq!(b.get("/portal/orgs/acme/members").await.status, 200);
    let t = csrf(&b, "/portal/orgs/acme/members/bob").await;
    let r = b
        .post(
            "/portal/orgs/acme/members/bob/org-roles",
            &[("_csrf", &t), ("org_roles", "viewer")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let bob = lobby
        .storage()
        .get_membership(&org_id("acme"), &user_id("bob"))
        .await
        .unwrap()
        .unwrap();
    assert!(bob.org_roles.contains(&OrgRole::OrgAdmin));
    // Nor may they grant org_admin.
    let r = b
        .post(
            "/portal/orgs/acme/members/alice/org-roles",
            &[("_csrf", &t), ("org_roles", "org_admin")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn an_admin_of_another_org_gets_404_on_every_page_of_this_org() {
    let lobby = Lobby::start().await;
    seed_invitation(&lobby).await;
    add_admin(
        &lobby,
        "gina",
        "gina@globex.test",
        "globex",
        &[OrgRole::OrgAdmin],
    )
    .await;
    let b = signed_in(&lobby, "gina@globex.test").await;
    // Their home is their own org.
    let r = b.get("/portal").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/portal/orgs/globex");
    assert_eq!(b.get("/portal/orgs/globex/members").await.status, 200);
    let t = csrf(&b, "/portal/orgs/globex").await;
    let before = alice(&lobby).await;
    for path in [
        "/portal/orgs/acme",
        "/portal/orgs/acme/members",
        "/portal/orgs/acme/members?q=alice",
        "/portal/orgs/acme/members/alice",
        "/portal/orgs/acme/members/alice/suspend",
        "/portal/orgs/acme/members/alice/remove",
        "/portal/orgs/acme/invitations",
        "/portal/orgs/acme/invitations?state=all",
        "/portal/orgs/acme/connections",
        "/portal/orgs/acme/domains",
        "/portal/orgs/acme/branding",
        "/portal/orgs/acme/audit",
        "/portal/orgs/acme/children",
        "/portal/orgs/nope/members",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 404, "GET {path}");
    }
    for path in posts(&lobby).await.into_iter().skip(1) {
        let r = b
            .post(
                &path,
                &[
                    ("_csrf", t.as_str()),
                    ("roles", "crm:finance"),
                    ("org_roles", "org_admin"),
                    ("email", "mallory@acme.test"),
                ],
            )
            .await;
        assert_eq!(r.status, 404, "POST {path}: {}", r.body);
    }
    assert_eq!(alice(&lobby).await, before);
    let invs = lobby
        .storage()
        .list_invitations(&org_id("acme"), &lobby::storage::PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(invs.len(), 1);
    assert_eq!(invs[0].status, InvitationStatus::Pending);
}
