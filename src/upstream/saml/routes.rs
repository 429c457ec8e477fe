//! The SAML HTTP surface: `GET /sso/saml/{connection_id}/metadata` (SP metadata),
//! `POST /sso/saml/{connection_id}/acs` (HTTP-POST binding; `GET` answers the HTTP-Redirect
//! binding, which the Web SSO profile forbids for responses), `GET /sso/saml/{connection_id}/continue`
//! (the second half of the ACS, see below), and [`start`], called by the identifier page when
//! discovery picked a SAML connection.
//!
//! Owns: SAML request records, the replay cache, the ACS → login hand-over. Must not touch:
//! message validation (`validate`), token issuance (`login::finish`), user linking
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

use super::validate::{self, Expect, ValidatedAssertion};
use super::{SetupError, request, sp_urls};
use crate::app::AppState;
use crate::domain::{
    AuditEvent, AuditEventId, Connection, ConnectionConfig, ConnectionId, ConnectionState, Email,
    OrgId, Outcome, random_token, to_millis,
};
use crate::login::flow::{self, Flow};
use crate::login::pages::{Chrome, PageError, error_page, render};
use crate::provider::error::see_other;
use crate::provider::params::{Params, cookie, request_id};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The ACS reads at most this much of a POST body.
pub const MAX_ACS_BODY: usize = 256 * 1024 + 1024;
/// How long a validated identity waits for `continue`.
pub const DONE_TTL: Duration = Duration::from_secs(120);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sso/saml/{connection_id}/metadata", get(sp_metadata))
        .route(
            "/sso/saml/{connection_id}/acs",
            get(acs_redirect).post(acs_post),
        )
        .route("/sso/saml/{connection_id}/continue", get(continue_login))
}

/// The SAML request of one browser, stored under `saml:req:<RelayState>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: String,
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    pub flow_id: String,
    /// Hash of the browser's flow-cookie secret (as in the flow).
    pub binding: String,
}

/// A validated assertion waiting for `continue`, under `saml:done:<sha256(handle)>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneRecord {
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    /// `None` for IdP-initiated sign-in.
    pub flow_id: Option<String>,
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
}

fn req_key(relay: &str) -> String {
    format!("saml:req:{}", hex::encode(Sha256::digest(relay.as_bytes())))
}

fn done_key(handle: &str) -> String {
    format!(
        "saml:done:{}",
        hex::encode(Sha256::digest(handle.as_bytes()))
    )
}

fn replay_key(conn: &ConnectionId, issuer: &str, assertion_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update(b"\0");
    h.update(assertion_id.as_bytes());
    format!("saml:seen:{conn}:{}", hex::encode(h.finalize()))
}

/// A failed SAML sign-in: audit event with the reason, a metric, the fixed page; no session.
async fn reject(
    st: &AppState,
    headers: &HeaderMap,
    conn: Option<&Connection>,
    connection_id: &str,
    reason: &str,
    page: PageError,
) -> Response {
    metrics::counter!("lobby_saml_rejections_total", "reason" => reason.to_owned()).increment(1);
    tracing::info!(connection = connection_id, reason, "SAML sign-in refused");
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: "anonymous".into(),
        org_id: conn.map(|c| c.org_id.clone()),
        action: "login.failure".into(),
        target_type: "connection".into(),
        target_id: connection_id.chars().take(128).collect(),
        outcome: Outcome::Failure,
        details: serde_json::json!({ "connection": "saml", "reason": reason }),
        request_id: Some(request_id(headers)),
    };
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the refused SAML sign-in");
    }
    error_page(page, headers, None)
}

