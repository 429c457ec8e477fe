//! The one place a sign-in leaves for an organization's own IdP: pick the connector by the
//! connection's kind, let it begin (it stores what the answer must match), and send the browser
//! there. Used by the identifier page and by `/authorize` when the app named the org.
//!
//! Adding a protocol: a connector under `upstream/`, its browser legs beside `oidc` and `saml`
//! here, and one match arm in [`start`].
//!
//! Owns: the protocol dispatch and rendering a [`Begin`]. Must not touch: protocol details.

use super::discovery::LinkedOrg;
use super::error::{LoginError, respond};
use super::flow::Flow;
use crate::domain::{Connection, ConnectionConfig, Email, random_token};
use crate::http::redirect::see_other;
use crate::pages::{AutoPostPage, Chrome, PageError, auto_post_csp, render};
use crate::upstream::Begin;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

/// Send the browser to `conn`, an OIDC or SAML connection of `target`'s org. `email` is what the
/// user typed, or the app's `login_hint` (passed on to the IdP as its login hint).
pub async fn start(
    st: &crate::login::LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
    email: Option<Email>,
    target: &LinkedOrg,
    conn: Connection,
) -> Response {
    crate::ops::metrics::login_started(conn.kind().as_str());
    let r = match &conn.config {
        ConnectionConfig::Oidc(_) => {
            super::oidc::start(st, headers, flow, email, &target.org, conn).await
        }
        ConnectionConfig::Saml(_) => super::saml::start(st, headers, flow, email, conn).await,
        ConnectionConfig::Password(_) => {
            Err(LoginError::page(PageError::SsoNotAvailable).branded(Some(&target.org)))
        }
    };
    respond(st, headers, r).await
}

/// The response that sends the browser on its way: a `303`, or the auto-POST page (its one
/// script allowed by a per-response CSP nonce).
/// `ui_lang`: the flow's `ui_locales` language, for the auto-POST page.
pub fn send(headers: &HeaderMap, begin: Begin, ui_lang: Option<crate::i18n::Lang>) -> Response {
    match begin {
        Begin::Redirect(url) => see_other(&url),
        Begin::AutoPost {
            action,
            field,
            message,
            relay_state,
        } => {
            let nonce = random_token();
            let page = AutoPostPage {
                c: Chrome::new(crate::i18n::Msg::new("title-signing-in"), headers).ui_lang(ui_lang),
                action,
                field,
                message,
                relay_state,
                nonce: nonce.clone(),
            };
            let mut res = render(StatusCode::OK, &page);
            if let Ok(v) = HeaderValue::from_str(&auto_post_csp(&nonce)) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}
