//! The SAML HTTP surface: `GET /sso/saml/{connection_id}/metadata` (SP metadata),
//! `POST /sso/saml/{connection_id}/acs` (HTTP-POST binding; `GET` answers the HTTP-Redirect
//! binding, which the Web SSO profile forbids for responses), `GET /sso/saml/{connection_id}/continue`
//! (the second half of the ACS, see below), and [`start`], called by the identifier page when
//! discovery picked a SAML connection.
//!
//! Owns: SAML request records, the replay cache, the ACS → login hand-over. Must not touch:
//! message validation (`validate`), token issuance (`login::issue`), user linking
//! (`login::identity`).
//!
//! ## What binds the ACS POST to the browser that started the login
//!
//! The IdP's page POSTs to the ACS from another site. With https (`secure_cookies`), the flow
//! cookie is `SameSite=None; Secure` and comes along; on http loopback development it is
//! `SameSite=Lax` and does not. So the ACS never relies on it being there:
//! 1. `start` stores a request record under a random, single-use RelayState handle (256 bits;
//!    the only thing the IdP sees besides the request id): the request id (160 bits), the
//!    connection, the flow id and the hash of the browser's flow-cookie secret.
//! 2. The ACS validates the message, records the assertion id in the replay cache (a second
//!    POST of the same assertion stops here), then *takes* that record (once) and requires
//!    InResponseTo = its request id and the same connection; if a flow cookie came along it must
//!    match too. The validated identity is
//!    parked for 2 minutes under another random single-use handle; the browser is sent (303) to
//!    `GET …/continue?h=<handle>`.
//! 3. That GET is a top-level same-origin navigation, so the flow cookie (Lax or None) is sent;
//!    `continue` takes the parked identity and takes the flow *with the cookie check*: a
//!    response replayed or forced into another browser (login CSRF) stops here, because that
//!    browser lacks the cookie whose hash the flow holds. The flow itself also keeps the request
//!    id and the RelayState hash (`Flow.upstream`), which must match what was answered.
//!
//! IdP-initiated (unsolicited) responses are refused unless the connection allows them. When
//! allowed, every check but InResponseTo still applies (signature, audience, recipient, replay
//! cache); `continue` then signs the user in to Lobby (SSO session) and sends the browser to the
//! connection's configured app redirect URI with only `iss` (third-party-initiated login, OIDC
//! Core §4): no code is issued without the app's own request, so the app starts a fresh
//! authorization (its own state, nonce, PKCE), which the new SSO session completes.

mod acs;
mod resume;
pub mod signin;
mod start;

pub use start::start;

use crate::domain::{Connection, ConnectionConfig, ConnectionId, OrgId, Outcome};
use crate::login::LoginCtx;
use crate::login::error::{FailureAudit, LoginError};
use crate::login::flow::FlowId;
use crate::pages::{PageError, error_page};
use crate::upstream::saml::{SetupError, sp_urls};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// The ACS reads at most this much of a POST body.
pub const MAX_ACS_BODY: usize = 256 * 1024 + 1024;
/// How long a validated identity waits for `continue`.
pub const DONE_TTL: Duration = Duration::from_secs(120);

pub fn router() -> Router<LoginCtx> {
    Router::new()
        .route("/sso/saml/{connection_id}/metadata", get(sp_metadata))
        .route(
            "/sso/saml/{connection_id}/acs",
            get(acs::acs_redirect).post(acs::acs_post),
        )
        .route(
            "/sso/saml/{connection_id}/continue",
            get(resume::continue_login),
        )
}

/// The SAML request of one browser, stored under `saml:req:<RelayState>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: String,
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    pub flow_id: FlowId,
    /// Hash of the browser's flow-cookie secret (as in the flow).
    pub binding: String,
    /// The request of a test sign-in (`login::test_signin`): the only kind a draft connection
    /// answers.
    #[serde(default)]
    pub test: bool,
}

