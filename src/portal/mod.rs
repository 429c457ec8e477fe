//! The admin portal under `/portal`: server-rendered pages (askama, `templates/portal/`) for org
//! admins (their org, and as `org_admin` its child orgs) and the vendor's operators.
//!
//! Sign-in goes through Lobby itself (`auth`: the built-in client `lobby-portal` of
//! `login::builtin`, code redeemed in-process); the portal keeps its own server-side session
//! (`session`: cookie `__Host-lobby-portal`, new id at sign-in, idle and absolute timeouts).
//! Every org page takes a [`scope::PortalScope`], which builds the admin layer's
//! `admin::scope::OrgScope` from the signed-in person — the same rights table as the API, no
//! checks of the portal's own; every write goes through `admin::service`. Every POST takes a
//! [`form::CsrfForm`]. Pages extend `templates/portal/layout.html` with a [`view::Layout`].
//!
//! Area files export `pub fn routes() -> Router<PortalCtx>` with full paths
//! (`/portal/orgs/{org_id}/members`…); [`router`] merges them.
//!
//! Owns: the portal's HTTP surface, its session and page chrome. Must not touch: the rights
//! table and business rules (`admin::scope`, `admin::service`), the hosted login's pages.

pub mod audit;
pub mod auth;
pub mod branding;
pub mod children;
pub mod confirm;
pub mod connections;
pub mod domains;
pub mod form;
pub mod home;
pub mod invitations;
pub mod language;
pub mod member_mfa;
pub mod members;
pub mod names;
pub mod operator;
pub mod scope;
pub mod service_text;
pub mod session;
pub mod view;
pub mod wording;

use crate::admin::AdminCtx;
use crate::config::Config;
use crate::domain::Clock;
use crate::provider::ProviderCtx;
use crate::state::sessions::SessionBackend;
use crate::storage::Storage;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use std::sync::Arc;

pub use form::CsrfForm;
pub use scope::PortalScope;
pub use session::PortalUser;
pub use view::{Layout, PortalError, Section};

/// What the portal's handlers may use.
#[derive(Clone)]
pub struct PortalCtx {
    /// The admin layer's context: `OrgScope::check` and the service layer take it.
    pub admin: AdminCtx,
    /// For redeeming the portal's authorization codes in-process (`provider::token`).
    pub provider: ProviderCtx,
    pub config: Arc<Config>,
    /// The database without the per-process cache (reads what was last written).
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    /// The `tower-sessions` store (the SSO session's store: memory or Redis).
    pub sessions: SessionBackend,
}

/// The portal, with its session layer and security headers; merge it into the app's router.
pub fn router(ctx: PortalCtx) -> Router {
    let routes = Router::new()
        .merge(auth::routes())
        .merge(home::routes())
        .merge(members::routes())
        .merge(member_mfa::routes())
        .merge(language::routes())
        .merge(invitations::routes())
        .merge(connections::routes())
        .merge(domains::routes())
        .merge(branding::routes())
        .merge(audit::routes())
        .merge(children::routes())
        .merge(operator::routes())
        .route("/portal/static/portal.css", get(view::stylesheet))
        .route("/portal/static/portal.js", get(view::script))
        .route("/portal/{*rest}", any(not_found));
    let csp = portal_csp(&ctx.config);
    routes
        .layer(middleware::from_fn(language::language))
        .layer(session::layer(ctx.sessions.clone(), &ctx.config))
        .layer(middleware::from_fn_with_state(csp, security_headers))
        .with_state(ctx)
}

/// Any other path under `/portal`.
async fn not_found() -> PortalError {
    PortalError::NotFound
}

/// The portal's policy: nothing inline, nothing from elsewhere but org logos (https) — a
/// handler may set its own (the IdP wizard's form-action), which is kept.
pub const PORTAL_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// [`PORTAL_CSP`] for this deployment: when the portal has its own host name, every page's
/// sign-out form continues on Lobby's public URL (`auth`: the SSO session ends there), so that
/// origin is a `form-action` too.
fn portal_csp(config: &Config) -> HeaderValue {
    let public = config.public_url.origin().ascii_serialization();
    let portal = url::Url::parse(&config.portal_url())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let csp = if portal == public || public == "null" {
        PORTAL_CSP.to_owned()
    } else {
        PORTAL_CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {public}"),
        )
    };
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(PORTAL_CSP))
}

async fn security_headers(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    }
    let defaults: [(header::HeaderName, &'static str); 3] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (k, v) in defaults {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    }
    // The hosted pages' `PAGE_CSP` (set by `pages::render`) is not the portal's.
    if h.get(header::CONTENT_SECURITY_POLICY)
        .is_some_and(|v| v.as_bytes() == crate::pages::PAGE_CSP.as_bytes())
    {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

#[cfg(test)]
mod completeness;
