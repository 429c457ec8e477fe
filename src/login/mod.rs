//! The hosted login (DESIGN §2, §4): `/login` (identifier first), `/login/password`,
//! `/login/org` (chooser), `/login/error`, the OIDC federation callback
//! `/sso/oidc/{connection_id}/callback` (`oidc`), and the stylesheets under `/static/`.
//!
//! Flow: `/authorize` creates a `flow::Flow` and sends the browser to `/login?flow=<id>`. The
//! identifier page takes the email; `discovery::route` picks the org's OIDC/SAML connection
//! (and `upstream::start` sends the browser to it: `oidc` or `saml`)
//! or the password page — the same password page for unknown users and domains, so the
//! pre-authentication pages reveal nothing about membership. After the password, `finish`
//! picks the org (chooser when several) and issues the code; after a federated sign-in,
//! `identity` resolves the user and `identity::complete` issues it.
//! Every POST carries the flow's CSRF token; every step checks the browser binding.
//!
//! Owns: the `/login*` routes. Must not touch: token issuance (that is `provider`), storage
//! internals.

pub mod chooser;
pub mod discovery;
pub mod finish;
pub mod flow;
pub mod identity;
pub mod oidc;
pub mod password;
pub mod saml;
pub mod session;
pub mod upstream;

use crate::config::Config;
use crate::domain::{App, Clock, Email, Org};
use crate::http::params::{Params, is_form};
use crate::http::redirect::see_other;
use crate::pages::{self, Chrome, LoginPage, PageError, error_page, render};
use crate::state::StateStore;
use crate::storage::Storage;
use crate::upstream::oidc::OidcConnector;
use crate::upstream::saml::SamlService;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use discovery::ConnectionDispatch;
use flow::{Flow, FlowError, Stage};
use std::sync::Arc;

/// What the login's handlers may use: configuration, storage (with the per-process
/// configuration cache), the short-lived state store, the clock, and the two connectors.
#[derive(Clone)]
pub struct LoginCtx {
    pub config: Arc<Config>,
    pub storage: Arc<dyn Storage>,
    /// The short-lived shared state: flows, upstream requests, codes, replay caches.
    pub ephemeral: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    pub oidc: Arc<OidcConnector>,
    pub saml: Arc<SamlService>,
}

pub fn router() -> Router<LoginCtx> {
    Router::new()
        .route("/login", get(identifier_get).post(identifier_post))
        .route("/login/password", get(password::get).post(password::post))
        .route("/login/org", get(chooser::get).post(chooser::post))
        .route("/login/error", get(pages::error_route))
        .route("/sso/oidc/{connection_id}/callback", get(oidc::callback))
        .route("/static/lobby.css", get(pages::stylesheet))
        .route("/static/brand.css", get(pages::brand_stylesheet))
        .merge(saml::router())
}

/// The error page for a flow that cannot be used.
pub(crate) fn flow_error(e: FlowError, headers: &HeaderMap) -> Response {
    match e {
        FlowError::Missing => error_page(PageError::FlowExpired, headers, None),
        FlowError::WrongBrowser => error_page(PageError::WrongBrowser, headers, None),
        FlowError::State(e) => {
            tracing::error!(error = %e, "state store error in the login flow");
            error_page(PageError::Unavailable, headers, None)
        }
    }
}

/// The flow named by `flow=` in a query or form, for this browser.
pub(crate) async fn load_flow(
    st: &LoginCtx,
    p: &Params,
    headers: &HeaderMap,
) -> Result<Flow, Response> {
    let id = match p.get("flow") {
        Ok(Some(id)) => id,
        Ok(None) => return Err(error_page(PageError::FlowExpired, headers, None)),
        Err(_) => return Err(error_page(PageError::BadRequest, headers, None)),
    };
    flow::load(st, id, headers)
        .await
        .map_err(|e| flow_error(e, headers))
}

/// The flow of a POSTed form, with its CSRF token checked (DESIGN §6.7).
pub(crate) async fn load_form_flow(
    st: &LoginCtx,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Flow, Params), Response> {
    if !is_form(headers) {
        return Err(error_page(PageError::BadRequest, headers, None));
    }
    let p = Params::parse(body);
    let flow = load_flow(st, &p, headers).await?;
    if !flow.csrf_ok(p.get("csrf").ok().flatten()) {
        return Err(error_page(PageError::Csrf, headers, None));
    }
    Ok((flow, p))
}

