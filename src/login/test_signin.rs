//! A test sign-in through an org's own IdP, started by an org admin from the portal's
//! connection wizard: the admin is sent through the IdP exactly like a real sign-in, and when
//! the answer passed every protocol check (signature, audience, replay, state, nonce, PKCE…)
//! the attributes or claims the IdP sent are parked for the portal to show — and nothing else
//! happens. No user is linked or provisioned, no SSO session begins, no code is issued, for any
//! app.
//!
//! How: the portal stores a [`TestSignIn`] marker under a single-use ticket ([`ticket`]) and
//! sends the browser to `GET /sso/test/{ticket}` on Lobby's public URL ([`start`]) — the portal
//! may live on another host, and the flow's browser-binding cookie must be set where the IdP's
//! answer arrives. [`begin`] creates a flow marked with it (no app request behind it: its app and
//! client ids are random and name nothing, so a path that forgot the marker would fail closed
//! loading the app) and hands it to the connector's usual first leg. The OIDC callback and the
//! SAML `continue` step check the marker right after validation and call [`finish`], which
//! stores a [`TestResult`] under a random single-use handle and sends the browser to the
//! portal page the marker names (`return_to?result=<handle>`). A failure once the ticket was
//! taken — the IdP unreachable, its discovery document naming another issuer, the connection
//! gone — goes back there the same way ([`failed`]), never to the hosted error page. A test may run on a `draft`
//! connection (it is how the admin checks it before activating): the SAML ACS accepts a draft
//! connection only for a request recorded as a test, and the answer of a test request never
//! finishes a real sign-in (and vice versa).
//!
//! Owns: the test marker, the parked result and its key. Must not touch: linking
//! (`identity`), sessions, codes, portal pages (the portal reads the result with [`result`]).

use super::LoginCtx;
use super::error::{LoginError, respond};
use super::flow::{self, Flow, Prompt, Stage};
use crate::domain::{
    AppId, AuditEvent, AuditEventId, ClientId, Connection, ConnectionConfig, ConnectionId, OrgId,
    Outcome, Secret, UserId, random_token, to_millis,
};
use crate::http::redirect::see_other;
use crate::pages::PageError;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long the portal can show a test's result.
pub const RESULT_TTL: Duration = Duration::from_secs(600);
/// How long a ticket waits for the browser.
pub const TICKET_TTL: Duration = Duration::from_secs(120);

/// The marker of a test flow: who started it, for which connection, and where it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSignIn {
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    /// The admin who started the test: only they see the result.
    pub requested_by: UserId,
    /// The portal page that shows the result (an absolute URL the portal built).
    pub return_to: String,
}

/// What the IdP sent in a test sign-in, as shown to the admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub requested_by: UserId,
    /// `saml` or `oidc`.
    pub protocol: String,
    /// The IdP's entity id (SAML) or issuer (OIDC).
    pub issuer: String,
    /// NameID (with its format) or `sub`.
    pub subject: String,
    /// Every attribute or claim, as sent (claims that are not strings shown as JSON).
    pub values: Vec<(String, Vec<String>)>,
    /// What the connection's mapping makes of them.
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// Unix seconds.
    pub at: i64,
    /// Set when the sign-in failed: what a person would have been told, what the IdP said,
    /// and Lobby's reason (the audit event's). The answer fields are then empty.
    #[serde(default)]
    pub failure: Option<TestFailure>,
}

/// Why a test sign-in failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    pub sentence: String,
    pub idp_said: Option<String>,
    pub reason: Option<String>,
}

fn ticket_key(t: &str) -> String {
    format!("test_start:{}", hex::encode(Sha256::digest(t.as_bytes())))
}

/// Store `marker` under a new single-use ticket; the URL on Lobby's public host that starts
/// the test sign-in in the browser.
pub async fn ticket(
    st: &LoginCtx,
    marker: &TestSignIn,
) -> Result<String, crate::state::StateError> {
    let t = random_token();
    let bytes =
        serde_json::to_vec(marker).map_err(|e| crate::state::StateError::Unavailable(e.into()))?;
    st.ephemeral
        .put(&ticket_key(&t), &bytes, TICKET_TTL)
        .await?;
    Ok(st.config.url(&format!("/sso/test/{t}")))
}

