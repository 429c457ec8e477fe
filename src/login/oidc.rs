//! Sign-in through an organization's own OpenID Provider: the redirect to the IdP
//! ([`start`], called by the identifier page's connection dispatch) and its callback
//! `GET /sso/oidc/{connection_id}/callback` ([`callback`]).
//!
//! Binding (DESIGN §6.4, §6.7): `start` generates a random `state` (256 bits), `nonce` and PKCE
//! S256 verifier, stores them in the flow record (`Flow::upstream`, with the connection id),
//! and indexes the flow under `sso_state:<sha256(state)>` for the flow's remaining lifetime.
//! The callback finds the flow through the state, takes it out of the store only if this
//! browser's binding cookie matches (another browser's request cannot even burn it; a replayed
//! state finds nothing), then requires
//! 1. the state to equal the flow's (constant time), and the path's connection id to be the
//!    connection the flow was sent to, of the org the flow was routed to (mix-up defence: a code
//!    arriving on another org's connection, or for another connection, is refused);
//! 2. RFC 9207: an `iss` parameter, when sent, equal to the connection's issuer — and present
//!    when the IdP's metadata says it always sends it;
//! 3. an `error=` answer ends on a page naming the IdP's (escaped) `error_description`, with a
//!    link that returns the OAuth error to the app (whose redirect_uri was validated at
//!    `/authorize`);
//! 4. then the code exchange and ID token checks of `upstream::oidc`, `identity::resolve`, and
//!    `identity::sign_in` (new SSO session, code to the app).
//!
//! Every failure is an audit event `login.oidc` with outcome `failure` (IdP unusable) or
//! `denied` (answer refused) and a `reason`; the person sees a fixed sentence. No failure
//! starts a session or issues a code.
//!
//! Owns: the OIDC legs of the browser flow. Must not touch: protocol validation details
//! (`upstream::oidc`), account linking (`identity`), token issuance (`provider`).

use super::error::{FailureAudit, LoginError, respond};
use super::flow::{self, AuthMethod, Flow, FlowError, FlowId, UpstreamPending};
use super::identity;
use crate::domain::{
    Connection, ConnectionConfig, ConnectionId, Email, OidcConfig, Org, Outcome, Secret, to_millis,
};
use crate::http::params::Params;
use crate::http::redirect::ErrorCode;
use crate::login::LoginCtx;
use crate::login::prefetch::{Early, Plan};
use crate::pages::PageError;
use crate::pages::sso::{
    SENTENCE_CONNECTION_UNAVAILABLE, SENTENCE_IDP_DENIED, SENTENCE_IDP_ERROR, SENTENCE_MISMATCH,
};
use crate::state::Put;
use crate::upstream::identity::UpstreamIdentity;
use crate::upstream::oidc::{AuthRequest, OidcError, pkce_challenge, random_value};
use crate::upstream::{Begin, Pending, UpstreamFailure};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// The index by `state` of a callback's flow, when `state` is one the callback accepts
/// (present, at most 512 bytes): what `prefetch` reads early.
pub(crate) fn state_key_of(state: &str) -> Option<String> {
    (!state.is_empty() && state.len() <= MAX_STATE_LEN).then(|| state_key(state))
}

/// The longest `state` the callback accepts.
const MAX_STATE_LEN: usize = 512;

/// The index by `state` that only the browser the flow is bound to can name: the state's
/// index followed by the hash of the browser's binding secret (`flow::presented_binding`).
fn bound_state_key(state: &str, binding: &str) -> String {
    format!("{}:{binding}", state_key(state))
}

/// The parameters the callback takes, each at most once.
const NAMES: [&str; 6] = [
    "state",
    "code",
    "iss",
    "error",
    "error_description",
    "session_state",
];

