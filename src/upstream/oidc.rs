//! The OIDC connector: Lobby as a relying party of an organization's own OpenID Provider
//! (issue 4, DESIGN §6.4). Metadata and ID tokens are the `openidconnect` crate's types; JWKS
//! keys are decoded once per fetch into `jsonwebtoken` keys ([`Jwks`]). Every byte from the
//! network comes through [`GuardedHttp`] (SSRF guard, size and time caps, per-connection
//! concurrency), keyed by the connection id.
//!
//! - **Discovery** (OIDC Discovery §4): `<issuer>/.well-known/openid-configuration`; the
//!   document's `issuer` must equal the configured issuer *exactly* (§4.3), the authorization,
//!   token and JWKS endpoints must be present, and when the issuer is https every endpoint must
//!   be https too.
//! - **Caching with stale-while-revalidate**: discovery is fresh for 1 hour and JWKS for 10
//!   minutes; after that the cached copy is still served for up to 24 hours while one
//!   background refresh runs, so a slow IdP does not slow sign-ins. A cache entry belongs to a
//!   (connection, configured issuer) pair: changing the issuer starts over.
//! - **Unknown `kid`**: the JWKS is fetched again at once (key rollover), at most once per 30 s
//!   per connection; if the key is still unknown the token is refused.
//! - **ID token** (OIDC Core §3.1.3.7): Lobby first reads the header and claims itself, to name
//!   precisely what is wrong (`alg` in the connection's allow-list — never `none`, never HMAC —,
//!   no `crit`, `iss` exactly the issuer, `aud` contains the client id, several audiences need
//!   `azp` = client id and any `azp` must be the client id, `sub` present, `exp` in the future,
//!   `iat` present and at most 60 s in the future, `nonce` equal to the one sent); then the
//!   signature is checked with aws-lc (through `jsonwebtoken`) against the one JWKS key that
//!   fits the header, and the crate's `IdTokenVerifier` checks the same claims again. A token
//!   passes only if all agree.
//! - **Userinfo** (OIDC Core §5.3.2): fetched only when the ID token lacks the mapped email or
//!   name (or groups, when a groups claim is configured); its `sub` must equal the ID token's.
//!   Userinfo only fills claims the ID token does not have.
//! - **Client secret**: stored sealed (`keys::seal`, written by the admin service); opened
//!   here just before the token request, never logged (`Secret` redacts `Debug`).
//!
//! Owns: talking OIDC to upstream IdPs and judging their answers. Must not touch: flows,
//! sessions, storage, pages (that is `login::oidc`), who the user is (`login::identity`).

use crate::domain::{Clock, ConnectionId, OidcConfig, Secret, TokenEndpointAuthMethod};
use crate::keys::seal::SealKey;
use crate::upstream::http::{FetchError, GuardedHttp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{ClaimsVerificationError, ClientId, IssuerUrl, Nonce};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How long cached metadata and keys are used.
#[derive(Clone, Debug)]
pub struct CachePolicy {
    pub discovery_fresh: Duration,
    pub jwks_fresh: Duration,
    /// Served while a background refresh runs, up to this age.
    pub max_stale: Duration,
    /// At most one forced JWKS refetch (unknown `kid`) per connection in this interval.
    pub kid_refetch_interval: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            discovery_fresh: Duration::from_secs(3600),
            jwks_fresh: Duration::from_secs(600),
            max_stale: Duration::from_secs(24 * 3600),
            kid_refetch_interval: Duration::from_secs(30),
        }
    }
}

/// `iat` may be at most this far in the future (clock skew between the IdP and Lobby).
pub const MAX_IAT_SKEW_SECS: i64 = 60;

/// What Lobby needs from a validated discovery document.
#[derive(Debug)]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: url::Url,
    pub token_endpoint: url::Url,
    pub userinfo_endpoint: Option<url::Url>,
    pub jwks_uri: url::Url,
    /// RFC 9207 §3: the IdP puts `iss` in every authorization response.
    pub iss_parameter_supported: bool,
    pub supports_code_flow: bool,
    pub id_token_algs: Vec<String>,
    pub token_auth_methods: Option<Vec<String>>,
}

/// Everything that can go wrong talking to an upstream OP. [`OidcError::reason`] is the audit
/// reason; [`OidcError::message`] the sentence shown to the person; `Display` adds detail for
/// the log (never secrets).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("discovery document: {0}")]
    DiscoveryFetch(FetchError),
    #[error("discovery document invalid: {0}")]
    DiscoveryInvalid(String),
    #[error("discovery issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("JWKS: {0}")]
    JwksFetch(FetchError),
    #[error("JWKS invalid: {0}")]
    JwksInvalid(String),
    #[error("the stored client secret cannot be opened (secret key changed?) or is missing")]
    ClientSecret,
    #[error("token endpoint: {0}")]
    TokenFetch(FetchError),
    #[error("token endpoint refused the code: {error}")]
    TokenError { error: String },
    #[error("token response invalid: {0}")]
    TokenResponseInvalid(&'static str),
    #[error("ID token rejected: {reason}: {detail}")]
    IdToken {
        reason: &'static str,
        detail: String,
    },
    #[error("userinfo: {0}")]
    UserinfoFetch(FetchError),
    #[error("userinfo invalid: {0}")]
    UserinfoInvalid(&'static str),
    #[error("userinfo sub does not match the ID token's")]
    UserinfoSubMismatch,
}

pub const SENTENCE_UNREACHABLE: &str = "Your organization's sign-in service could not be reached or did not answer in time. Try again in a few minutes; if this keeps happening, contact your IT administrator.";
pub const SENTENCE_MISCONFIGURED: &str = "Your organization's sign-in is not set up correctly, so you cannot be signed in. Contact your IT administrator.";
pub const SENTENCE_REJECTED: &str = "Your organization's sign-in sent a response that failed our security checks, so you have not been signed in. Go back to the application and try again; if this keeps happening, contact your IT administrator.";

fn fetch_reason(prefix: &'static str, e: &FetchError) -> &'static str {
    macro_rules! r {
        ($p:literal) => {
            match e {
                FetchError::Blocked(_) | FetchError::BadScheme | FetchError::BadUrl => {
                    concat!($p, "_blocked")
                }
                FetchError::Timeout => concat!($p, "_timeout"),
                FetchError::TooLarge(_) => concat!($p, "_too_large"),
                FetchError::Status(_) => concat!($p, "_http_status"),
                FetchError::Busy => concat!($p, "_busy"),
                FetchError::Network(_) => concat!($p, "_unreachable"),
            }
        };
    }
    match prefix {
        "discovery" => r!("discovery"),
        "jwks" => r!("jwks"),
        "token" => r!("token"),
        _ => r!("userinfo"),
    }
}

impl OidcError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DiscoveryFetch(e) => fetch_reason("discovery", e),
            Self::DiscoveryInvalid(_) => "discovery_invalid",
            Self::IssuerMismatch { .. } => "discovery_issuer_mismatch",
            Self::JwksFetch(e) => fetch_reason("jwks", e),
            Self::JwksInvalid(_) => "jwks_invalid",
            Self::ClientSecret => "client_secret_unusable",
            Self::TokenFetch(e) => fetch_reason("token", e),
            Self::TokenError { .. } => "token_error",
            Self::TokenResponseInvalid(_) => "token_response_invalid",
            Self::IdToken { reason, .. } => reason,
            Self::UserinfoFetch(e) => fetch_reason("userinfo", e),
            Self::UserinfoInvalid(_) => "userinfo_invalid",
            Self::UserinfoSubMismatch => "userinfo_sub_mismatch",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Self::DiscoveryFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::JwksFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::TokenFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::UserinfoFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::DiscoveryInvalid(_)
            | Self::IssuerMismatch { .. }
            | Self::JwksInvalid(_)
            | Self::ClientSecret => SENTENCE_MISCONFIGURED,
            Self::DiscoveryFetch(_)
            | Self::JwksFetch(_)
            | Self::TokenFetch(_)
            | Self::UserinfoFetch(_) => SENTENCE_UNREACHABLE,
            Self::TokenError { .. }
            | Self::TokenResponseInvalid(_)
            | Self::IdToken { .. }
            | Self::UserinfoInvalid(_)
            | Self::UserinfoSubMismatch => SENTENCE_REJECTED,
        }
    }

    /// 502 when the IdP could not be used, 400 when its answer was refused.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self.message() {
            SENTENCE_UNREACHABLE | SENTENCE_MISCONFIGURED => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn id_token(reason: &'static str, detail: impl Into<String>) -> Self {
        Self::IdToken {
            reason,
            detail: detail.into(),
        }
    }
}

