//! Shapes of webhook endpoints and their deliveries.
//!
//! Owns: these wire shapes. Must not touch: delivery (`webhooks`), validation (`service`).

use super::ts;
use crate::domain as d;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

list_type!(WebhookList, WebhookResponse);
list_type!(DeliveryList, DeliveryResponse);

/// `POST /webhooks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// Where events are POSTed: https (plain http only to a loopback address, and only with
    /// `LOBBY_UPSTREAM_ALLOW_PRIVATE=true`).
    pub url: String,
    /// Only events of organizations linked to this app; omitted: every event.
    pub app_id: Option<String>,
    /// Event types to deliver, e.g. `["member.added", "member.removed"]` (at least one).
    pub events: Vec<String>,
    /// Default true.
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// `PATCH /webhooks/{webhook_id}`: the given fields change (the app scope and the secret do
/// not: delete and create again).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// How deliveries to an endpoint have been going.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookHealth {
    /// HTTP status of the last attempt (`null`: no answer, or none yet).
    pub last_status: Option<u16>,
    /// Why the last attempt failed (`null` after a success).
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// Deliveries waiting for their (next) attempt.
    pub pending: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookResponse {
    pub id: String,
    pub url: String,
    pub app_id: Option<String>,
    pub events: Vec<String>,
    pub enabled: bool,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub health: WebhookHealth,
}

impl WebhookResponse {
    pub fn new(w: &d::WebhookEndpoint, pending: i64) -> Self {
        let h = &w.health;
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            app_id: w.app_id.as_ref().map(|a| a.to_string()),
            events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
            enabled: w.enabled,
            description: w.description.clone(),
            created_at: ts(w.created_at),
            updated_at: ts(w.updated_at),
            health: WebhookHealth {
                last_status: h.last_status,
                last_error: h.last_error.clone(),
                last_attempt_at: h.last_attempt_at.map(ts),
                last_success_at: h.last_success_at.map(ts),
                consecutive_failures: h.consecutive_failures,
                pending,
            },
        }
    }
}

/// The answer to `POST /webhooks`: the endpoint and its signing secret, shown this once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// The HMAC-SHA256 key of `Lobby-Signature` (its UTF-8 bytes). Shown only now: store it.
    pub secret: String,
}

impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("webhook", &self.webhook)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// One event for one endpoint, with its attempts so far.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending` (waiting for its next attempt), `delivered`, or `failed` (given up).
    pub state: String,
    pub attempts: u32,
    pub created_at: String,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The exact body that is (re)sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<&d::OutboxItem> for DeliveryResponse {
    fn from(i: &d::OutboxItem) -> Self {
        Self {
            id: i.id.to_string(),
            event_id: i.event_id.clone(),
            event_type: i.event_type.clone(),
            state: i.state.as_str().to_owned(),
            attempts: i.attempts,
            created_at: ts(i.created_at),
            next_attempt_at: (i.state == d::OutboxState::Pending).then(|| ts(i.next_attempt_at)),
            last_status: i.last_status,
            last_error: i.last_error.clone(),
            last_attempt_at: i.last_attempt_at.map(ts),
            payload: serde_json::from_str(&i.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// `GET /webhooks/{webhook_id}/deliveries?limit=&after=` (newest first).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}