/// The step the callback makes first in the state store, for the rate limiter to make with its
/// count (`prefetch`): with the browser's binding cookie, the take of the flow through the
/// browser's own index by state (finding that index proves the browser, so the take cannot
/// burn another browser's flow), deleting the state's other index with it; without one, the
/// read through the state's index. `None` for a callback [`answer`] refuses before the flow
/// (a repeated parameter, no usable `state`), which must not lose it. `secure`:
/// `Config::secure_cookies`.
pub(crate) fn callback_plan(
    secure: bool,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<Plan> {
    let p = Params::from_query(query);
    if p.first_repeated(&NAMES).is_some() {
        return None;
    }
    let state = p.get("state").ok()??;
    let skey = state_key_of(state)?;
    Some(match flow::presented_binding(secure, headers) {
        Some(b) => Plan::TakeVia {
            index: bound_state_key(state, &b),
            also: skey,
        },
        None => Plan::Via(skey),
    })
}

fn state_key(state: &str) -> String {
    format!(
        "sso_state:{}",
        hex::encode(Sha256::digest(state.as_bytes()))
    )
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The callback URL registered at the IdP for a connection.
pub fn redirect_uri(st: &LoginCtx, conn: &ConnectionId) -> String {
    redirect_uri_for(&st.config, conn)
}

/// [`redirect_uri`] from the configuration alone (the portal shows it before the connection
/// exists).
pub fn redirect_uri_for(config: &crate::config::Config, conn: &ConnectionId) -> String {
    config.url(&format!("/sso/oidc/{conn}/callback"))
}

fn oidc_config(conn: &Connection) -> Option<&OidcConfig> {
    match &conn.config {
        ConnectionConfig::Oidc(c) => Some(c),
        _ => None,
    }
}

/// The audit event of a failed OIDC leg (`login.oidc`), on the connection when known, else on
/// the id the path named.
fn leg_audit(
    conn: Option<&Connection>,
    path_conn: &str,
    outcome: Outcome,
    reason: &str,
    detail: Value,
) -> FailureAudit {
    let id = conn.map(|c| c.id.as_str()).unwrap_or(path_conn);
    FailureAudit {
        org: conn.map(|c| c.org_id.clone()),
        action: "login.oidc",
        target: ("connection", id.to_owned()),
        outcome,
        actor: format!("connection:{id}"),
        details: json!({ "reason": reason, "detail": detail }),
    }
}

/// An answer refused: `login.oidc` denied with `reason`, the page of `page`.
fn denied(
    page: LoginError,
    conn: Option<&Connection>,
    path_conn: &str,
    reason: &str,
    detail: Value,
) -> LoginError {
    page.audited(leg_audit(conn, path_conn, Outcome::Denied, reason, detail))
}

/// The page for an answer that does not belong to this browser's sign-in.
fn mismatch() -> LoginError {
    LoginError::sso(StatusCode::BAD_REQUEST, SENTENCE_MISMATCH)
}

/// The IdP could not be used (`failure`) or its answer was refused (`denied`).
fn upstream_failure(conn: &Connection, org: Option<&Org>, e: &OidcError) -> LoginError {
    let kind = e.failure();
    let outcome = if kind.idp_unusable() {
        tracing::warn!(connection = %conn.id, error = %e, "the organization's IdP could not be used");
        Outcome::Failure
    } else {
        tracing::warn!(connection = %conn.id, error = %e, "refused an answer of the organization's IdP");
        Outcome::Denied
    };
    LoginError::upstream(kind).branded(org).audited(leg_audit(
        Some(conn),
        conn.id.as_str(),
        outcome,
        e.reason(),
        json!(e.to_string()),
    ))
}

/// Send the browser to the org's IdP (OIDC Core §3.1.2.1). `flow` is the current flow (stored
/// here); `email`, the IdP's `login_hint`, is what the user typed or the app's own `login_hint`.
pub async fn start(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    email: Option<Email>,
    target: &Org,
    conn: Connection,
) -> Result<Response, LoginError> {
    let Some(cfg) = oidc_config(&conn) else {
        return Err(LoginError::page(PageError::SsoNotAvailable).branded(Some(target)));
    };
    let disc = st
        .oidc
        .discovery(&conn.id, cfg)
        .await
        .map_err(|e| upstream_failure(&conn, Some(target), &e))?;
    let state = random_value();
    let nonce = random_value();
    let verifier = random_value();
    let now_ms = to_millis(st.clock.now());
    let left = u64::try_from(flow.expires_at - now_ms)
        .ok()
        .filter(|l| *l > 0)
        .ok_or(PageError::FlowExpired)?;
    let login_hint = email.as_ref().map(Email::to_string);
    flow.email = email;
    flow.target_org = Some(target.id.clone());
    flow.upstream = Some(UpstreamPending {
        connection_id: conn.id.clone(),
        state_hash: sha256_hex(&state),
        pending: Pending::Oidc {
            nonce: Secret::new(nonce.clone()),
            verifier: Secret::new(verifier.clone()),
        },
        sent_at: now_ms,
    });
    // The flow and its two indexes by state (the state's, and the one only this browser can
    // name, `callback_plan`), in one step of the state store.
    let skey = state_key(&state);
    let bkey = bound_state_key(&state, &flow.binding);
    let index = |key| Put {
        key,
        value: flow.id.as_str().as_bytes(),
        ttl: Duration::from_millis(left),
        evictable: false,
    };
    flow::save_with(st, &flow, &[index(&skey), index(&bkey)]).await?;
    let redirect = redirect_uri(st, &conn.id);
    let url = st.oidc.authorization_url(
        &disc,
        cfg,
        &AuthRequest {
            redirect_uri: &redirect,
            state: &state,
            nonce: &nonce,
            pkce_challenge: &pkce_challenge(&verifier),
            login_hint: login_hint.as_deref(),
            force_login: flow.prompt.login || flow.max_age == Some(0),
            max_age: flow.max_age,
        },
    );
    Ok(super::upstream::send(
        headers,
        Begin::Redirect(url.into()),
        None,
    ))
}

/// The OAuth error redirect to the app, as a URL for a link (RFC 6749 §4.1.2.1, RFC 9207).
pub(crate) fn app_error_url(
    st: &LoginCtx,
    flow: &Flow,
    code: ErrorCode,
    description: &str,
) -> Option<String> {
    let mut u = url::Url::parse(&flow.redirect_uri).ok()?;
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("error", code.as_str());
        q.append_pair("error_description", description);
        if let Some(s) = &flow.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &st.config.issuer());
    }
    Some(u.to_string())
}