#[derive(Clone)]
struct Cached<T> {
    value: Arc<T>,
    at: Instant,
}

#[derive(Default)]
struct Entry {
    /// The configured issuer this entry was filled for.
    issuer: String,
    discovery: Option<Cached<Discovered>>,
    jwks: Option<Cached<Jwks>>,
    /// The `jwks_uri` the cached keys came from.
    jwks_uri: Option<url::Url>,
    forced_jwks_at: Option<Instant>,
    refreshing_discovery: bool,
    refreshing_jwks: bool,
}

/// The OIDC relying party for every upstream connection, with its metadata/JWKS cache.
pub struct OidcConnector {
    http: Arc<GuardedHttp>,
    seal: Arc<SealKey>,
    clock: Arc<dyn Clock>,
    policy: CachePolicy,
    cache: Mutex<HashMap<ConnectionId, Entry>>,
}

impl std::fmt::Debug for OidcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnector")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The result of a successful code exchange and validation.
#[derive(Debug)]
pub struct Validated {
    /// `iss` (the configured issuer).
    pub issuer: String,
    pub subject: String,
    /// ID token claims, completed by userinfo where they were missing.
    pub claims: Map<String, Value>,
}

/// One line of the connection test report.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub message: String,
}

/// What the authorization request needs.
pub struct AuthRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_challenge: &'a str,
    pub login_hint: Option<&'a str>,
    /// Ask the IdP for a fresh login (the app sent `prompt=login` or `max_age=0`).
    pub force_login: bool,
    pub max_age: Option<i64>,
}

/// BASE64URL(SHA-256(verifier)) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// OIDC Discovery §4: the configuration URL of an issuer.
pub fn discovery_url(issuer: &str) -> Result<url::Url, OidcError> {
    url::Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|_| OidcError::DiscoveryInvalid("the issuer is not a valid URL".into()))
}

/// Parse and validate a discovery document (OIDC Discovery §3, §4.3).
pub fn parse_discovery(configured_issuer: &str, body: &[u8]) -> Result<Discovered, OidcError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|_| OidcError::DiscoveryInvalid("not a JSON document".into()))?;
    let obj = raw
        .as_object()
        .ok_or_else(|| OidcError::DiscoveryInvalid("not a JSON object".into()))?;
    let found = obj
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| OidcError::DiscoveryInvalid("no issuer".into()))?;
    // §4.3: exactly the issuer used to build the URL; no normalization.
    if found != configured_issuer {
        return Err(OidcError::IssuerMismatch {
            expected: configured_issuer.to_owned(),
            found: found.chars().take(300).collect(),
        });
    }
    let md: CoreProviderMetadata = serde_json::from_value(raw.clone())
        .map_err(|e| OidcError::DiscoveryInvalid(format!("not valid provider metadata: {e}")))?;
    let token_endpoint = md
        .token_endpoint()
        .map(|t| t.url().clone())
        .ok_or_else(|| OidcError::DiscoveryInvalid("no token_endpoint".into()))?;
    let authorization_endpoint = md.authorization_endpoint().url().clone();
    let jwks_uri = md.jwks_uri().url().clone();
    let userinfo_endpoint = md.userinfo_endpoint().map(|u| u.url().clone());
    if configured_issuer.starts_with("https:") {
        let mut all = vec![&authorization_endpoint, &token_endpoint, &jwks_uri];
        all.extend(userinfo_endpoint.iter());
        if all.iter().any(|u| u.scheme() != "https") {
            return Err(OidcError::DiscoveryInvalid(
                "an endpoint of an https issuer is not https".into(),
            ));
        }
    }
    for u in [&authorization_endpoint, &token_endpoint, &jwks_uri] {
        if !matches!(u.scheme(), "https" | "http") || u.fragment().is_some() {
            return Err(OidcError::DiscoveryInvalid(format!(
                "endpoint {u} is not an http(s) URL without fragment"
            )));
        }
    }
    let strings = |k: &str| -> Option<Vec<String>> {
        obj.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    };
    Ok(Discovered {
        issuer: found.to_owned(),
        supports_code_flow: strings("response_types_supported")
            .is_some_and(|v| v.iter().any(|t| t == "code")),
        id_token_algs: strings("id_token_signing_alg_values_supported").unwrap_or_default(),
        token_auth_methods: strings("token_endpoint_auth_methods_supported"),
        iss_parameter_supported: obj
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
    })
}

