//! The good path: JIT sign-in with mapped roles, organization hints, an extra audience with the
//! right `azp`, and userinfo filling missing claims.

use super::*;

#[tokio::test]
async fn a_hooli_member_signs_in_through_hooli_idp_with_jit_and_mapped_roles() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "Pat@Hooli.test", &[]).await;
    // The authorization request (OIDC Core §3.1.2.1, RFC 7636).
    let p = &req.params;
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["login_hint"], "pat@hooli.test");
    assert_eq!(p["scope"], "openid email profile");
    assert_eq!(
        p["redirect_uri"],
        format!("{}/sso/oidc/hooli-idp/callback", fed.base)
    );
    assert!(req.state.len() >= 43 && req.nonce.len() >= 43);
    let token = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("code", "c1"),
                ("state", &req.state),
                ("iss", &fed.op.issuer()),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.location();
    assert!(loc.starts_with(&format!("{CRM_CB}?")), "{loc}");
    let q = r.redirect_params();
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], fed.base);
    assert!(b.cookie("lobby_session").is_some(), "SSO session started");
    // client_secret_basic with the opened (sealed-at-rest) secret, form-urlencoded first.
    let (auth, form) = fed.op.st.token_auth.lock().unwrap()[0].clone();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    assert_eq!(
        auth.unwrap(),
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET)))
        )
    );
    assert!(!form.contains_key("client_secret"));
    assert_eq!(form["grant_type"], "authorization_code");

    let t = fed.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-idp");
    // default role + finance from the groups mapping; admin is outside hooli's role groups.
    assert_eq!(id["roles"], json!(["finance", "sales"]));
    assert_eq!(id["email"], "pat@hooli.test");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["amr"], json!(["pwd", "mfa"]));
    let ev = fed.last_audit("login.federated").await;
    assert_eq!(ev.details["via"], "jit");

    // Same person again (a new browser, no SSO session): the same user, found by
    // (connection, issuer, subject).
    let b2 = fed.browser();
    let (req, verifier) = fed.to_idp(&b2, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c2", &req.challenge, token);
    let r = fed
        .callback(&b2, "hooli-idp", &[("code", "c2"), ("state", &req.state)])
        .await;
    let code = r.redirect_params()["code"].clone();
    let t2 = fed.app_tokens(&code, &verifier).await;
    let id2 = crate::provider::fixture::jwt_claims(t2["id_token"].as_str().unwrap());
    assert_eq!(id2["sub"], id["sub"]);
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "existing"
    );

    // The SSO session of the federated login serves a second authorization without the IdP.
    let (_, challenge) = pkce();
    let r = b.get(&authorize_path("crm", CRM_CB, &challenge, &[])).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
}

#[tokio::test]
async fn an_organization_hint_goes_straight_to_the_org_idp() {
    let fed = Fed::start().await;
    let b = fed.browser();
    // The app names the org (by slug) and the user: no email page, the app's login_hint goes on.
    let (verifier, r) = b
        .authorize_crm(&[("organization", "hooli"), ("login_hint", "Pat@Hooli.test")])
        .await;
    let loc = r.location();
    assert!(loc.starts_with(&fed.op.issuer()), "{loc}");
    let req = auth_req(&r);
    let p = &req.params;
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["login_hint"], "pat@hooli.test");
    let token = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("h1", &req.challenge, token);
    // The flow is bound to this browser: the callback finishes it here.
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "h1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let q = r.redirect_params();
    assert_eq!(q["state"], "st-123");
    let t = fed.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-idp");

    // Without a login_hint the IdP gets none; another browser cannot use this state.
    let b2 = fed.browser();
    let (_, r) = b2.authorize_crm(&[("organization", "pied")]).await;
    let req = auth_req(&r);
    assert!(!req.params.contains_key("login_hint"), "{:?}", req.params);
    let r = fed
        .callback(
            &fed.browser(),
            "pied-idp",
            &[("code", "p1"), ("state", &req.state)],
        )
        .await;
    assert!(
        r.status >= 400 && r.headers.get("location").is_none(),
        "{}",
        r.status
    );

    // An org hint that names no linked org: the identifier page, as before.
    let (_, challenge) = pkce();
    let flow = b2
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "nope")],
        ))
        .await;
    let page = b2.get(&format!("/login?flow={flow}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"email\""), "the email page");
}

#[tokio::test]
async fn extra_audience_with_the_right_azp_is_accepted() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-2", &req.nonce, "pat2@hooli.test");
            c["aud"] = json!([CLIENT_ID, "another-api"]);
            c["azp"] = json!(CLIENT_ID);
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
}

#[tokio::test]
async fn userinfo_fills_missing_claims() {
    let fed = Fed::start().await;
    let b = fed.browser();
    *fed.op.st.userinfo.lock().unwrap() = json!({
        "sub": "pat-3", "email": "pat3@hooli.test", "email_verified": true, "name": "From Userinfo",
    });
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-3", &req.nonce, "");
            let m = c.as_object_mut().unwrap();
            m.remove("email");
            m.remove("email_verified");
            m.remove("name");
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let ev = fed.last_audit("login.federated").await;
    assert_eq!(ev.outcome, Outcome::Success);
    let uid = UserId::parse(ev.target_id.as_str()).unwrap();
    let u = fed.st.storage.get_user(&uid).await.unwrap().unwrap();
    assert_eq!(u.email.as_str(), "pat3@hooli.test");
    assert_eq!(u.name.as_deref(), Some("From Userinfo"));
}
