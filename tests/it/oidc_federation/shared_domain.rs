//! A domain several orgs share (issue 16 item 3): an email whose domain no org verified
//! (`gmail.test`), or whose verifying org marked it shared, is routed to no org. The password
//! page then offers "Email me a link to my organization's sign-in": every address gets the same
//! answer, only an address with orgs gets a message, and the link (single use, this browser's
//! flow only) opens a chooser of exactly the orgs the address can sign in to for the app. A
//! pick continues as if discovery had routed the email there.

use super::*;

const SENT: &str = "If this address belongs to an organization that uses this application";
const OTHER_BROWSER: &str = "This link was asked for in another browser";
const EXPIRED: &str = "This link has expired or was already used";
const NOT_LISTED: &str = "You can't sign in to this organization with this link";

fn oid(s: &str) -> OrgId {
    OrgId::parse(s).unwrap()
}

async fn add_org(fed: &Fed, id: &str, linked: bool) {
    let s = fed.st.storage.as_ref();
    s.create_org(&Org {
        id: oid(id),
        slug: Slug::parse(id).unwrap(),
        name: id.to_uppercase(),
        status: OrgStatus::Active,
        parent_id: None,
        branding: Branding::default(),
        version: 1,
        created_at: now(),
        updated_at: now(),
    })
    .await
    .unwrap();
    if linked {
        s.create_link(&OrgAppLink {
            org_id: oid(id),
            app_id: AppId::parse("crm").unwrap(),
            allowed_role_groups: [RoleGroupId::parse("std").unwrap()].into(),
            auth_policy: LinkAuthPolicy::Inherit,
            jit: false,
            default_roles: Default::default(),
            mfa: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        })
        .await
        .unwrap();
    }
}

async fn member(fed: &Fed, org: &str, user: &UserId, status: MemberStatus) {
    fed.st
        .storage
        .create_membership(&Membership {
            org_id: oid(org),
            user_id: user.clone(),
            status,
            roles: [(AppId::parse("crm").unwrap(), [rv("sales")].into())].into(),
            org_roles: Default::default(),
            version: 1,
            created_at: now(),
            updated_at: now(),
        })
        .await
        .unwrap();
}

/// sam@gmail.test: an active member of hooli (with an identity at hooli's IdP) and pied, a
/// suspended member of globex, a member of umbrella (not linked to crm), invited to initech (a
/// password org). Returns the invitation's token.
async fn seed_sam(fed: &Fed) -> String {
    let s = fed.st.storage.as_ref();
    add_org(fed, "initech", true).await;
    add_org(fed, "globex", true).await;
    add_org(fed, "umbrella", false).await;
    add_org(fed, "nobodys", true).await;
    let sam = User {
        id: UserId::generate(),
        email: Email::parse("sam@gmail.test").unwrap(),
        email_verified: true,
        name: Some("Sam".into()),
        password_hash: None,
        version: 1,
        created_at: now(),
        updated_at: now(),
    };
    s.create_user(&sam).await.unwrap();
    member(fed, "hooli", &sam.id, MemberStatus::Active).await;
    member(fed, "pied", &sam.id, MemberStatus::Active).await;
    member(fed, "globex", &sam.id, MemberStatus::Suspended).await;
    member(fed, "umbrella", &sam.id, MemberStatus::Active).await;
    s.create_identity(&ExternalIdentity {
        connection_id: ConnectionId::parse("hooli-idp").unwrap(),
        issuer: fed.op.issuer(),
        subject: "sam-1".into(),
        user_id: sam.id.clone(),
        created_at: now(),
    })
    .await
    .unwrap();
    let token = random_token();
    s.create_invitation(&Invitation {
        id: InvitationId::generate(),
        org_id: oid("initech"),
        email: sam.email.clone(),
        roles: [(AppId::parse("crm").unwrap(), [rv("sales")].into())].into(),
        org_roles: Default::default(),
        token_hash: TokenHash::of(&token),
        status: InvitationStatus::Pending,
        expires_at: now() + time::Duration::days(1),
        invited_by: "operator".into(),
        version: 1,
        created_at: now(),
        app_id: Some(AppId::parse("crm").unwrap()),
        inviter_name: None,
        user_id: None,
    })
    .await
    .unwrap();
    token
}

