//! The context every write goes through ([`Ctx`]: storage, clock, seal key, actor), the audit
//! records it writes (before/after summaries), the optimistic-concurrency helpers of the
//! PATCH retry loops, and reading the audit log.
//!
//! Owns: the audit event shape written for a change. Must not touch: what a change is (the
//! aggregate files decide), HTTP details.

use super::{SResult, ServiceError};
use crate::domain::*;
use crate::storage::{AuditFilter, Page, PageRequest, Storage, StorageError};
use serde::Serialize;
use time::OffsetDateTime;

/// How many times a PATCH without `version` re-reads and retries after a concurrent write.
pub(super) const MAX_ATTEMPTS: usize = 10;

/// Who is writing, and where the writes go.
pub struct Ctx<'a> {
    pub storage: &'a dyn Storage,
    pub clock: &'a dyn Clock,
    /// Seals upstream client secrets before they are stored (`None`: such secrets are refused).
    pub seal: Option<&'a crate::keys::seal::SealKey>,
    /// `operator`, `import`, later `user:<id>`.
    pub actor: String,
    pub request_id: Option<String>,
}

impl Ctx<'_> {
    pub fn now(&self) -> OffsetDateTime {
        trunc_millis(self.clock.now())
    }

    /// Record a successful change with its before/after summary.
    pub async fn audit<B: Serialize, A: Serialize>(
        &self,
        org: Option<&OrgId>,
        action: &str,
        target: (&str, &str),
        before: Option<&B>,
        after: Option<&A>,
    ) -> SResult<()> {
        let e = audit_event(
            &self.actor,
            self.request_id.clone(),
            self.now(),
            org,
            action,
            target,
            summary(before),
            summary(after),
        );
        self.storage.append_audit(&e).await?;
        Ok(())
    }
}

/// JSON summary of an object (a response DTO: never secrets).
pub fn summary<T: Serialize>(v: Option<&T>) -> serde_json::Value {
    v.and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[allow(clippy::too_many_arguments)]
pub fn audit_event(
    actor: &str,
    request_id: Option<String>,
    now: OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    (target_type, target_id): (&str, &str),
    before: serde_json::Value,
    after: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: now,
        actor: actor.to_owned(),
        org_id: org.cloned(),
        action: action.to_owned(),
        target_type: target_type.to_owned(),
        target_id: target_id.to_owned(),
        outcome: Outcome::Success,
        details: serde_json::json!({ "before": before, "after": after }),
        request_id,
    }
}

pub(super) fn check_version(expected: Option<i64>, current: i64) -> SResult<()> {
    match expected {
        Some(v) if v != current => Err(ServiceError::version_conflict()),
        _ => Ok(()),
    }
}

/// Whether a failed CAS update should be retried with a fresh read.
pub(super) fn retry(e: &StorageError, expected: Option<i64>, attempt: usize) -> bool {
    matches!(e, StorageError::Conflict) && expected.is_none() && attempt + 1 < MAX_ATTEMPTS
}

// ---------------------------------------------------------------------------------------
// Reading the audit log

pub async fn list_audit(
    s: &dyn Storage,
    org: Option<OrgId>,
    action: Option<String>,
    page: &PageRequest,
) -> SResult<Page<AuditEvent>> {
    Ok(s.list_audit(
        &AuditFilter {
            org_id: org,
            action,
            ..Default::default()
        },
        page,
    )
    .await?)
}

/// The audit log narrowed by every field of `filter` that is set (newest first).
pub async fn list_audit_where(
    s: &dyn Storage,
    filter: &AuditFilter,
    page: &PageRequest,
) -> SResult<Page<AuditEvent>> {
    Ok(s.list_audit(filter, page).await?)
}