/// The connection of a callback path, if it is an active SAML connection.
async fn callback_connection(st: &AppState, raw: &str) -> Result<Option<Connection>, ()> {
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
    State(st): State<AppState>,
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
    let body = super::metadata::sp_metadata(
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

/// Send the browser to the org's SAML IdP (DESIGN §2 step 3). `flow` was loaded for this
/// browser; `email` is what the user typed, or the app's `login_hint` when the app named the
/// org (`/authorize` then skips the email page).
pub async fn start(
    st: &AppState,
    headers: &HeaderMap,
    mut flow: Flow,
    email: Option<Email>,
    conn: Connection,
) -> Response {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return error_page(PageError::Server, headers, None);
    };
    if conn.state != ConnectionState::Active {
        return error_page(PageError::SsoNotAvailable, headers, None);
    }
    let idp = match st.saml.idp_state(&conn).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(connection = %conn.id, error = %e, "SAML connection unusable");
            let page = match e {
                SetupError::Storage(_) => PageError::Server,
                _ => PageError::SsoNotAvailable,
            };
            return reject(st, headers, Some(&conn), conn.id.as_str(), e.code(), page).await;
        }
    };
    let Some(md) = idp.metadata.as_ref() else {
        return error_page(PageError::SsoNotAvailable, headers, None);
    };
    let urls = sp_urls(&st.config, &conn.id);
    let request_id = request::new_request_id();
    let relay = random_token();
    let rec = RequestRecord {
        request_id: request_id.clone(),
        connection_id: conn.id.clone(),
        org_id: conn.org_id.clone(),
        flow_id: flow.id.clone(),
        binding: flow.binding.clone(),
    };
    let ttl_ms = flow.expires_at - to_millis(st.clock.now());
    if ttl_ms <= 0 {
        return error_page(PageError::FlowExpired, headers, None);
    }
    let bytes = match serde_json::to_vec(&rec) {
        Ok(b) => b,
        Err(_) => return error_page(PageError::Server, headers, None),
    };
    if let Err(e) = st
        .state
        .put(
            &req_key(&relay),
            &bytes,
            Duration::from_millis(ttl_ms as u64),
        )
        .await
    {
        tracing::error!(error = %e, "cannot store the SAML request");
        return error_page(PageError::Unavailable, headers, None);
    }
    flow.email = email;
    flow.target_org = Some(conn.org_id.clone());
    // The request id is also kept in the flow: `continue` checks both agree.
    flow.upstream = Some(flow::UpstreamPending {
        connection_id: conn.id.clone(),
        state_hash: hex::encode(Sha256::digest(relay.as_bytes())),
        nonce: None,
        pkce_verifier: None,
        request_id: Some(request_id.clone()),
        sent_at: to_millis(st.clock.now()),
    });
    if let Err(e) = flow::save(st, &flow).await {
        return crate::login::flow_error(e, headers);
    }
    let params = request::AuthnRequestParams {
        id: &request_id,
        issue_instant: st.clock.now(),
        destination: "",
        acs_url: &urls.acs,
        sp_entity_id: &urls.entity_id,
        name_id_format: cfg.name_id_format.as_deref(),
        force_authn: flow.prompt.login || flow.max_age == Some(0),
    };
    let sign = cfg.sign_authn_requests || md.want_authn_requests_signed;
    let key = if sign {
        match st.saml.sp_keys.active().await {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::error!(error = %e, "cannot load the SAML SP key");
                return error_page(PageError::Server, headers, None);
            }
        }
    } else {
        None
    };
    // HTTP-Redirect when the IdP offers it (no page, no script), else HTTP-POST.
    if let Some(sso) = &md.sso_redirect {
        let p = request::AuthnRequestParams {
            destination: sso,
            ..params
        };
        let xml = request::authn_request_xml(&p, false);
        return match request::redirect_url(sso, &xml, &relay, key.as_ref().map(|k| k.pkey())) {
            Ok(url) => see_other(&url),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the AuthnRequest");
                error_page(PageError::Server, headers, None)
            }
        };
    }
    let Some(sso) = md.sso_post.as_deref() else {
        return error_page(PageError::SsoNotAvailable, headers, None);
    };
    let p = request::AuthnRequestParams {
        destination: sso,
        ..params
    };
    let encoded = request::post_message(
        st.saml.dsig.as_ref(),
        &p,
        key.as_ref().map(|k| k.private_der()),
    );
    let message = match encoded {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign the AuthnRequest");
            return error_page(PageError::Server, headers, None);
        }
    };
    post_page(headers, sso, "SAMLRequest", message, relay)
}