/// `/authorize` for crm and the identifier page with `email`: the flow id, the CSRF token, the
/// PKCE verifier and the identifier's answer.
async fn identify(
    b: &Browser,
    email: &str,
    extra: &[(&str, &str)],
) -> (String, String, String, Resp) {
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, extra))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", email)],
        )
        .await;
    (flow, csrf, verifier, r)
}

/// The page with its flow-specific parts (flow id, CSRF token, the address) blanked.
fn shape(body: &str, flow: &str, csrf: &str, email: &str) -> String {
    body.replace(flow, "FLOW")
        .replace(csrf, "CSRF")
        .replace(email, "EMAIL")
        .lines()
        .filter(|l| !l.contains("request-id"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message to `to`, waiting for the task that sends it.
async fn mail_to(fed: &Fed, to: &str) -> lobby::mail::OutgoingMail {
    for _ in 0..200 {
        if let Some(m) = fed.mail.sent_to(to).pop() {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no message to {to}");
}

/// The path of the link in a message.
fn link_path(fed: &Fed, m: &lobby::mail::OutgoingMail) -> String {
    let link = lobby::mail::first_link(&m.text).expect("a link").to_owned();
    assert!(
        link.starts_with(&format!("{}/login/shared/", fed.base)),
        "{link}"
    );
    link[fed.base.len()..].to_owned()
}

/// Pick `org` on the chooser of `flow`: Lobby sends the browser to the org's IdP (`fed.op`)
/// with the address as `login_hint`; returns that request.
async fn pick_to_idp(
    fed: &Fed,
    b: &Browser,
    flow: &str,
    csrf: &str,
    org: &str,
    email: &str,
) -> AuthReq {
    let r = b
        .post(
            "/login/shared",
            &[("flow", flow), ("csrf", csrf), ("org", org)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&fed.op.issuer()),
        "to {org}'s IdP: {}",
        r.location()
    );
    let req = auth_req(&r);
    assert_eq!(req.params["login_hint"], email);
    req
}

/// hooli's IdP (`fed.op`, signing with `key`) answers `req` with an ID token for `sub` and
/// `email`, the browser comes back to the callback, and the app redeems its code: the claims of
/// the app's ID token.
async fn answer_and_redeem(
    fed: &Fed,
    b: &Browser,
    req: &AuthReq,
    key: &str,
    (sub, email): (&str, &str),
    verifier: &str,
) -> Value {
    let token = fed.op.key(key).sign(&fed.op.claims(sub, &req.nonce, email));
    fed.op.will_answer(sub, &req.challenge, token);
    let iss = fed.op.issuer();
    let r = fed
        .callback(
            b,
            "hooli-idp",
            &[("code", sub), ("state", &req.state), ("iss", &iss)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
    let t = fed.app_tokens(&r.redirect_params()["code"], verifier).await;
    crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn a_shared_domain_mails_a_link_to_a_chooser_of_exactly_the_address_orgs() {
    let fed = Fed::start().await;
    let invitation_token = seed_sam(&fed).await;

    // An address with no org: the same pages, no message.
    let nobody = fed.browser();
    let (nflow, ncsrf, _, r) = identify(&nobody, "nobody@gmail.test", &[]).await;
    assert_eq!(r.location(), format!("/login/password?flow={nflow}"));
    let nobody_page = nobody.get(&r.location()).await;
    let nobody_sent = nobody
        .post("/login/shared/send", &[("flow", &nflow), ("csrf", &ncsrf)])
        .await;

    let b = fed.browser();
    let (flow, csrf, verifier, r) = identify(&b, "sam@gmail.test", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/login/password?flow={flow}"));
    let page = b.get(&r.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for part in [
        "id=\"email-org-link\"",
        "action=\"/login/shared/send\"",
        "id=\"sso-by-org\"",
        "name=\"password\"",
    ] {
        assert!(page.body.contains(part), "{part}: {}", page.body);
    }
    assert_eq!(
        shape(&page.body, &flow, &csrf, "sam@gmail.test"),
        shape(&nobody_page.body, &nflow, &ncsrf, "nobody@gmail.test"),
        "one page shape for every address of a shared domain"
    );
    // Without the flow's CSRF token: refused, nothing sent.
    let r = b
        .post("/login/shared/send", &[("flow", &flow), ("csrf", "x")])
        .await;
    assert_eq!(r.status, 403);
    let sent = b
        .post("/login/shared/send", &[("flow", &flow), ("csrf", &csrf)])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(unescape(&sent.body).contains(SENT), "{}", sent.body);
    assert_eq!(nobody_sent.status, sent.status);
    assert_eq!(
        shape(&sent.body, &flow, &csrf, "sam@gmail.test"),
        shape(&nobody_sent.body, &nflow, &ncsrf, "nobody@gmail.test"),
        "one answer whether or not a message goes out"
    );

    let m = mail_to(&fed, "sam@gmail.test").await;
    assert!(m.subject.contains("CRM"), "{}", m.subject);
    assert!(m.html.contains("/login/shared/"));
    assert!(
        fed.mail.sent_to("nobody@gmail.test").is_empty(),
        "no message to an address without an org"
    );
    let path = link_path(&fed, &m);

    // Another browser: refused, and it does not use the link up.
    let other = fed.browser();
    let r = other.get(&path).await;
    assert_refused(&other, &r, 403, OTHER_BROWSER);
    // A link never issued.
    let r = b.get(&format!("/login/shared/{}", random_token())).await;
    assert_refused(&b, &r, 410, EXPIRED);

    let r = b.get(&path).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/login/shared?flow={flow}"));
    // Single use.
    let again = b.get(&path).await;
    assert_refused(&b, &again, 410, EXPIRED);

    let chooser = b.get(&r.location()).await;
    assert_eq!(chooser.status, 200, "{}", chooser.body);
    assert!(chooser.body.contains("sam@gmail.test"));
    for listed in ["org-hooli", "org-pied", "org-initech"] {
        assert!(
            chooser.body.contains(&format!("id=\"{listed}\"")),
            "{listed}: {}",
            chooser.body
        );
    }
    assert_eq!(
        chooser.body.matches("name=\"org\"").count(),
        3,
        "active memberships of linked orgs and the invitation only: {}",
        chooser.body
    );
    for hidden in ["globex", "umbrella", "nobodys"] {
        assert!(!chooser.body.contains(&format!("org-{hidden}")), "{hidden}");
    }
    assert!(
        chooser.body.contains("(invitation)"),
        "initech is an invitation"
    );

    // A forged or unlisted pick: 400 and a sentence; without CSRF: 403.
    for forged in ["globex", "umbrella", "nobodys", "nope", ""] {
        let r = b
            .post(
                "/login/shared",
                &[("flow", &flow), ("csrf", &csrf), ("org", forged)],
            )
            .await;
        assert_refused(&b, &r, 400, NOT_LISTED);
    }
    let r = b
        .post(
            "/login/shared",
            &[("flow", &flow), ("csrf", "x"), ("org", "hooli")],
        )
        .await;
    assert_eq!(r.status, 403);

    // The invitation (a password org): a new invitation link, the old one dead.
    let r = b
        .post(
            "/login/shared",
            &[("flow", &flow), ("csrf", &csrf), ("org", "initech")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let invite = r.location();
    assert!(invite.starts_with("/invite/"), "{invite}");
    assert_ne!(invite, format!("/invite/{invitation_token}"));
    let page = b.get(&invite).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("INITECH"), "{}", page.body);
    let old = fed
        .browser()
        .get(&format!("/invite/{invitation_token}"))
        .await;
    assert_eq!(old.status, 404, "the old invitation link is replaced");
    assert_eq!(fed.audit_count("invitation.reissue").await, 1);

    // hooli: its IdP, with the address as login_hint, then a token for hooli.
    let req = pick_to_idp(&fed, &b, &flow, &csrf, "hooli", "sam@gmail.test").await;
    let id = answer_and_redeem(
        &fed,
        &b,
        &req,
        "ec-1",
        ("sam-1", "sam@gmail.test"),
        &verifier,
    )
    .await;
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-idp");
}

#[tokio::test]
async fn one_org_is_still_a_chooser_and_a_removed_membership_is_no_longer_a_pick() {
    let fed = Fed::start().await;
    let s = fed.st.storage.as_ref();
    let kim = User {
        id: UserId::generate(),
        email: Email::parse("kim@gmail.test").unwrap(),
        email_verified: true,
        name: None,
        password_hash: None,
        version: 1,
        created_at: now(),
        updated_at: now(),
    };
    s.create_user(&kim).await.unwrap();
    member(&fed, "pied", &kim.id, MemberStatus::Active).await;
    let b = fed.browser();
    // In German (`ui_locales=de`): the pages and the message.
    let (flow, csrf, _, _) = identify(&b, "kim@gmail.test", &[("ui_locales", "de")]).await;
    let page = b.get(&format!("/login/password?flow={flow}")).await;
    assert!(
        unescape(&page.body).contains("Link zur Anmeldung meiner Organisation per E-Mail senden"),
        "{}",
        page.body
    );
    let r = b
        .post("/login/shared/send", &[("flow", &flow), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 200);
    assert!(
        unescape(&r.body).contains("Wenn diese Adresse zu einer Organisation gehört"),
        "{}",
        r.body
    );
    let m = mail_to(&fed, "kim@gmail.test").await;
    assert_eq!(m.subject, "Die Anmeldung Ihrer Organisation bei CRM");
    let path = link_path(&fed, &m);
    let r = b.get(&path).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let chooser = b.get(&r.location()).await;
    assert_eq!(chooser.status, 200);
    assert!(
        chooser.body.contains("<html lang=\"de\">"),
        "{}",
        chooser.body
    );
    assert_eq!(
        chooser.body.matches("name=\"org\"").count(),
        1,
        "one org: still the chooser, not a redirect"
    );
    assert!(chooser.body.contains("id=\"org-pied\""));
    // The membership ends before the pick: the list is computed again.
    s.delete_membership(&oid("pied"), &kim.id).await.unwrap();
    let r = b
        .post(
            "/login/shared",
            &[("flow", &flow), ("csrf", &csrf), ("org", "pied")],
        )
        .await;
    assert_refused(
        &b,
        &r,
        400,
        "Mit diesem Link können Sie sich nicht bei dieser Organisation anmelden",
    );
}

#[tokio::test]
async fn an_exclusive_domain_routes_directly_and_a_domain_marked_shared_does_not() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (_, _, _, r) = identify(&b, "sam@hooli.test", &[]).await;
    assert!(
        r.location().starts_with(&fed.op.issuer()),
        "exclusive: {}",
        r.location()
    );

    let mut d = fed
        .st
        .storage
        .get_domain(&oid("hooli"), &EmailDomain::parse("hooli.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    d.shared = true;
    fed.st.storage.update_domain(&d).await.unwrap();
    let b = fed.browser();
    let (flow, _, _, r) = identify(&b, "sam@hooli.test", &[]).await;
    assert_eq!(r.location(), format!("/login/password?flow={flow}"));
    let page = b.get(&r.location()).await;
    assert!(page.body.contains("id=\"email-org-link\""), "{}", page.body);
    assert!(
        !page.body.contains("HOOLI"),
        "not branded: routed to no org"
    );
    // domain_hint of a shared domain: the email page, not hooli's IdP.
    let (_, r) = b.authorize_crm(&[("domain_hint", "hooli.test")]).await;
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
    // pied.test is still exclusive.
    let (_, _, _, r) = identify(&b, "ann@pied.test", &[]).await;
    assert!(
        r.location().starts_with(&fed.op2.issuer()),
        "{}",
        r.location()
    );

    // An app that allows no Lobby passwords: the same page without the password form.
    let s = fed.st.storage.as_ref();
    let mut app = s
        .get_app(&AppId::parse("crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    app.auth_policy.allowed_kinds = [ConnectionKind::Oidc, ConnectionKind::Saml].into();
    s.update_app(&app).await.unwrap();
    let (flow, _, _, r) = identify(&b, "lee@gmail.test", &[]).await;
    assert_eq!(r.location(), format!("/login/password?flow={flow}"));
    let page = b.get(&r.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"email-org-link\""), "{}", page.body);
    assert!(page.body.contains("id=\"sso-by-org\""));
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
}

/// A pending invitation to an org that signs in through its IdP, picked from the chooser of a
/// shared domain: the invitation gets a fresh token (the old link dies), the IdP is asked with
/// the address as `login_hint`, and its answer accepts the invitation — the invited profile
/// becomes the member and the app's token is for that org.
#[tokio::test]
async fn a_picked_invitation_to_an_sso_org_is_accepted_through_its_idp() {
    let fed = Fed::start().await;
    let s = fed.st.storage.as_ref();
    let hooli = oid("hooli");
    // hooli without JIT (only the invitation gets a new person in), and its IdP's addresses
    // trusted for any domain (its people also sign in with gmail.test addresses).
    super::invitations::no_jit(&fed).await;
    let conn_id = ConnectionId::parse("hooli-idp").unwrap();
    let mut conn = s.get_connection(&hooli, &conn_id).await.unwrap().unwrap();
    if let ConnectionConfig::Oidc(o) = &mut conn.config {
        o.email_authority = EmailAuthority::AnyDomain;
    }
    s.update_connection(&conn).await.unwrap();
    let inv = crate::invitations::invite(
        &fed.base,
        "hooli",
        json!({"email": "lee@gmail.test", "roles": {"crm": ["sales"]}}),
    )
    .await;
    let old_token = inv["token"].as_str().unwrap().to_owned();
    let invited = UserId::parse(inv["user_id"].as_str().unwrap()).unwrap();
    let inv_id = InvitationId::parse(inv["id"].as_str().unwrap()).unwrap();

    let b = fed.browser();
    let (flow, csrf, verifier, r) = identify(&b, "lee@gmail.test", &[]).await;
    assert_eq!(r.location(), format!("/login/password?flow={flow}"));
    let sent = b
        .post("/login/shared/send", &[("flow", &flow), ("csrf", &csrf)])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let path = link_path(&fed, &mail_to(&fed, "lee@gmail.test").await);
    let r = b.get(&path).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let chooser = b.get(&r.location()).await;
    assert_eq!(chooser.status, 200, "{}", chooser.body);
    assert_eq!(
        chooser.body.matches("name=\"org\"").count(),
        1,
        "{}",
        chooser.body
    );
    assert!(
        chooser.body.contains("id=\"org-hooli\""),
        "{}",
        chooser.body
    );
    assert!(chooser.body.contains("(invitation)"), "{}", chooser.body);

    let req = pick_to_idp(&fed, &b, &flow, &csrf, "hooli", "lee@gmail.test").await;
    // The invitation has a new token: the emailed link is dead.
    let old = fed.browser().get(&format!("/invite/{old_token}")).await;
    assert_eq!(old.status, 404, "the old invitation link is replaced");
    assert_eq!(fed.audit_count("invitation.reissue").await, 1);

    let id = answer_and_redeem(
        &fed,
        &b,
        &req,
        "rsa-1",
        ("lee-1", "lee@gmail.test"),
        &verifier,
    )
    .await;
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["sub"], invited.as_str(), "the invited profile signs in");
    assert!(
        id["roles"].as_array().unwrap().contains(&json!("sales")),
        "{id}"
    );
    let stored = s.get_invitation(&hooli, &inv_id).await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Accepted);
    let m = s.get_membership(&hooli, &invited).await.unwrap().unwrap();
    assert_eq!(m.status, MemberStatus::Active);
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "invitation"
    );
}
