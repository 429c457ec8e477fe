//! `/logout` — OpenID Connect RP-Initiated Logout 1.0 (`end_session_endpoint`), GET and POST.
//!
//! `id_token_hint` must be an ID token Lobby issued (signature by a published key, `typ: JWT`,
//! our issuer; an expired hint is accepted for `HINT_MAX_AGE_SECS`, as §2 recommends). A
//! tampered, foreign-key or `alg: none` hint is refused with the error page: no redirect and no
//! sign-out. `post_logout_redirect_uri` is honoured only when it exactly matches one registered
//! for the client named by the hint's `aud` (or `client_id`, which must agree with it);
//! otherwise the error page. The redirect itself needs a valid hint or the user's confirmation
//! on the sign-out page: `client_id` alone (no hint, no session) ends on the signed-out page. Without a valid hint for the signed-in user the user confirms on a
//! page whose form carries a CSRF token (§2: the OP should ask, to prevent forced sign-out).
//! Signing out ends the SSO session and revokes the refresh-token families of its `sid`
//! ([`end_sso`], which the portal's sign-out uses too).
//!
//! Owns: the logout endpoint. Must not touch: token issuance.

use super::token::ALL_ALGS;
use crate::domain::{App, AuditEvent, AuditEventId, ClientId, Outcome};
use crate::http::params::{MAX_PARAM_BYTES, Params, is_form};
use crate::http::redirect::{redirect_with, see_other};
use crate::keys::VerifyOptions;
use crate::login::error::storage_page;
use crate::login::session;
use crate::pages::{
    Chrome, LoggedOutPage, LogoutConfirm, PageError, error_page, error_page_in, render,
};
use crate::provider::ProviderCtx;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tower_sessions::Session;

/// An expired `id_token_hint` is still accepted this long after its `exp`.
pub const HINT_MAX_AGE_SECS: i64 = 30 * 24 * 3600;

pub async fn get(
    State(st): State<ProviderCtx>,
    sess: Session,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    logout(
        &st,
        &sess,
        &headers,
        Params::from_query(q.as_deref()),
        false,
    )
    .await
}

pub async fn post(
    State(st): State<ProviderCtx>,
    sess: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(PageError::LogoutInvalid, &headers, None);
    }
    logout(&st, &sess, &headers, Params::parse(&body), true).await
}

