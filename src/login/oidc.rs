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
//!    `identity::complete` (new SSO session, code to the app).
//!
//! Every failure is an audit event `login.oidc` with outcome `failure` (IdP unusable) or
//! `denied` (answer refused) and a `reason`; the person sees a fixed sentence. No failure
//! starts a session or issues a code.
//!
//! Owns: the OIDC legs of the browser flow. Must not touch: protocol validation details
//! (`upstream::oidc`), account linking (`identity`), token issuance (`provider`).

use super::discovery::LinkedOrg;
use super::flow::{self, AuthMethod, Flow, FlowError, UpstreamPending};
use super::identity::{self, sso_error_page};
use crate::domain::{
    Connection, ConnectionConfig, ConnectionId, Email, OidcConfig, Org, Outcome, Secret, to_millis,
};
use crate::http::params::Params;
use crate::http::redirect::ErrorCode;
use crate::login::LoginCtx;
use crate::pages::{PageError, error_page};
use crate::upstream::identity::UpstreamIdentity;
use crate::upstream::oidc::{AuthRequest, OidcError, pkce_challenge, random_value};
use crate::upstream::{Begin, Pending};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// Shown when a callback does not belong to the sign-in this browser started.
pub const SENTENCE_MISMATCH: &str = "This sign-in response does not belong to the sign-in started in this browser, so you have not been signed in. Go back to the application and sign in again.";
/// Shown when the IdP itself answered with an error.
pub const SENTENCE_IDP_ERROR: &str = "Your organization's sign-in did not sign you in.";
/// Shown when the person cancelled or was refused at the IdP (`access_denied`).
pub const SENTENCE_IDP_DENIED: &str =
    "Sign-in was cancelled or refused at your organization's sign-in page.";

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
    st.config.url(&format!("/sso/oidc/{conn}/callback"))
}

fn oidc_config(conn: &Connection) -> Option<&OidcConfig> {
    match &conn.config {
        ConnectionConfig::Oidc(c) => Some(c),
        _ => None,
    }
}

/// Record a failed OIDC leg.
async fn audit_fail(
    st: &LoginCtx,
    conn: Option<&Connection>,
    path_conn: &str,
    outcome: Outcome,
    reason: &str,
    detail: Value,
) {
    identity::audit(
        st.storage.as_ref(),
        st.clock.now(),
        conn.map(|c| &c.org_id),
        "login.oidc",
        (
            "connection",
            conn.map(|c| c.id.as_str()).unwrap_or(path_conn),
        ),
        outcome,
        format!(
            "connection:{}",
            conn.map(|c| c.id.as_str()).unwrap_or(path_conn)
        ),
        json!({ "reason": reason, "detail": detail }),
    )
    .await;
}

async fn upstream_failure(
    st: &LoginCtx,
    headers: &HeaderMap,
    conn: &Connection,
    org: Option<&Org>,
    e: &OidcError,
) -> Response {
    let outcome = if e.status().is_server_error() {
        tracing::warn!(connection = %conn.id, error = %e, "the organization's IdP could not be used");
        Outcome::Failure
    } else {
        tracing::warn!(connection = %conn.id, error = %e, "refused an answer of the organization's IdP");
        Outcome::Denied
    };
    audit_fail(
        st,
        Some(conn),
        conn.id.as_str(),
        outcome,
        e.reason(),
        json!(e.to_string()),
    )
    .await;
    sso_error_page(headers, org, e.status(), e.message(), None, None)
}

/// Send the browser to the org's IdP (OIDC Core §3.1.2.1). `flow` is the current flow (stored
/// here); `email`, the IdP's `login_hint`, is what the user typed or the app's own `login_hint`.
pub async fn start(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    email: Option<Email>,
    target: &LinkedOrg,
    conn: Connection,
) -> Response {
    let Some(cfg) = oidc_config(&conn) else {
        return error_page(PageError::SsoNotAvailable, headers, Some(&target.org));
    };
    let disc = match st.oidc.discovery(&conn.id, cfg).await {
        Ok(d) => d,
        Err(e) => return upstream_failure(st, headers, &conn, Some(&target.org), &e).await,
    };
    let state = random_value();
    let nonce = random_value();
    let verifier = random_value();
    let now_ms = to_millis(st.clock.now());
    let Some(left) = u64::try_from(flow.expires_at - now_ms)
        .ok()
        .filter(|l| *l > 0)
    else {
        return error_page(PageError::FlowExpired, headers, None);
    };
    let login_hint = email.as_ref().map(Email::to_string);
    flow.email = email;
    flow.target_org = Some(target.org.id.clone());
    flow.upstream = Some(UpstreamPending {
        connection_id: conn.id.clone(),
        state_hash: sha256_hex(&state),
        pending: Pending::Oidc {
            nonce: Secret::new(nonce.clone()),
            verifier: Secret::new(verifier.clone()),
        },
        sent_at: now_ms,
    });
    if let Err(e) = flow::save(st, &flow).await {
        return super::flow_error(e, headers);
    }
    if let Err(e) = st
        .ephemeral
        .put(
            &state_key(&state),
            flow.id.as_bytes(),
            Duration::from_millis(left),
        )
        .await
    {
        tracing::error!(error = %e, "cannot store the upstream state");
        return error_page(PageError::Unavailable, headers, None);
    }
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
    super::upstream::send(headers, Begin::Redirect(url.into()))
}