/// A validated assertion waiting for `continue`, under `saml:done:<sha256(handle)>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneRecord {
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    /// `None` for IdP-initiated sign-in.
    pub flow_id: Option<FlowId>,
    pub binding: Option<String>,
    /// The request id answered and the SHA-256 of the RelayState (solicited only).
    pub request_id: Option<String>,
    pub relay_hash: Option<String>,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: String,
    pub attributes: BTreeMap<String, Vec<String>>,
    pub assertion_id: String,
    pub amr: Vec<String>,
    /// Unix seconds of the assertion's `AuthnInstant` (when the IdP authenticated the person).
    #[serde(default)]
    pub authn_instant: Option<i64>,
    /// The answer to a test sign-in's request: it only ever ends a test flow.
    #[serde(default)]
    pub test: bool,
}

pub(crate) fn req_key(relay: &str) -> String {
    format!("saml:req:{}", hex::encode(Sha256::digest(relay.as_bytes())))
}

pub(super) fn done_key(handle: &str) -> String {
    format!(
        "saml:done:{}",
        hex::encode(Sha256::digest(handle.as_bytes()))
    )
}

pub(super) fn replay_key(conn: &ConnectionId, issuer: &str, assertion_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update(b"\0");
    h.update(assertion_id.as_bytes());
    format!("saml:seen:{conn}:{}", hex::encode(h.finalize()))
}

/// A refused SAML sign-in: a metric and a log line now, and the `login.failure` audit event
/// with the reason and the fixed page when it is answered; no session.
pub(super) fn rejected(
    conn: Option<&Connection>,
    connection_id: &str,
    reason: &str,
    page: PageError,
) -> LoginError {
    crate::ops::metrics::saml_rejected(reason);
    tracing::info!(connection = connection_id, reason, "SAML sign-in refused");
    LoginError::page(page).audited(FailureAudit {
        org: conn.map(|c| c.org_id.clone()),
        action: "login.failure",
        target: ("connection", connection_id.chars().take(128).collect()),
        outcome: Outcome::Failure,
        actor: "anonymous".into(),
        details: serde_json::json!({ "connection": "saml", "reason": reason }),
    })
}

/// The page for a connection whose IdP setup cannot be used: ours when our storage failed,
/// else "not available".
pub(super) fn setup_page(e: &SetupError) -> PageError {
    match e.failure() {
        None => PageError::Server,
        Some(_) => PageError::SsoNotAvailable,
    }
}

/// The connection of a callback path, if it is an active SAML connection.
pub(super) async fn callback_connection(
    st: &LoginCtx,
    raw: &str,
) -> Result<Option<Connection>, ()> {
    let Ok(id) = ConnectionId::parse(raw) else {
        return Ok(None);
    };
    match st.storage.get_connection_for_callback(&id).await {
        Ok(Some(c)) if matches!(c.config, ConnectionConfig::Saml(_)) => Ok(Some(c)),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::error!(error = %e, "storage error loading a SAML connection");
            Err(())
        }
    }
}

/// `GET /sso/saml/{connection_id}/metadata`: our SP metadata for this connection (also for
/// draft connections, so org IT can load it before activation).
async fn sp_metadata(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let conn = match callback_connection(&st, &raw).await {
        Ok(Some(c)) => c,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such SAML connection.").into_response(),
        Err(()) => return error_page(PageError::Server, &headers, None),
    };
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return (StatusCode::NOT_FOUND, "No such SAML connection.").into_response();
    };
    let certs = match st.saml.sp_keys.published_certs().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot load the SAML SP keys");
            return error_page(PageError::Server, &headers, None);
        }
    };
    let urls = sp_urls(&st.config, &conn.id);
    let body = crate::upstream::saml::metadata::sp_metadata(
        &urls.entity_id,
        &urls.acs,
        &certs,
        cfg.sign_authn_requests,
        cfg.name_id_format.as_deref(),
    );
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    res
}
