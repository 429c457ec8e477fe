//! Event webhooks and the delivery outbox, as pure rules: the event types, which audit event
//! becomes which webhook event ([`event_from_audit`], the ONE place that decides), the JSON
//! body a receiver gets, a registered endpoint, an outbox row and its retry schedule
//! ([`backoff`]).
//!
//! Owns: those types and rules. Must not touch: storage, HTTP, signing (the `webhooks` module
//! signs and sends), the clock of the machine.
//!
//! The outbox is not webhook-specific: a row has a `kind` and an opaque `target` (for
//! webhooks, the endpoint id) so another delivery (e.g. back-channel logout tokens) can reuse
//! the table, the lease and the retry schedule.

use super::audit::{AuditEvent, Outcome};
use super::error::{DomainError, DomainResult};
use super::ids::{AppId, AuditEventId, OrgId, OutboxId, WebhookId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What a receiver can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "member.added")]
    MemberAdded,
    #[serde(rename = "member.updated")]
    MemberUpdated,
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "member.suspended")]
    MemberSuspended,
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted,
    #[serde(rename = "org.created")]
    OrgCreated,
    #[serde(rename = "org.updated")]
    OrgUpdated,
    #[serde(rename = "org.suspended")]
    OrgSuspended,
    #[serde(rename = "connection.activated")]
    ConnectionActivated,
    #[serde(rename = "connection.deactivated")]
    ConnectionDeactivated,
    #[serde(rename = "sign_in.succeeded")]
    SignInSucceeded,
    #[serde(rename = "sign_in.failed")]
    SignInFailed,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        Self::MemberAdded,
        Self::MemberUpdated,
        Self::MemberRemoved,
        Self::MemberSuspended,
        Self::InvitationAccepted,
        Self::OrgCreated,
        Self::OrgUpdated,
        Self::OrgSuspended,
        Self::ConnectionActivated,
        Self::ConnectionDeactivated,
        Self::SignInSucceeded,
        Self::SignInFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemberAdded => "member.added",
            Self::MemberUpdated => "member.updated",
            Self::MemberRemoved => "member.removed",
            Self::MemberSuspended => "member.suspended",
            Self::InvitationAccepted => "invitation.accepted",
            Self::OrgCreated => "org.created",
            Self::OrgUpdated => "org.updated",
            Self::OrgSuspended => "org.suspended",
            Self::ConnectionActivated => "connection.activated",
            Self::ConnectionDeactivated => "connection.deactivated",
            Self::SignInSucceeded => "sign_in.succeeded",
            Self::SignInFailed => "sign_in.failed",
        }
    }
}

/// One event as a receiver sees it (the delivered body is [`WebhookEvent::body`]).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    /// The id of the audit event it comes from: the same for every delivery and every retry,
    /// so a receiver dedupes on it.
    pub id: AuditEventId,
    pub event_type: EventType,
    pub created_at: OffsetDateTime,
    pub org_id: Option<OrgId>,
    pub data: serde_json::Value,
}

impl WebhookEvent {
    /// `{"id", "type", "created_at" (RFC 3339), "org_id", "data"}`.
    pub fn body(&self) -> String {
        let created = self
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "id": self.id.as_str(),
            "type": self.event_type.as_str(),
            "created_at": created,
            "org_id": self.org_id.as_ref().map(OrgId::as_str),
            "data": self.data,
        })
        .to_string()
    }
}

fn field<'a>(v: &'a serde_json::Value, side: &str, name: &str) -> Option<&'a str> {
    v.get(side)?.get(name)?.as_str()
}