/// `GET /sso/test/{ticket}`: take the ticket (once) and start the test sign-in.
pub async fn start(
    axum::extract::State(st): axum::extract::State<LoginCtx>,
    headers: HeaderMap,
    axum::extract::Path(t): axum::extract::Path<String>,
) -> Response {
    let marker = match flow::token_shaped(&t) {
        true => st.ephemeral.take(&ticket_key(&t)).await,
        false => Ok(None),
    };
    let marker = match marker {
        Ok(Some(b)) => serde_json::from_slice::<TestSignIn>(&b).ok(),
        Ok(None) => None,
        Err(e) => {
            let r = Err(LoginError::unavailable("the test sign-in", &e));
            return respond(&st, &headers, r).await;
        }
    };
    let Some(marker) = marker else {
        return respond(&st, &headers, Err(PageError::FlowExpired.into())).await;
    };
    // From here on the marker says where the admin came from: failures go back there.
    let conn = match st
        .storage
        .get_connection(&marker.org_id, &marker.connection_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return failed(&st, &headers, &marker, PageError::SsoNotAvailable.into()).await,
        Err(e) => {
            let e = LoginError::server("the test sign-in", &e);
            return failed(&st, &headers, &marker, e).await;
        }
    };
    begin(&st, &headers, conn, marker).await
}

fn result_key(handle: &str) -> String {
    format!(
        "test_signin:{}",
        hex::encode(Sha256::digest(handle.as_bytes()))
    )
}

/// Start the test sign-in `marker` names (of `conn`); the browser comes back to
/// `return_to?result=<handle>`. Only `draft` and `active` OIDC and SAML connections can be
/// tested.
pub async fn begin(
    st: &LoginCtx,
    headers: &HeaderMap,
    conn: Connection,
    marker: TestSignIn,
) -> Response {
    let (secret, set_cookie) = flow::browser_binding(st, headers);
    let now = st.clock.now();
    // Kept for a failure before the IdP was reached (unreachable, wrong issuer…): the admin
    // goes back to the portal's wizard with it, not to the hosted error page.
    let back = marker.clone();
    let f = Flow {
        id: flow::FlowId::generate(),
        // No app request stands behind a test: random ids that name no app or client.
        client_id: ClientId::generate(),
        app_id: AppId::generate(),
        redirect_uri: String::new(),
        state: None,
        nonce: None,
        code_challenge: String::new(),
        scope: "openid".into(),
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        org_hint: Some(conn.org_id.clone()),
        domain_hint: None,
        ui_locales: None,
        csrf: Secret::new(random_token()),
        binding: flow::binding_hash(&secret),
        stage: Stage::Identifier,
        email: None,
        target_org: Some(conn.org_id.clone()),
        auth: None,
        eligible: Vec::new(),
        invitation: None,
        invite_accept: false,
        test: Some(marker),
        upstream: None,
        acr_mfa: false,
        mfa: None,
        expires_at: to_millis(now) + flow::FLOW_TTL.as_millis() as i64,
    };
    let r = match &conn.config {
        _ if marker_mismatch(&f, &conn) => Err(LoginError::page(PageError::SsoNotAvailable)),
        _ if conn.state == crate::domain::ConnectionState::Disabled => {
            Err(LoginError::page(PageError::SsoNotAvailable))
        }
        ConnectionConfig::Oidc(_) => match st.storage.get_org(&conn.org_id).await {
            Ok(Some(org)) => super::oidc::start(st, headers, f, None, &org, conn).await,
            Ok(None) => Err(PageError::SsoNotAvailable.into()),
            Err(e) => Err(LoginError::server("the test sign-in", &e)),
        },
        ConnectionConfig::Saml(_) => super::saml::start(st, headers, f, None, conn).await,
        ConnectionConfig::Password(_) => Err(LoginError::page(PageError::SsoNotAvailable)),
    };
    let mut res = match r {
        Ok(res) => res,
        Err(e) => return failed(st, headers, &back, e).await,
    };
    if let Some(c) = set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn marker_mismatch(f: &Flow, conn: &Connection) -> bool {
    f.test
        .as_ref()
        .is_none_or(|m| m.connection_id != conn.id || m.org_id != conn.org_id)
}

/// The end of a test flow whose answer passed every check: park what the IdP sent and send the browser
/// to the portal. Nothing is linked, no session begins, no code is issued.
pub(crate) async fn finish(
    st: &LoginCtx,
    marker: &TestSignIn,
    conn: &Connection,
    a: Answer,
) -> Result<Response, LoginError> {
    if marker.connection_id != conn.id || marker.org_id != conn.org_id {
        return Err(PageError::Unknown.into());
    }
    let result = TestResult {
        org_id: marker.org_id.clone(),
        connection_id: marker.connection_id.clone(),
        requested_by: marker.requested_by.clone(),
        protocol: a.protocol.to_owned(),
        issuer: a.issuer,
        subject: a.subject,
        values: a.values,
        email: a.email,
        name: a.name,
        groups: a.groups,
        at: st.clock.now().unix_timestamp(),
        failure: None,
    };
    let handle = park(st, &result).await?;
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: format!("user:{}", marker.requested_by),
        org_id: Some(conn.org_id.clone()),
        action: "connection.test_signin".into(),
        target_type: "connection".into(),
        target_id: conn.id.to_string(),
        outcome: Outcome::Success,
        details: serde_json::json!({ "issuer": result.issuer, "subject": result.subject }),
        request_id: None,
    };
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the test sign-in audit event");
    }
    Ok(back_to_portal(marker, &handle))
}

