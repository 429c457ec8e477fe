//! The portal's language: the signed-in person's choice (the small form in every page's footer,
//! `POST /portal/language` with CSRF, stored in the portal session), else the browser's
//! `Accept-Language`, else English — `i18n::negotiate` through `Tr::for_request`.
//! [`language`] is the middleware (inside the session layer) that settles it once per request
//! and makes it the request's `view::current_tr()`, so every page, the layout and the error
//! pages speak it.
//!
//! Owns: the session key of the choice, the form's route. Must not touch: the catalogs
//! (`i18n`), what pages say.

use super::PortalCtx;
use super::auth::safe_return;
use super::form::CsrfForm;
use super::session::PortalUser;
use super::view::{PageResult, PortalError, see_other, with_request};
use crate::i18n::{Lang, Tr};
use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use tower_sessions::Session;

/// The session key of the person's choice (a language tag).
pub const LANG: &str = "portal.lang";

pub fn routes() -> Router<PortalCtx> {
    Router::new().route("/portal/language", post(choose))
}

/// Settle the request's language (the session's choice, else `Accept-Language`) and serve the
/// request with it.
pub async fn language(session: Session, req: Request, next: Next) -> Response {
    let choice = match session.get::<String>(LANG).await {
        Ok(t) => t.as_deref().and_then(Lang::from_tag),
        Err(e) => {
            tracing::debug!(error = %e, "portal language choice unreadable");
            None
        }
    };
    let tr = Tr::for_request(req.headers(), choice);
    let path = if req.method() == Method::GET {
        safe_return(req.uri().path_and_query().map(|p| p.as_str()))
    } else {
        "/portal".to_owned()
    };
    with_request(tr, path, next.run(req)).await
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    #[serde(rename = "return")]
    return_to: Option<String>,
}

/// `POST /portal/language`: keep the choice in the portal session, back to the page.
async fn choose(user: PortalUser, CsrfForm(f): CsrfForm<LanguageForm>) -> PageResult {
    let Some(lang) = Lang::from_tag(&f.lang) else {
        return Err(PortalError::invalid(
            "lang",
            super::view::current_tr().t("portal-language-invalid"),
        ));
    };
    user.session()
        .insert(LANG, lang.tag())
        .await
        .map_err(PortalError::internal)?;
    Ok(see_other(&safe_return(f.return_to.as_deref())))
}