/// A bounded, printable copy of an IdP-supplied parameter.
fn bounded(v: Option<&str>, max: usize) -> Option<String> {
    v.map(|s| s.chars().filter(|c| !c.is_control()).take(max).collect())
}

/// `GET /sso/oidc/{connection_id}/callback`.
pub async fn callback(
    State(st): State<LoginCtx>,
    Path(path_conn): Path<String>,
    sess: Session,
    headers: HeaderMap,
    mut early: Early,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    let r = answer(&st, &path_conn, &sess, &headers, &mut early, &p).await;
    respond(&st, &headers, r).await
}

/// The checks of the callback, in order; every refusal is audited.
async fn answer(
    st: &LoginCtx,
    path_conn: &str,
    sess: &Session,
    headers: &HeaderMap,
    early: &mut Early,
    p: &Params,
) -> Result<Response, LoginError> {
    if p.first_repeated(&NAMES).is_some() {
        let page = LoginError::page(PageError::BadRequest);
        return Err(denied(
            page,
            None,
            path_conn,
            "repeated_parameter",
            Value::Null,
        ));
    }
    let g = |n: &str| p.get(n).ok().flatten();
    // The flow: found through the state, for this browser only, taken once.
    let Some(state) = g("state").filter(|s| !s.is_empty() && s.len() <= MAX_STATE_LEN) else {
        return Err(denied(
            mismatch(),
            None,
            path_conn,
            "state_missing",
            Value::Null,
        ));
    };
    let skey = state_key(state);
    let bkey = flow::presented_binding(st.config.secure_cookies(), headers)
        .map(|b| bound_state_key(state, &b));
    // The flow, taken through this browser's own index by state (with the rate-limit count:
    // `prefetch`, `callback_plan`) — or, when that was not done or found no index, through the
    // state's index: read, the browser checked on what was read, then taken with both indexes
    // in one step (so another browser cannot burn it, and tells "another browser" from
    // "unknown state").
    let early_take = bkey.as_deref().and_then(|k| early.take_via(k));
    let taken = match early_take {
        Some(Some((_, read))) => flow::checked(st, read, headers),
        Some(None) | None => {
            let via = match early.via(&skey) {
                Some(v) => Ok(v),
                None => st.ephemeral.get_via(&skey, flow::KEY_PREFIX).await,
            };
            let (flow_id, read) = match via {
                Ok(Some((id, read))) => (
                    String::from_utf8(id).ok().and_then(|s| FlowId::parse(&s)),
                    read,
                ),
                Ok(None) => {
                    // Unknown, expired, or already used (replay).
                    let page = LoginError::page(PageError::FlowExpired);
                    return Err(denied(page, None, path_conn, "state_unknown", Value::Null));
                }
                Err(e) => return Err(LoginError::unavailable("the OIDC callback", &e)),
            };
            let also: Vec<&str> = std::iter::once(skey.as_str())
                .chain(bkey.as_deref())
                .collect();
            match &flow_id {
                Some(id) => flow::take_read_and_delete(st, id, read, headers, &also).await,
                None => Err(FlowError::Missing),
            }
        }
    };
    let flow = match taken {
        Ok(f) => f,
        Err(e) => {
            let reason = match &e {
                FlowError::Missing => "flow_missing",
                FlowError::WrongBrowser => "wrong_browser",
                FlowError::State(_) => "state_store_unavailable",
            };
            return Err(denied(e.into(), None, path_conn, reason, Value::Null));
        }
    };
    // A test sign-in that fails from here goes back to the portal, which says why.
    let marker = flow.test.clone();
    let lang = flow.ui_lang();
    let r = answer_flow(st, path_conn, sess, headers, p, state, flow)
        .await
        .map_err(|e| e.in_lang(lang));
    match (r, marker) {
        (Err(e), Some(m)) if m.connection_id.as_str() == path_conn => {
            Ok(super::test_signin::failed(st, headers, &m, e).await)
        }
        (r, _) => r,
    }
}