/// Park `result` under a new handle.
async fn park(st: &LoginCtx, result: &TestResult) -> Result<String, LoginError> {
    let handle = random_token();
    let bytes = serde_json::to_vec(result).map_err(|_| PageError::Server)?;
    st.ephemeral
        .put(&result_key(&handle), &bytes, RESULT_TTL)
        .await
        .map_err(|e| LoginError::unavailable("parking the test sign-in", &e))?;
    Ok(handle)
}

fn back_to_portal(marker: &TestSignIn, handle: &str) -> Response {
    let sep = if marker.return_to.contains('?') {
        '&'
    } else {
        '?'
    };
    see_other(&format!("{}{sep}result={handle}", marker.return_to))
}

/// A test sign-in that failed once its marker was known (before the IdP was reached, or on
/// its answer): the failure's audit event is written as for any sign-in, and the admin goes
/// back to the portal, which says why in words (instead of the hosted error page). Still no
/// session, no code.
pub(crate) async fn failed(
    st: &LoginCtx,
    headers: &HeaderMap,
    marker: &TestSignIn,
    mut e: LoginError,
) -> Response {
    let (sentence, idp_said, reason) = e.for_admin();
    e.record(st, headers).await;
    let result = TestResult {
        org_id: marker.org_id.clone(),
        connection_id: marker.connection_id.clone(),
        requested_by: marker.requested_by.clone(),
        protocol: String::new(),
        issuer: String::new(),
        subject: String::new(),
        values: vec![],
        email: None,
        name: None,
        groups: vec![],
        at: st.clock.now().unix_timestamp(),
        failure: Some(TestFailure {
            sentence,
            idp_said,
            reason,
        }),
    };
    match park(st, &result).await {
        Ok(handle) => back_to_portal(marker, &handle),
        Err(e) => e.respond(st, headers).await,
    }
}

/// The marker of the test flow a SAML RelayState names, if it names one (read, not taken):
/// for sending the admin back to the portal when the ACS refuses the answer.
pub(crate) async fn saml_marker(
    st: &LoginCtx,
    conn: &Connection,
    relay: Option<&str>,
) -> Option<TestSignIn> {
    let relay = relay.filter(|r| flow::token_shaped(r))?;
    let rec = st
        .ephemeral
        .get(&super::saml::req_key(relay))
        .await
        .ok()??;
    let rec: super::saml::RequestRecord = serde_json::from_slice(&rec).ok()?;
    if !rec.test || rec.connection_id != conn.id {
        return None;
    }
    let f = flow::peek(st, &rec.flow_id).await?;
    f.test
        .filter(|m| m.connection_id == conn.id && f.binding == rec.binding)
}

/// The result parked under `handle`, if it is still there (read, not taken: the admin may
/// reload the page). The caller checks it belongs to the person and connection asking.
pub async fn result(st: &LoginCtx, handle: &str) -> Option<TestResult> {
    if !flow::token_shaped(handle) {
        return None;
    }
    let bytes = st.ephemeral.get(&result_key(handle)).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// What the IdP answered, as the connector validated it.
pub(crate) struct Answer {
    pub protocol: &'static str,
    pub issuer: String,
    pub subject: String,
    pub values: Vec<(String, Vec<String>)>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// OIDC claims as shown: strings as they are, everything else as JSON.
pub(crate) fn claim_values(
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, Vec<String>)> {
    use serde_json::Value;
    claims
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                other => vec![other.to_string()],
            };
            (k.clone(), shown)
        })
        .collect()
}
