//! The hosted login (DESIGN §2, §4): `/login` (identifier first), `/login/password`, the
//! password reset pages `/login/password/forgot` and `/login/password/reset/{token}` (`reset`),
//! `/login/org` (chooser), `/login/mfa…` (the second factor, `mfa`), `/login/connection` and
//! `/login/sso` (`sso_choice`: "Sign in with …" among an org's IdPs, and "Sign in with your
//! organization's name"), `/login/shared*` (`shared`: the emailed org chooser of a shared email
//! domain), `/login/error`, the OIDC federation callback
//! `/sso/oidc/{connection_id}/callback` (`oidc`), the SAML routes `/sso/saml/{connection_id}/…`
//! (`saml`: SP metadata, ACS, continue), the portal wizard's test sign-in `/sso/test/{ticket}`
//! (`test_signin`: the IdP's answer is shown to the admin, nobody is signed in), and the
//! stylesheets under `/static/`.
//!
//! Flow: `/authorize` creates a `flow::Flow` and sends the browser to `/login?flow=<id>`. The
//! identifier page takes the email; `discovery::route` picks the org's OIDC/SAML connection
//! (and `upstream::start` sends the browser to it: `oidc` or `saml`)
//! or the password page — the same password page for unknown users and domains, so the
//! pre-authentication pages reveal nothing about membership. After the password,
//! `issue::complete_login` picks the org (chooser when several) and issues the code; after a
//! federated sign-in, `identity` resolves the user and `identity::sign_in` issues it.
//! Every POST carries the flow's CSRF token; every step checks the browser binding.
//!
//! Failures: a handler's work returns `Result<Response, error::LoginError>` and uses `?`; the
//! route ends with `error::respond`, which writes the failure's audit event and renders its
//! page. The GET pages take the flow with the [`LoadedFlow`] extractor. The rate limiter may
//! already have read the flow (or, for the OIDC callback, taken it) together with its count
//! (`prefetch`); the handlers use that read through `prefetch::Early` instead of reading again.
//!
//! Owns: the `/login*` and `/sso/*` routes, the flow record, account linking. Must not touch:
//! token issuance (that is `provider`), protocol validation (`upstream`), storage internals.

pub mod builtin;
pub mod chooser;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod identity;
pub mod invite;
pub mod issue;
pub mod mfa;
pub mod oidc;
pub mod password;
pub mod prefetch;
pub mod rate_limit;
pub mod reset;
pub mod saml;
pub mod session;
pub mod shared;
pub mod sso_choice;
pub mod test_signin;
pub mod upstream;

use crate::config::Config;
use crate::domain::{App, Clock, Email, Org};
use crate::http::params::{Params, is_form};
use crate::http::redirect::see_other;
use crate::pages::{self, Chrome, LoginPage, PageError, render};
use crate::state::StateStore;
use crate::storage::Storage;
use crate::upstream::oidc::OidcConnector;
use crate::upstream::saml::SamlService;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use discovery::ConnectionDispatch;
pub use error::LoginError;
use flow::{Flow, FlowId, Stage};
use prefetch::Early;
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
    /// Slots for argon2 password checks (one per core): each takes ~20–50 ms of CPU and
    /// 19 MiB, so a burst waits here instead of exhausting memory.
    pub argon2: Arc<tokio::sync::Semaphore>,
    /// Outgoing mail (password resets).
    pub mailer: Arc<dyn crate::mail::Mailer>,
    /// Seals secrets at rest (the TOTP secrets of `mfa`).
    pub seal: Arc<crate::keys::seal::SealKey>,
    /// The WebAuthn relying party of passkeys (`mfa::passkey`), built once from the public URL.
    pub passkeys: Arc<mfa::passkey::rp::PasskeyRp>,
}

