//! Webhook endpoints: registering one (its URL checked, a signing secret made, sealed and
//! shown once), changing, deleting, reading them with their delivery health, and listing
//! their recent deliveries. Audited like every change (the secret never is).
//!
//! Owns: these rules. Must not touch: delivery (`webhooks`), which events exist and when they
//! are queued (`domain::webhook`, the storage layer).

use super::{Ctx, SResult, ServiceError};
use crate::admin::dto::{DeliveryResponse, WebhookCreate, WebhookPatch, WebhookResponse};
use crate::domain::*;
use crate::storage::{Page, PageRequest, Storage};
use std::collections::BTreeSet;

const MAX_DESCRIPTION: usize = 500;

fn parse_events(v: &[String]) -> SResult<BTreeSet<EventType>> {
    if v.is_empty() {
        return Err(ServiceError::invalid(
            "events",
            "must name at least one event type",
        ));
    }
    v.iter()
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| {
                let all: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                ServiceError::invalid(
                    "events",
                    format!("{s:?} is not an event type; use one of {}", all.join(", ")),
                )
            })
        })
        .collect()
}

fn check_description(d: &str) -> SResult<()> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::invalid(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(())
}

/// The endpoint's view with its pending count.
pub async fn webhook_view(s: &dyn Storage, w: &WebhookEndpoint) -> SResult<WebhookResponse> {
    let pending = s.webhook_pending(&w.id).await?;
    Ok(WebhookResponse::new(w, pending))
}

pub async fn require_webhook(s: &dyn Storage, id: &WebhookId) -> SResult<WebhookEndpoint> {
    s.get_webhook(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("webhook"))
}

/// Register an endpoint; returns it and its secret (to be shown once).
pub async fn create_webhook(
    ctx: &Ctx<'_>,
    req: WebhookCreate,
    allow_loopback_http: bool,
) -> SResult<(WebhookEndpoint, String)> {
    validate_webhook_url(&req.url, allow_loopback_http)?;
    let events = parse_events(&req.events)?;
    let description = req.description.unwrap_or_default();
    check_description(&description)?;
    let app_id = match req.app_id.as_deref() {
        None | Some("") => None,
        Some(a) => {
            let id =
                AppId::parse(a).map_err(|_| ServiceError::ref_not_found("app_id", "app", a))?;
            if ctx.storage.get_app(&id).await?.is_none() {
                return Err(ServiceError::ref_not_found("app_id", "app", a));
            }
            Some(id)
        }
    };
    let seal = ctx
        .seal
        .ok_or_else(|| ServiceError::internal("no seal key to store the webhook secret"))?;
    let secret = format!("whsec_{}", random_token());
    let sealed = seal
        .seal(secret.as_bytes())
        .map_err(ServiceError::internal)?;
    let now = ctx.now();
    let w = WebhookEndpoint {
        id: WebhookId::generate(),
        url: req.url,
        app_id,
        events,
        enabled: req.enabled.unwrap_or(true),
        description,
        secret_sealed: sealed,
        created_at: now,
        updated_at: now,
        health: DeliveryHealth::default(),
    };
    ctx.storage.create_webhook(&w).await?;
    let view = WebhookResponse::new(&w, 0);
    ctx.audit(
        None,
        "webhook.create",
        ("webhook", w.id.as_str()),
        None::<&()>,
        Some(&view),
    )
    .await?;
    Ok((w, secret))
}

pub async fn update_webhook(
    ctx: &Ctx<'_>,
    id: &WebhookId,
    p: WebhookPatch,
    allow_loopback_http: bool,
) -> SResult<WebhookEndpoint> {
    let cur = require_webhook(ctx.storage, id).await?;
    let mut w = cur.clone();
    if let Some(url) = p.url {
        validate_webhook_url(&url, allow_loopback_http)?;
        w.url = url;
    }
    if let Some(ev) = p.events {
        w.events = parse_events(&ev)?;
    }
    if let Some(e) = p.enabled {
        w.enabled = e;
    }
    if let Some(d) = p.description {
        check_description(&d)?;
        w.description = d;
    }
    w.updated_at = ctx.now();
    ctx.storage.update_webhook(&w).await?;
    ctx.audit(
        None,
        "webhook.update",
        ("webhook", id.as_str()),
        Some(&WebhookResponse::new(&cur, 0)),
        Some(&WebhookResponse::new(&w, 0)),
    )
    .await?;
    Ok(w)
}

/// The endpoint and its queued deliveries go.
pub async fn delete_webhook(ctx: &Ctx<'_>, id: &WebhookId) -> SResult<()> {
    let cur = require_webhook(ctx.storage, id).await?;
    ctx.storage.delete_webhook(id).await?;
    ctx.audit(
        None,
        "webhook.delete",
        ("webhook", id.as_str()),
        Some(&WebhookResponse::new(&cur, 0)),
        None::<&()>,
    )
    .await
}

pub async fn list_deliveries(
    s: &dyn Storage,
    id: &WebhookId,
    page: &PageRequest,
) -> SResult<Page<DeliveryResponse>> {
    require_webhook(s, id).await?;
    let p = s
        .list_outbox(OutboxKind::Webhook, id.as_str(), page)
        .await?;
    Ok(Page {
        items: p.items.iter().map(DeliveryResponse::from).collect(),
        next: p.next,
    })
}
