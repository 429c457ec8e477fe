//! The end of a federated sign-in, for both connectors: [`sign_in`] starts the SSO session
//! (fresh session id) and issues the authorization code.
//!
//! `auth_time` (OIDC Core §2) is when the organization's IdP authenticated the person, as it
//! reports it (OIDC `auth_time` of the ID token, SAML `AuthnInstant`), bounded by now; an IdP
//! that reports nothing is taken to have authenticated now. When the app asked for a recent
//! authentication (`max_age`, or `prompt=login` / `max_age=0`, forwarded to the IdP as
//! `prompt=login` / `max_age` / `ForceAuthn`) and the reported time does not satisfy it
//! (older than `max_age`, or from before the authorization request), the sign-in is refused:
//! no session, no code, a page with a link back to the app carrying `login_required`.
//!
//! Owns: the SSO session of a federated sign-in. Must not touch: who the person is
//! (`resolve.rs`), the code itself (`issue::issue_code_with`), pages (`pages::sso`).

use super::Resolved;
use crate::domain::Outcome;
use crate::domain::{App, Connection, SessionId};
use crate::http::redirect::ErrorCode;
use crate::login::LoginCtx;
use crate::login::discovery::EligibleOrg;
use crate::login::error::{FailureAudit, LoginError};
use crate::login::flow::{AuthMethod, Authenticated, FLOW_TTL, Flow};
use crate::login::issue::{PendingAudit, issue_code_with};
use crate::login::session::{self, SsoSession};
use crate::pages::sso::{SENTENCE_NOT_RECENT, SENTENCE_UNAVAILABLE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::BTreeMap;
use tower_sessions::Session;

/// `amr` values passed on to the app: short tokens only (RFC 8176 style), at most 8.
fn token_amr(upstream: &[String]) -> Vec<String> {
    let v: Vec<String> = upstream
        .iter()
        .filter(|a| {
            !a.is_empty()
                && a.len() <= 32
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .take(8)
        .cloned()
        .collect();
    if v.is_empty() { vec!["fed".into()] } else { v }
}

/// Clock difference tolerated between the IdP and Lobby.
const SKEW_SECS: i64 = 60;

/// OIDC Core §3.1.2.1: whether an authentication at `auth_time` satisfies the flow's
/// `max_age` and `prompt=login` (`max_age=0` counts as `prompt=login`). `Err` names why not.
fn recent_enough(flow: &Flow, auth_time: i64, now: i64) -> Result<(), &'static str> {
    let started = flow.expires_at / 1000 - FLOW_TTL.as_secs() as i64;
    if (flow.prompt.login || flow.max_age == Some(0)) && auth_time < started - SKEW_SECS {
        return Err("no_fresh_authentication");
    }
    if let Some(m) = flow.max_age
        && now - auth_time > m + SKEW_SECS
    {
        return Err("max_age_exceeded");
    }
    Ok(())
}

/// Sign the resolved person in: a new SSO session (fresh session id, DESIGN §6.7) bound to the
/// connection, then the authorization code for the flow's app. `flow` must already be taken
/// out of the store (single use).
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: &Flow,
    app: &App,
    conn: &Connection,
    resolved: Resolved,
    pending: PendingAudit,
    method: AuthMethod,
    upstream_amr: &[String],
    upstream_auth_time: Option<i64>,
) -> Result<Response, LoginError> {
    let now = st.clock.now().unix_timestamp();
    let auth_time = upstream_auth_time.map_or(now, |t| t.min(now));
    if let Err(reason) = recent_enough(flow, auth_time, now) {
        pending.flush().await;
        let back = crate::login::oidc::app_error_url(
            st,
            flow,
            ErrorCode::LoginRequired,
            "The organization's identity provider did not authenticate the user recently enough.",
        );
        return Err(LoginError::sso(StatusCode::FORBIDDEN, SENTENCE_NOT_RECENT)
            .branded(Some(&resolved.org))
            .with_idp_answer(None, back)
            .audited(FailureAudit {
                org: Some(resolved.org.id.clone()),
                action: "login.failure",
                target: ("connection", conn.id.to_string()),
                outcome: Outcome::Denied,
                actor: format!("user:{}", resolved.user.id),
                details: serde_json::json!({
                    "connection": method,
                    "reason": reason,
                    "auth_time": auth_time,
                    "max_age": flow.max_age,
                    "prompt_login": flow.prompt.login,
                }),
            }));
    }
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), resolved.org.id.clone());
    let sso = SsoSession {
        user_id: resolved.user.id.clone(),
        sid: SessionId::generate(),
        auth_time,
        amr: token_amr(upstream_amr),
        method,
        last_org,
        idp: Some(conn.id.clone()),
        started_ns: session::nanos(st.clock.now()),
        mfa_time: None,
    };
    if let Err(e) = session::begin(sess, &sso).await {
        pending.flush().await;
        tracing::error!(error = %e, "cannot start the SSO session");
        return Err(
            LoginError::sso(StatusCode::SERVICE_UNAVAILABLE, SENTENCE_UNAVAILABLE)
                .branded(Some(&resolved.org)),
        );
    }
    // A sign-in started by `/invite/{token}`: no app asked for a code; the invitee lands on the
    // invitation's "you're in" page, signed in.
    if flow.invite_accept {
        pending.flush().await;
        return Ok(crate::login::invite::landing(
            headers,
            app,
            &resolved.org,
            true,
            flow.ui_lang(),
        ));
    }
    crate::ops::metrics::login_succeeded(method.label());
    let auth = Authenticated {
        user_id: sso.user_id.clone(),
        sid: sso.sid.clone(),
        auth_time: sso.auth_time,
        amr: sso.amr.clone(),
        method,
        idp: Some(conn.id.clone()),
        started_ns: sso.started_ns,
        mfa_time: None,
    };
    let chosen = EligibleOrg {
        org: resolved.org,
        connection: conn.clone(),
    };
    issue_code_with(st, headers, flow, &auth, &chosen, pending).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_is_sanitized() {
        assert_eq!(token_amr(&[]), vec!["fed".to_string()]);
        assert_eq!(
            token_amr(&["pwd".into(), "mfa".into(), "<x>".into()]),
            vec!["pwd".to_string(), "mfa".to_string()]
        );
    }
}