pub fn router() -> Router<LoginCtx> {
    Router::new()
        .route("/login", get(identifier_get).post(identifier_post))
        .route("/login/password", get(password::get).post(password::post))
        .route(
            "/login/password/forgot",
            get(reset::forgot_get).post(reset::forgot_post),
        )
        .route(
            "/login/password/reset/{token}",
            get(reset::reset_get).post(reset::reset_post),
        )
        .route("/login/org", get(chooser::get).post(chooser::post))
        .merge(mfa::router())
        .route(
            "/login/connection",
            get(sso_choice::connection_get).post(sso_choice::connection_post),
        )
        .route(
            "/login/sso",
            get(sso_choice::org_get).post(sso_choice::org_post),
        )
        .route(
            "/login/shared",
            get(shared::chooser_get).post(shared::chooser_post),
        )
        .route("/login/shared/send", axum::routing::post(shared::send_post))
        .route("/login/shared/{token}", get(shared::open))
        .route("/login/error", get(pages::error_route))
        .route("/invite/{token}", get(invite::get).post(invite::post))
        .route("/sso/oidc/{connection_id}/callback", get(oidc::callback))
        .route("/sso/test/{ticket}", get(test_signin::start))
        .route("/static/lobby.css", get(pages::stylesheet))
        .route("/static/brand.css", get(pages::brand_stylesheet))
        .route("/static/passkey.js", get(pages::passkey_script))
        .merge(saml::router())
}

/// The flow named by `flow=` in a query or form, for this browser.
pub(crate) async fn load_flow(
    st: &LoginCtx,
    p: &Params,
    headers: &HeaderMap,
    early: &mut Early,
) -> Result<Flow, LoginError> {
    let id = match p.get("flow") {
        Ok(Some(id)) => id,
        Ok(None) => return Err(PageError::FlowExpired.into()),
        Err(_) => return Err(PageError::BadRequest.into()),
    };
    // A malformed id is no flow at all.
    let id = FlowId::parse(id).ok_or(PageError::FlowExpired)?;
    Ok(flow::load_early(st, &id, headers, early).await?)
}

/// The flow named by the query's `flow=`, loaded for this browser: the extractor of the login
/// pages' GETs. Its rejection is the fixed page (expired, other browser, bad request).
pub struct LoadedFlow(pub Flow);

impl FromRequestParts<LoginCtx> for LoadedFlow {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &LoginCtx) -> Result<Self, Response> {
        let p = Params::from_query(parts.uri.query());
        let mut early = Early::from_parts(parts);
        load_flow(st, &p, &parts.headers, &mut early)
            .await
            .map(LoadedFlow)
            .map_err(|e| e.render(&parts.headers))
    }
}

/// The flow of a POSTed form, with its CSRF token checked (DESIGN §6.7). `early`: the
/// request's early read ([`prefetch`]), used when it is this flow's.
pub(crate) async fn load_form_flow(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut early: Early,
    body: &Bytes,
) -> Result<(Flow, Params), LoginError> {
    if !is_form(headers) {
        return Err(PageError::BadRequest.into());
    }
    let p = Params::parse(body);
    let flow = load_flow(st, &p, headers, &mut early).await?;
    if !flow.csrf_ok(p.get("csrf").ok().flatten()) {
        return Err(PageError::Csrf.into());
    }
    Ok((flow, p))
}

/// A POSTed form of a flow's page: the flow and its form ([`load_form_flow`]), then `handle`
/// with them; a failure is shown in the flow's language and answered as every login error is
/// (`error::respond`).
pub(crate) async fn form_post<F, Fut>(
    st: &LoginCtx,
    headers: &HeaderMap,
    early: Early,
    body: &Bytes,
    handle: F,
) -> Response
where
    F: FnOnce(Flow, Params) -> Fut,
    Fut: std::future::Future<Output = Result<Response, LoginError>>,
{
    let r = async {
        let (flow, p) = load_form_flow(st, headers, early, body).await?;
        let lang = flow.ui_lang();
        handle(flow, p).await.map_err(|e| e.in_lang(lang))
    }
    .await;
    error::respond(st, headers, r).await
}

