//! The end of a federated sign-in, for both connectors: [`complete`] starts the SSO session
//! (fresh session id) and issues the authorization code; [`sso_error_page`] renders a refusal,
//! optionally with the IdP's own `error_description`, escaped.
//!
//! Owns: the SSO session of a federated sign-in and its error page. Must not touch: who the
//! person is (`resolve.rs`), the code itself (`finish::issue_code_with`).

use super::Resolved;
use super::clean;
use crate::domain::{App, Connection, Org, random_token};
use crate::login::LoginCtx;
use crate::login::discovery::EligibleOrg;
use crate::login::finish::{PendingAudit, issue_code_with};
use crate::login::flow::{AuthMethod, Authenticated, Flow};
use crate::login::session::{self, SsoSession};
use crate::pages::{Chrome, render};
use askama::Template;
use askama_web::WebTemplate;
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

/// End a federated sign-in: a new SSO session (fresh session id, DESIGN §6.7) bound to the
/// connection, then the authorization code for the flow's app. `flow` must already be taken
/// out of the store (single use).
#[allow(clippy::too_many_arguments)]
pub async fn complete(
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
) -> Response {
    let now = st.clock.now().unix_timestamp();
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), resolved.org.id.clone());
    let sso = SsoSession {
        user_id: resolved.user.id.clone(),
        sid: random_token(),
        auth_time: now,
        amr: token_amr(upstream_amr),
        method,
        last_org,
        idp: Some(conn.id.clone()),
    };
    if let Err(e) = session::begin(sess, &sso).await {
        pending.flush().await;
        tracing::error!(error = %e, "cannot start the SSO session");
        return sso_error_page(
            headers,
            Some(&resolved.org),
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is temporarily unavailable. Try again in a few minutes.",
            None,
            None,
        );
    }
    let auth = Authenticated {
        user_id: sso.user_id.clone(),
        sid: sso.sid.clone(),
        auth_time: sso.auth_time,
        amr: sso.amr.clone(),
        method,
        idp: Some(conn.id.clone()),
    };
    let chosen = EligibleOrg {
        org: resolved.org,
        connection: conn.clone(),
    };
    issue_code_with(st, headers, flow, &auth, &chosen, pending).await
}

/// The error page of a federated sign-in: a fixed sentence, optionally what the IdP itself
/// said (escaped by the template, bounded) and a link back to the app carrying an OAuth error.
#[derive(Template, WebTemplate)]
#[template(path = "sso_error.html")]
pub struct SsoErrorPage {
    pub c: Chrome,
    pub message: &'static str,
    pub detail: Option<String>,
    pub back_url: Option<String>,
}

/// Render [`SsoErrorPage`]. `detail` is cut to 300 characters without control characters.
pub fn sso_error_page(
    headers: &HeaderMap,
    org: Option<&Org>,
    status: StatusCode,
    message: &'static str,
    detail: Option<&str>,
    back_url: Option<String>,
) -> Response {
    let title = if status.is_server_error() {
        "Sign-in unavailable"
    } else if status == StatusCode::FORBIDDEN {
        "Access denied"
    } else {
        "Sign-in problem"
    };
    let page = SsoErrorPage {
        c: Chrome::new(title, headers).branded(org),
        message,
        detail: clean(detail.map(str::to_owned), 300),
        back_url,
    };
    render(status, &page)
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

    #[test]
    fn error_page_escapes_the_idp_text() {
        let h = HeaderMap::new();
        let page = SsoErrorPage {
            c: Chrome::new("Sign-in problem", &h),
            message: "m.",
            detail: clean(Some("<script>alert(1)</script>\u{7}".into()), 300),
            back_url: Some("https://app.example.com/cb?error=access_denied&state=x".into()),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("alert(1)"));
        assert!(!html.contains('\u{7}'));
        assert!(html.contains("id=\"idp-detail\""));
        assert!(html.contains("id=\"back-to-app\""));
    }
}
