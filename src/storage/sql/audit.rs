//! `AuditStore` on the SQL backends: append-only audit events, newest first by ULID.
//!
//! Owns: the `audit_events` queries. Must not touch: other tables (audit rows outlive what
//! they describe), except that every audit write also queues, in the same statement sequence
//! and transaction, the webhook deliveries of its events (`outbox::fan_out`).

use super::SqlStore;
use super::errors::*;
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;

pub(super) const AUDIT_COLS: &str = "id, time, actor, org_id, action, target_type, target_id, outcome, \
     details, request_id";

pub(super) fn audit_from(r: &AnyRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: col_parse(r, "id", AuditEventId::parse)?,
        time: col_ts(r, "time")?,
        actor: col(r, "actor")?,
        org_id: col_opt_parse(r, "org_id", OrgId::parse)?,
        action: col(r, "action")?,
        target_type: col(r, "target_type")?,
        target_id: col(r, "target_id")?,
        outcome: col_enum(r, "outcome")?,
        details: col_json(r, "details")?,
        request_id: col(r, "request_id")?,
    })
}

pub(super) async fn write_audits(
    conn: &mut DbConn,
    events: &[AuditEvent],
) -> std::result::Result<u64, WriteError> {
    if events.is_empty() {
        return Ok(0);
    }
    let n = insert_audits(conn, events).await?;
    super::outbox::fan_out(conn, events).await?;
    Ok(n)
}

async fn insert_audits(
    conn: &mut DbConn,
    events: &[AuditEvent],
) -> std::result::Result<u64, WriteError> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut q = DynQuery::new(
        "INSERT INTO audit_events (id, time, actor, org_id, action, target_type, target_id, \
         outcome, details, request_id) VALUES ",
    );
    for (i, e) in events.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .text(e.id.as_str())
            .push(", ")
            .int(ms(e.time))
            .push(", ")
            .text(&e.actor)
            .push(", ")
            .opt_text(e.org_id.as_ref().map(OrgId::as_str))
            .push(", ")
            .text(&e.action)
            .push(", ")
            .text(&e.target_type)
            .push(", ")
            .text(&e.target_id)
            .push(", ")
            .text(e.outcome.as_str())
            .push(", ")
            .text(&json(&e.details)?)
            .push(", ")
            .opt_text(e.request_id.as_deref())
            .push(")");
    }
    Ok(q.build().execute(&mut *conn).await?.rows_affected())
}

impl SqlStore {
    /// [`super::outbox::any_enabled`] through the configuration cache (webhook endpoint writes
    /// invalidate it).
    async fn webhooks_enabled(&self, conn: &mut DbConn) -> Result<bool> {
        let load = async { super::outbox::any_enabled(conn).await.map(Some) };
        Ok(self
            .read_through(crate::storage::cache::WEBHOOKS_ENABLED, &(), load)
            .await?
            .unwrap_or(true))
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        self.append_audits(std::slice::from_ref(e)).await
    }

    async fn append_audits(&self, events: &[AuditEvent]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        if !events.iter().any(|e| event_from_audit(e).is_some())
            || !self.webhooks_enabled(&mut conn).await?
        {
            insert_audits(&mut conn, events)
                .await
                .map_err(|e| self.write_error(e, "audit event"))?;
            return Ok(());
        }
        drop(conn);
        // The events and their webhook deliveries: both or neither.
        let mut tx = self.begin().await?;
        write_audits(&mut tx, events)
            .await
            .map_err(|e| self.write_error(e, "audit event"))?;
        tx.commit().await.map_err(backend)?;
        self.queued.notify_one();
        Ok(())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE 1 = 1"
        ));
        if let Some(org) = &filter.org_id {
            q.push(" AND org_id = ").text(org.as_str());
        }
        if let Some(action) = &filter.action {
            q.push(" AND action = ").text(action);
        }
        if let Some(actor) = &filter.actor {
            q.push(" AND actor = ").text(actor);
        }
        if let Some(from) = filter.from {
            q.push(" AND time >= ").int(ms(from));
        }
        if let Some(until) = filter.until {
            q.push(" AND time < ").int(ms(until));
        }
        if let Some(after) = &page.after {
            q.push(" AND id < ").text(after);
        }
        q.push(" ORDER BY id DESC LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |e| e.id.to_string()))
    }
}