/// The app of a flow (it may have been deleted meanwhile).
pub(crate) async fn flow_app(st: &LoginCtx, flow: &Flow) -> Result<App, LoginError> {
    match builtin::app_by_id(st.storage.as_ref(), &st.config, &flow.app_id).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(PageError::UnknownClient.into()),
        Err(e) => Err(LoginError::server("the flow's app", &e)),
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

/// The identifier page's title.
pub const TITLE_SIGN_IN: crate::i18n::Msg = crate::i18n::Msg::new("title-sign-in");

fn identifier_page(
    headers: &HeaderMap,
    app: &App,
    flow: &Flow,
    brand: Option<&Org>,
    email: String,
    error: Option<crate::i18n::Msg>,
) -> Response {
    let page = LoginPage {
        c: Chrome::new(TITLE_SIGN_IN, headers)
            .branded(brand)
            .ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        flow: flow.id.to_string(),
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
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = identifier_show(&st, &headers, flow).await;
    error::respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

async fn identifier_show(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
) -> Result<Response, LoginError> {
    if flow.stage == Stage::Chooser {
        return Ok(see_other(&format!("/login/org?flow={}", flow.id)));
    }
    if matches!(flow.stage, Stage::MfaEnroll | Stage::MfaChallenge) {
        return Ok(see_other(&format!("/login/mfa?flow={}", flow.id)));
    }
    let app = flow_app(st, &flow).await?;
    let brand = identifier_brand(st, &app, &flow).await;
    let email = flow
        .email
        .as_ref()
        .map(|e| e.to_string())
        .or_else(|| flow.login_hint.clone())
        .unwrap_or_default();
    Ok(identifier_page(
        headers,
        &app,
        &flow,
        brand.as_ref(),
        email,
        None,
    ))
}

/// `POST /login`: route the email (DESIGN §2 step 2–3).
async fn identifier_post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = identifier_route(&st, &headers, early, &body).await;
    error::respond(&st, &headers, r).await
}

async fn identifier_route(
    st: &LoginCtx,
    headers: &HeaderMap,
    early: Early,
    body: &Bytes,
) -> Result<Response, LoginError> {
    let (flow, p) = load_form_flow(st, headers, early, body).await?;
    let lang = flow.ui_lang();
    identifier_next(st, headers, flow, p)
        .await
        .map_err(|e| e.in_lang(lang))
}

async fn identifier_next(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    p: Params,
) -> Result<Response, LoginError> {
    if flow.stage == Stage::Chooser {
        return Ok(see_other(&format!("/login/org?flow={}", flow.id)));
    }
    if matches!(flow.stage, Stage::MfaEnroll | Stage::MfaChallenge) {
        return Ok(see_other(&format!("/login/mfa?flow={}", flow.id)));
    }
    let app = flow_app(st, &flow).await?;
    let raw = p.get("email").ok().flatten().unwrap_or("");
    let brand = hinted_org(st, &flow).await;
    let Ok(email) = Email::parse(raw) else {
        let shown: String = raw.chars().take(254).collect();
        return Ok(identifier_page(
            headers,
            &app,
            &flow,
            brand.as_ref(),
            shown,
            Some(crate::pages::SENTENCE_EMAIL_INVALID),
        ));
    };
    let hinted = match (&brand, &flow.org_hint) {
        (Some(o), Some(_)) => match builtin::link(st.storage.as_ref(), &o.id, &app).await {
            Ok(Some(link)) if o.status == crate::domain::OrgStatus::Active => {
                Some(discovery::LinkedOrg {
                    org: o.clone(),
                    link,
                })
            }
            Ok(_) => None,
            Err(e) => return Err(LoginError::server("discovery", &e)),
        },
        _ => None,
    };
    let (target, dispatch) = discovery::route(st.storage.as_ref(), &app, hinted.as_ref(), &email)
        .await
        .map_err(|e| LoginError::server("discovery", &e))?;
    match dispatch {
        ConnectionDispatch::Password => {
            flow.email = Some(email);
            flow.target_org = target.map(|t| t.org.id);
            flow.stage = Stage::Password;
            crate::ops::metrics::login_started("password");
            flow::save(st, &flow).await?;
            Ok(see_other(&format!("/login/password?flow={}", flow.id)))
        }
        d => match &target {
            Some(t) => sso_choice::continue_to(st, headers, flow, Some(email), t, d)
                .await?
                .ok_or_else(|| PageError::SsoNotAvailable.into()),
            None => Err(PageError::SsoNotAvailable.into()),
        },
    }
}