/// An IdP's JWKS (RFC 7517 §5), each key prepared once for signature checks (not per token).
pub struct Jwks {
    keys: Vec<VerifyKey>,
}

/// One public key of a JWKS: the members that decide which tokens it may verify (RFC 7517 §4),
/// and the key itself, decoded.
struct VerifyKey {
    kid: Option<String>,
    kty: String,
    crv: Option<String>,
    use_: Option<String>,
    alg: Option<String>,
    key: jsonwebtoken::DecodingKey,
}

impl Jwks {
    /// How many keys of the set Lobby can use at all (never 0: [`parse_jwks`] refuses that).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// How many keys could verify a token signed with one of `algs`.
    pub fn usable_with(&self, algs: &[String]) -> usize {
        self.keys
            .iter()
            .filter(|k| algs.iter().any(|a| k.fits(a)))
            .count()
    }
}

impl VerifyKey {
    /// Whether this key can verify `alg`: its `kty` (and `crv`) belong to the algorithm, `use`
    /// is absent or `sig`, `alg` is absent or the same.
    fn fits(&self, alg: &str) -> bool {
        if self.use_.as_deref().is_some_and(|u| u != "sig")
            || self.alg.as_deref().is_some_and(|a| a != alg)
        {
            return false;
        }
        let (kty, crv) = (self.kty.as_str(), self.crv.as_deref());
        match alg {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => kty == "RSA",
            "ES256" => kty == "EC" && crv == Some("P-256"),
            "ES384" => kty == "EC" && crv == Some("P-384"),
            "EdDSA" => kty == "OKP" && crv == Some("Ed25519"),
            _ => false,
        }
    }
}

/// Parse a JWKS (RFC 7517 §5). Keys Lobby cannot use (symmetric or unknown key types, members
/// that do not decode) are skipped; a set left empty is refused.
pub fn parse_jwks(body: &[u8]) -> Result<Jwks, OidcError> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(body)
        .map_err(|_| OidcError::JwksInvalid("not a JSON Web Key Set".into()))?;
    let keys: Vec<VerifyKey> = set.keys.into_iter().filter_map(prepare_key).collect();
    if keys.is_empty() {
        return Err(OidcError::JwksInvalid(
            "the key set has no usable key".into(),
        ));
    }
    Ok(Jwks { keys })
}

fn prepare_key(k: Value) -> Option<VerifyKey> {
    let s = |n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
    let kty = s("kty").filter(|t| matches!(t.as_str(), "RSA" | "EC" | "OKP"))?;
    let (kid, crv, use_, alg) = (s("kid"), s("crv"), s("use"), s("alg"));
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k).ok()?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerifyKey {
        kid,
        kty,
        crv,
        use_,
        alg,
        key,
    })
}

fn alg_from_name(name: &str) -> Option<CoreJwsSigningAlgorithm> {
    // Only asymmetric algorithms exist here: `none` and HS* can never be allowed.
    Some(match name {
        "RS256" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        "RS384" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        "RS512" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        "PS256" => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        "PS384" => CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        "PS512" => CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        "ES256" => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        "ES384" => CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        "EdDSA" => CoreJwsSigningAlgorithm::EdDsa,
        _ => return None,
    })
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The claims of an ID token as Lobby reads them before the signature check.
struct PreChecked {
    header: SigHeader,
    claims: Map<String, Value>,
    subject: String,
}

/// What a JWS header says about its signature, once checked: an allowed `alg`, and the `kid`.
struct SigHeader {
    alg: jsonwebtoken::Algorithm,
    alg_name: String,
    kid: Option<String>,
}

/// The header of an ID token: `alg` in the connection's allow-list (never `none`, never an
/// HMAC), no `crit` (RFC 7515 §4.1.11: no extension Lobby would have to understand).
fn sig_header(h: &str, cfg: &OidcConfig) -> Result<SigHeader, OidcError> {
    let header = b64_json(h)
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "header is not JSON"))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg_name.eq_ignore_ascii_case("none") || alg_name.is_empty() {
        return Err(OidcError::id_token("alg_none", "unsigned token"));
    }
    // The per-connection allow-list; `validate` guarantees it holds only asymmetric algs.
    let alg = match jsonwebtoken::Algorithm::from_str(alg_name) {
        Ok(a)
            if cfg.allowed_algs.iter().any(|x| x == alg_name)
                && alg_from_name(alg_name).is_some() =>
        {
            a
        }
        _ => {
            return Err(OidcError::id_token(
                "alg_not_allowed",
                format!("alg {alg_name:.20} is not allowed for this connection"),
            ));
        }
    };
    if header.contains_key("crit") {
        return Err(OidcError::id_token("crit_header", "crit header present"));
    }
    Ok(SigHeader {
        alg,
        alg_name: alg_name.to_owned(),
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
    })
}

/// OIDC Core §3.1.3.7, checked on the decoded token with precise reasons. The signature is
/// checked afterwards ([`verify_signature`]), then the claims once more ([`recheck_claims`]).
fn precheck(
    token: &str,
    cfg: &OidcConfig,
    issuer: &str,
    nonce: &str,
    now: i64,
) -> Result<PreChecked, OidcError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::id_token(
            "id_token_malformed",
            "not a JWS compact serialization",
        ));
    };
    let header = sig_header(h, cfg)?;
    let claims = b64_json(p)
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "payload is not a JSON object"))?;
    match claims.get("iss").and_then(Value::as_str) {
        Some(i) if i == issuer => {}
        Some(_) => return Err(OidcError::id_token("iss_mismatch", "iss is not the issuer")),
        None => return Err(OidcError::id_token("iss_missing", "no iss")),
    }
    let subject = match claims.get("sub").and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= 255 => s.to_owned(),
        Some(_) => return Err(OidcError::id_token("sub_invalid", "sub empty or too long")),
        None => return Err(OidcError::id_token("sub_missing", "no sub")),
    };
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(OidcError::id_token("aud_missing", "no aud")),
    };
    if !auds.contains(&cfg.client_id.as_str()) {
        return Err(OidcError::id_token(
            "aud_mismatch",
            "aud does not contain the client id",
        ));
    }
    match claims.get("azp") {
        // §2: azp, when present, is the party the token was issued to.
        Some(Value::String(a)) if a == &cfg.client_id => {}
        Some(_) => {
            return Err(OidcError::id_token(
                "azp_mismatch",
                "azp is not the client id",
            ));
        }
        // §3.1.3.7 (4): several audiences need azp.
        None if auds.len() > 1 => {
            return Err(OidcError::id_token(
                "azp_missing",
                "several audiences and no azp",
            ));
        }
        None => {}
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(OidcError::id_token("exp_missing", "no exp"));
    };
    if exp <= now {
        return Err(OidcError::id_token("expired", "exp is in the past"));
    }
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return Err(OidcError::id_token("iat_missing", "no iat"));
    };
    if iat > now + MAX_IAT_SKEW_SECS {
        return Err(OidcError::id_token("iat_in_future", "iat is in the future"));
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if ct_eq(n, nonce) => {}
        Some(_) => return Err(OidcError::id_token("nonce_mismatch", "nonce differs")),
        None => return Err(OidcError::id_token("nonce_missing", "no nonce")),
    }
    Ok(PreChecked {
        header,
        claims,
        subject,
    })
}