/// The checks of the callback once the flow is taken.
async fn answer_flow(
    st: &LoginCtx,
    path_conn: &str,
    sess: &Session,
    headers: &HeaderMap,
    p: &Params,
    state: &str,
    flow: Flow,
) -> Result<Response, LoginError> {
    let g = |n: &str| p.get(n).ok().flatten();

    // 1. State and connection binding (mix-up defence).
    let Some(up) = flow.upstream.clone() else {
        return Err(denied(
            mismatch(),
            None,
            path_conn,
            "flow_not_upstream",
            Value::Null,
        ));
    };
    let state_ok: bool = sha256_hex(state)
        .as_bytes()
        .ct_eq(up.state_hash.as_bytes())
        .into();
    if !state_ok || up.connection_id.as_str() != path_conn {
        let reason = if state_ok {
            "connection_mismatch"
        } else {
            "state_mismatch"
        };
        let detail = json!({ "expected_connection": up.connection_id.as_str() });
        return Err(denied(mismatch(), None, path_conn, reason, detail));
    }
    let conn = match st
        .storage
        .get_connection_for_callback(&up.connection_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            let page = LoginError::sso(StatusCode::BAD_REQUEST, SENTENCE_CONNECTION_UNAVAILABLE);
            return Err(denied(
                page,
                None,
                path_conn,
                "connection_gone",
                Value::Null,
            ));
        }
        Err(e) => return Err(LoginError::server("the OIDC callback", &e)),
    };
    let org = st.storage.get_org(&conn.org_id).await.ok().flatten();
    let org = org.as_ref();
    let c = Some(&conn);
    if flow.target_org.as_ref() != Some(&conn.org_id) {
        return Err(denied(
            mismatch(),
            c,
            path_conn,
            "connection_org_mismatch",
            Value::Null,
        ));
    }
    let Some(cfg) = oidc_config(&conn) else {
        let page =
            LoginError::sso(StatusCode::BAD_REQUEST, SENTENCE_CONNECTION_UNAVAILABLE).branded(org);
        return Err(denied(
            page,
            c,
            path_conn,
            "connection_not_oidc",
            Value::Null,
        ));
    };
    // A test sign-in has no app behind it (`test_signin`).
    let app = match flow.test {
        None => Some(super::flow_app(st, &flow).await?),
        Some(_) => None,
    };
    let disc = st
        .oidc
        .discovery(&conn.id, cfg)
        .await
        .map_err(|e| upstream_failure(&conn, org, &e))?;

    // 2. RFC 9207 §2.4: the authorization response's issuer.
    match g("iss") {
        Some(iss) if iss != disc.issuer => {
            let detail = json!(bounded(Some(iss), 200));
            let page = mismatch().branded(org);
            return Err(denied(page, c, path_conn, "iss_param_mismatch", detail));
        }
        None if disc.iss_parameter_supported => {
            let page = mismatch().branded(org);
            return Err(denied(page, c, path_conn, "iss_param_missing", Value::Null));
        }
        _ => {}
    }

    // 3. The IdP's own error (RFC 6749 §4.1.2.1).
    if let Some(err) = g("error") {
        let code = bounded(Some(err), 64).unwrap_or_default();
        let description = bounded(g("error_description"), 300);
        let detail = json!({ "error": code, "error_description": description });
        let (app_code, sentence) = match code.as_str() {
            "access_denied" => (ErrorCode::AccessDenied, SENTENCE_IDP_DENIED),
            "temporarily_unavailable" => (ErrorCode::TemporarilyUnavailable, SENTENCE_IDP_ERROR),
            "login_required" | "interaction_required" => {
                (ErrorCode::LoginRequired, SENTENCE_IDP_ERROR)
            }
            _ => (ErrorCode::AccessDenied, SENTENCE_IDP_ERROR),
        };
        let back = app_error_url(
            st,
            &flow,
            app_code,
            "The user was not signed in by their organization's identity provider.",
        );
        let page = LoginError::sso(StatusCode::FORBIDDEN, sentence)
            .branded(org)
            .with_idp_answer(description, back);
        return Err(denied(page, c, path_conn, "idp_error", detail));
    }
    let Some(code) = g("code").filter(|c| !c.is_empty() && c.len() <= 4096) else {
        let page = LoginError::upstream(UpstreamFailure::Rejected).branded(org);
        return Err(denied(page, c, path_conn, "code_missing", Value::Null));
    };
    let Pending::Oidc { nonce, verifier } = &up.pending else {
        return Err(denied(
            mismatch(),
            c,
            path_conn,
            "flow_not_upstream",
            Value::Null,
        ));
    };

    // 4. Code exchange, ID token, userinfo.
    let validated = st
        .oidc
        .exchange(
            &conn.id,
            cfg,
            &disc,
            code,
            &redirect_uri(st, &conn.id),
            verifier.expose(),
            nonce.expose(),
        )
        .await
        .map_err(|e| upstream_failure(&conn, org, &e))?;
    let Some(app) = app else {
        return test_answer(st, &flow, &conn, cfg, validated).await;
    };
    let upstream_auth_time = validated.auth_time;
    let mut ident = UpstreamIdentity::from_oidc(&conn.id, cfg, validated);
    ident.invitation_token = flow.invitation.clone();
    let amr = ident.amr.clone();
    // `resolve` records its own outcome.
    let (resolved, pending) = identity::resolve(st, &conn, &app, ident)
        .await
        .map_err(|e| LoginError::sso(e.status(), e.message()).branded(org))?;
    identity::sign_in(
        st,
        sess,
        headers,
        &flow,
        &app,
        &conn,
        resolved,
        pending,
        AuthMethod::Oidc,
        &amr,
        upstream_auth_time,
    )
    .await
}

/// The end of a test sign-in (`test_signin`): the validated claims are shown to the admin;
/// nothing is linked, no session, no code.
async fn test_answer(
    st: &LoginCtx,
    flow: &Flow,
    conn: &Connection,
    cfg: &OidcConfig,
    validated: crate::upstream::oidc::Validated,
) -> Result<Response, LoginError> {
    let Some(marker) = &flow.test else {
        return Err(PageError::Unknown.into());
    };
    let values = super::test_signin::claim_values(&validated.claims);
    let ident = UpstreamIdentity::from_oidc(&conn.id, cfg, validated);
    let answer = super::test_signin::Answer {
        protocol: "oidc",
        issuer: ident.issuer,
        subject: ident.subject,
        values,
        email: ident.email,
        name: ident.name,
        groups: ident.groups,
    };
    super::test_signin::finish(st, marker, conn, answer).await
}
