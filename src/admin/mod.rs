//! Admin REST API under `/api/v1` (JSON), its OpenAPI document, and the declarative
//! import/export that uses the same shapes.
//!
//! Owns: the admin HTTP surface, authentication (`auth`) and org scoping (`scope`), request/response shapes,
//! the write logic shared with import. Must not touch: storage internals, the OIDC provider,
//! the hosted pages.
//!
//! Every route is declared once, in [`route_table`]: the router is built from it and a test
//! checks that the OpenAPI document lists exactly these operations.

pub mod apps;
pub mod audit;
pub mod auth;
pub mod connection_ops;
pub mod declarative;
pub mod dto;
pub mod invite_mail;
pub mod openapi;
pub mod orgs;
pub mod scope;
pub mod service;
pub mod sessions;
pub mod users;
pub mod webhooks;

use crate::config::Config;
use crate::domain::Clock;
use crate::http::ApiError;
use crate::keys::seal::SealKey;
use crate::storage::Storage;
use crate::upstream::oidc::OidcConnector;
use crate::upstream::saml::SamlService;
use auth::Caller;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::http::header::{self, HeaderValue};
use axum::routing::{MethodRouter, delete, get, patch, post};
use service::Ctx;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// One route of the admin API: method, path (relative to `/api/v1`) and handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AdminCtx>,
}

