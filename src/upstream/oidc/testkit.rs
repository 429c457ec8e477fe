//! Test fixtures shared by the OIDC connector's tests: an issuer, a connection config and a
//! discovery document.
//!
//! Owns: nothing outside tests. Must not touch: production code paths.

use crate::domain::{ClaimMapping, OidcConfig, TokenEndpointAuthMethod};

pub(super) const ISS: &str = "https://idp.example.com";

pub(super) fn cfg(issuer: &str) -> OidcConfig {
    OidcConfig {
        issuer: issuer.into(),
        client_id: "lobby".into(),
        client_secret: None,
        scopes: vec!["openid".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        allowed_algs: vec!["RS256".into(), "ES256".into()],
        claims: ClaimMapping::default(),
        role_mapping: vec![],
        require_email_verified: true,
        email_authority: Default::default(),
    }
}

pub(super) fn doc(issuer: &str, base: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .unwrap()
}
