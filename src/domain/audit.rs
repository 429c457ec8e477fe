//! Audit events: every change and every sign-in, append-only.

use super::ids::{AuditEventId, OrgId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub time: OffsetDateTime,
    /// `operator`, `user:<id>`, `import`, `system`…
    pub actor: String,
    pub org_id: Option<OrgId>,
    /// `org.create`, `member.update`, `login.success`…
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub outcome: Outcome,
    /// Before/after summary or failure reason (never secrets).
    pub details: serde_json::Value,
    pub request_id: Option<String>,
}
