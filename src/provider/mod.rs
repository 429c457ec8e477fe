//! The OIDC provider (DESIGN §3, §4): discovery, JWKS, `/authorize`, `/token`, `/userinfo`,
//! `/revoke`, `/introspect`, `/logout`.
//!
//! Owns: the OIDC endpoints and token issuance (with the signing keys of `crate::keys`).
//! Must not touch: the hosted pages (that is `login`), upstream connectors, admin API,
//! storage internals.

pub mod admin_tokens;
pub mod authorize;
pub mod claims;
pub mod discovery;
pub mod error;
pub mod introspect;
pub mod logout;
pub mod org_switch;
pub mod revoke;
pub mod token;
pub mod userinfo;

use crate::config::Config;
use crate::domain::Clock;
use crate::keys::KeyRing;
use crate::login::LoginCtx;
use crate::state::StateStore;
use crate::storage::Storage;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// What the provider's handlers may use. `/authorize` starts and continues logins, so the
/// login's context comes along.
#[derive(Clone)]
pub struct ProviderCtx {
    pub config: Arc<Config>,
    pub storage: Arc<dyn Storage>,
    /// The short-lived shared state (codes, replay markers).
    pub ephemeral: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// Token-signing keys.
    pub keys: Arc<KeyRing>,
    pub login: LoginCtx,
}

pub fn router() -> Router<ProviderCtx> {
    // Endpoints a browser app (a public SPA client) calls with fetch: CORS without
    // credentials. They take no cookies, so any origin may call them; /authorize and /logout
    // are navigations and get no CORS.
    let cors = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .layer(middleware::from_fn(cors));
    Router::new()
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/logout", get(logout::get).post(logout::post))
        .merge(cors)
}

/// CORS for the back-channel endpoints (Fetch standard; no credentials, so `*`).
async fn cors(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    } else {
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate"),
        );
    }
    res
}