/// Which webhook event an audit event is, if any. Admin changes carry their before/after
/// summaries (response shapes, never secrets); sign-ins their audit details.
///
/// `data` is `{actor, object_type, object_id, object, previous}`: `object` is the object after
/// the change (before it for a removal; the recorded details for sign-ins and for changes
/// recorded without a before/after summary), `previous` the object before an update (else
/// null).
pub fn event_from_audit(e: &AuditEvent) -> Option<WebhookEvent> {
    use EventType::*;
    let d = &e.details;
    let status_to = |name: &str, to: &str| {
        field(d, "after", name) == Some(to) && field(d, "before", name) != Some(to)
    };
    let status_from = |name: &str, from: &str| {
        field(d, "before", name) == Some(from) && field(d, "after", name) != Some(from)
    };
    let ok = e.outcome == Outcome::Success;
    let t = match e.action.as_str() {
        "member.create" if ok => MemberAdded,
        "member.update" if ok && status_to("status", "suspended") => MemberSuspended,
        "member.update" if ok => MemberUpdated,
        "member.delete" if ok => MemberRemoved,
        "invitation.accept" if ok => InvitationAccepted,
        "org.create" if ok => OrgCreated,
        "org.update" if ok && status_to("status", "suspended") => OrgSuspended,
        "org.update" if ok => OrgUpdated,
        "connection.create" | "connection.update" if ok && status_to("state", "active") => {
            ConnectionActivated
        }
        "connection.update" | "connection.delete" if ok && status_from("state", "active") => {
            ConnectionDeactivated
        }
        "login.success" => SignInSucceeded,
        "login.failure" => SignInFailed,
        _ => return None,
    };
    let sign_in = matches!(t, SignInSucceeded | SignInFailed);
    let null = serde_json::Value::Null;
    let after = d.get("after").unwrap_or(&null);
    let before = d.get("before").unwrap_or(&null);
    // Sign-ins, and changes recorded without a before/after summary (a member provisioned
    // at first sign-in, an invitation accepted), carry their details.
    let summarized = d.get("before").is_some() || d.get("after").is_some();
    let (object, previous) = if sign_in || !summarized {
        (d.clone(), null.clone())
    } else if after.is_null() {
        (before.clone(), null.clone())
    } else {
        (after.clone(), before.clone())
    };
    Some(WebhookEvent {
        id: e.id.clone(),
        event_type: t,
        created_at: e.time,
        org_id: e.org_id.clone(),
        data: serde_json::json!({
            "actor": e.actor,
            "object_type": e.target_type,
            "object_id": e.target_id,
            "object": object,
            "previous": previous,
        }),
    })
}

/// The per-endpoint delivery health the admin API shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryHealth {
    /// HTTP status of the last attempt (`None`: no answer, or never tried).
    pub last_status: Option<u16>,
    /// Why the last attempt failed (`None` after a success).
    pub last_error: Option<String>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_success_at: Option<OffsetDateTime>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
}

/// A registered receiver of events.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub url: String,
    /// Only events of orgs linked to this app (`None`: every event).
    pub app_id: Option<AppId>,
    /// The subscribed event types (never empty).
    pub events: BTreeSet<EventType>,
    pub enabled: bool,
    pub description: String,
    /// The signing secret, sealed (`keys::seal`): HMAC needs the secret itself, so it cannot
    /// be hashed.
    pub secret_sealed: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub health: DeliveryHealth,
}

impl WebhookEndpoint {
    pub fn wants(&self, t: EventType) -> bool {
        self.enabled && self.events.contains(&t)
    }
}

/// An endpoint URL: absolute https; plain http only to a loopback host and only when
/// `allow_loopback_http` (the explicit development setting). Where it resolves is checked
/// again at every delivery (the SSRF guard of every outbound call).
pub fn validate_webhook_url(s: &str, allow_loopback_http: bool) -> DomainResult<()> {
    let bad = |m: &'static str| DomainError::new("url", m);
    if s.len() > 2048 {
        return Err(bad("must be at most 2048 characters"));
    }
    let u = url::Url::parse(s).map_err(|_| bad("must be an absolute https URL"))?;
    let host = u.host().ok_or_else(|| bad("must have a host"))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    if u.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if allow_loopback_http && super::app::is_loopback_host(&host) => Ok(()),
        "http" => Err(bad(
            "must use https (plain http only to a loopback address, with LOBBY_UPSTREAM_ALLOW_PRIVATE=true)",
        )),
        _ => Err(bad("must be an absolute https URL")),
    }
}

