//! Invitations redeemed through the org's IdP.

use super::*;

#[tokio::test]
async fn an_invited_user_redeems_the_invitation_through_the_idp() {
    let fed = Fed::start().await;
    // No JIT for hooli: only the invitation gets this person in.
    no_jit(&fed).await;
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let token = random_token();
    let inv = Invitation {
        id: InvitationId::generate(),
        org_id: hooli.clone(),
        email: Email::parse("new@hooli.test").unwrap(),
        roles: [(AppId::parse("crm").unwrap(), [rv("sales")].into())].into(),
        org_roles: Default::default(),
        token_hash: TokenHash::of(&token),
        status: InvitationStatus::Pending,
        expires_at: now() + time::Duration::days(1),
        invited_by: "operator".into(),
        version: 1,
        created_at: now(),
        app_id: None,
        inviter_name: None,
        user_id: None,
    };
    s.create_invitation(&inv).await.unwrap();
    // Without the invitation: no access.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            fed.op
                .key("rsa-1")
                .sign(&fed.op.claims("new-1", &req.nonce, "new@hooli.test"))
        })
        .await;
    assert_refused(
        &b,
        &r,
        403,
        "Ask your organization's administrator to invite you",
    );
    assert_reason(&fed, "login.federated", "not_provisioned").await;
    // With it (the app passes `invitation=`).
    let b = fed.browser();
    let (req, verifier) = fed
        .to_idp(&b, "new@hooli.test", &[("invitation", &token)])
        .await;
    let t = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("new-1", &req.nonce, "new@hooli.test"));
    fed.op.will_answer("ci", &req.challenge, t);
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "ci"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let tokens = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    let id = crate::provider::fixture::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["roles"], json!(["finance", "sales"]));
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "invitation"
    );
    let stored = s.get_invitation(&hooli, &inv.id).await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Accepted);
}

