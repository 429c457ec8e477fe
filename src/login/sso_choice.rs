//! Reaching an org's own IdP without the email deciding it: `/login/connection` ("Sign in with
//! …" when the org has several IdPs the app may use) and `/login/sso` ("Sign in with your
//! organization's name", for people whose email domain no org has verified). Both are
//! pre-authentication pages: what they reveal is what the `organization=` hint of
//! `/authorize` reveals already (that an org by that name signs in to the app with its own
//! IdP), and an unknown name, an org not linked to the app and an org without SSO get one
//! and the same sentence.
//!
//! Owns: those two pages' GET/POST and the `Stage::Connection` step of a flow. Must not touch:
//! the routing rules (`discovery`), the protocols (`upstream::start`), codes.

use super::discovery::{self, ConnectionDispatch, LinkedOrg};
use super::error::{LoginError, respond};
use super::flow::{self, Flow, Stage};
use super::{LoadedFlow, LoginCtx, flow_app, load_form_flow};
use crate::domain::{App, Connection, Email};
use crate::http::params::Params;
use crate::http::redirect::see_other;
use crate::login::prefetch::Early;
use crate::pages::choice::{
    ConnectionChoice, ConnectionChoicePage, SENTENCE_SSO_ORG_EMPTY, SENTENCE_SSO_ORG_UNKNOWN,
    SsoOrgPage, TITLE_CHOOSE_CONNECTION, TITLE_SSO_BY_ORG,
};
use crate::pages::{Chrome, PageError, render};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// Where a routed sign-in goes next: the org's one IdP, the "Sign in with …" page when it has
/// several, or `None` for the password page (the caller's business).
pub async fn continue_to(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    email: Option<Email>,
    target: &LinkedOrg,
    dispatch: ConnectionDispatch,
) -> Result<Option<Response>, LoginError> {
    match dispatch {
        ConnectionDispatch::Password => Ok(None),
        ConnectionDispatch::Upstream(c) => Ok(Some(
            super::upstream::start(st, headers, flow, email, target, *c).await,
        )),
        ConnectionDispatch::Choose(_) => {
            flow.email = email;
            flow.target_org = Some(target.org.id.clone());
            flow.stage = Stage::Connection;
            flow::save(st, &flow).await?;
            Ok(Some(see_other(&format!(
                "/login/connection?flow={}",
                flow.id
            ))))
        }
    }
}

/// The flow's target org (linked to the app, active) and how it signs in now: computed again
/// at every step, so a connection switched off meanwhile is no longer offered.
async fn target_dispatch(
    st: &LoginCtx,
    app: &App,
    flow: &Flow,
) -> Result<Option<(LinkedOrg, ConnectionDispatch)>, LoginError> {
    let Some(org_id) = flow.target_org.as_ref() else {
        return Ok(None);
    };
    let target = discovery::resolve_org_hint(st.storage.as_ref(), app, org_id.as_str())
        .await
        .map_err(|e| LoginError::server("the connection choice", &e))?;
    let Some(target) = target else {
        return Ok(None);
    };
    let d = discovery::dispatch(st.storage.as_ref(), app, &target)
        .await
        .map_err(|e| LoginError::server("the connection choice", &e))?;
    Ok(Some((target, d)))
}

/// Back to the email page: the choice no longer applies.
async fn restart(st: &LoginCtx, mut flow: Flow) -> Result<Response, LoginError> {
    flow.stage = Stage::Identifier;
    flow.target_org = None;
    flow::save(st, &flow).await?;
    Ok(see_other(&format!("/login?flow={}", flow.id)))
}

/// `GET /login/connection?flow=…`.
pub async fn connection_get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = connection_show(&st, &headers, flow).await;
    respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

async fn connection_show(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
) -> Result<Response, LoginError> {
    if flow.stage != Stage::Connection {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    }
    let app = flow_app(st, &flow).await?;
    match target_dispatch(st, &app, &flow).await? {
        Some((target, ConnectionDispatch::Choose(conns))) => {
            Ok(choice_page(headers, &app, &flow, &target, &conns))
        }
        Some((target, d @ ConnectionDispatch::Upstream(_))) => {
            let email = flow.email.clone();
            continue_to(st, headers, flow, email, &target, d)
                .await
                .map(|r| r.unwrap_or_else(|| see_other("/login")))
        }
        _ => restart(st, flow).await,
    }
}

