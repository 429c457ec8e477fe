//! `/login/org`: the org chooser for a user eligible in several orgs of the app (DESIGN §2).
//! One submit button per org (`data-org-slug`). The POSTed org must be one of the flow's
//! eligible orgs — anything else is a 403 page — and eligibility is computed again at that
//! moment (a membership removed meanwhile no longer counts).
//!
//! Owns: the chooser page and its POST. Must not touch: authentication, code storage.

use super::discovery;
use super::error::{LoginError, respond};
use super::flow::{Flow, Stage};
use super::session;
use super::{LoadedFlow, flow_app, form_post};
use crate::http::redirect::see_other;
use crate::login::LoginCtx;
use crate::login::prefetch::Early;
use crate::pages::{ChooserPage, Chrome, OrgChoice, PageError, render};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

/// `GET /login/org?flow=…`.
pub async fn get(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = show(&st, &sess, &headers, flow).await;
    respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

async fn show(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
) -> Result<Response, LoginError> {
    let Some(auth) = flow.auth.as_ref().filter(|_| flow.stage == Stage::Chooser) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let app = flow_app(st, &flow).await?;
    let last = session::current(sess, &*st.ephemeral, st.clock.now().unix_timestamp())
        .await
        .ok()
        .flatten()
        .filter(|s| s.user_id == auth.user_id)
        .and_then(|s| s.last_org.get(&app.id).cloned());
    let mut orgs = Vec::new();
    for id in &flow.eligible {
        let org = st
            .storage
            .get_org(id)
            .await
            .map_err(|e| LoginError::server("the chooser", &e))?;
        if let Some(o) = org {
            orgs.push(OrgChoice {
                id: o.id.to_string(),
                slug: o.slug.to_string(),
                name: o.display_name().to_owned(),
                logo_url: o
                    .branding
                    .logo_url
                    .clone()
                    .filter(|u| crate::domain::validate_web_url(u, "logo").is_ok()),
                last_used: last.as_ref() == Some(&o.id),
            });
        }
    }
    let page = ChooserPage {
        c: Chrome::new(crate::i18n::Msg::new("title-choose-org"), headers).ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        orgs,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /login/org`.
pub async fn post(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    form_post(&st, &headers, early, &body, |flow, p| {
        choose_org(&st, &sess, &headers, flow, p)
    })
    .await
}

async fn choose_org(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
    p: crate::http::params::Params,
) -> Result<Response, LoginError> {
    let Some(auth) = flow.auth.clone().filter(|_| flow.stage == Stage::Chooser) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let chosen_id = p.get("org").ok().flatten().unwrap_or("");
    let org_id = flow
        .eligible
        .iter()
        .find(|o| o.as_str() == chosen_id)
        .cloned()
        .ok_or(PageError::OrgNotAllowed)?;
    let app = flow_app(st, &flow).await?;
    let eligible = match &auth.idp {
        Some(idp) => {
            super::identity::eligible_federated_orgs(st.storage.as_ref(), &app, &auth.user_id, idp)
                .await
        }
        None => discovery::eligible_password_orgs(st.storage.as_ref(), &app, &auth.user_id).await,
    }
    .map_err(|e| LoginError::server("the chooser", &e))?;
    let chosen = eligible
        .into_iter()
        .find(|e| e.org.id == org_id)
        .ok_or(PageError::OrgNotAllowed)?;
    // The second factor, then the code; the flow is taken first, so of two concurrent
    // submits only one gets a code.
    super::issue::finish(st, headers, sess, &app, flow, auth, &chosen, true).await
}