async fn logout(
    st: &ProviderCtx,
    sess: &Session,
    headers: &HeaderMap,
    p: Params,
    is_post: bool,
) -> Response {
    // RP-Initiated Logout 1.0 §2: `ui_locales` for the pages shown here.
    let ui_locales = p
        .get("ui_locales")
        .ok()
        .flatten()
        .filter(|v| v.len() <= 256);
    let ui = crate::i18n::from_ui_locales(ui_locales);
    let bad = || error_page_in(PageError::LogoutInvalid, headers, None, ui);
    if p.first_repeated(&[
        "id_token_hint",
        "post_logout_redirect_uri",
        "state",
        "client_id",
        "csrf",
    ])
    .is_some()
    {
        return bad();
    }
    let g = |n: &str| p.get(n).ok().flatten();
    let state = g("state");
    if state.is_some_and(|s| s.len() > MAX_PARAM_BYTES) {
        return bad();
    }
    // The hint: our own ID token, or nothing happens.
    let hint = match g("id_token_hint") {
        None => None,
        Some(t) if t.len() > 16 * 1024 => return bad(),
        Some(t) => {
            let issuer = st.config.issuer();
            let opts = VerifyOptions {
                issuer: Some(&issuer),
                audience: None,
                typ: Some("JWT"),
                leeway_secs: HINT_MAX_AGE_SECS,
            };
            match st.keys.verify(t, &ALL_ALGS, &opts) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::info!(error = %e, "logout refused: invalid id_token_hint");
                    return bad();
                }
            }
        }
    };
    let hint_aud = hint
        .as_ref()
        .and_then(|c| c.get("aud"))
        .and_then(Value::as_str);
    let client_param = g("client_id");
    if let (Some(a), Some(c)) = (hint_aud, client_param)
        && a != c
    {
        return bad();
    }
    let client = hint_aud.or(client_param);
    let app: Option<App> = match client {
        None => None,
        Some(c) => {
            let Ok(id) = ClientId::parse(c) else {
                return bad();
            };
            match st.storage.get_app_by_client_id(&id).await {
                Ok(Some(a)) => Some(a),
                Ok(None) => return bad(),
                Err(e) => {
                    tracing::error!(error = %e, "storage error in /logout");
                    return error_page_in(storage_page(&e), headers, None, ui);
                }
            }
        }
    };
    let post_logout = g("post_logout_redirect_uri");
    if let Some(u) = post_logout {
        // Exact match against the client's registration; a client must be identified.
        let registered = app
            .as_ref()
            .is_some_and(|a| a.post_logout_redirect_uris.iter().any(|r| r == u));
        if !registered {
            return bad();
        }
    }

    let now = st.clock.now().unix_timestamp();
    let sso = match session::current(sess, &*st.ephemeral, now).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "session store error in /logout");
            return error_page_in(PageError::Unavailable, headers, None, ui);
        }
    };
    // Sign out at once only when the request is clearly the signed-in user's own: a valid hint
    // naming them, or the confirmation form with its CSRF token.
    let hint_matches = match (&sso, &hint) {
        (Some(s), Some(c)) => c.get("sub").and_then(Value::as_str) == Some(s.user_id.as_str()),
        (None, _) => true,
        (Some(_), None) => false,
    };
    let confirmed = is_post && session::csrf_ok(sess, g("csrf")).await;
    if is_post && !confirmed && !hint_matches {
        return error_page_in(PageError::Csrf, headers, None, ui);
    }
    if !hint_matches && !confirmed {
        let csrf = match session::csrf_token(sess).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "session store error in /logout");
                return error_page_in(PageError::Unavailable, headers, None, ui);
            }
        };
        let page = LoggedOutPage {
            c: Chrome::new(crate::i18n::Msg::new("title-sign-out"), headers).ui_lang(ui),
            confirm: Some(LogoutConfirm {
                csrf,
                client_id: app.as_ref().map(|a| a.client_id.to_string()),
                post_logout_redirect_uri: post_logout.map(str::to_owned),
                state: state.map(str::to_owned),
                ui_locales: ui.map(|l| l.tag().to_owned()),
            }),
        };
        return render(StatusCode::OK, &page);
    }

    let client = app.as_ref().map(|a| a.client_id.to_string());
    if let Err(e) = end_sso(st, sess, sso.as_ref(), client, headers).await {
        return error_page_in(e, headers, None, ui);
    }
    // RP-Initiated Logout §2: without an `id_token_hint` the OP must not redirect unless it has
    // other means of confirming the target; here that is the user's own confirmation on our
    // page. A bare `client_id` (no hint, no session) only gets the signed-out page.
    let may_redirect = hint.is_some() || confirmed;
    match post_logout.filter(|_| may_redirect) {
        Some(u) => {
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            if let Some(s) = state {
                pairs.push(("state", s));
            }
            if pairs.is_empty() {
                see_other(u)
            } else {
                redirect_with(u, &pairs)
            }
        }
        None => render(
            StatusCode::OK,
            &LoggedOutPage {
                c: Chrome::new(crate::i18n::Msg::new("title-signed-out"), headers).ui_lang(ui),
                confirm: None,
            },
        ),
    }
}

/// Sign this browser out of Lobby: revoke the refresh-token families of the session's `sid`,
/// record the logout (`client_id`: who asked), and end the session. `/logout` calls it once the
/// request is known to be the user's own; so does the portal's sign-out (`portal::auth`, with
/// the SSO session of the same browser). `sso` is [`session::current`]'s answer for `sess`.
pub async fn end_sso(
    st: &ProviderCtx,
    sess: &Session,
    sso: Option<&session::SsoSession>,
    client_id: Option<String>,
    headers: &HeaderMap,
) -> Result<(), PageError> {
    if let Some(s) = sso {
        let t = st.clock.now();
        match st.storage.revoke_session_families(s.sid.as_str(), t).await {
            Ok(n) => crate::ops::metrics::families_revoked("logout", n),
            Err(e) => {
                tracing::error!(error = %e, "cannot revoke the session's refresh tokens");
                return Err(storage_page(&e));
            }
        }
        let ev = AuditEvent {
            id: AuditEventId::generate(),
            time: t,
            actor: format!("user:{}", s.user_id),
            org_id: None,
            action: "logout".into(),
            target_type: "session".into(),
            target_id: String::new(),
            outcome: Outcome::Success,
            details: serde_json::json!({ "client_id": client_id }),
            request_id: Some(crate::http::params::request_id(headers)),
        };
        if let Err(e) = st.storage.append_audit(&ev).await {
            tracing::error!(error = %e, "cannot record the logout");
        }
    }
    if let Err(e) = session::end(sess).await {
        tracing::error!(error = %e, "cannot end the session");
        return Err(PageError::Unavailable);
    }
    Ok(())
}