/// The JWS signature of an ID token (RFC 7515 §5.2) with the one key of `keys` that fits its
/// checked header ([`sig_header`], RFC 7517 §4): the same `kid` when the token names one, a key
/// type (and curve) of the `alg`, no `use` other than `sig`, no other `alg`. No fitting key →
/// `unknown_kid` (the caller fetches the JWKS again once); several → `ambiguous_kid` (OIDC Core
/// §10.1: a `kid` is needed when a set has more than one key).
fn verify_signature(token: &str, header: &SigHeader, keys: &Jwks) -> Result<(), OidcError> {
    let (message, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "not a JWS"))?;
    let mut fitting = keys
        .keys
        .iter()
        .filter(|k| (header.kid.is_none() || k.kid == header.kid) && k.fits(&header.alg_name));
    let key = match (fitting.next(), fitting.next()) {
        (None, _) => {
            return Err(OidcError::id_token(
                "unknown_kid",
                "no key of the IdP's key set fits this token",
            ));
        }
        (Some(k), None) => k,
        (Some(_), Some(_)) => {
            return Err(OidcError::id_token(
                "ambiguous_kid",
                "several keys of the IdP's key set fit this token and it names none",
            ));
        }
    };
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.key, header.alg) {
        Ok(true) => Ok(()),
        _ => Err(OidcError::id_token(
            "bad_signature",
            "the signature does not verify",
        )),
    }
}

/// The claims once more, by openidconnect's verifier (the signature is [`verify_signature`]'s
/// job): a second, independent reading of OIDC Core §3.1.3.7. A token passes only if both agree.
fn recheck_claims(
    token: &str,
    cfg: &OidcConfig,
    disc: &Discovered,
    nonce: &str,
    now: i64,
) -> Result<(), OidcError> {
    let parsed = CoreIdToken::from_str(token)
        .map_err(|e| OidcError::id_token("id_token_invalid", e.to_string()))?;
    let issuer = IssuerUrl::new(disc.issuer.clone())
        .map_err(|_| OidcError::DiscoveryInvalid("issuer is not a URL".into()))?;
    let verifier: CoreIdTokenVerifier<'_> = CoreIdTokenVerifier::new_public_client(
        ClientId::new(cfg.client_id.clone()),
        issuer,
        CoreJsonWebKeySet::new(vec![]),
    )
    .insecure_disable_signature_check()
    // Extra audiences are accepted only with azp = client id (checked by `precheck` and by
    // the crate, which requires azp when there are several).
    .set_other_audience_verifier_fn(|_| true)
    .set_time_fn(move || chrono_at(now))
    .set_issue_time_verifier_fn(move |iat| {
        if iat.timestamp() > now + MAX_IAT_SKEW_SECS {
            Err("iat is in the future".into())
        } else {
            Ok(())
        }
    });
    let expected = Nonce::new(nonce.to_owned());
    parsed
        .claims(&verifier, &expected)
        .map(|_| ())
        .map_err(map_verification)
}

fn map_verification(e: ClaimsVerificationError) -> OidcError {
    use ClaimsVerificationError as C;
    let detail = e.to_string().chars().take(300).collect::<String>();
    let reason = match &e {
        C::Expired(_) => "expired",
        C::InvalidAudience(_) => "aud_mismatch",
        C::InvalidIssuer(_) => "iss_mismatch",
        C::InvalidNonce(_) => "nonce_mismatch",
        // No `SignatureVerification`: the crate's signature check is off (`recheck_claims`).
        _ => "id_token_invalid",
    };
    OidcError::id_token(reason, detail)
}

