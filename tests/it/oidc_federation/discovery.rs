//! Discovery beyond "one verified domain = one org with one IdP" (issue 16 item 3): an org
//! with several IdPs for the app gets "Sign in with …" buttons (`/login/connection`),
//! `domain_hint` routes like a verified domain, and "Sign in with your organization's name"
//! (`/login/sso`) reaches an org's IdP without an email domain anyone verified.

use super::*;

/// A second IdP for hooli: `op2` through `hooli-partners` (created after `hooli-idp`, so
/// second in the policy's order).
async fn second_hooli_idp(fed: &Fed) {
    let sealed = fed.st.seal.seal(CLIENT_SECRET.as_bytes()).unwrap();
    fed.st
        .storage
        .create_connection(&Connection {
            id: ConnectionId::parse("hooli-partners").unwrap(),
            org_id: OrgId::parse("hooli").unwrap(),
            name: "Partner accounts".into(),
            state: ConnectionState::Active,
            config: ConnectionConfig::Oidc(OidcConfig {
                issuer: fed.op2.issuer(),
                client_id: CLIENT_ID.into(),
                client_secret: Some(Secret::new(sealed)),
                scopes: vec!["openid".into(), "email".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                allowed_algs: vec!["RS256".into(), "ES256".into()],
                claims: ClaimMapping::default(),
                role_mapping: vec![],
                require_email_verified: true,
                email_authority: Default::default(),
            }),
            version: 1,
            created_at: now() + time::Duration::seconds(1),
            updated_at: now(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_domain_hint_routes_like_a_verified_domain() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (_, r) = b.authorize_crm(&[("domain_hint", "HOOLI.test")]).await;
    let loc = r.location();
    assert!(
        loc.starts_with(&fed.op.issuer()),
        "straight to hooli's IdP: {loc}"
    );
    assert!(!auth_req(&r).params.contains_key("login_hint"));
    // A domain nobody verified: the email page, as before.
    let (_, r) = b.authorize_crm(&[("domain_hint", "unknown.test")]).await;
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
    // Not a domain at all: ignored, the email page.
    let (_, r) = b.authorize_crm(&[("domain_hint", "not a domain")]).await;
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
}

#[tokio::test]
async fn an_org_with_two_idps_offers_a_choice_and_signs_in_through_the_chosen_one() {
    let fed = Fed::start().await;
    second_hooli_idp(&fed).await;
    let b = fed.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "sam@hooli.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/login/connection?flow={flow}"));
    let page = b.get(&r.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Sign in with hooli IdP"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Sign in with Partner accounts"));
    let first = page.body.find("connection-hooli-idp").unwrap();
    let second = page.body.find("connection-hooli-partners").unwrap();
    assert!(first < second, "the policy's order (oldest first)");
    assert!(page.body.contains("HOOLI"), "branded with the org");

    // Another org's connection, or a made-up one, is not a choice.
    for forged in ["pied-idp", "nope", ""] {
        let r = b
            .post(
                "/login/connection",
                &[("flow", &flow), ("csrf", &csrf), ("connection", forged)],
            )
            .await;
        assert_eq!(r.status, 400, "{forged}: {}", r.body);
    }
    // Without the flow's CSRF token: refused.
    let r = b
        .post(
            "/login/connection",
            &[
                ("flow", &flow),
                ("csrf", "x"),
                ("connection", "hooli-partners"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    let r = b
        .post(
            "/login/connection",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("connection", "hooli-partners"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&fed.op2.issuer()),
        "{}",
        r.location()
    );
    let req = auth_req(&r);
    assert_eq!(req.params["login_hint"], "sam@hooli.test");
    let token = fed
        .op2
        .key("ec-1")
        .sign(&fed.op2.claims("sam-1", &req.nonce, "sam@hooli.test"));
    fed.op2.will_answer("k1", &req.challenge, token);
    let r = fed
        .callback(
            &b,
            "hooli-partners",
            &[("code", "k1"), ("state", &req.state)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let t = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-partners");

    // The organization hint reaches the same choice.
    let b2 = fed.browser();
    let (_, r) = b2.authorize_crm(&[("organization", "hooli")]).await;
    assert!(
        r.location().starts_with("/login/connection?flow="),
        "{}",
        r.location()
    );
    // One IdP switched off meanwhile: the page goes straight to the other.
    let mut c = fed
        .st
        .storage
        .get_connection(
            &OrgId::parse("hooli").unwrap(),
            &ConnectionId::parse("hooli-idp").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    c.state = ConnectionState::Disabled;
    fed.st.storage.update_connection(&c).await.unwrap();
    let r = b2.get(&r.location()).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&fed.op2.issuer()),
        "{}",
        r.location()
    );
}

#[tokio::test]
async fn the_org_name_page_reaches_the_org_idp_and_says_one_sentence_otherwise() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert!(
        page.body.contains(&format!("/login/sso?flow={flow}")),
        "a link to it"
    );
    let page = b.get(&format!("/login/sso?flow={flow}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<label for=\"organization\">"));
    let csrf = page.hidden("csrf");
    const UNKNOWN: &str = "No organization by that name signs in to this application";
    for name in ["globex", "hooli-idp", "../x"] {
        let r = b
            .post(
                "/login/sso",
                &[("flow", &flow), ("csrf", &csrf), ("organization", name)],
            )
            .await;
        assert_eq!(r.status, 422, "{name}");
        assert!(unescape(&r.body).contains(UNKNOWN), "{name}: {}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\""));
    }
    let r = b
        .post(
            "/login/sso",
            &[("flow", &flow), ("csrf", &csrf), ("organization", "  ")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Enter your organization"), "{}", r.body);
    // The org as people write it: "Pied " for the slug `pied`.
    let r = b
        .post(
            "/login/sso",
            &[("flow", &flow), ("csrf", &csrf), ("organization", "Pied ")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&fed.op2.issuer()),
        "{}",
        r.location()
    );
    // CSRF on this form too.
    let r = b
        .post(
            "/login/sso",
            &[("flow", &flow), ("csrf", "nope"), ("organization", "pied")],
        )
        .await;
    assert_eq!(r.status, 403);
}
