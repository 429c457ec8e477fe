//! Admin handlers for sessions and their Back-Channel Logout: an operator ends every session
//! of a user (`DELETE /users/{user_id}/sessions`: their browser SSO sessions on every instance,
//! and every app session — refresh-token families revoked, logout tokens queued to the apps
//! that registered a `backchannel_logout_uri`), and sees how logout tokens to an app were
//! delivered (`GET /apps/{app_id}/backchannel-logout/deliveries`).
//!
//! Owns: HTTP ↔ service translation for these two routes. Must not touch: what a logout token
//! says or how it is sent (`domain::backchannel`, `webhooks::backchannel`).

use super::auth::Caller;
use super::dto::*;
use super::service::{self, page_request};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::{AppId, OutboxKind, UserId};
use crate::http::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;

type R<T> = Result<T, ApiError>;

#[utoipa::path(delete, path = "/api/v1/users/{user_id}/sessions", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 204, description = "Every SSO session of the user is ended, their refresh tokens are revoked and a Back-Channel Logout token is queued for every app session that ended")))]
pub async fn end_user_sessions(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let id: UserId = path_id(&user_id, "user")?;
    let c = ctx(&st, &caller);
    service::require_user(st.storage.as_ref(), &id).await?;
    let now = c.now();
    // Browser sessions first (fail closed: if the state store is down nothing is reported as
    // done), then the app sessions and their logout tokens (one transaction in storage).
    crate::login::session::end_all_for_user(st.ephemeral.as_ref(), &id, now)
        .await
        .map_err(|e| ApiError::internal(format!("cannot end the user's SSO sessions: {e}")))?;
    let n = st.storage.revoke_user_families(&id, now).await?;
    crate::ops::metrics::families_revoked("admin_end_sessions", n);
    c.audit(
        None,
        "user.sessions.end",
        ("user", id.as_str()),
        None::<&()>,
        Some(&serde_json::json!({ "app_sessions_ended": n })),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/backchannel-logout/deliveries", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), DeliveryQuery),
    responses((status = 200, description = "Recent Back-Channel Logout deliveries to this app, newest first: state, attempts, last HTTP status and error; the payload is what the signed logout token says (sub, sid, org_id)", body = DeliveryList)))]
pub async fn list_logout_deliveries(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> R<Json<DeliveryList>> {
    caller.scope_global()?;
    let id: AppId = path_id(&app_id, "app")?;
    service::require_app(st.storage.as_ref(), &id).await?;
    let req = page_request(q.limit, q.after)?;
    let page = st
        .storage
        .list_outbox(OutboxKind::BackchannelLogout, id.as_str(), &req)
        .await?;
    Ok(Json(DeliveryList {
        items: page.items.iter().map(DeliveryResponse::from).collect(),
        next_cursor: page.next,
    }))
}
