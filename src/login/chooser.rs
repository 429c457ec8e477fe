//! `/login/org`: the org chooser for a user eligible in several orgs of the app (DESIGN §2).
//! One submit button per org (`data-org-slug`). The POSTed org must be one of the flow's
//! eligible orgs — anything else is a 403 page — and eligibility is computed again at that
//! moment (a membership removed meanwhile no longer counts).
//!
//! Owns: the chooser page and its POST. Must not touch: authentication, code storage.

use super::discovery;
use super::finish::{issue_code, remember_org};
use super::flow::{self, Stage};
use super::session;
use super::{flow_app, load_flow, load_form_flow};
use crate::http::params::Params;
use crate::http::redirect::see_other;
use crate::login::LoginCtx;
use crate::pages::{ChooserPage, Chrome, OrgChoice, PageError, error_page, render};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

/// `GET /login/org?flow=…`.
pub async fn get(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    let flow = match load_flow(&st, &p, &headers).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(auth) = flow.auth.as_ref().filter(|_| flow.stage == Stage::Chooser) else {
        return see_other(&format!("/login?flow={}", flow.id));
    };
    let app = match flow_app(&st, &flow, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let last = session::current(&sess, st.clock.now().unix_timestamp())
        .await
        .ok()
        .flatten()
        .filter(|s| s.user_id == auth.user_id)
        .and_then(|s| s.last_org.get(&app.id).cloned());
    let mut orgs = Vec::new();
    for id in &flow.eligible {
        match st.storage.get_org(id).await {
            Ok(Some(o)) => orgs.push(OrgChoice {
                id: o.id.to_string(),
                slug: o.slug.to_string(),
                name: o.display_name().to_owned(),
                logo_url: o
                    .branding
                    .logo_url
                    .clone()
                    .filter(|u| crate::domain::validate_web_url(u, "logo").is_ok()),
                last_used: last.as_ref() == Some(&o.id),
            }),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "storage error loading the chooser");
                return error_page(PageError::Server, &headers, None);
            }
        }
    }
    let page = ChooserPage {
        c: Chrome::new("Choose an organization", &headers),
        app_name: app.name.clone(),
        flow: flow.id.clone(),
        csrf: flow.csrf.expose().to_owned(),
        orgs,
    };
    render(StatusCode::OK, &page)
}

/// `POST /login/org`.
pub async fn post(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (flow, p) = match load_form_flow(&st, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(auth) = flow.auth.clone().filter(|_| flow.stage == Stage::Chooser) else {
        return see_other(&format!("/login?flow={}", flow.id));
    };
    let chosen_id = p.get("org").ok().flatten().unwrap_or("");
    let Some(org_id) = flow
        .eligible
        .iter()
        .find(|o| o.as_str() == chosen_id)
        .cloned()
    else {
        return error_page(PageError::OrgNotAllowed, &headers, None);
    };
    let app = match flow_app(&st, &flow, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let eligible = match &auth.idp {
        Some(idp) => {
            super::identity::eligible_federated_orgs(st.storage.as_ref(), &app, &auth.user_id, idp)
                .await
        }
        None => discovery::eligible_password_orgs(st.storage.as_ref(), &app, &auth.user_id).await,
    };
    let eligible = match eligible {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "storage error in the chooser");
            return error_page(PageError::Server, &headers, None);
        }
    };
    let Some(chosen) = eligible.into_iter().find(|e| e.org.id == org_id) else {
        return error_page(PageError::OrgNotAllowed, &headers, None);
    };
    // Take the flow: of two concurrent submits only one gets a code.
    let flow = match flow::take(&st, &flow.id, &headers).await {
        Ok(f) => f,
        Err(e) => return super::flow_error(e, &headers),
    };
    remember_org(&st, &sess, &app, &auth, &chosen).await;
    issue_code(&st, &headers, &flow, &auth, &chosen).await
}