fn choice_page(
    headers: &HeaderMap,
    app: &App,
    flow: &Flow,
    target: &LinkedOrg,
    conns: &[Connection],
) -> Response {
    let page = ConnectionChoicePage {
        c: Chrome::new(TITLE_CHOOSE_CONNECTION, headers)
            .branded(Some(&target.org))
            .ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        org_name: target.org.display_name().to_owned(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        connections: conns
            .iter()
            .map(|c| ConnectionChoice {
                id: c.id.to_string(),
                name: c.name.clone(),
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

/// `POST /login/connection`: `connection=<id>`, one of the choices shown (checked again now).
pub async fn connection_post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = connection_choose(&st, &headers, early, &body).await;
    respond(&st, &headers, r).await
}

async fn connection_choose(
    st: &LoginCtx,
    headers: &HeaderMap,
    early: Early,
    body: &Bytes,
) -> Result<Response, LoginError> {
    let (flow, p) = load_form_flow(st, headers, early, body).await?;
    let lang = flow.ui_lang();
    connection_pick(st, headers, flow, p)
        .await
        .map_err(|e| e.in_lang(lang))
}

async fn connection_pick(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
    p: Params,
) -> Result<Response, LoginError> {
    if flow.stage != Stage::Connection {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    }
    let app = flow_app(st, &flow).await?;
    let chosen = p.get("connection").ok().flatten().unwrap_or("");
    let Some((target, d)) = target_dispatch(st, &app, &flow).await? else {
        return restart(st, flow).await;
    };
    let conn = match d {
        ConnectionDispatch::Choose(v) => v.into_iter().find(|c| c.id.as_str() == chosen),
        ConnectionDispatch::Upstream(c) => Some(*c).filter(|c| c.id.as_str() == chosen),
        ConnectionDispatch::Password => None,
    };
    // Not one of this org's IdPs for this app (a forged or stale form).
    let conn = conn.ok_or(PageError::BadRequest)?;
    let email = flow.email.clone();
    Ok(super::upstream::start(st, headers, flow, email, &target, conn).await)
}

/// `GET /login/sso?flow=…`: the org-name page.
pub async fn org_get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = async {
        if !matches!(flow.stage, Stage::Identifier | Stage::Password) {
            return Ok(see_other(&format!("/login?flow={}", flow.id)));
        }
        let app = flow_app(&st, &flow).await?;
        Ok(org_page(&headers, &app, &flow, String::new(), None))
    }
    .await;
    respond(&st, &headers, r.map_err(|e: LoginError| e.in_lang(lang))).await
}

fn org_page(
    headers: &HeaderMap,
    app: &App,
    flow: &Flow,
    organization: String,
    error: Option<crate::i18n::Msg>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SsoOrgPage {
        c: Chrome::new(TITLE_SSO_BY_ORG, headers).ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        organization,
        error,
    };
    render(status, &page)
}

/// `POST /login/sso`: `organization=<slug or id>`.
pub async fn org_post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = async {
        let (flow, p) = load_form_flow(&st, &headers, early, &body).await?;
        let lang = flow.ui_lang();
        org_route(&st, &headers, flow, p)
            .await
            .map_err(|e| e.in_lang(lang))
    }
    .await;
    respond(&st, &headers, r).await
}

async fn org_route(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
    p: Params,
) -> Result<Response, LoginError> {
    if !matches!(flow.stage, Stage::Identifier | Stage::Password) {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    }
    let app = flow_app(st, &flow).await?;
    let raw = p.get("organization").ok().flatten().unwrap_or("");
    // People type names as they know them: "Acme" for the slug `acme`.
    let name = raw.trim().to_lowercase();
    let shown: String = raw.chars().take(128).collect();
    if name.is_empty() {
        return Ok(org_page(
            headers,
            &app,
            &flow,
            shown,
            Some(SENTENCE_SSO_ORG_EMPTY),
        ));
    }
    let target = discovery::resolve_org_hint(st.storage.as_ref(), &app, &name)
        .await
        .map_err(|e| LoginError::server("the organization name", &e))?;
    let Some(target) = target else {
        return Ok(org_page(
            headers,
            &app,
            &flow,
            shown,
            Some(SENTENCE_SSO_ORG_UNKNOWN),
        ));
    };
    let d = discovery::dispatch(st.storage.as_ref(), &app, &target)
        .await
        .map_err(|e| LoginError::server("the organization name", &e))?;
    let email = flow.email.clone();
    match continue_to(st, headers, flow.clone(), email, &target, d).await? {
        Some(r) => Ok(r),
        // An org that signs in with passwords: its people use the email page.
        None => Ok(org_page(
            headers,
            &app,
            &flow,
            shown,
            Some(SENTENCE_SSO_ORG_UNKNOWN),
        )),
    }
}