fn chrono_at(unix: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

impl OidcConnector {
    pub fn new(
        http: Arc<GuardedHttp>,
        seal: Arc<SealKey>,
        clock: Arc<dyn Clock>,
        policy: CachePolicy,
    ) -> Self {
        Self {
            http,
            seal,
            clock,
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn http(&self) -> &GuardedHttp {
        &self.http
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionId, Entry>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget what is cached for a connection (its config changed or was deleted).
    pub fn forget(&self, id: &ConnectionId) {
        self.lock().remove(id);
    }

    async fn fetch_discovery(
        &self,
        id: &ConnectionId,
        issuer: &str,
    ) -> Result<Discovered, OidcError> {
        let url = discovery_url(issuer)?;
        let r = self
            .http
            .get(id.as_str(), &url, "application/json")
            .await
            .map_err(OidcError::DiscoveryFetch)?;
        parse_discovery(issuer, &r.body)
    }

    async fn fetch_jwks(&self, id: &ConnectionId, uri: &url::Url) -> Result<Jwks, OidcError> {
        let r = self
            .http
            .get(
                id.as_str(),
                uri,
                "application/jwk-set+json, application/json",
            )
            .await
            .map_err(OidcError::JwksFetch)?;
        parse_jwks(&r.body)
    }

    /// The validated discovery document of a connection (cached, stale-while-revalidate).
    pub async fn discovery(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
    ) -> Result<Arc<Discovered>, OidcError> {
        let now = Instant::now();
        let mut refresh = false;
        let cached = {
            let mut c = self.lock();
            let e = c.entry(id.clone()).or_default();
            if e.issuer != cfg.issuer {
                *e = Entry {
                    issuer: cfg.issuer.clone(),
                    ..Entry::default()
                };
            }
            match &e.discovery {
                Some(d) if now.duration_since(d.at) < self.policy.discovery_fresh => {
                    Some(d.value.clone())
                }
                Some(d) if now.duration_since(d.at) < self.policy.max_stale => {
                    if !e.refreshing_discovery {
                        e.refreshing_discovery = true;
                        refresh = true;
                    }
                    Some(d.value.clone())
                }
                _ => None,
            }
        };
        if let Some(d) = cached {
            if refresh {
                let me = self.clone();
                let (id, issuer) = (id.clone(), cfg.issuer.clone());
                tokio::spawn(async move {
                    let r = me.fetch_discovery(&id, &issuer).await;
                    let mut c = me.lock();
                    if let Some(e) = c.get_mut(&id).filter(|e| e.issuer == issuer) {
                        e.refreshing_discovery = false;
                        match r {
                            Ok(d) => {
                                e.discovery = Some(Cached {
                                    value: Arc::new(d),
                                    at: Instant::now(),
                                })
                            }
                            Err(err) => {
                                tracing::warn!(connection = %id, error = %err, "background discovery refresh failed; serving the cached document")
                            }
                        }
                    }
                });
            }
            return Ok(d);
        }
        let d = Arc::new(self.fetch_discovery(id, &cfg.issuer).await?);
        let mut c = self.lock();
        let e = c.entry(id.clone()).or_default();
        if e.issuer == cfg.issuer {
            e.discovery = Some(Cached {
                value: d.clone(),
                at: Instant::now(),
            });
        }
        Ok(d)
    }

    /// The JWKS of a connection (cached, stale-while-revalidate).
    pub async fn jwks(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
    ) -> Result<Arc<Jwks>, OidcError> {
        let now = Instant::now();
        let mut refresh = false;
        let cached = {
            let mut c = self.lock();
            let e = c.entry(id.clone()).or_default();
            if e.issuer != cfg.issuer {
                *e = Entry {
                    issuer: cfg.issuer.clone(),
                    ..Entry::default()
                };
            }
            if e.jwks_uri.as_ref() != Some(&disc.jwks_uri) {
                e.jwks = None;
            }
            match &e.jwks {
                Some(k) if now.duration_since(k.at) < self.policy.jwks_fresh => {
                    Some(k.value.clone())
                }
                Some(k) if now.duration_since(k.at) < self.policy.max_stale => {
                    if !e.refreshing_jwks {
                        e.refreshing_jwks = true;
                        refresh = true;
                    }
                    Some(k.value.clone())
                }
                _ => None,
            }
        };
        if let Some(k) = cached {
            if refresh {
                let me = self.clone();
                let (id, issuer, uri) = (id.clone(), cfg.issuer.clone(), disc.jwks_uri.clone());
                tokio::spawn(async move {
                    let r = me.fetch_jwks(&id, &uri).await;
                    let mut c = me.lock();
                    if let Some(e) = c.get_mut(&id).filter(|e| e.issuer == issuer) {
                        e.refreshing_jwks = false;
                        match r {
                            Ok(k) => {
                                e.jwks = Some(Cached {
                                    value: Arc::new(k),
                                    at: Instant::now(),
                                });
                                e.jwks_uri = Some(uri);
                            }
                            Err(err) => {
                                tracing::warn!(connection = %id, error = %err, "background JWKS refresh failed; serving the cached keys")
                            }
                        }
                    }
                });
            }
            return Ok(k);
        }
        let k = Arc::new(self.fetch_jwks(id, &disc.jwks_uri).await?);
        self.store_jwks(id, cfg, disc, k.clone());
        Ok(k)
    }

    fn store_jwks(&self, id: &ConnectionId, cfg: &OidcConfig, disc: &Discovered, k: Arc<Jwks>) {
        let mut c = self.lock();
        let e = c.entry(id.clone()).or_default();
        if e.issuer == cfg.issuer {
            e.jwks = Some(Cached {
                value: k,
                at: Instant::now(),
            });
            e.jwks_uri = Some(disc.jwks_uri.clone());
        }
    }

    /// Fetch the JWKS again now because a token names an unknown `kid` — unless that was
    /// done for this connection less than `kid_refetch_interval` ago (`Ok(None)`).
    async fn refetch_jwks_for_kid(
        &self,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
    ) -> Result<Option<Arc<Jwks>>, OidcError> {
        {
            let mut c = self.lock();
            let e = c.entry(id.clone()).or_default();
            let now = Instant::now();
            if e.forced_jwks_at
                .is_some_and(|t| now.duration_since(t) < self.policy.kid_refetch_interval)
            {
                return Ok(None);
            }
            e.forced_jwks_at = Some(now);
        }
        let k = Arc::new(self.fetch_jwks(id, &disc.jwks_uri).await?);
        self.store_jwks(id, cfg, disc, k.clone());
        Ok(Some(k))
    }

    /// The URL the browser is sent to (OIDC Core §3.1.2.1) with PKCE S256 (RFC 7636).
    pub fn authorization_url(
        &self,
        disc: &Discovered,
        cfg: &OidcConfig,
        req: &AuthRequest<'_>,
    ) -> url::Url {
        let mut u = disc.authorization_endpoint.clone();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &cfg.client_id);
            q.append_pair("redirect_uri", req.redirect_uri);
            q.append_pair("scope", &cfg.scopes.join(" "));
            q.append_pair("state", req.state);
            q.append_pair("nonce", req.nonce);
            q.append_pair("code_challenge", req.pkce_challenge);
            q.append_pair("code_challenge_method", "S256");
            if let Some(h) = req.login_hint {
                q.append_pair("login_hint", h);
            }
            if req.force_login {
                q.append_pair("prompt", "login");
            } else if let Some(m) = req.max_age {
                q.append_pair("max_age", &m.to_string());
            }
        }
        u
    }

    fn client_secret(&self, cfg: &OidcConfig) -> Result<Secret, OidcError> {
        let sealed = cfg.client_secret.as_ref().ok_or(OidcError::ClientSecret)?;
        let plain = self
            .seal
            .open(sealed.expose())
            .map_err(|_| OidcError::ClientSecret)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OidcError::ClientSecret)
    }

    /// Exchange the code (RFC 6749 §4.1.3 with PKCE), validate the ID token, and fetch
    /// userinfo when claims are missing.
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Validated, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier),
        ];
        let secret;
        let mut rb = self
            .http
            .client()
            .post(disc.token_endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match cfg.token_endpoint_auth_method {
            TokenEndpointAuthMethod::ClientSecretBasic => {
                secret = self.client_secret(cfg)?;
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let creds = format!("{}:{}", enc(&cfg.client_id), enc(secret.expose()));
                rb = rb.header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(creds)
                    ),
                );
            }
            TokenEndpointAuthMethod::ClientSecretPost => {
                secret = self.client_secret(cfg)?;
                form.push(("client_id", &cfg.client_id));
                form.push(("client_secret", secret.expose()));
            }
            TokenEndpointAuthMethod::None => {
                form.push(("client_id", &cfg.client_id));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let req = rb
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .build()
            .map_err(|_| OidcError::TokenFetch(FetchError::BadUrl))?;
        let r = self
            .http
            .send(id.as_str(), req)
            .await
            .map_err(OidcError::TokenFetch)?;
        let json: Option<Map<String, Value>> = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.as_object().cloned());
        if !(200..300).contains(&r.status) {
            // RFC 6749 §5.2.
            let error = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", r.status));
            return Err(OidcError::TokenError { error });
        }
        let json = json.ok_or(OidcError::TokenResponseInvalid("not a JSON object"))?;
        let id_token = json
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or(OidcError::TokenResponseInvalid("no id_token"))?;
        let access_token = json
            .get("access_token")
            .and_then(Value::as_str)
            .map(Secret::new);
        let token_type_ok = json
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
        let mut v = self
            .validate_id_token(id, cfg, disc, id_token, nonce)
            .await?;
        if self.needs_userinfo(cfg, &v.claims)
            && let (Some(endpoint), Some(at)) = (&disc.userinfo_endpoint, &access_token)
            && token_type_ok
        {
            let ui = self.userinfo(id, endpoint, at).await?;
            match ui.get("sub").and_then(Value::as_str) {
                // OIDC Core §5.3.2: the sub must be exactly the ID token's.
                Some(s) if s == v.subject => {}
                Some(_) => return Err(OidcError::UserinfoSubMismatch),
                None => return Err(OidcError::UserinfoInvalid("no sub")),
            }
            for (k, val) in ui {
                v.claims.entry(k).or_insert(val);
            }
        }
        Ok(v)
    }

    fn needs_userinfo(&self, cfg: &OidcConfig, claims: &Map<String, Value>) -> bool {
        let missing = |k: &str| claims.get(k).is_none_or(Value::is_null);
        missing(&cfg.claims.email)
            || missing(&cfg.claims.name)
            || cfg.claims.groups.as_deref().is_some_and(missing)
    }

    async fn userinfo(
        &self,
        id: &ConnectionId,
        endpoint: &url::Url,
        access_token: &Secret,
    ) -> Result<Map<String, Value>, OidcError> {
        let req = self
            .http
            .client()
            .get(endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .bearer_auth(access_token.expose())
            .build()
            .map_err(|_| OidcError::UserinfoFetch(FetchError::BadUrl))?;
        let r = self
            .http
            .send(id.as_str(), req)
            .await
            .map_err(OidcError::UserinfoFetch)?;
        if !(200..300).contains(&r.status) {
            return Err(OidcError::UserinfoFetch(FetchError::Status(r.status)));
        }
        serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .ok_or(OidcError::UserinfoInvalid(
                "not a JSON object (signed userinfo is not supported)",
            ))
    }

    /// Validate an ID token of this connection (see the module docs).
    pub async fn validate_id_token(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
        token: &str,
        nonce: &str,
    ) -> Result<Validated, OidcError> {
        if token.len() > 64 * 1024 {
            return Err(OidcError::id_token("id_token_malformed", "token too large"));
        }
        let now = self.clock.now().unix_timestamp();
        let pre = precheck(token, cfg, &disc.issuer, nonce, now)?;
        // The signature: aws-lc (through jsonwebtoken), about ten times cheaper for RSA than
        // openidconnect's `rsa` backend.
        let keys = self.jwks(id, cfg, disc).await?;
        match verify_signature(token, &pre.header, &keys) {
            Err(OidcError::IdToken {
                reason: "unknown_kid",
                ..
            }) => {
                // Key rollover at the IdP: look once more (rate-limited).
                let Some(fresh) = self.refetch_jwks_for_kid(id, cfg, disc).await? else {
                    return Err(OidcError::id_token(
                        "unknown_kid",
                        "no key for this kid; the JWKS was fetched again recently",
                    ));
                };
                verify_signature(token, &pre.header, &fresh)?;
            }
            other => other?,
        }
        recheck_claims(token, cfg, disc, nonce, now)?;
        Ok(Validated {
            issuer: disc.issuer.clone(),
            subject: pre.subject,
            claims: pre.claims,
        })
    }

    /// `GET …/connections/{id}/test`: discovery and JWKS, fetched fresh (not from the cache),
    /// with every finding in plain words.
    pub async fn test(&self, id: &ConnectionId, cfg: &OidcConfig) -> Vec<Check> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, ok: bool, message: String| {
            out.push(Check { name, ok, message });
        };
        let disc_url = match discovery_url(&cfg.issuer) {
            Ok(u) => u,
            Err(_) => {
                push(
                    "issuer",
                    false,
                    format!("The issuer {:?} is not a valid URL.", cfg.issuer),
                );
                return out;
            }
        };
        let body = match self
            .http
            .get(id.as_str(), &disc_url, "application/json")
            .await
        {
            Ok(r) => {
                push(
                    "discovery_fetch",
                    true,
                    format!("Fetched the discovery document from {disc_url}."),
                );
                r.body
            }
            Err(e) => {
                push(
                    "discovery_fetch",
                    false,
                    format!("Could not fetch the discovery document from {disc_url}: {e}."),
                );
                return out;
            }
        };
        let disc = match parse_discovery(&cfg.issuer, &body) {
            Ok(d) => {
                push(
                    "issuer_match",
                    true,
                    "The document's issuer is exactly the configured issuer.".into(),
                );
                d
            }
            Err(OidcError::IssuerMismatch { expected, found }) => {
                push(
                    "issuer_match",
                    false,
                    format!(
                        "The document says its issuer is {found:?}, but the connection is configured with {expected:?}. They must be identical (check the trailing slash and the scheme)."
                    ),
                );
                return out;
            }
            Err(e) => {
                push(
                    "discovery_valid",
                    false,
                    format!("The discovery document is not usable: {e}."),
                );
                return out;
            }
        };
        push(
            "endpoints",
            true,
            format!(
                "Authorization endpoint {}, token endpoint {}, JWKS {}{}.",
                disc.authorization_endpoint,
                disc.token_endpoint,
                disc.jwks_uri,
                disc.userinfo_endpoint
                    .as_ref()
                    .map(|u| format!(", userinfo endpoint {u}"))
                    .unwrap_or_default()
            ),
        );
        push(
            "code_flow",
            disc.supports_code_flow,
            if disc.supports_code_flow {
                "The identity provider supports the authorization code flow.".into()
            } else {
                "The identity provider does not list response type \"code\"; Lobby needs the authorization code flow.".into()
            },
        );
        let common: Vec<&String> = cfg
            .allowed_algs
            .iter()
            .filter(|a| disc.id_token_algs.contains(a))
            .collect();
        push(
            "algorithms",
            !common.is_empty(),
            if common.is_empty() {
                format!(
                    "The identity provider signs ID tokens with {:?}, none of which this connection allows ({:?}).",
                    disc.id_token_algs, cfg.allowed_algs
                )
            } else {
                format!("ID tokens can be signed with {common:?}.")
            },
        );
        let method = match cfg.token_endpoint_auth_method {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::None => "none",
        };
        match &disc.token_auth_methods {
            Some(m) if !m.iter().any(|x| x == method) => push(
                "token_auth_method",
                false,
                format!(
                    "The connection authenticates to the token endpoint with {method}, but the identity provider supports only {m:?}."
                ),
            ),
            _ => push(
                "token_auth_method",
                true,
                format!("Token endpoint authentication: {method}."),
            ),
        }
        if cfg.token_endpoint_auth_method != TokenEndpointAuthMethod::None {
            match self.client_secret(cfg) {
                Ok(_) => push("client_secret", true, "The client secret is stored and can be read.".into()),
                Err(_) => push(
                    "client_secret",
                    false,
                    "The stored client secret cannot be read (was the secret key changed?). Set the client secret again.".into(),
                ),
            }
        }
        match self
            .http
            .get(
                id.as_str(),
                &disc.jwks_uri,
                "application/jwk-set+json, application/json",
            )
            .await
        {
            Err(e) => push(
                "jwks",
                false,
                format!(
                    "Could not fetch the signing keys from {}: {e}.",
                    disc.jwks_uri
                ),
            ),
            Ok(r) => match parse_jwks(&r.body) {
                Ok(k) => {
                    let usable = k.usable_with(&cfg.allowed_algs);
                    push(
                        "jwks",
                        usable > 0,
                        if usable > 0 {
                            format!(
                                "Fetched {} signing key(s), {usable} usable with the allowed algorithms.",
                                k.key_count()
                            )
                        } else {
                            "The key set has no key usable with the allowed algorithms.".into()
                        },
                    )
                }
                Err(e) => push(
                    "jwks",
                    false,
                    format!("The signing keys are not usable: {e}."),
                ),
            },
        }
        out
    }
}