/// What a row of the outbox delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// An event to a webhook endpoint (`target` = the endpoint id).
    Webhook,
    /// A Back-Channel Logout token to an app (`target` = the app id; `domain::backchannel`).
    BackchannelLogout,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::BackchannelLogout => "backchannel_logout",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Given up after [`MAX_ATTEMPTS`], or its target is gone.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One delivery: one payload for one target, tried until delivered or [`MAX_ATTEMPTS`].
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxItem {
    pub id: OutboxId,
    pub kind: OutboxKind,
    pub target: String,
    /// The event id the receiver dedupes on.
    pub event_id: String,
    /// e.g. `member.added` (for listing; the payload is what is sent).
    pub event_type: String,
    pub payload: String,
    pub created_at: OffsetDateTime,
    pub state: OutboxState,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<OffsetDateTime>,
}

/// What one attempt ended in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Anything else: retried later, unless it was the last attempt or `permanent`.
    Failed {
        status: Option<u16>,
        error: String,
        /// Nothing to retry (the endpoint was deleted).
        permanent: bool,
    },
}

/// Attempts before a row is given up (about 30 hours with [`backoff`]).
pub const MAX_ATTEMPTS: u32 = 16;
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: time::Duration = time::Duration::seconds(5);
pub const MAX_BACKOFF: time::Duration = time::Duration::hours(6);

/// How long to wait after the `attempts`-th failed attempt (1-based): 5 s, 10 s, 20 s, …,
/// capped at 6 h. No jitter: rows fail at different times already, and tests can predict it.
pub fn backoff(attempts: u32) -> time::Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let secs = FIRST_BACKOFF.whole_seconds().saturating_mul(1i64 << exp);
    time::Duration::seconds(secs).min(MAX_BACKOFF)
}

