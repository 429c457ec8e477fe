//! The fixed world of the fuzz targets: the SAML connection `c1` with the fixture IdP
//! certificate pinned, the upstream OIDC connection with the fixture key set and ID tokens, and
//! the clock they are all valid at. The files come from `fuzz/fixtures/` (test keys made for
//! fuzzing only; the private halves stay there, used by `fuzz/src/gen_seeds.rs` alone).
//!
//! Owns: fuzzing fixtures only. Must not touch: Lobby's behaviour.

use crate::domain::{ClaimMapping, OidcConfig, TokenEndpointAuthMethod};
use crate::upstream::oidc::Discovered;
use crate::upstream::saml::validate::Expect;
use base64::Engine;
use std::sync::OnceLock;
use time::OffsetDateTime;

pub const SAML_SP: &str = "https://lobby.test/sso/saml/c1/metadata";
pub const SAML_ACS: &str = "https://lobby.test/sso/saml/c1/acs";
pub const SAML_IDP: &str = "https://idp.test/metadata";
pub const SAML_IN_RESPONSE_TO: &str = "_fuzz_request_0123456789abcdef";

/// The fixture IdP's self-signed certificate (PEM), the one pinned by connection `c1`.
pub const SAML_IDP_CERT_PEM: &str = include_str!("../../fuzz/fixtures/saml-idp.crt");

/// The fixed clock of every target: inside the fixture certificate's validity, and the
/// `IssueInstant` of the signed seeds.
pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2027-01-01 00:00:00 UTC)
}

/// The instant (unix seconds) of [`now`].
pub fn now_unix() -> i64 {
    now().unix_timestamp()
}

/// The DER bytes of a PEM document (fixtures only: panics on a broken fixture).
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("fixture PEM")
}

/// The pinned certificates of the SAML connection: the fixture certificate only.
pub fn saml_pinned() -> &'static [Vec<u8>] {
    static P: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    P.get_or_init(|| vec![pem_to_der(SAML_IDP_CERT_PEM)])
}

/// What the ACS of connection `c1` expects (signed assertions required).
pub fn saml_expect() -> Expect<'static> {
    Expect {
        sp_entity_id: SAML_SP,
        acs_url: SAML_ACS,
        idp_entity_id: SAML_IDP,
        pinned_certs: saml_pinned(),
        want_assertions_signed: true,
        now: now(),
    }
}

pub const OIDC_ISSUER: &str = "https://idp.example.com";
pub const OIDC_CLIENT_ID: &str = "lobby";
pub const OIDC_NONCE: &str = "n-0S6_WzA2Mj";

/// The upstream OIDC connection (RS256 and ES256 allowed, as the defaults of tests).
pub fn oidc_config() -> OidcConfig {
    OidcConfig {
        issuer: OIDC_ISSUER.into(),
        client_id: OIDC_CLIENT_ID.into(),
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

/// The IdP's discovery document, as parsed.
pub fn oidc_discovered() -> Discovered {
    let u = |p: &str| url::Url::parse(&format!("{OIDC_ISSUER}{p}")).expect("fixture URL");
    Discovered {
        issuer: OIDC_ISSUER.into(),
        authorization_endpoint: u("/authorize"),
        token_endpoint: u("/token"),
        userinfo_endpoint: Some(u("/userinfo")),
        jwks_uri: u("/jwks"),
        iss_parameter_supported: true,
        supports_code_flow: true,
        id_token_algs: vec!["RS256".into(), "ES256".into()],
        token_auth_methods: None,
    }
}

/// The IdP's key set: the public halves of `fuzz/fixtures/oidc-rs256.key` (kid `rs1`) and
/// `fuzz/fixtures/oidc-es256.key` (kid `es1`).
pub const OIDC_JWKS: &str = include_str!("../../fuzz/fixtures/oidc-jwks.json");

/// An ID token for `alice` signed with the RS256 fixture key: valid at [`now`] for
/// [`oidc_config`], [`OIDC_NONCE`] and [`OIDC_JWKS`].
pub const OIDC_TOKEN_RS256: &str = include_str!("../../fuzz/fixtures/oidc-token-rs256.jwt");
/// The same claims signed with the ES256 fixture key.
pub const OIDC_TOKEN_ES256: &str = include_str!("../../fuzz/fixtures/oidc-token-es256.jwt");
