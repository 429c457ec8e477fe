//! The webhook deliverer: one outbox row → one signed POST to its endpoint, through the
//! SSRF-guarded client (`upstream::http::GuardedHttp`, the same guard as every outbound call),
//! and the endpoint's delivery health updated after it.
//!
//! Owns: building and judging one webhook request. Must not touch: retries and leases (the
//! worker and the outbox), what the body says (queued ready-made with the row).

use super::signature;
use super::worker::Deliverer;
use crate::domain::{
    AttemptResult, Clock, OutboxItem, OutboxKind, WebhookId, validate_webhook_url,
};
use crate::keys::seal::SealKey;
use crate::storage::Storage;
use crate::upstream::http::GuardedHttp;
use async_trait::async_trait;
use std::sync::Arc;

pub struct WebhookDeliverer {
    pub storage: Arc<dyn Storage>,
    pub http: Arc<GuardedHttp>,
    pub seal: Arc<SealKey>,
    pub clock: Arc<dyn Clock>,
    /// Plain http to loopback endpoints (the development setting `upstream_allow_private`).
    pub allow_loopback_http: bool,
}

pub(super) fn failed(
    status: Option<u16>,
    error: impl Into<String>,
    permanent: bool,
) -> AttemptResult {
    AttemptResult::Failed {
        status,
        error: error.into(),
        permanent,
    }
}

/// One POST through the SSRF guard (`key` names the target for its per-target limits): a 2xx
/// is delivered; any other answer or a transport failure is retried; a request that cannot be
/// built never will be. `who` names the receiver in the stored error ("the endpoint").
pub(super) async fn send(
    http: &GuardedHttp,
    key: &str,
    req: reqwest::Result<reqwest::Request>,
    who: &str,
) -> AttemptResult {
    let Ok(req) = req else {
        return failed(None, "the request cannot be built", true);
    };
    match http.send(key, req).await {
        Ok(r) if (200..300).contains(&r.status) => AttemptResult::Delivered { status: r.status },
        Ok(r) => failed(
            Some(r.status),
            format!("{who} answered HTTP {}", r.status),
            false,
        ),
        Err(e) => failed(None, e.to_string(), false),
    }
}

impl WebhookDeliverer {
    async fn attempt(&self, item: &OutboxItem, id: &WebhookId) -> AttemptResult {
        let endpoint = match self.storage.get_webhook(id).await {
            Ok(Some(e)) => e,
            Ok(None) => return failed(None, "the endpoint was deleted", true),
            Err(e) => return failed(None, format!("storage: {e}"), false),
        };
        if !endpoint.enabled {
            return failed(None, "the endpoint is disabled", true);
        }
        if let Err(e) = validate_webhook_url(&endpoint.url, self.allow_loopback_http) {
            return failed(None, format!("the endpoint URL {}", e.message), true);
        }
        let secret = match self.seal.open(&endpoint.secret_sealed) {
            Ok(s) => s,
            Err(_) => {
                return failed(
                    None,
                    "the signing secret cannot be opened (another LOBBY_SECRET_KEY?)",
                    false,
                );
            }
        };
        let Ok(url) = url::Url::parse(&endpoint.url) else {
            return failed(None, "the endpoint URL is not valid", true);
        };
        let t = self.clock.now().unix_timestamp();
        let sig = signature::sign(&secret, t, item.payload.as_bytes());
        let req = self
            .http
            .client()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "Lobby-Webhooks/1")
            .header(signature::HEADER, sig)
            .header("Lobby-Event-Id", item.event_id.as_str())
            .header("Lobby-Event-Type", item.event_type.as_str())
            .body(item.payload.clone())
            .build();
        send(&self.http, &format!("webhook:{id}"), req, "the endpoint").await
    }
}

#[async_trait]
impl Deliverer for WebhookDeliverer {
    fn kind(&self) -> OutboxKind {
        OutboxKind::Webhook
    }

    async fn deliver(&self, item: &OutboxItem) -> AttemptResult {
        let Ok(id) = WebhookId::parse(&item.target) else {
            return failed(None, "not a webhook id", true);
        };
        let result = self.attempt(item, &id).await;
        if let Err(e) = self
            .storage
            .record_webhook_attempt(&id, &result, self.clock.now())
            .await
        {
            tracing::warn!(webhook = %id, error = %e, "cannot record the webhook's health");
        }
        result
    }
}