/// What becomes of a row after an attempt: `None` = done (delivered or given up), else the
/// time of the next attempt.
pub fn next_attempt(
    attempts_after: u32,
    result: &AttemptResult,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match result {
        AttemptResult::Delivered { .. } => None,
        AttemptResult::Failed {
            permanent: true, ..
        } => None,
        AttemptResult::Failed { .. } if attempts_after >= MAX_ATTEMPTS => None,
        AttemptResult::Failed { .. } => Some(now + backoff(attempts_after)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(action: &str, before: serde_json::Value, after: serde_json::Value) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(),
            time: OffsetDateTime::UNIX_EPOCH,
            actor: "operator".into(),
            org_id: Some(OrgId::parse("org_a").unwrap()),
            action: action.into(),
            target_type: "member".into(),
            target_id: "usr_1".into(),
            outcome: Outcome::Success,
            details: serde_json::json!({ "before": before, "after": after }),
            request_id: None,
        }
    }

    fn kind(e: &AuditEvent) -> Option<&'static str> {
        event_from_audit(e).map(|w| w.event_type.as_str())
    }

    #[test]
    fn audit_actions_map_to_event_types() {
        use serde_json::json;
        let n = serde_json::Value::Null;
        let a = json!({"status": "active"});
        let s = json!({"status": "suspended"});
        assert_eq!(
            kind(&audit("member.create", n.clone(), a.clone())),
            Some("member.added")
        );
        assert_eq!(
            kind(&audit("member.update", a.clone(), s.clone())),
            Some("member.suspended")
        );
        assert_eq!(
            kind(&audit("member.update", s.clone(), s.clone())),
            Some("member.updated")
        );
        assert_eq!(
            kind(&audit("member.delete", a.clone(), n.clone())),
            Some("member.removed")
        );
        assert_eq!(
            kind(&audit("org.create", n.clone(), a.clone())),
            Some("org.created")
        );
        assert_eq!(
            kind(&audit("org.update", a.clone(), s.clone())),
            Some("org.suspended")
        );
        assert_eq!(
            kind(&audit("org.update", a.clone(), a.clone())),
            Some("org.updated")
        );
        let on = json!({"state": "active"});
        let off = json!({"state": "disabled"});
        let draft = json!({"state": "draft"});
        assert_eq!(
            kind(&audit("connection.create", n.clone(), on.clone())),
            Some("connection.activated")
        );
        assert_eq!(
            kind(&audit("connection.create", n.clone(), draft.clone())),
            None
        );
        assert_eq!(
            kind(&audit("connection.update", draft.clone(), on.clone())),
            Some("connection.activated")
        );
        assert_eq!(
            kind(&audit("connection.update", on.clone(), off.clone())),
            Some("connection.deactivated")
        );
        assert_eq!(
            kind(&audit("connection.update", on.clone(), on.clone())),
            None
        );
        assert_eq!(
            kind(&audit("connection.delete", on.clone(), n.clone())),
            Some("connection.deactivated")
        );
        assert_eq!(
            kind(&audit("connection.delete", off.clone(), n.clone())),
            None
        );
        assert_eq!(
            kind(&audit("invitation.accept", n.clone(), n.clone())),
            Some("invitation.accepted")
        );
        assert_eq!(kind(&audit("link.create", n.clone(), n.clone())), None);
        let mut f = audit("login.failure", n.clone(), n.clone());
        f.outcome = Outcome::Denied;
        f.details = json!({"reason": "locked"});
        let w = event_from_audit(&f).unwrap();
        assert_eq!(w.event_type, EventType::SignInFailed);
        assert_eq!(w.data["object"]["reason"], "locked");
        // A member provisioned at first sign-in: its details are the object.
        let mut jit = audit("member.create", n.clone(), n.clone());
        jit.details = json!({"via": "jit", "roles": []});
        assert_eq!(event_from_audit(&jit).unwrap().data["object"]["via"], "jit");
        // A failed admin change is no event.
        let mut bad = audit("member.create", n.clone(), a.clone());
        bad.outcome = Outcome::Failure;
        assert_eq!(kind(&bad), None);
    }

    #[test]
    fn body_has_the_documented_fields() {
        let e = audit(
            "member.delete",
            serde_json::json!({"status": "active"}),
            serde_json::Value::Null,
        );
        let w = event_from_audit(&e).unwrap();
        let v: serde_json::Value = serde_json::from_str(&w.body()).unwrap();
        assert_eq!(v["id"], e.id.as_str());
        assert_eq!(v["type"], "member.removed");
        assert_eq!(v["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(v["org_id"], "org_a");
        assert_eq!(v["data"]["object"]["status"], "active");
        assert_eq!(v["data"]["object_id"], "usr_1");
        assert!(v["data"]["previous"].is_null());
    }

    #[test]
    fn backoff_doubles_from_five_seconds_and_caps_at_six_hours() {
        let s: Vec<i64> = (1..=13).map(|n| backoff(n).whole_seconds()).collect();
        assert_eq!(
            s,
            [
                5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480
            ]
        );
        assert_eq!(backoff(14), MAX_BACKOFF);
        assert_eq!(backoff(1000), MAX_BACKOFF);
        let now = OffsetDateTime::UNIX_EPOCH;
        let fail = AttemptResult::Failed {
            status: Some(500),
            error: "500".into(),
            permanent: false,
        };
        assert_eq!(
            next_attempt(1, &fail, now),
            Some(now + time::Duration::seconds(5))
        );
        assert_eq!(next_attempt(MAX_ATTEMPTS, &fail, now), None);
        assert_eq!(
            next_attempt(1, &AttemptResult::Delivered { status: 204 }, now),
            None
        );
    }

    #[test]
    fn urls_are_https_or_allowed_loopback_http() {
        assert!(validate_webhook_url("https://hooks.example.com/lobby", false).is_ok());
        assert!(validate_webhook_url("http://127.0.0.1:9000/h", false).is_err());
        assert!(validate_webhook_url("http://127.0.0.1:9000/h", true).is_ok());
        assert!(validate_webhook_url("http://hooks.example.com/h", true).is_err());
        assert!(validate_webhook_url("https://u:p@example.com/h", false).is_err());
        assert!(validate_webhook_url("ftp://example.com/h", false).is_err());
        assert!(validate_webhook_url("not a url", false).is_err());
    }
}
