//! The in-flight login: a server-side `Flow` record in the short-lived state store under
//! `flow:<id>` (≤ 10 minutes), bound to the browser that started it (DESIGN §2, §6.7).
//!
//! The flow id travels in the page URLs and forms. The browser-binding cookie
//! (`__Host-lobby_flow` — `Secure; HttpOnly; Path=/; SameSite=None` — when
//! `config.secure_cookies()`, else `lobby_flow` with `HttpOnly; Path=/; SameSite=Lax` on http
//! loopback development) holds a random 256-bit secret whose SHA-256 is stored in every flow of
//! that browser, so a flow id copied into another browser fails. One cookie serves any number of
//! concurrent flows (tabs). Each flow also has its own CSRF token, checked on every POST.
//!
//! Owns: the flow record, its storage, the binding cookie. Must not touch: authentication,
//! token issuance.

use crate::domain::{
    AppId, ClientId, ConnectionId, Email, OrgId, Secret, SessionId, UserId, random_token, to_millis,
};
use crate::login::LoginCtx;
use crate::login::prefetch::Early;
use crate::state::{Put, StateError};
use crate::upstream::Pending;
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// A flow lives at most this long.
pub const FLOW_TTL: Duration = Duration::from_secs(600);

/// A flow id: 43 base64url characters of `random_token` (256 bits). [`FlowId::parse`] is the
/// only way in from outside, so a malformed id never reaches the store's keys. Serialized as
/// the plain string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FlowId(String);

impl FlowId {
    /// A new random flow id.
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// A well-formed flow id, else `None`.
    pub fn parse(s: &str) -> Option<Self> {
        token_shaped(s).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FlowId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if token_shaped(&s) {
            Ok(Self(s))
        } else {
            Err("not a flow id")
        }
    }
}

impl From<FlowId> for String {
    fn from(id: FlowId) -> String {
        id.0
    }
}