fn post_page(
    headers: &HeaderMap,
    action: &str,
    field: &'static str,
    message: String,
    relay_state: String,
) -> Response {
    let nonce = random_token();
    let page = request::PostPage {
        c: Chrome::new("Signing in", headers),
        action: action.to_owned(),
        field,
        message,
        relay_state,
        nonce: nonce.clone(),
    };
    let mut res = render(StatusCode::OK, &page);
    if let Ok(v) = HeaderValue::from_str(&request::post_page_csp(&nonce)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// `GET /sso/saml/{id}/acs`: a response over HTTP-Redirect. SAML profiles §4.1.2 forbids that
/// binding for responses; the message is inflated (capped, so a DEFLATE bomb stops at
/// `MAX_XML`) only to tell the two failures apart in the audit trail.
async fn acs_redirect(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let conn = callback_connection(&st, &raw).await.ok().flatten();
    let p = Params::from_query(q.as_deref());
    let reason = match p.get("SAMLResponse") {
        Ok(Some(m)) => match validate::inflate_redirect(m) {
            Ok(_) => "redirect_binding",
            Err(e) => e.code(),
        },
        _ => "no_response",
    };
    reject(
        &st,
        &headers,
        conn.as_ref(),
        &raw,
        reason,
        PageError::BadRequest,
    )
    .await
}

/// `POST /sso/saml/{id}/acs` (HTTP-POST binding).
async fn acs_post(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let conn = match callback_connection(&st, &raw).await {
        Ok(Some(c)) if c.state == ConnectionState::Active => c,
        Ok(other) => {
            return reject(
                &st,
                &headers,
                other.as_ref(),
                &raw,
                "unknown_connection",
                PageError::BadRequest,
            )
            .await;
        }
        Err(()) => return error_page(PageError::Server, &headers, None),
    };
    let body = match axum::body::to_bytes(body, MAX_ACS_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "too_large",
                PageError::TooLarge,
            )
            .await;
        }
    };
    let form = Params::parse(&body);
    let (Ok(Some(encoded)), Ok(relay)) = (form.get("SAMLResponse"), form.get("RelayState")) else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "no_response",
            PageError::BadRequest,
        )
        .await;
    };
    let encoded = encoded.to_owned();
    let relay = relay.map(str::to_owned);
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return error_page(PageError::Server, &headers, None);
    };
    let idp = match st.saml.idp_state(&conn).await {
        Ok(s) => s,
        Err(e) => {
            let page = match e {
                SetupError::Storage(_) => PageError::Server,
                _ => PageError::SsoNotAvailable,
            };
            return reject(&st, &headers, Some(&conn), &raw, e.code(), page).await;
        }
    };
    let Some(md) = idp.metadata.clone() else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "no_pinned_cert",
            PageError::SsoNotAvailable,
        )
        .await;
    };
    let now = st.clock.now();
    let pinned = idp.pinned_der(now);
    let urls = sp_urls(&st.config, &conn.id);
    let want_signed = cfg.want_assertions_signed;
    let dsig = st.saml.dsig.clone();
    // libxml2/xmlsec are synchronous and CPU-bound: the blocking pool. samael's errors are not
    // Send; `validate` turns them into `Reject` inside the closure.
    let outcome = tokio::task::spawn_blocking(move || {
        let xml = validate::decode_post(&encoded)?;
        let expect = Expect {
            sp_entity_id: &urls.entity_id,
            acs_url: &urls.acs,
            idp_entity_id: &md.entity_id,
            pinned_certs: &pinned,
            want_assertions_signed: want_signed,
            now,
        };
        validate::validate(dsig.as_ref(), &xml, &expect)
    })
    .await;
    let assertion = match outcome {
        Ok(Ok(a)) => a,
        Ok(Err(r)) => {
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                r.code(),
                PageError::Unknown,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "SAML validation task failed");
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "internal",
                PageError::Server,
            )
            .await;
        }
    };
    acs_accept(&st, &headers, &conn, &raw, relay.as_deref(), assertion).await
}

