//! Admin handlers for webhook endpoints (`/api/v1/webhooks/...`): the operator (or an admin
//! client) registers receivers of events, sees how deliveries go, and lists recent ones.
//!
//! Owns: HTTP ↔ service translation for these resources. Must not touch: validation, storage
//! writes (`service`), delivery (`webhooks`).

use super::auth::Caller;
use super::dto::*;
use super::service::{self, page_request};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::WebhookId;
use crate::http::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;

type R<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListQuery),
    responses((status = 200, description = "A page of webhook endpoints (by id), with their delivery health", body = WebhookList)))]
pub async fn list_webhooks(
    State(st): State<AdminCtx>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> R<Json<WebhookList>> {
    caller.scope_global()?;
    let req = page_request(q.limit, q.after)?;
    let page = st
        .storage
        .list_webhooks(&req)
        .await
        .map_err(service::ServiceError::from)?;
    let mut items = Vec::with_capacity(page.items.len());
    for w in &page.items {
        items.push(service::webhook_view(st.storage.as_ref(), w).await?);
    }
    Ok(Json(WebhookList {
        items,
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookCreate,
    responses((status = 201, description = "Registered; `secret` is shown only in this answer", body = WebhookCreated)))]
pub async fn create_webhook(
    State(st): State<AdminCtx>,
    caller: Caller,
    Json(req): Json<WebhookCreate>,
) -> R<(StatusCode, Json<WebhookCreated>)> {
    caller.scope_global()?;
    let (w, secret) =
        service::create_webhook(&ctx(&st, &caller), req, st.config.upstream_allow_private).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            webhook: WebhookResponse::new(&w, 0),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The endpoint and its delivery health", body = WebhookResponse)))]
pub async fn get_webhook(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> R<Json<WebhookResponse>> {
    caller.scope_global()?;
    let id: WebhookId = path_id(&webhook_id, "webhook")?;
    let w = service::require_webhook(st.storage.as_ref(), &id).await?;
    Ok(Json(service::webhook_view(st.storage.as_ref(), &w).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")), request_body = WebhookPatch,
    responses((status = 200, description = "Updated", body = WebhookResponse)))]
pub async fn update_webhook(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(webhook_id): Path<String>,
    Json(p): Json<WebhookPatch>,
) -> R<Json<WebhookResponse>> {
    caller.scope_global()?;
    let id: WebhookId = path_id(&webhook_id, "webhook")?;
    let w = service::update_webhook(&ctx(&st, &caller), &id, p, st.config.upstream_allow_private)
        .await?;
    Ok(Json(service::webhook_view(st.storage.as_ref(), &w).await?))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted, with the deliveries still queued for it")))]
pub async fn delete_webhook(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let id: WebhookId = path_id(&webhook_id, "webhook")?;
    service::delete_webhook(&ctx(&st, &caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id"), DeliveryQuery),
    responses((status = 200, description = "Recent deliveries to this endpoint, newest first", body = DeliveryList)))]
pub async fn list_deliveries(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(webhook_id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> R<Json<DeliveryList>> {
    caller.scope_global()?;
    let id: WebhookId = path_id(&webhook_id, "webhook")?;
    let req = page_request(q.limit, q.after)?;
    let page = service::list_deliveries(st.storage.as_ref(), &id, &req).await?;
    Ok(Json(DeliveryList {
        items: page.items,
        next_cursor: page.next,
    }))
}