impl std::fmt::Display for FlowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` has the shape of a `random_token` (43 base64url characters): flow ids, the
/// browser-binding secret, and the single-use handles of the SAML legs.
pub fn token_shaped(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the user is in the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The identifier page (email).
    Identifier,
    /// The password page for `Flow::email`.
    Password,
    /// Authenticated; choosing among `Flow::eligible`.
    Chooser,
    /// Not authenticated; choosing among the IdPs of `Flow::target_org` (`sso_choice`).
    Connection,
    /// Password checked, org chosen (`Flow::mfa`): enrolling a second factor (`login::mfa`).
    MfaEnroll,
    /// Password checked, org chosen (`Flow::mfa`): passing the second factor (`login::mfa`).
    MfaChallenge,
    /// Not authenticated, but the person opened the emailed link sent to `Flow::email`, so
    /// they hold that address: choosing among the orgs it may sign in to (`login::shared`).
    OrgLink,
}

/// `prompt` values of the request (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub select_account: bool,
}

/// How the user proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Password,
    /// Through the org's own OpenID Provider (`login::oidc`).
    Oidc,
    /// Through the org's own SAML IdP.
    Saml,
}

impl AuthMethod {
    /// The connection kind, as in metrics and audit details.
    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Oidc => "oidc",
            AuthMethod::Saml => "saml",
        }
    }
}

/// A completed authentication inside a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub user_id: UserId,
    pub sid: SessionId,
    /// Unix seconds.
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub method: AuthMethod,
    /// The upstream connection of a federated sign-in (`None` for passwords): such a session
    /// is good for that connection's org only.
    #[serde(default)]
    pub idp: Option<ConnectionId>,
    /// When the SSO session behind it began (`SsoSession::started_ns`): no code is issued for
    /// an authentication its user's password reset ended (`session::put_unless_ended`).
    #[serde(default)]
    pub started_ns: i64,
    /// Unix seconds when the second factor was passed (or, for a remembered device, when it
    /// was remembered); `None` without one (`login::mfa`).
    #[serde(default)]
    pub mfa_time: Option<i64>,
}

/// An authentication request sent to an org's own IdP and not yet answered.
/// The answer must come back to this browser's flow AND name this connection (mix-up defence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamPending {
    pub connection_id: ConnectionId,
    /// Hex SHA-256 of the `state` (OIDC) or `RelayState` (SAML) that was sent.
    pub state_hash: String,
    /// What the protocol must check in the answer.
    pub pending: Pending,
    /// Unix milliseconds when the request was sent.
    pub sent_at: i64,
}

/// The validated authorization request, kept until the code is issued.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flow {
    pub id: FlowId,
    pub client_id: ClientId,
    pub app_id: AppId,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The `organization` hint, resolved to an org linked to the app.
    pub org_hint: Option<OrgId>,
    pub domain_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub csrf: Secret,
    /// Hex SHA-256 of the browser-binding secret.
    pub binding: String,
    pub stage: Stage,
    pub email: Option<Email>,
    /// The org discovery routed the email to (hint or verified domain), for branding.
    pub target_org: Option<OrgId>,
    pub auth: Option<Authenticated>,
    /// Orgs the authenticated user may choose (chooser stage).
    pub eligible: Vec<OrgId>,
    /// An invitation token the app passed as `invitation=` (redeemed by a federated first
    /// sign-in into the invitation's org, `login::identity`).
    #[serde(default)]
    pub invitation: Option<Secret>,
    /// Started by `/invite/{token}` (no app request behind it): a federated sign-in that
    /// redeems `invitation` ends on the invitation's landing (`login::invite::landing`), not with
    /// a code for an app.
    #[serde(default)]
    pub invite_accept: bool,
    /// A test sign-in started from the portal's connection wizard: the IdP's answer is shown
    /// to the admin and nothing else happens (`login::test_signin`).
    #[serde(default)]
    pub test: Option<crate::login::test_signin::TestSignIn>,
    /// The pending request to an upstream IdP, if the flow went there.
    #[serde(default)]
    pub upstream: Option<UpstreamPending>,
    /// `acr_values` asked for a second factor (`domain::mfa::ACR_MULTI_FACTOR`).
    #[serde(default)]
    pub acr_mfa: bool,
    /// The second factor this flow waits for (stages `MfaEnroll`, `MfaChallenge`).
    #[serde(default)]
    pub mfa: Option<crate::login::mfa::MfaPending>,
    /// Unix milliseconds.
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("no such flow, or it expired")]
    Missing,
    #[error("the flow belongs to another browser")]
    WrongBrowser,
    #[error(transparent)]
    State(#[from] StateError),
}

/// Where flows live in the state store: `flow:<id>`.
pub const KEY_PREFIX: &str = "flow:";

/// The state-store key of a flow (`prefetch` reads it early).
pub(crate) fn key(id: &FlowId) -> String {
    format!("{KEY_PREFIX}{id}")
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The name of the browser-binding cookie.
pub fn cookie_name(st: &LoginCtx) -> &'static str {
    cookie_name_for(st.config.secure_cookies())
}

fn cookie_name_for(secure: bool) -> &'static str {
    if secure {
        "__Host-lobby_flow"
    } else {
        "lobby_flow"
    }
}

/// The browser's binding secret, and a `Set-Cookie` value when a new one had to be made.
pub fn browser_binding(st: &LoginCtx, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    binding_for(st.config.secure_cookies(), headers)
}

fn binding_for(secure: bool, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(v) = crate::http::params::cookie(headers, cookie_name_for(secure))
        && token_shaped(v)
    {
        return (v.to_owned(), None);
    }
    let secret = random_token();
    let attrs = if secure {
        // SameSite=None so a cross-site POST back (SAML ACS) still carries it; __Host- pins it
        // to this host, Path=/ and Secure.
        "Path=/; Secure; HttpOnly; SameSite=None"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    };
    let cookie =
        HeaderValue::from_str(&format!("{}={secret}; {attrs}", cookie_name_for(secure))).ok();
    (secret, cookie)
}

/// Hash of a binding secret, as stored in the flow.
pub fn binding_hash(secret: &str) -> String {
    sha256_hex(secret)
}

impl Flow {
    /// The language the app asked for with `ui_locales`, when Lobby has it: the hosted pages
    /// of this flow use it instead of the browser's.
    pub fn ui_lang(&self) -> Option<crate::i18n::Lang> {
        crate::i18n::from_ui_locales(self.ui_locales.as_deref())
    }

    /// Remaining lifetime, `None` when expired.
    fn ttl(&self, now_ms: i64) -> Option<Duration> {
        let left = self.expires_at - now_ms;
        (left > 0).then(|| Duration::from_millis(left as u64))
    }

    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        match presented {
            Some(p) => p.as_bytes().ct_eq(self.csrf.expose().as_bytes()).into(),
            None => false,
        }
    }
}

/// Store a new flow.
pub async fn create(st: &LoginCtx, flow: &Flow) -> Result<(), FlowError> {
    save(st, flow).await
}

/// Store the flow again (its expiry does not move).
pub async fn save(st: &LoginCtx, flow: &Flow) -> Result<(), FlowError> {
    save_with(st, flow, &[]).await
}

/// Store the flow again together with `others` (entries that point at it), in one step of
/// the state store (one round trip on Redis).
pub async fn save_with(st: &LoginCtx, flow: &Flow, others: &[Put<'_>]) -> Result<(), FlowError> {
    let now = to_millis(st.clock.now());
    let ttl = flow.ttl(now).ok_or(FlowError::Missing)?;
    let bytes = serde_json::to_vec(flow).map_err(|e| StateError::Unavailable(e.into()))?;
    let key = key(&flow.id);
    let mut all = Vec::with_capacity(1 + others.len());
    all.push(Put {
        key: &key,
        value: &bytes,
        ttl,
        // A flow without a signed-in user may be evicted when memory is short (issue 13 item
        // 11); once bound to a user it is kept until it expires.
        evictable: flow.auth.is_none(),
    });
    all.extend_from_slice(others);
    st.ephemeral.put_all(&all).await?;
    Ok(())
}

fn decode(st: &LoginCtx, bytes: Option<Vec<u8>>) -> Result<Flow, FlowError> {
    let bytes = bytes.ok_or(FlowError::Missing)?;
    let flow: Flow = serde_json::from_slice(&bytes).map_err(|_| FlowError::Missing)?;
    if flow.ttl(to_millis(st.clock.now())).is_none() {
        return Err(FlowError::Missing);
    }
    Ok(flow)
}

/// The hash of the binding secret this browser presents (its cookie), as flows store it;
/// `None` without a well-formed cookie. `secure`: `Config::secure_cookies`.
pub fn presented_binding(secure: bool, headers: &HeaderMap) -> Option<String> {
    crate::http::params::cookie(headers, cookie_name_for(secure))
        .filter(|v| token_shaped(v))
        .map(binding_hash)
}

fn check_binding(st: &LoginCtx, flow: &Flow, headers: &HeaderMap) -> Result<(), FlowError> {
    match presented_binding(st.config.secure_cookies(), headers) {
        Some(h) if bool::from(h.as_bytes().ct_eq(flow.binding.as_bytes())) => Ok(()),
        _ => Err(FlowError::WrongBrowser),
    }
}

/// Load a flow for this browser.
pub async fn load(st: &LoginCtx, id: &FlowId, headers: &HeaderMap) -> Result<Flow, FlowError> {
    load_early(st, id, headers, &mut Early::default()).await
}

/// [`load`], with the read the rate limiter made early when it read this flow (`prefetch`).
pub async fn load_early(
    st: &LoginCtx,
    id: &FlowId,
    headers: &HeaderMap,
    early: &mut Early,
) -> Result<Flow, FlowError> {
    let key = key(id);
    let read = match early.get(&key) {
        Some(read) => read,
        None => st.ephemeral.get(&key).await?,
    };
    checked(st, read, headers)
}

/// A flow read without the browser check: only for its test marker (`login::test_signin`),
/// which leads nowhere but to the portal page of the admin who started the test.
pub(crate) async fn peek(st: &LoginCtx, id: &FlowId) -> Option<Flow> {
    decode(st, st.ephemeral.get(&key(id)).await.ok()?).ok()
}

/// Take a flow out of the store (atomic: of concurrent requests exactly one gets it).
pub async fn take(st: &LoginCtx, id: &FlowId, headers: &HeaderMap) -> Result<Flow, FlowError> {
    take_and_delete(st, id, headers, &[]).await
}

/// [`take`], deleting the `also` keys (entries that pointed at the flow) in the same step of
/// the state store (one round trip on Redis) once the browser check has passed.
pub async fn take_and_delete(
    st: &LoginCtx,
    id: &FlowId,
    headers: &HeaderMap,
    also: &[&str],
) -> Result<Flow, FlowError> {
    let read = st.ephemeral.get(&key(id)).await?;
    take_read_and_delete(st, id, read, headers, also).await
}

/// [`take_and_delete`] of a flow the caller has just read (`read`: what the store held under
/// its key, e.g. through `StateStore::get_via`), saving that read.
pub async fn take_read_and_delete(
    st: &LoginCtx,
    id: &FlowId,
    read: Option<Vec<u8>>,
    headers: &HeaderMap,
    also: &[&str],
) -> Result<Flow, FlowError> {
    // Check the browser first, so another browser cannot burn this flow.
    check_binding(st, &decode(st, read)?, headers)?;
    checked(
        st,
        st.ephemeral.take_and_delete(&key(id), also).await?,
        headers,
    )
}

/// A flow as the store held it (`read`: what a read or a take found), checked as [`load`] and
/// [`take`] check it: present, not expired, this browser's.
pub fn checked(
    st: &LoginCtx,
    read: Option<Vec<u8>>,
    headers: &HeaderMap,
) -> Result<Flow, FlowError> {
    let flow = decode(st, read)?;
    check_binding(st, &flow, headers)?;
    Ok(flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_cookie_attributes() {
        let h = HeaderMap::new();
        let (secret, c) = binding_for(true, &h);
        let c = c.unwrap();
        let c = c.to_str().unwrap();
        assert!(c.starts_with(&format!("__Host-lobby_flow={secret};")));
        for a in ["Path=/", "Secure", "HttpOnly", "SameSite=None"] {
            assert!(c.contains(a), "{c}");
        }
        assert!(!c.contains("Domain"), "__Host- cookies have no Domain");
        let (_, c) = binding_for(false, &h);
        let c = c.unwrap();
        let c = c.to_str().unwrap();
        assert!(c.starts_with("lobby_flow="));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
        // An existing well-formed cookie is kept; a malformed one is replaced.
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            format!("lobby_flow={secret}").parse().unwrap(),
        );
        assert_eq!(binding_for(false, &h), (secret, None));
        h.insert(
            axum::http::header::COOKIE,
            "lobby_flow=bad".parse().unwrap(),
        );
        assert!(binding_for(false, &h).1.is_some());
    }

    #[test]
    fn ids_are_checked_before_use_as_keys() {
        assert!(FlowId::parse(&random_token()).is_some());
        assert!(FlowId::parse("short").is_none());
        assert!(FlowId::parse(&format!("{}:", &random_token()[..42])).is_none());
        let id = FlowId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""), "stored as the plain string");
        assert!(serde_json::from_str::<FlowId>("\"x:y\"").is_err());
    }
}