macro_rules! verb {
    ($fn:ident, $method:ident, $routing:ident) => {
        fn $fn<H, T>(path: &'static str, h: H) -> RouteDef
        where
            H: Handler<T, AdminCtx>,
            T: 'static,
        {
            RouteDef {
                method: Method::$method,
                path,
                handler: $routing(h),
            }
        }
    };
}
verb!(r_get, GET, get);
verb!(r_post, POST, post);
verb!(r_patch, PATCH, patch);
verb!(r_delete, DELETE, delete);

/// Every admin route. The router and the OpenAPI test both read this list.
pub fn route_table() -> Vec<RouteDef> {
    vec![
        r_get("/openapi.json", openapi::serve),
        // Apps, roles, role groups
        r_get("/apps", apps::list_apps),
        r_post("/apps", apps::create_app),
        r_get("/apps/{app_id}", apps::get_app),
        r_patch("/apps/{app_id}", apps::update_app),
        r_delete("/apps/{app_id}", apps::delete_app),
        r_get("/apps/{app_id}/roles", apps::list_roles),
        r_post("/apps/{app_id}/roles", apps::create_role),
        r_get("/apps/{app_id}/roles/{value}", apps::get_role),
        r_patch("/apps/{app_id}/roles/{value}", apps::update_role),
        r_delete("/apps/{app_id}/roles/{value}", apps::delete_role),
        r_get("/apps/{app_id}/role-groups", apps::list_role_groups),
        r_post("/apps/{app_id}/role-groups", apps::create_role_group),
        r_get(
            "/apps/{app_id}/role-groups/{group_id}",
            apps::get_role_group,
        ),
        r_patch(
            "/apps/{app_id}/role-groups/{group_id}",
            apps::update_role_group,
        ),
        r_delete(
            "/apps/{app_id}/role-groups/{group_id}",
            apps::delete_role_group,
        ),
        // Organizations, links, domains, connections
        r_get("/orgs", orgs::list_orgs),
        r_post("/orgs", orgs::create_org),
        r_get("/orgs/{org_id}", orgs::get_org),
        r_patch("/orgs/{org_id}", orgs::update_org),
        r_delete("/orgs/{org_id}", orgs::delete_org),
        r_get("/orgs/{org_id}/apps", orgs::list_links),
        r_post("/orgs/{org_id}/apps", orgs::create_link),
        r_get("/orgs/{org_id}/apps/{app_id}", orgs::get_link),
        r_patch("/orgs/{org_id}/apps/{app_id}", orgs::update_link),
        r_delete("/orgs/{org_id}/apps/{app_id}", orgs::delete_link),
        r_get("/orgs/{org_id}/domains", orgs::list_domains),
        r_post("/orgs/{org_id}/domains", orgs::create_domain),
        r_get("/orgs/{org_id}/domains/{domain}", orgs::get_domain),
        r_patch("/orgs/{org_id}/domains/{domain}", orgs::update_domain),
        r_delete("/orgs/{org_id}/domains/{domain}", orgs::delete_domain),
        r_post(
            "/orgs/{org_id}/domains/{domain}/verify",
            orgs::verify_domain,
        ),
        r_get("/orgs/{org_id}/connections", orgs::list_connections),
        r_post("/orgs/{org_id}/connections", orgs::create_connection),
        r_get(
            "/orgs/{org_id}/connections/{connection_id}",
            orgs::get_connection,
        ),
        r_patch(
            "/orgs/{org_id}/connections/{connection_id}",
            orgs::update_connection,
        ),
        r_delete(
            "/orgs/{org_id}/connections/{connection_id}",
            orgs::delete_connection,
        ),
        r_get(
            "/orgs/{org_id}/connections/{connection_id}/test",
            connection_ops::test_connection,
        ),
        r_post(
            "/orgs/{org_id}/connections/{connection_id}/refresh-metadata",
            connection_ops::refresh_metadata,
        ),
        // Users, members, invitations
        r_get("/users", users::list_users),
        r_post("/users", users::create_user),
        r_get("/users/{user_id}", users::get_user),
        r_patch("/users/{user_id}", users::update_user),
        r_delete("/users/{user_id}", users::delete_user),
        r_get("/users/{user_id}/identities", users::list_identities),
        r_delete("/users/{user_id}/sessions", sessions::end_user_sessions),
        r_get("/orgs/{org_id}/members", users::list_members),
        r_post("/orgs/{org_id}/members", users::create_member),
        r_get("/orgs/{org_id}/members/{user_id}", users::get_member),
        r_patch("/orgs/{org_id}/members/{user_id}", users::update_member),
        r_delete("/orgs/{org_id}/members/{user_id}", users::delete_member),
        r_delete("/orgs/{org_id}/members/{user_id}/mfa", users::reset_mfa),
        r_get("/orgs/{org_id}/invitations", users::list_invitations),
        r_post("/orgs/{org_id}/invitations", users::create_invitation),
        r_post(
            "/orgs/{org_id}/invitations/{invitation_id}/resend",
            users::resend_invitation,
        ),
        r_get(
            "/orgs/{org_id}/invitations/{invitation_id}",
            users::get_invitation,
        ),
        r_patch(
            "/orgs/{org_id}/invitations/{invitation_id}",
            users::update_invitation,
        ),
        r_delete(
            "/orgs/{org_id}/invitations/{invitation_id}",
            users::delete_invitation,
        ),
        // Audit
        r_get("/audit-events", audit::list_audit_events),
        // Webhooks (operator and admin clients only)
        r_get("/webhooks", webhooks::list_webhooks),
        r_post("/webhooks", webhooks::create_webhook),
        r_get("/webhooks/{webhook_id}", webhooks::get_webhook),
        r_patch("/webhooks/{webhook_id}", webhooks::update_webhook),
        r_delete("/webhooks/{webhook_id}", webhooks::delete_webhook),
        r_get(
            "/webhooks/{webhook_id}/deliveries",
            webhooks::list_deliveries,
        ),
        // Back-Channel Logout deliveries to an app
        r_get(
            "/apps/{app_id}/backchannel-logout/deliveries",
            sessions::list_logout_deliveries,
        ),
    ]
}

/// What the admin API's handlers may use. Its storage is *uncached*: the admin API reads
/// exactly what was last written, by any instance.
#[derive(Clone)]
pub struct AdminCtx {
    pub config: Arc<Config>,
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    /// DNS TXT lookups for domain verification (tests replace it with a fake).
    pub txt_resolver: Arc<dyn crate::upstream::dns::TxtResolver>,
    /// Seals secrets at rest (upstream client secrets).
    pub seal: Arc<SealKey>,
    pub oidc: Arc<OidcConnector>,
    pub saml: Arc<SamlService>,
    /// Verifies Lobby's own admin access tokens (`auth`).
    pub keys: Arc<crate::keys::KeyRing>,
    /// Where `/revoke` deny-lists access tokens.
    pub ephemeral: Arc<dyn crate::state::StateStore>,
    /// Outgoing mail (invitations).
    pub mailer: Arc<dyn crate::mail::Mailer>,
}

/// The admin API, to be nested under `/api/v1`.
pub fn router() -> Router<AdminCtx> {
    let mut r = Router::new();
    for def in route_table() {
        r = r.route(def.path, def.handler);
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Responses may carry a secret shown once (client secret, invitation token).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "There is no such endpoint; see /api/v1/openapi.json.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not support that method; see /api/v1/openapi.json.",
    )
}

/// The service context of a request.
pub(crate) fn ctx<'a>(st: &'a AdminCtx, caller: &Caller) -> Ctx<'a> {
    Ctx {
        storage: st.storage.as_ref(),
        clock: st.clock.as_ref(),
        seal: Some(st.seal.as_ref()),
        actor: caller.actor(),
        request_id: crate::http::current_request_id(),
    }
}

/// Parse an id from the URL path. A malformed id cannot name an existing object: 404.
pub(crate) fn path_id<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, ApiError> {
    s.parse::<T>().map_err(|_| ApiError::not_found(what))
}
