//! Discovery and `/authorize` through the code flow: single-org and multi-org users, org hints,
//! `prompt=none`, public clients with PKCE, form-post authorize, login hints vs the SSO session.

use super::fixture::*;
use lobby::domain::SigningAlg;
use serde_json::Value;

#[tokio::test]
async fn discovery_uses_the_public_url_and_advertises_the_contract() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .get(lobby.url("/.well-known/openid-configuration"))
        .header("host", "evil.example.com")
        .header("x-forwarded-host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d: Value = res.json().await.unwrap();
    assert_eq!(d["issuer"], lobby.base.as_str());
    for (k, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(d[k], format!("{}{path}", lobby.base), "{k}");
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(!d["grant_types_supported"].to_string().contains("password"));

    let jwks: Value = lobby
        .http()
        .get(lobby.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys.len() >= 3);
    for k in keys {
        assert!(k["kid"].is_string());
        assert!(k.get("d").is_none(), "no private parts in JWKS");
    }
}

#[tokio::test]
async fn single_org_code_flow_issues_tokens_with_org_and_roles() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 300);
    assert!(t["refresh_token"].as_str().unwrap().len() >= 43);

    let (header, id) = lobby.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(id["iss"], lobby.base.as_str());
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["aud"], "crm");
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["email"], "alice@acme.test");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Alice A.");
    assert_eq!(id["org_id"], "acme");
    assert_eq!(id["org_slug"], "acme");
    assert_eq!(id["org_name"], "Acme");
    assert_eq!(id["roles"], serde_json::json!(["finance", "sales"]));
    assert!(
        id.get("org_roles").is_none(),
        "org_roles only when non-empty"
    );
    assert_eq!(id["idp"], "acme-pw");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert!(id["sid"].is_string() && id["auth_time"].is_i64());
    // at_hash: left half of SHA-256 of the access token (OIDC Core §3.1.3.6).
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        id["at_hash"],
        lobby::provider::token::at_hash(at, SigningAlg::RS256)
    );

    let (aheader, a) = lobby.verify_jwt(at).await;
    assert_eq!(aheader.typ.as_deref(), Some("at+jwt"));
    assert_eq!(a["client_id"], "crm");
    assert_eq!(a["aud"], "crm");
    assert_eq!(a["org_id"], "acme");
    assert_eq!(a["roles"], serde_json::json!(["finance", "sales"]));
    assert_eq!(a["sid"], id["sid"]);
    assert!(a["jti"].is_string());
    assert_eq!(a["scope"], "openid email profile");

    let (status, ui) = lobby.userinfo(at).await;
    assert_eq!(status, 200);
    assert_eq!(ui["sub"], "alice");
    assert_eq!(ui["email"], "alice@acme.test");
    assert_eq!(ui["org_id"], "acme");
    // POST with the Bearer header works too.
    let res = lobby
        .http()
        .post(lobby.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A signed-in audit event was written.
    let audit = lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                org_id: Some(org_id("acme")),
                action: Some("login.success".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].actor, "user:alice");
}

#[tokio::test]
async fn multi_org_user_chooses_org_b_and_gets_only_b_roles() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "globex");
    assert_eq!(id["org_slug"], "globex");
    assert_eq!(id["roles"], serde_json::json!(["sales"]));
    assert!(
        id.get("org_roles").is_none(),
        "bob is org_admin in acme only"
    );
    assert_eq!(id["idp"], "globex-pw");
    let a = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(a["org_id"], "globex");
    assert_eq!(a["roles"], serde_json::json!(["sales"]));

    // Choosing acme instead gives acme's roles and org_roles.
    let b2 = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b2, "bob@acme.test", Some("acme")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "acme");
    assert_eq!(id["roles"], serde_json::json!(["after-sales"]));
    assert_eq!(id["org_roles"], serde_json::json!(["org_admin"]));
}

#[tokio::test]
async fn organization_hint_preselects_an_eligible_org() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "globex")],
        ))
        .await;
    let r = b.sign_in(&flow, "bob@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["org_id"],
        "globex"
    );
}

#[tokio::test]
async fn public_client_with_pkce_and_prompt_none_into_a_second_app() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // Sign in at crm first.
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let crm = lobby.exchange(&code, &verifier).await;
    let crm_sid = jwt_claims(crm["id_token"].as_str().unwrap())["sid"].clone();
    // The portal (public client) gets a code silently with prompt=none.
    let (verifier, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let code = code_from(&r, &lobby.base, PORTAL_CB);
    let (s, t) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (header, id) = lobby.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(id["aud"], "portal");
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["sid"], crm_sid, "one SSO session");
    assert_eq!(id["roles"], serde_json::json!(["viewer"]));

    // prompt=none without a session: login_required back to the client.
    let other = lobby.browser();
    let (_, challenge) = pkce();
    let r = other
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.status, 303);
    let p = r.redirect_params();
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], lobby.base);
}