/// The app of a flow (it may have been deleted meanwhile).
pub(crate) async fn flow_app(
    st: &LoginCtx,
    flow: &Flow,
    headers: &HeaderMap,
) -> Result<App, Response> {
    match st.storage.get_app(&flow.app_id).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(error_page(PageError::UnknownClient, headers, None)),
        Err(e) => {
            tracing::error!(error = %e, "storage error loading the flow's app");
            Err(error_page(PageError::Server, headers, None))
        }
    }
}

/// The org the flow's `organization` hint named, for branding.
pub(crate) async fn hinted_org(st: &LoginCtx, flow: &Flow) -> Option<Org> {
    match &flow.org_hint {
        Some(id) => st.storage.get_org(id).await.ok().flatten(),
        None => None,
    }
}

/// The org to brand the identifier page with: the `organization` hint, else the org that
/// verified the `domain_hint` domain and is linked to the app (the same routing the email would
/// get, so it reveals nothing more; it only brands, the email still decides the route).
async fn identifier_brand(st: &LoginCtx, app: &App, flow: &Flow) -> Option<Org> {
    if flow.org_hint.is_some() {
        return hinted_org(st, flow).await;
    }
    let domain = crate::domain::EmailDomain::parse(flow.domain_hint.as_deref()?).ok()?;
    let probe = Email::parse(&format!("x@{domain}")).ok()?;
    discovery::org_for_email(st.storage.as_ref(), app, &probe)
        .await
        .ok()
        .flatten()
        .map(|l| l.org)
}

fn identifier_page(
    headers: &HeaderMap,
    app: &App,
    flow: &Flow,
    brand: Option<&Org>,
    email: String,
    error: Option<&'static str>,
) -> Response {
    let page = LoginPage {
        c: Chrome::new("Sign in", headers).branded(brand),
        app_name: app.name.clone(),
        flow: flow.id.clone(),
        csrf: flow.csrf.expose().to_owned(),
        email,
        error,
    };
    render(StatusCode::OK, &page)
}

/// `GET /login?flow=…`: the identifier page.
async fn identifier_get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    let flow = match load_flow(&st, &p, &headers).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if flow.stage == Stage::Chooser {
        return see_other(&format!("/login/org?flow={}", flow.id));
    }
    let app = match flow_app(&st, &flow, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let brand = identifier_brand(&st, &app, &flow).await;
    let email = flow
        .email
        .as_ref()
        .map(|e| e.to_string())
        .or_else(|| flow.login_hint.clone())
        .unwrap_or_default();
    identifier_page(&headers, &app, &flow, brand.as_ref(), email, None)
}

/// `POST /login`: route the email (DESIGN §2 step 2–3).
async fn identifier_post(State(st): State<LoginCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let (mut flow, p) = match load_form_flow(&st, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if flow.stage == Stage::Chooser {
        return see_other(&format!("/login/org?flow={}", flow.id));
    }
    let app = match flow_app(&st, &flow, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let raw = p.get("email").ok().flatten().unwrap_or("");
    let brand = hinted_org(&st, &flow).await;
    let Ok(email) = Email::parse(raw) else {
        let shown: String = raw.chars().take(254).collect();
        return identifier_page(
            &headers,
            &app,
            &flow,
            brand.as_ref(),
            shown,
            Some("Enter an email address like name@example.com."),
        );
    };
    let hinted = match (&brand, &flow.org_hint) {
        (Some(o), Some(_)) => match st.storage.get_link(&o.id, &app.id).await {
            Ok(Some(link)) if o.status == crate::domain::OrgStatus::Active => {
                Some(discovery::LinkedOrg {
                    org: o.clone(),
                    link,
                })
            }
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "storage error in discovery");
                return error_page(PageError::Server, &headers, None);
            }
        },
        _ => None,
    };
    let (target, dispatch) =
        match discovery::route(st.storage.as_ref(), &app, hinted.as_ref(), &email).await {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "storage error in discovery");
                return error_page(PageError::Server, &headers, None);
            }
        };
    match dispatch {
        ConnectionDispatch::Password => {
            flow.email = Some(email);
            flow.target_org = target.map(|t| t.org.id);
            flow.stage = Stage::Password;
            if let Err(e) = flow::save(&st, &flow).await {
                return flow_error(e, &headers);
            }
            see_other(&format!("/login/password?flow={}", flow.id))
        }
        ConnectionDispatch::Upstream(conn) => match &target {
            Some(t) => upstream::start(&st, &headers, flow, Some(email), t, *conn).await,
            None => error_page(PageError::SsoNotAvailable, &headers, None),
        },
    }
}