/// The checks that need the state store, then the hand-over to `continue`.
async fn acs_accept(
    st: &AppState,
    headers: &HeaderMap,
    conn: &Connection,
    raw: &str,
    relay: Option<&str>,
    a: ValidatedAssertion,
) -> Response {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return error_page(PageError::Server, headers, None);
    };
    if a.in_response_to.is_none() && !cfg.allow_idp_initiated {
        return reject(
            st,
            headers,
            Some(conn),
            raw,
            "unsolicited",
            PageError::Unknown,
        )
        .await;
    }
    // The replay cache (and OneTimeUse): fail closed when the store is down.
    let ttl = (a.replay_until - st.clock.now()).whole_seconds().max(1) as u64;
    match st
        .state
        .put_if_absent(
            &replay_key(&conn.id, &a.issuer, &a.assertion_id),
            b"1",
            Duration::from_secs(ttl),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return reject(st, headers, Some(conn), raw, "replay", PageError::Unknown).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "state store error in the SAML replay cache");
            return reject(
                st,
                headers,
                Some(conn),
                raw,
                "state_store",
                PageError::Unavailable,
            )
            .await;
        }
    }
    let (flow_id, binding, relay_hash) = match &a.in_response_to {
        Some(irt) => {
            // SAML bindings §3.5.3: the IdP returns our RelayState unchanged.
            let Some(relay) = relay.filter(|r| flow::valid_id(r)) else {
                return reject(
                    st,
                    headers,
                    Some(conn),
                    raw,
                    "unknown_request",
                    PageError::FlowExpired,
                )
                .await;
            };
            let rec = match st.state.take(&req_key(relay)).await {
                Ok(Some(b)) => serde_json::from_slice::<RequestRecord>(&b).ok(),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "state store error taking the SAML request");
                    return reject(
                        st,
                        headers,
                        Some(conn),
                        raw,
                        "state_store",
                        PageError::Unavailable,
                    )
                    .await;
                }
            };
            let Some(rec) = rec else {
                return reject(
                    st,
                    headers,
                    Some(conn),
                    raw,
                    "unknown_request",
                    PageError::FlowExpired,
                )
                .await;
            };
            if !bool::from(rec.request_id.as_bytes().ct_eq(irt.as_bytes())) {
                return reject(
                    st,
                    headers,
                    Some(conn),
                    raw,
                    "in_response_to_mismatch",
                    PageError::Unknown,
                )
                .await;
            }
            if rec.connection_id != conn.id {
                return reject(
                    st,
                    headers,
                    Some(conn),
                    raw,
                    "other_connection",
                    PageError::Unknown,
                )
                .await;
            }
            // When the flow cookie came along (https: SameSite=None), it must be this browser's.
            if let Some(c) = cookie(headers, flow::cookie_name(st)).filter(|c| flow::valid_id(c)) {
                let h = flow::binding_hash(c);
                if !bool::from(h.as_bytes().ct_eq(rec.binding.as_bytes())) {
                    return reject(
                        st,
                        headers,
                        Some(conn),
                        raw,
                        "wrong_browser",
                        PageError::WrongBrowser,
                    )
                    .await;
                }
            }
            (
                Some(rec.flow_id),
                Some(rec.binding),
                Some(hex::encode(Sha256::digest(relay.as_bytes()))),
            )
        }
        None if cfg.allow_idp_initiated => (None, None, None),
        None => {
            return reject(
                st,
                headers,
                Some(conn),
                raw,
                "unsolicited",
                PageError::Unknown,
            )
            .await;
        }
    };
    let done = DoneRecord {
        connection_id: conn.id.clone(),
        org_id: conn.org_id.clone(),
        flow_id,
        binding,
        request_id: a.in_response_to.clone(),
        relay_hash,
        issuer: a.issuer.clone(),
        name_id: a.name_id.clone(),
        name_id_format: a.name_id_format.clone(),
        attributes: a.attributes.clone(),
        assertion_id: a.assertion_id.clone(),
        amr: amr_of(a.authn_context.as_deref()),
    };
    let handle = random_token();
    let bytes = match serde_json::to_vec(&done) {
        Ok(b) => b,
        Err(_) => return error_page(PageError::Server, headers, None),
    };
    if let Err(e) = st.state.put(&done_key(&handle), &bytes, DONE_TTL).await {
        tracing::error!(error = %e, "cannot park the SAML sign-in");
        return reject(
            st,
            headers,
            Some(conn),
            raw,
            "state_store",
            PageError::Unavailable,
        )
        .await;
    }
    see_other(&format!("/sso/saml/{}/continue?h={handle}", conn.id))
}