/// The OAuth error redirect to the app, as a URL for a link (RFC 6749 §4.1.2.1, RFC 9207).
fn app_error_url(st: &LoginCtx, flow: &Flow, code: ErrorCode, description: &str) -> Option<String> {
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
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    const NAMES: [&str; 6] = [
        "state",
        "code",
        "iss",
        "error",
        "error_description",
        "session_state",
    ];
    if p.first_repeated(&NAMES).is_some() {
        audit_fail(
            &st,
            None,
            &path_conn,
            Outcome::Denied,
            "repeated_parameter",
            Value::Null,
        )
        .await;
        return error_page(PageError::BadRequest, &headers, None);
    }
    let g = |n: &str| p.get(n).ok().flatten();
    // The flow: found through the state, for this browser only, taken once.
    let Some(state) = g("state").filter(|s| !s.is_empty() && s.len() <= 512) else {
        audit_fail(
            &st,
            None,
            &path_conn,
            Outcome::Denied,
            "state_missing",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            None,
            StatusCode::BAD_REQUEST,
            SENTENCE_MISMATCH,
            None,
            None,
        );
    };
    let flow_id = match st.ephemeral.get(&state_key(state)).await {
        Ok(Some(id)) => String::from_utf8(id).unwrap_or_default(),
        Ok(None) => {
            // Unknown, expired, or already used (replay).
            audit_fail(
                &st,
                None,
                &path_conn,
                Outcome::Denied,
                "state_unknown",
                Value::Null,
            )
            .await;
            return error_page(PageError::FlowExpired, &headers, None);
        }
        Err(e) => {
            tracing::error!(error = %e, "state store error in the OIDC callback");
            return error_page(PageError::Unavailable, &headers, None);
        }
    };
    let flow = match flow::take(&st, &flow_id, &headers).await {
        Ok(f) => f,
        Err(e) => {
            let reason = match &e {
                FlowError::Missing => "flow_missing",
                FlowError::WrongBrowser => "wrong_browser",
                FlowError::State(_) => "state_store_unavailable",
            };
            audit_fail(&st, None, &path_conn, Outcome::Denied, reason, Value::Null).await;
            return super::flow_error(e, &headers);
        }
    };
    let _ = st.ephemeral.delete(&state_key(state)).await;

    // 1. State and connection binding (mix-up defence).
    let Some(up) = flow.upstream.clone() else {
        audit_fail(
            &st,
            None,
            &path_conn,
            Outcome::Denied,
            "flow_not_upstream",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            None,
            StatusCode::BAD_REQUEST,
            SENTENCE_MISMATCH,
            None,
            None,
        );
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
        audit_fail(
            &st,
            None,
            &path_conn,
            Outcome::Denied,
            reason,
            json!({ "expected_connection": up.connection_id.as_str() }),
        )
        .await;
        return sso_error_page(
            &headers,
            None,
            StatusCode::BAD_REQUEST,
            SENTENCE_MISMATCH,
            None,
            None,
        );
    }
    let conn = match st
        .storage
        .get_connection_for_callback(&up.connection_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            audit_fail(
                &st,
                None,
                &path_conn,
                Outcome::Denied,
                "connection_gone",
                Value::Null,
            )
            .await;
            return sso_error_page(
                &headers,
                None,
                StatusCode::BAD_REQUEST,
                identity::SENTENCE_CONNECTION_UNAVAILABLE,
                None,
                None,
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "storage error in the OIDC callback");
            return error_page(PageError::Server, &headers, None);
        }
    };
    let org = st.storage.get_org(&conn.org_id).await.ok().flatten();
    if flow.target_org.as_ref() != Some(&conn.org_id) {
        audit_fail(
            &st,
            Some(&conn),
            &path_conn,
            Outcome::Denied,
            "connection_org_mismatch",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            None,
            StatusCode::BAD_REQUEST,
            SENTENCE_MISMATCH,
            None,
            None,
        );
    }
    let Some(cfg) = oidc_config(&conn) else {
        audit_fail(
            &st,
            Some(&conn),
            &path_conn,
            Outcome::Denied,
            "connection_not_oidc",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            org.as_ref(),
            StatusCode::BAD_REQUEST,
            identity::SENTENCE_CONNECTION_UNAVAILABLE,
            None,
            None,
        );
    };
    let app = match super::flow_app(&st, &flow, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let disc = match st.oidc.discovery(&conn.id, cfg).await {
        Ok(d) => d,
        Err(e) => return upstream_failure(&st, &headers, &conn, org.as_ref(), &e).await,
    };

    // 2. RFC 9207 §2.4: the authorization response's issuer.
    match g("iss") {
        Some(iss) if iss != disc.issuer => {
            audit_fail(
                &st,
                Some(&conn),
                &path_conn,
                Outcome::Denied,
                "iss_param_mismatch",
                json!(bounded(Some(iss), 200)),
            )
            .await;
            return sso_error_page(
                &headers,
                org.as_ref(),
                StatusCode::BAD_REQUEST,
                SENTENCE_MISMATCH,
                None,
                None,
            );
        }
        None if disc.iss_parameter_supported => {
            audit_fail(
                &st,
                Some(&conn),
                &path_conn,
                Outcome::Denied,
                "iss_param_missing",
                Value::Null,
            )
            .await;
            return sso_error_page(
                &headers,
                org.as_ref(),
                StatusCode::BAD_REQUEST,
                SENTENCE_MISMATCH,
                None,
                None,
            );
        }
        _ => {}
    }

    // 3. The IdP's own error (RFC 6749 §4.1.2.1).
    if let Some(err) = g("error") {
        let code = bounded(Some(err), 64).unwrap_or_default();
        let description = bounded(g("error_description"), 300);
        audit_fail(
            &st,
            Some(&conn),
            &path_conn,
            Outcome::Denied,
            "idp_error",
            json!({ "error": code, "error_description": description }),
        )
        .await;
        let (app_code, sentence) = match code.as_str() {
            "access_denied" => (ErrorCode::AccessDenied, SENTENCE_IDP_DENIED),
            "temporarily_unavailable" => (ErrorCode::TemporarilyUnavailable, SENTENCE_IDP_ERROR),
            "login_required" | "interaction_required" => {
                (ErrorCode::LoginRequired, SENTENCE_IDP_ERROR)
            }
            _ => (ErrorCode::AccessDenied, SENTENCE_IDP_ERROR),
        };
        let back = app_error_url(
            &st,
            &flow,
            app_code,
            "The user was not signed in by their organization's identity provider.",
        );
        return sso_error_page(
            &headers,
            org.as_ref(),
            StatusCode::FORBIDDEN,
            sentence,
            description.as_deref(),
            back,
        );
    }
    let Some(code) = g("code").filter(|c| !c.is_empty() && c.len() <= 4096) else {
        audit_fail(
            &st,
            Some(&conn),
            &path_conn,
            Outcome::Denied,
            "code_missing",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            org.as_ref(),
            StatusCode::BAD_REQUEST,
            crate::upstream::oidc::SENTENCE_REJECTED,
            None,
            None,
        );
    };
    let Pending::Oidc { nonce, verifier } = &up.pending else {
        audit_fail(
            &st,
            Some(&conn),
            &path_conn,
            Outcome::Denied,
            "flow_not_upstream",
            Value::Null,
        )
        .await;
        return sso_error_page(
            &headers,
            None,
            StatusCode::BAD_REQUEST,
            SENTENCE_MISMATCH,
            None,
            None,
        );
    };

    // 4. Code exchange, ID token, userinfo.
    let validated = match st
        .oidc
        .exchange(
            &conn.id,
            cfg,
            &disc,
            code,
            &redirect_uri(&st, &conn.id),
            verifier.expose(),
            nonce.expose(),
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return upstream_failure(&st, &headers, &conn, org.as_ref(), &e).await,
    };
    let mut ident = UpstreamIdentity::from_oidc(&conn.id, cfg, validated);
    ident.invitation_token = flow.invitation.clone();
    let amr = ident.amr.clone();
    match identity::resolve(&st, &conn, &app, ident).await {
        Ok((resolved, pending)) => {
            identity::complete(
                &st,
                &sess,
                &headers,
                &flow,
                &app,
                &conn,
                resolved,
                pending,
                AuthMethod::Oidc,
                &amr,
            )
            .await
        }
        Err(e) => sso_error_page(&headers, org.as_ref(), e.status(), e.message(), None, None),
    }
}
