//! Shapes of the audit log: the list query and the event response.
//!
//! Owns: these wire shapes. Must not touch: what is audited (`service`).

use super::{Outcome, ts};
use crate::domain as d;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

list_type!(AuditEventList, AuditEventResponse);

/// `GET /audit-events?org_id=&action=&limit=&after=` (newest first).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub org_id: Option<String>,
    /// Exact action, e.g. `org.update`.
    pub action: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: String,
    pub time: String,
    pub actor: String,
    pub org_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub outcome: Outcome,
    /// `{"before": …, "after": …}` for changes (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub request_id: Option<String>,
}

impl From<&d::AuditEvent> for AuditEventResponse {
    fn from(e: &d::AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            time: ts(e.time),
            actor: e.actor.clone(),
            org_id: e.org_id.as_ref().map(|o| o.to_string()),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            outcome: e.outcome.into(),
            details: e.details.clone(),
            request_id: e.request_id.clone(),
        }
    }
}
