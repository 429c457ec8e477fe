//! The end of a federated sign-in, for both connectors: [`sign_in`] starts the SSO session
//! (fresh session id) and issues the authorization code.
//!
//! Owns: the SSO session of a federated sign-in. Must not touch: who the person is
//! (`resolve.rs`), the code itself (`issue::issue_code_with`), pages (`pages::sso`).

use super::Resolved;
use crate::domain::{App, Connection, SessionId};
use crate::login::LoginCtx;
use crate::login::discovery::EligibleOrg;
use crate::login::error::LoginError;
use crate::login::flow::{AuthMethod, Authenticated, Flow};
use crate::login::issue::{PendingAudit, issue_code_with};
use crate::login::session::{self, SsoSession};
use crate::pages::sso::SENTENCE_UNAVAILABLE;
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
) -> Result<Response, LoginError> {
    let now = st.clock.now().unix_timestamp();
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), resolved.org.id.clone());
    let sso = SsoSession {
        user_id: resolved.user.id.clone(),
        sid: SessionId::generate(),
        auth_time: now,
        amr: token_amr(upstream_amr),
        method,
        last_org,
        idp: Some(conn.id.clone()),
        started_ns: session::nanos(st.clock.now()),
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
        ));
    }
    let auth = Authenticated {
        user_id: sso.user_id.clone(),
        sid: sso.sid.clone(),
        auth_time: sso.auth_time,
        amr: sso.amr.clone(),
        method,
        idp: Some(conn.id.clone()),
        started_ns: sso.started_ns,
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
