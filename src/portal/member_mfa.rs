//! A member's second factor in the portal: `GET …/members/{user_id}/mfa-reset` (what a reset
//! does, and the button) and its POST, through the admin API's own function
//! (`admin::users::reset_member_mfa`: the scope's rights and org-role limits, the audit event
//! `member.mfa_reset` in this org).
//!
//! Owns: these two pages' words. Must not touch: what a reset removes (`login::mfa`), rights.

use super::PortalCtx;
use super::form::CsrfForm;
use super::scope::PortalScope;
use super::view::{PageResult, PortalError, Section, see_other};
use crate::domain::UserId;
use axum::Router;
use axum::extract::Path;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<PortalCtx> {
    Router::new().route(
        "/portal/orgs/{org_id}/members/{user_id}/mfa-reset",
        get(confirm).post(reset),
    )
}

fn user_of(raw: &str) -> Result<UserId, PortalError> {
    UserId::parse(raw).map_err(|_| PortalError::NotFound)
}

/// `GET …/members/{user_id}/mfa-reset`.
async fn confirm(p: PortalScope, Path((_, u)): Path<(String, String)>) -> PageResult {
    let user = user_of(&u)?;
    p.scope().db().member(&user).await?;
    let email = p
        .scope()
        .ctx()
        .storage
        .get_user(&user)
        .await?
        .map(|u| u.email.to_string())
        .unwrap_or_default();
    let tr = p.tr();
    let base = p.href(Section::Members);
    Ok(super::confirm::Confirm {
        l: p.layout(&tr.t("portal-mfa-reset-title"), Section::Members),
        question: tr.t1("portal-mfa-reset-question", "email", &email),
        consequences: vec![
            tr.t("portal-mfa-reset-effect-factors"),
            tr.t("portal-mfa-reset-effect-next"),
            tr.t("portal-mfa-reset-effect-everywhere"),
        ],
        action: format!("{base}/{user}/mfa-reset"),
        confirm_label: tr.t("portal-mfa-reset-button"),
        cancel: format!("{base}/{user}"),
    }
    .into_response())
}

#[derive(Deserialize)]
struct Empty {}

/// `POST …/members/{user_id}/mfa-reset`.
async fn reset(
    p: PortalScope,
    Path((_, u)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let user = user_of(&u)?;
    crate::admin::users::reset_member_mfa(p.scope(), &user).await?;
    p.user().set_flash(p.tr().t("portal-mfa-reset-done")).await;
    Ok(see_other(&format!("{}/{user}", p.href(Section::Members))))
}