/// hooli without JIT: only an invitation gets a new person in.
pub(super) async fn no_jit(fed: &Fed) {
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let mut link = s
        .get_link(&hooli, &AppId::parse("crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.jit = false;
    s.update_link(&link).await.unwrap();
}

/// Open `/invite/{token}` and press the button: returns what Lobby sent to the IdP.
async fn invite_to_idp(fed: &Fed, b: &Browser, token: &str) -> AuthReq {
    let page = b.get(&format!("/invite/{token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = b
        .post(
            &format!("/invite/{token}"),
            &[
                ("flow", &page.hidden("flow")),
                ("csrf", &page.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&fed.op.issuer()),
        "{}",
        r.location()
    );
    auth_req(&r)
}

/// The IdP answers `req` for (sub, email, verified).
async fn idp_answers(
    fed: &Fed,
    b: &Browser,
    req: &AuthReq,
    sub: &str,
    email: &str,
    verified: bool,
) -> Resp {
    let mut claims = fed.op.claims(sub, &req.nonce, email);
    claims["email_verified"] = json!(verified);
    let code = format!("code-{sub}");
    fed.op
        .will_answer(&code, &req.challenge, fed.op.key("rsa-1").sign(&claims));
    fed.callback(b, "hooli-idp", &[("code", &code), ("state", &req.state)])
        .await
}

/// The invitation is as it was made: pending, its member `invited`, no identity of `sub`.
async fn untouched(fed: &Fed, inv: &Value, sub: &str) {
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let id = InvitationId::parse(inv["id"].as_str().unwrap()).unwrap();
    let stored = s.get_invitation(&hooli, &id).await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Pending);
    assert_eq!(stored.version, 1, "not written");
    let user = UserId::parse(inv["user_id"].as_str().unwrap()).unwrap();
    let m = s.get_membership(&hooli, &user).await.unwrap().unwrap();
    assert_eq!(m.status, MemberStatus::Invited);
    let conn = ConnectionId::parse("hooli-idp").unwrap();
    assert!(
        s.find_identity_member(&conn, &fed.op.issuer(), sub, &hooli)
            .await
            .unwrap()
            .is_none(),
        "no identity stored"
    );
}

#[tokio::test]
async fn the_invite_link_signs_the_invitee_in_through_the_org_idp_once() {
    let fed = Fed::start().await;
    no_jit(&fed).await;
    let inv = crate::invitations::invite(
        &fed.base,
        "hooli",
        json!({"email": "new@hooli.test", "roles": {"crm": ["sales"]}, "inviter_name": "Gavin Belson"}),
    )
    .await;
    let token = inv["token"].as_str().unwrap().to_owned();
    let user = inv["user_id"].as_str().unwrap().to_owned();
    let b = fed.browser();
    let page = b.get(&format!("/invite/{token}")).await;
    for said in [
        "Gavin Belson",
        "HOOLI",
        "CRM",
        "new@hooli.test",
        "Continue to HOOLI sign-in",
    ] {
        assert!(page.body.contains(said), "{said} missing: {}", page.body);
    }
    let req = invite_to_idp(&fed, &b, &token).await;
    let r = idp_answers(&fed, &b, &req, "new-1", "new@hooli.test", true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("You're in"), "{}", r.body);
    assert!(
        r.headers.get("location").is_none(),
        "no code for an app nobody asked for"
    );
    // The profile made with the invitation is the member now, active, linked to the identity.
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let m = s
        .get_membership(&hooli, &UserId::parse(&user).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, MemberStatus::Active);
    let conn = ConnectionId::parse("hooli-idp").unwrap();
    let (_, linked, _) = s
        .find_identity_member(&conn, &fed.op.issuer(), "new-1", &hooli)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.unwrap().id.as_str(), user);
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "invitation"
    );

    // Signed in: the app's first sign-in needs no IdP round trip and carries the roles.
    let (verifier, challenge) = pkce();
    let r = b
        .get(&crate::provider::fixture::authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[],
        ))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
    let tokens = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    let id = crate::provider::fixture::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(id["org_id"], "hooli");
    // sales (invited) + finance (the IdP's finance-team group, rule 6).
    assert_eq!(id["roles"], json!(["finance", "sales"]));

    // A second click: the invitation was used.
    let again = fed.browser().get(&format!("/invite/{token}")).await;
    assert_eq!(again.status, 410);
    assert!(
        again.body.contains(crate::invitations::ACCEPTED),
        "{}",
        again.body
    );
    // And the token passed by an app for another identity: refused.
    let b2 = fed.browser();
    let (req, _) = fed
        .to_idp(&b2, "new@hooli.test", &[("invitation", &token)])
        .await;
    let r = idp_answers(&fed, &b2, &req, "new-2", "new@hooli.test", true).await;
    assert_refused(&b2, &r, 403, "This invitation has already been used");
    assert_reason(&fed, "login.federated", "invitation_invalid").await;
}

#[tokio::test]
async fn accepting_with_another_or_unverified_email_changes_nothing() {
    let fed = Fed::start().await;
    no_jit(&fed).await;
    let inv = crate::invitations::invite(
        &fed.base,
        "hooli",
        json!({"email": "new@hooli.test", "roles": {"crm": ["sales"]}}),
    )
    .await;
    let token = inv["token"].as_str().unwrap().to_owned();
    // Another email (same org domain, verified): refused.
    let b = fed.browser();
    let req = invite_to_idp(&fed, &b, &token).await;
    let r = idp_answers(&fed, &b, &req, "other-1", "other@hooli.test", true).await;
    assert_refused(&b, &r, 403, "sent to a different email address");
    assert_reason(&fed, "login.federated", "invitation_email_mismatch").await;
    untouched(&fed, &inv, "other-1").await;
    // The invited email, unverified: refused.
    let b = fed.browser();
    let req = invite_to_idp(&fed, &b, &token).await;
    let r = idp_answers(&fed, &b, &req, "new-1", "new@hooli.test", false).await;
    assert_refused(&b, &r, 403, "did not confirm your email address");
    untouched(&fed, &inv, "new-1").await;
    // The invitation still works for the invited, verified email.
    let b = fed.browser();
    let req = invite_to_idp(&fed, &b, &token).await;
    let r = idp_answers(&fed, &b, &req, "new-1", "new@hooli.test", true).await;
    assert!(r.body.contains("You're in"), "{}", r.body);
}

#[tokio::test]
async fn an_invitation_of_another_org_or_a_dead_one_is_refused() {
    let fed = Fed::start().await;
    no_jit(&fed).await;
    // An invitation to pied, carried into a hooli sign-in by the app.
    let pied = crate::invitations::invite(
        &fed.base,
        "pied",
        json!({"email": "new@hooli.test", "roles": {"crm": ["sales"]}}),
    )
    .await;
    let b = fed.browser();
    let (req, _) = fed
        .to_idp(
            &b,
            "new@hooli.test",
            &[("invitation", pied["token"].as_str().unwrap())],
        )
        .await;
    let r = idp_answers(&fed, &b, &req, "new-1", "new@hooli.test", true).await;
    assert_refused(&b, &r, 403, "This invitation is for another organization");
    assert_reason(&fed, "login.federated", "invitation_wrong_org").await;

    // A revoked hooli invitation: the page says so, and the app's invitation= is refused.
    let inv = crate::invitations::invite(
        &fed.base,
        "hooli",
        json!({"email": "new@hooli.test", "roles": {"crm": ["sales"]}}),
    )
    .await;
    let token = inv["token"].as_str().unwrap().to_owned();
    let b = fed.browser();
    let page = b.get(&format!("/invite/{token}")).await;
    let (s, _) = crate::invitations::api(
        &fed.base,
        reqwest::Method::PATCH,
        &format!("/orgs/hooli/invitations/{}", inv["id"].as_str().unwrap()),
        Some(json!({"status": "revoked"})),
    )
    .await;
    assert_eq!(s, 200);
    let r = b
        .post(
            &format!("/invite/{token}"),
            &[
                ("flow", &page.hidden("flow")),
                ("csrf", &page.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains(crate::invitations::REVOKED), "{}", r.body);
    let b = fed.browser();
    let (req, _) = fed
        .to_idp(&b, "new@hooli.test", &[("invitation", &token)])
        .await;
    let r = idp_answers(&fed, &b, &req, "new-1", "new@hooli.test", true).await;
    assert_refused(&b, &r, 403, "This invitation has already been used");
    // A tampered token on the page.
    let r = fed
        .browser()
        .get(&format!("/invite/{}", crate::invitations::tampered(&token)))
        .await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains(crate::invitations::UNKNOWN), "{}", r.body);
}
