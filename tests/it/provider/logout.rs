//! RP-initiated logout: ending the session, revocation, exact redirects, confirmation with
//! CSRF, and refusing bad hints or post-logout URIs.

use super::fixture::*;
use lobby::domain::SigningAlg;
use serde_json::Value;

#[tokio::test]
async fn logout_ends_the_session_revokes_and_redirects_exactly() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id_token = t["id_token"].as_str().unwrap();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", CRM_BYE)
        .append_pair("state", "bye-1")
        .finish();
    let r = b.get(&format!("/logout?{q}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{CRM_BYE}?state=bye-1"));
    // Refresh tokens of the session are revoked.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(s, 400);
    // The SSO session is gone: prompt=none now needs a login.
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn logout_without_hint_asks_for_confirmation_with_csrf() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let _ = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let r = b.get("/logout").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("action=\"/logout\""));
    let csrf = r.hidden("csrf");
    // Without the token: refused, still signed in.
    let r = b.post("/logout", &[("csrf", "nope")]).await;
    assert_eq!(r.status, 403);
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
    // With it: signed out.
    let r = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"logged-out\""));
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn logout_named_only_by_client_id_without_a_session_does_not_redirect() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", "crm")
        .append_pair("post_logout_redirect_uri", CRM_BYE)
        .append_pair("state", "s1")
        .finish();
    let r = b.get(&format!("/logout?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers.get("location").is_none(),
        "no redirect without a hint"
    );
    assert!(r.body.contains("signed out"), "{}", r.body);
}

#[tokio::test]
async fn logout_with_bad_hints_or_uris_never_redirects() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let good = t["id_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let enc = |v: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(v).unwrap(),
        )
    };
    // Tampered payload, same signature.
    let mut c = jwt_claims(&good);
    c["sub"] = "bob".into();
    let tampered = format!("{}.{}.{}", parts[0], enc(&c), parts[2]);
    // alg: none.
    let none = format!(
        "{}.{}.",
        enc(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    // Signed by a key that is not Lobby's (a fresh Ed25519 key, with Lobby's kid).
    let der = lobby::keys::generate_pkcs8(SigningAlg::EdDSA).unwrap();
    let foreign_key = jsonwebtoken::EncodingKey::from_ed_der(&der);
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.kid = jsonwebtoken::decode_header(&good).unwrap().kid;
    let foreign = jsonwebtoken::encode(&h, &jwt_claims(&good), &foreign_key).unwrap();
    // An access token is not an ID token.
    let access = t["access_token"].as_str().unwrap().to_owned();
    for hint in [tampered, none, foreign, access, "garbage".into()] {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &hint)
            .append_pair("post_logout_redirect_uri", CRM_BYE)
            .finish();
        let r = b.get(&format!("/logout?{q}")).await;
        assert_eq!(r.status, 400, "{hint}");
        assert!(r.headers.get("location").is_none());
        assert!(r.body.contains("not been signed out"));
    }
    // A valid hint with an unregistered post_logout_redirect_uri: error page, no redirect.
    for uri in [
        "http://127.0.0.1:9/crm/bye/",
        "http://127.0.0.1:9/crm/bye?x=1",
        "https://evil.example.com/",
    ] {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &good)
            .append_pair("post_logout_redirect_uri", uri)
            .finish();
        let r = b.get(&format!("/logout?{q}")).await;
        assert_eq!(r.status, 400, "{uri}");
        assert!(r.headers.get("location").is_none());
    }
    // Still signed in after all of that.
    let (_, challenge) = pkce();
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
