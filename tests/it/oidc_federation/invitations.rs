//! Invitations redeemed through the org's IdP.

use super::*;

#[tokio::test]
async fn an_invited_user_redeems_the_invitation_through_the_idp() {
    let fed = Fed::start().await;
    // No JIT for hooli: only the invitation gets this person in.
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let mut link = s
        .get_link(&hooli, &AppId::parse("crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.jit = false;
    s.update_link(&link).await.unwrap();
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