#[tokio::test]
async fn prompt_none_with_several_orgs_uses_the_last_org_or_needs_interaction() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // bob signs in to crm and picks globex; the session remembers it for crm.
    let _ = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let (verifier, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["org_id"],
        "globex"
    );
    // portal: bob is eligible in acme and globex (membership, link and password connection
    // decide, not roles) and the session has no last org for portal → interaction_required.
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.redirect_params()["error"], "interaction_required");
    // Without prompt=none the SSO session leads straight to the chooser (no password).
    let r = b
        .get(&authorize_path("portal", PORTAL_CB, &challenge, &[]))
        .await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with("/login/org?flow="),
        "{}",
        r.location()
    );
    // prompt=login forces the password page again.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "login")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
    // max_age=0 too.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("max_age", "0")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
}

#[tokio::test]
async fn authorize_accepts_a_form_post() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let path = authorize_path("crm", CRM_CB, &challenge, &[]);
    let query = &path["/authorize?".len()..];
    let form: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post("/authorize", &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let flow = r.location()["/login?flow=".len()..].to_owned();
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(jwt_claims(t["id_token"].as_str().unwrap())["sub"], "alice");
}

#[tokio::test]
async fn a_login_hint_for_another_user_bypasses_the_sso_session() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let _ = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let (_, challenge) = pkce();
    // The signed-in user's own address: silent SSO.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none"), ("login_hint", "Alice@ACME.test")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
    // Someone else: login_required for prompt=none, the identifier page otherwise.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none"), ("login_hint", "bob@acme.test")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("login_hint", "bob@acme.test")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
}

#[tokio::test]
async fn an_id_token_hint_must_name_the_signed_in_user() {
    let lobby = Lobby::start().await;
    // Bob's ID token for crm, from another browser.
    let other = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &other, "bob@acme.test", Some("acme")).await;
    let bob_hint = lobby.exchange(&code, &verifier).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Alice is signed in here and holds her own ID token.
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let alice_hint = lobby.exchange(&code, &verifier).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = alice_hint.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() - 4]
    );
    let (_, challenge) = pkce();
    let with_hint = |hint: &str, none: bool| {
        let mut extra = vec![("id_token_hint", hint.to_owned())];
        if none {
            extra.push(("prompt", "none".to_owned()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        authorize_path("crm", CRM_CB, &challenge, &extra)
    };
    // Another user's hint, or one that does not verify: no silent code for the session's user.
    for hint in [&bob_hint, &tampered, &"x.y.z".to_owned()] {
        let r = b.get(&with_hint(hint, true)).await;
        assert_eq!(r.redirect_params()["error"], "login_required", "{hint}");
        let r = b.get(&with_hint(hint, false)).await;
        assert!(r.location().starts_with("/login?flow="), "{hint}");
    }
    // Her own hint: silent SSO, also once the hint has expired (OIDC Core §3.1.2.1).
    let r = b.get(&with_hint(&alice_hint, true)).await;
    assert!(r.redirect_params().contains_key("code"));
    lobby.clock.advance(time::Duration::hours(1));
    let r = b.get(&with_hint(&alice_hint, true)).await;
    assert!(r.redirect_params().contains_key("code"));
}

#[tokio::test]
async fn an_organization_hint_the_user_cannot_use_is_access_denied_never_another_org() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (_, challenge) = pkce();
    // Alice is a member of acme only; the app asks for globex.
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "globex")],
        ))
        .await;
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let p = r.redirect_params();
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["iss"], lobby.base);
    assert_eq!(p["state"], "st-123");
    assert!(!p.contains_key("code"));
    // Her SSO session does not get her into globex either: the same answer, silently or not.
    for extra in [
        vec![("organization", "globex")],
        vec![("organization", "globex"), ("prompt", "none")],
    ] {
        let r = b
            .get(&authorize_path("crm", CRM_CB, &challenge, &extra))
            .await;
        let p = r.redirect_params();
        assert_eq!(p["error"], "access_denied", "{extra:?}");
        assert!(!p.contains_key("code"));
    }
    // Without the hint, her session still signs her into acme.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
}
