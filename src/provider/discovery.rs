//! `/.well-known/openid-configuration` (OIDC Discovery 1.0 §3, RFC 8414) and `/jwks`.
//! The issuer is `LOBBY_PUBLIC_URL` exactly (without a trailing slash) and every endpoint is
//! built from it — never from request headers such as `Host` or `X-Forwarded-*`.
//!
//! Owns: the metadata document and the JWKS response. Must not touch: keys (it only reads the
//! ring's public set).

use crate::provider::ProviderCtx;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn openid_configuration(State(st): State<ProviderCtx>) -> Response {
    let c = &st.config;
    let doc = json!({
        "issuer": c.issuer(),
        "authorization_endpoint": c.url("/authorize"),
        "token_endpoint": c.url("/token"),
        "userinfo_endpoint": c.url("/userinfo"),
        "jwks_uri": c.url("/jwks"),
        "revocation_endpoint": c.url("/revoke"),
        "introspection_endpoint": c.url("/introspect"),
        "end_session_endpoint": c.url("/logout"),
        "scopes_supported": [
            "openid", "email", "profile", "offline_access",
            // Lobby's admin API (`admin_tokens`): delegated, then client credentials.
            "lobby:admin", "lobby:admin:read", "lobby:admin:write"
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr", "azp",
            "email", "email_verified", "name", "org_id", "org_slug", "org_name", "roles",
            "org_roles", "idp", "at_hash"
        ],
        // `acr_values` with this value demands a second factor (`login::mfa`).
        "acr_values_supported": [crate::domain::mfa::ACR_MULTI_FACTOR],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        // RFC 9207 §3.
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        // OIDC Back-Channel Logout 1.0 §2.1: logout tokens carry `sid` (and `sub`) always.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "ui_locales_supported": crate::i18n::supported_tags(),
    });
    let mut res = Json(doc).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// The public keys (RFC 7517 §5): next, active and recently retired keys.
pub async fn jwks(State(st): State<ProviderCtx>) -> Response {
    let mut res = Json(st.keys.jwks()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