/// A random nonce, state or PKCE verifier: 256 bits, base64url (43 characters, RFC 7636 §4.1).
pub fn random_value() -> String {
    crate::domain::random_token()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClaimMapping, SystemClock};
    use crate::upstream::http::{Limits, NetPolicy};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const ISS: &str = "https://idp.example.com";

    fn cfg(issuer: &str) -> OidcConfig {
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
        }
    }

    fn doc(issuer: &str, base: &str) -> Vec<u8> {
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

    #[test]
    fn discovery_issuer_must_match_exactly() {
        assert!(parse_discovery(ISS, &doc(ISS, ISS)).is_ok());
        for other in [
            "https://idp.example.com/",
            "https://IDP.example.com",
            "http://idp.example.com",
            "https://idp.example.com/tenant",
        ] {
            assert!(
                matches!(
                    parse_discovery(ISS, &doc(other, ISS)),
                    Err(OidcError::IssuerMismatch { .. })
                ),
                "{other}"
            );
        }
        assert_eq!(
            discovery_url("https://idp.example.com/tenant/")
                .unwrap()
                .as_str(),
            "https://idp.example.com/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn an_https_issuer_cannot_hand_out_http_endpoints() {
        let e = parse_discovery(ISS, &doc(ISS, "http://idp.example.com")).unwrap_err();
        assert!(matches!(e, OidcError::DiscoveryInvalid(_)), "{e}");
        assert_eq!(e.reason(), "discovery_invalid");
        assert!(matches!(
            parse_discovery(ISS, b"<html>"),
            Err(OidcError::DiscoveryInvalid(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&doc(ISS, ISS)).unwrap();
        v.as_object_mut().unwrap().remove("token_endpoint");
        assert!(parse_discovery(ISS, &serde_json::to_vec(&v).unwrap()).is_err());
    }

    #[test]
    fn empty_or_foreign_key_sets_are_refused() {
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(br#"{"keys": [{"kty": "weird"}]}"#).is_err());
        assert!(parse_jwks(b"null").is_err());
    }

    fn tok(header: serde_json::Value, claims: serde_json::Value) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        )
    }

    /// An EC P-256 key: its PKCS#8 DER (to sign) and its public JWK (x, y).
    fn ec_key() -> (Vec<u8>, serde_json::Value) {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).unwrap();
        let p = pair.public_key().as_ref(); // 0x04 || x || y
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65]),
        });
        (der.as_ref().to_vec(), jwk)
    }

    fn es256(der: &[u8], kid: Option<&str>) -> String {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = kid.map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_ec_der(der);
        jsonwebtoken::encode(&h, &serde_json::json!({"sub": "s"}), &key).unwrap()
    }

    fn set(keys: Vec<serde_json::Value>) -> Jwks {
        parse_jwks(&serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()).unwrap()
    }

    /// The header check, then the signature, as `validate_id_token` runs them.
    fn check(token: &str, keys: &Jwks, cfg: &OidcConfig) -> Result<(), OidcError> {
        let header = sig_header(token.split('.').next().unwrap(), cfg)?;
        verify_signature(token, &header, keys)
    }

    fn reason(r: Result<(), OidcError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(OidcError::IdToken { reason, .. }) => reason,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }

    /// The signature check picks the one key that fits the header (RFC 7517 §4), or says why
    /// none does.
    #[test]
    fn signature_key_selection() {
        let c = cfg(ISS); // allows RS256 and ES256
        let (d1, mut j1) = ec_key();
        let (d2, mut j2) = ec_key();
        j1["kid"] = "k1".into();
        j2["kid"] = "k2".into();
        let both = set(vec![j1.clone(), j2.clone()]);
        assert_eq!(reason(check(&es256(&d1, Some("k1")), &both, &c)), "ok");
        assert_eq!(reason(check(&es256(&d2, Some("k2")), &both, &c)), "ok");
        // Signed by k2, claiming k1.
        assert_eq!(
            reason(check(&es256(&d2, Some("k1")), &both, &c)),
            "bad_signature"
        );
        // No kid and two fitting keys: OIDC Core §10.1 wants a kid.
        assert_eq!(reason(check(&es256(&d1, None), &both, &c)), "ambiguous_kid");
        // No kid and one key: that key.
        assert_eq!(
            reason(check(&es256(&d1, None), &set(vec![j1.clone()]), &c)),
            "ok"
        );
        // An unknown kid, an encryption key, a key for another alg or curve: no key fits.
        assert_eq!(
            reason(check(&es256(&d1, Some("k9")), &both, &c)),
            "unknown_kid"
        );
        let mut enc = j1.clone();
        enc["use"] = "enc".into();
        let mut other_alg = j1.clone();
        other_alg["alg"] = "ES384".into();
        let mut other_curve = j1.clone();
        other_curve["crv"] = "P-384".into();
        for k in [enc, other_alg, other_curve] {
            assert_eq!(
                reason(check(&es256(&d1, Some("k1")), &set(vec![k.clone()]), &c)),
                "unknown_kid",
                "{k}"
            );
        }
        // A tampered payload.
        let t = es256(&d1, Some("k1"));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &forged;
        assert_eq!(reason(check(&parts.join("."), &both, &c)), "bad_signature");
        // An alg outside the connection's list, even with a fitting key.
        let mut narrow = c.clone();
        narrow.allowed_algs = vec!["RS256".into()];
        assert_eq!(
            reason(check(&es256(&d1, Some("k1")), &both, &narrow)),
            "alg_not_allowed"
        );
    }

    #[test]
    fn precheck_names_each_defect() {
        let now = 1_800_000_000;
        let good = serde_json::json!({"iss": ISS, "sub": "s", "aud": "lobby", "exp": now + 60,
            "iat": now, "nonce": "n"});
        let h = serde_json::json!({"alg": "RS256", "kid": "k"});
        let c = cfg(ISS);
        assert!(precheck(&tok(h.clone(), good.clone()), &c, ISS, "n", now).is_ok());
        let reason = |header: serde_json::Value, f: &dyn Fn(&mut serde_json::Value)| {
            let mut claims = good.clone();
            f(&mut claims);
            match precheck(&tok(header, claims), &c, ISS, "n", now) {
                Err(e) => e.reason(),
                Ok(_) => "accepted",
            }
        };
        let rm = |k: &'static str| {
            move |v: &mut serde_json::Value| {
                v.as_object_mut().unwrap().remove(k);
            }
        };
        assert_eq!(
            reason(serde_json::json!({"alg": "none"}), &|_| {}),
            "alg_none"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "HS256"}), &|_| {}),
            "alg_not_allowed"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "PS256"}), &|_| {}),
            "alg_not_allowed"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "RS256", "crit": ["x"]}), &|_| {}),
            "crit_header"
        );
        assert_eq!(reason(h.clone(), &rm("iss")), "iss_missing");
        assert_eq!(reason(h.clone(), &rm("sub")), "sub_missing");
        assert_eq!(reason(h.clone(), &rm("aud")), "aud_missing");
        assert_eq!(reason(h.clone(), &rm("exp")), "exp_missing");
        assert_eq!(reason(h.clone(), &rm("iat")), "iat_missing");
        assert_eq!(reason(h.clone(), &rm("nonce")), "nonce_missing");
        assert_eq!(reason(h.clone(), &|v| v["sub"] = "".into()), "sub_invalid");
        assert_eq!(
            reason(h.clone(), &|v| v["iss"] = format!("{ISS}/").into()),
            "iss_mismatch"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["aud"] = serde_json::json!(["x"])),
            "aud_mismatch"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["aud"] = serde_json::json!(["lobby", "x"])),
            "azp_missing"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["azp"] = "x".into()),
            "azp_mismatch"
        );
        assert_eq!(reason(h.clone(), &|v| v["exp"] = now.into()), "expired");
        assert_eq!(
            reason(h.clone(), &|v| v["iat"] = (now + 61).into()),
            "iat_in_future"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["iat"] = (now + 60).into()),
            "accepted"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["nonce"] = "m".into()),
            "nonce_mismatch"
        );
        assert_eq!(
            precheck("a.b", &c, ISS, "n", now).err().map(|e| e.reason()),
            Some("id_token_malformed")
        );
    }

    /// An HTTP server on 127.0.0.1:0 answering every request with `body` (200, JSON) and
    /// counting requests; while `up` is false it reads the request and never answers.
    async fn serve(
        body: Arc<Mutex<Vec<u8>>>,
        hits: Arc<AtomicUsize>,
        up: Arc<std::sync::atomic::AtomicBool>,
    ) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let body = body.lock().unwrap().clone();
                let (hits, up) = (hits.clone(), up.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    hits.fetch_add(1, Ordering::SeqCst);
                    if !up.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                });
            }
        });
        addr
    }

    async fn wait_for(hits: &AtomicUsize, n: usize) {
        for _ in 0..500 {
            if hits.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "only {} requests, expected {n}",
            hits.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn discovery_is_cached_and_served_stale_while_it_revalidates() {
        let body = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let addr = serve(body.clone(), hits.clone(), up.clone()).await;
        let issuer = format!("http://{addr}");
        *body.lock().unwrap() = doc(&issuer, &issuer);
        let http = Arc::new(
            GuardedHttp::new(
                NetPolicy {
                    allow_private: true,
                },
                Limits {
                    total_timeout: Duration::from_secs(2),
                    ..Limits::default()
                },
            )
            .unwrap(),
        );
        let conn = Arc::new(OidcConnector::new(
            http,
            Arc::new(SealKey::generate().unwrap()),
            Arc::new(SystemClock),
            CachePolicy {
                discovery_fresh: Duration::from_secs(1),
                jwks_fresh: Duration::from_secs(1),
                max_stale: Duration::from_secs(60),
                kid_refetch_interval: Duration::from_secs(30),
            },
        ));
        let id = ConnectionId::parse("c1").unwrap();
        let c = cfg(&issuer);
        conn.discovery(&id, &c).await.unwrap();
        conn.discovery(&id, &c).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1, "fresh: from the cache");
        // Stale, and the IdP hangs: the cached copy is served at once (a fetch would wait for
        // the 2 s timeout) while one background refresh waits.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        up.store(false, Ordering::SeqCst);
        let started = Instant::now();
        conn.discovery(&id, &c).await.unwrap();
        conn.discovery(&id, &c).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "no waiting");
        wait_for(&hits, 2).await;
        // The IdP is back once that refresh has timed out: the next stale read refreshes in
        // the background and the copy is fresh again.
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2200)).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2, "one refresh at a time");
        conn.discovery(&id, &c).await.unwrap();
        wait_for(&hits, 3).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.discovery(&id, &c).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 3, "fresh again");
        // Another configured issuer is another cache entry.
        let mut c2 = c.clone();
        c2.issuer = format!("{issuer}/");
        assert!(matches!(
            conn.discovery(&id, &c2).await,
            Err(OidcError::IssuerMismatch { .. })
        ));
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
