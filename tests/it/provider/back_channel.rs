//! The back-channel endpoints relying parties call: introspect, userinfo, and their CORS.

use super::fixture::*;

#[tokio::test]
async fn introspect_answers_only_for_the_tokens_own_client() {
    let lobby = Lobby::start().await;
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let at = t["access_token"].as_str().unwrap();
    let (s, i) = lobby
        .post_json("/introspect", &[("token", at)], Some(("crm", CRM_SECRET)))
        .await;
    assert_eq!(s, 200);
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], "crm");
    assert_eq!(i["sub"], "alice");
    assert_eq!(i["org_id"], "acme");
    // Another (public) client: inactive.
    let (s, i) = lobby
        .post_json(
            "/introspect",
            &[("token", at), ("client_id", "portal")],
            None,
        )
        .await;
    assert_eq!((s, i), (200, serde_json::json!({"active": false})));
    // Expired: inactive.
    lobby.clock.advance(time::Duration::seconds(301));
    let (_, i) = lobby
        .post_json("/introspect", &[("token", at)], Some(("crm", CRM_SECRET)))
        .await;
    assert_eq!(i, serde_json::json!({"active": false}));
    assert_eq!(lobby.userinfo(at).await.0, 401);
}

#[tokio::test]
async fn userinfo_rejects_missing_and_forged_tokens() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .get(lobby.url("/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    // An ID token is not an access token (typ differs).
    assert_eq!(lobby.userinfo(t["id_token"].as_str().unwrap()).await.0, 401);
    // Tampered payload.
    let at = t["access_token"].as_str().unwrap();
    let mut parts: Vec<String> = at.split('.').map(str::to_owned).collect();
    let mut claims = jwt_claims(at);
    claims["org_id"] = "globex".into();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&claims).unwrap(),
    );
    assert_eq!(lobby.userinfo(&parts.join(".")).await.0, 401);
}

#[tokio::test]
async fn browser_apps_can_call_the_back_channel_with_cors() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .request(reqwest::Method::OPTIONS, lobby.url("/token"))
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let res = lobby.http().get(lobby.url("/jwks")).send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // Navigations get none.
    let res = lobby
        .http()
        .get(lobby.url("/authorize"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