/// RFC 8176 `amr` from the SAML authentication context class (SAML authn context §3.4).
fn amr_of(class: Option<&str>) -> Vec<String> {
    let v = match class {
        Some(c) if c.ends_with(":Password") || c.ends_with(":PasswordProtectedTransport") => "pwd",
        Some(c) if c.contains("MultiFactor") || c.to_ascii_lowercase().contains("mfa") => "mfa",
        _ => "ext",
    };
    vec![v.to_owned()]
}

/// `GET /sso/saml/{id}/continue?h=…`: the browser-bound second half of the ACS.
async fn continue_login(
    State(st): State<AppState>,
    sess: tower_sessions::Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let conn = match callback_connection(&st, &raw).await {
        Ok(Some(c)) if c.state == ConnectionState::Active => c,
        Ok(other) => {
            return reject(
                &st,
                &headers,
                other.as_ref(),
                &raw,
                "unknown_connection",
                PageError::BadRequest,
            )
            .await;
        }
        Err(()) => return error_page(PageError::Server, &headers, None),
    };
    let p = Params::from_query(q.as_deref());
    let Some(handle) = p.get("h").ok().flatten().filter(|h| flow::valid_id(h)) else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "unknown_handle",
            PageError::FlowExpired,
        )
        .await;
    };
    let done = match st.state.take(&done_key(handle)).await {
        Ok(Some(b)) => serde_json::from_slice::<DoneRecord>(&b).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "state store error taking the SAML sign-in");
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "state_store",
                PageError::Unavailable,
            )
            .await;
        }
    };
    let Some(done) = done.filter(|d| d.connection_id == conn.id) else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "unknown_handle",
            PageError::FlowExpired,
        )
        .await;
    };
    let flow = match &done.flow_id {
        Some(id) => match flow::take(&st, id, &headers).await {
            Ok(f) => Some(f),
            Err(flow::FlowError::WrongBrowser) => {
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "wrong_browser",
                    PageError::WrongBrowser,
                )
                .await;
            }
            Err(flow::FlowError::Missing) => {
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "flow_expired",
                    PageError::FlowExpired,
                )
                .await;
            }
            Err(flow::FlowError::State(e)) => {
                tracing::error!(error = %e, "state store error loading the flow");
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "state_store",
                    PageError::Unavailable,
                )
                .await;
            }
        },
        None => None,
    };
    if let Some(f) = &flow {
        // The flow must be this browser's (checked by `take`), hold the same binding, and be
        // waiting for exactly this request on this connection.
        let pending_ok = f.upstream.as_ref().is_some_and(|u| {
            u.connection_id == conn.id
                && u.request_id.is_some()
                && u.request_id == done.request_id
                && Some(&u.state_hash) == done.relay_hash.as_ref()
        });
        let binding_ok = done
            .binding
            .as_ref()
            .is_some_and(|b| bool::from(f.binding.as_bytes().ct_eq(b.as_bytes())));
        if !binding_ok {
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "wrong_browser",
                PageError::WrongBrowser,
            )
            .await;
        }
        if !pending_ok {
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "other_request",
                PageError::Unknown,
            )
            .await;
        }
    }
    super::finish::finish(&st, &headers, &sess, conn, done, flow).await
}
