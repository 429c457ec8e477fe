//! Fixtures shared by Lobby's fuzz targets (`fuzz_targets/`) and the seed generator: the fixed
//! SAML IdP key and its pinned certificate, the fixed OIDC connection, key set and clock. The
//! keys in `fixtures/` are test keys made for fuzzing only (committed on purpose, never used
//! anywhere else).
//!
//! Owns: fuzzing fixtures only. Must not touch: Lobby's behaviour (it calls Lobby's public
//! parsing and validation functions as they are).

use lobby::domain::{ClaimMapping, OidcConfig, TokenEndpointAuthMethod};
use lobby::upstream::oidc::Discovered;
use lobby::upstream::saml::validate::Expect;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// The hostile-response corpus generator of the SAML tests, used here to build signed seeds.
#[path = "../../tests/saml/corpus.rs"]
pub mod corpus;

pub const SAML_SP: &str = "https://lobby.test/sso/saml/c1/metadata";
pub const SAML_ACS: &str = "https://lobby.test/sso/saml/c1/acs";
pub const SAML_IDP: &str = "https://idp.test/metadata";
pub const SAML_IN_RESPONSE_TO: &str = "_fuzz_request_0123456789abcdef";

/// The fixed clock of every target: inside the fixture certificate's validity, and the
/// `IssueInstant` of the signed seeds.
pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2027-01-01 00:00:00 UTC)
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).expect("fixture PEM")
}

/// The SAML IdP's fixed key pair and self-signed certificate (`fixtures/saml-idp.*`).
pub fn saml_signer() -> &'static corpus::Signer {
    static S: OnceLock<corpus::Signer> = OnceLock::new();
    S.get_or_init(|| {
        let key =
            openssl::pkey::PKey::private_key_from_pem(include_bytes!("../fixtures/saml-idp.key"))
                .expect("fixture key");
        corpus::Signer {
            key_der: key.private_key_to_der().expect("key DER"),
            cert_der: pem_to_der(include_str!("../fixtures/saml-idp.crt")),
        }
    })
}

/// The pinned certificates of the SAML connection: the fixture certificate only.
pub fn saml_pinned() -> &'static [Vec<u8>] {
    static P: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    P.get_or_init(|| vec![saml_signer().cert_der.clone()])
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
    let u = |p: &str| url::Url::parse(&format!("{OIDC_ISSUER}{p}")).expect("url");
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

/// The IdP's key set: the public halves of `fixtures/oidc-rs256.key` (kid `rs1`) and
/// `fixtures/oidc-es256.key` (kid `es1`), written by `gen_seeds`.
pub const OIDC_JWKS: &str = include_str!("../fixtures/oidc-jwks.json");

/// The instant (unix seconds) of [`now`].
pub fn now_unix() -> i64 {
    now().unix_timestamp()
}

/// An ID token for `alice` signed with the RS256 fixture key: valid at [`now`] for
/// [`oidc_config`], [`OIDC_NONCE`] and [`OIDC_JWKS`].
pub const OIDC_TOKEN_RS256: &str = include_str!("../fixtures/oidc-token-rs256.jwt");
/// The same claims signed with the ES256 fixture key.
pub const OIDC_TOKEN_ES256: &str = include_str!("../fixtures/oidc-token-es256.jwt");

/// The input after its first byte, which picks the mode of a target; `None` when empty or not
/// UTF-8 (every input of these parsers reaches Lobby as a `&str`).
pub fn split_mode(data: &[u8]) -> Option<(u8, &str)> {
    let (&mode, rest) = data.split_first()?;
    Some((mode, std::str::from_utf8(rest).ok()?))
}
