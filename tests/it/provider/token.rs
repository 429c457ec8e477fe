//! The token endpoint's code exchange rules: single-use codes, PKCE verifier, client and
//! redirect binding, expiry, client authentication methods, unsupported grants.

use super::fixture::*;

#[tokio::test]
async fn code_is_single_use_and_reuse_revokes_the_first_tokens() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CRM_CB),
        ("code_verifier", verifier.as_str()),
    ];
    let (s, e) = lobby.token(&form).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // What the first redemption issued is revoked: refresh family and access token.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    // A third try still fails.
    let (s, _) = lobby.token(&form).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn wrong_verifier_burns_the_code() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let (wrong, _) = pkce();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &wrong),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // The right verifier no longer helps: the code is gone.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // A missing verifier is a malformed request.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", CRM_CB),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn code_for_another_client_or_redirect_uri_is_refused() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    // `portal` (public) presents crm's code.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // And the code is burned for crm as well.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(s, 400);

    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/crm/cb/"),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn expired_code_is_refused() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    lobby.clock.advance(time::Duration::seconds(61));
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn client_authentication_methods() {
    let lobby = Lobby::start().await;
    // client_secret_post works.
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let (s, v) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", &verifier),
                ("client_id", "crm"),
                ("client_secret", CRM_SECRET),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    // Wrong secret, no secret for a confidential client, unknown client: 401 invalid_client.
    for basic in [Some(("crm", "wrong")), Some(("nope", "x"))] {
        let (s, e) = lobby.token_as(&form, basic).await;
        assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    }
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", "crm"),
            ],
            None,
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // Two methods at once: invalid_request.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_secret", CRM_SECRET),
            ],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    // A public client must not send a secret.
    let (s, e) = lobby.token_as(&form, Some(("portal", "anything"))).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn password_and_other_grants_are_unsupported() {
    let lobby = Lobby::start().await;
    // (client_credentials is for Lobby's admin API only: `admin_tokens.rs`.)
    for grant in ["password", "implicit", "urn:x"] {
        let (s, e) = lobby
            .token(&[
                ("grant_type", grant),
                ("username", "alice@acme.test"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("unsupported_grant_type")),
            "{grant}"
        );
    }
    // JSON bodies are refused.
    let res = lobby
        .http()
        .post(lobby.url("/token"))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
