//! `OutboxStore` on the SQL backends: the durable delivery queue, its leases and attempts, and
//! the fan-out of audit events to webhook endpoints (called by the audit writes, on their
//! connection or transaction).
//!
//! Owns: the `outbox` queries. Must not touch: what an event is (`domain::webhook`), sending
//! (the `webhooks` module), the endpoints' rows beyond reading who subscribes.
//!
//! Leasing is a compare-and-set per row (portable across both dialects): a due row is taken
//! with `UPDATE … WHERE id = $1 AND state = 'pending' AND (lease_until IS NULL OR
//! lease_until <= now)`; PostgreSQL re-checks that condition on the current row version after
//! waiting for a concurrent writer, SQLite has one writer at a time, so exactly one instance
//! wins a row. A dead instance's lease runs out and the row is due again.

use super::SqlStore;
use super::errors::*;
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, BTreeSet};

const OUTBOX_COLS: &str = "id, kind, target, event_id, event_type, payload, created_at, state, \
     attempts, next_attempt_at, last_status, last_error, last_attempt_at";

fn outbox_from(r: &AnyRow) -> Result<OutboxItem> {
    let attempts: i64 = col(r, "attempts")?;
    let status: Option<i64> = col(r, "last_status")?;
    Ok(OutboxItem {
        id: col_parse(r, "id", OutboxId::parse)?,
        kind: col_enum(r, "kind")?,
        target: col(r, "target")?,
        event_id: col(r, "event_id")?,
        event_type: col(r, "event_type")?,
        payload: col(r, "payload")?,
        created_at: col_ts(r, "created_at")?,
        state: col_enum(r, "state")?,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
        next_attempt_at: col_ts(r, "next_attempt_at")?,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: col(r, "last_error")?,
        last_attempt_at: col_opt_ts(r, "last_attempt_at")?,
    })
}

/// Insert rows, skipping those already queued (same kind, target and event).
pub(super) async fn insert_outbox(
    conn: &mut DbConn,
    items: &[OutboxItem],
) -> std::result::Result<u64, WriteError> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut q = DynQuery::new(
        "INSERT INTO outbox (id, kind, target, event_id, event_type, payload, created_at, state, \
         attempts, next_attempt_at) VALUES ",
    );
    for (i, it) in items.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .text(it.id.as_str())
            .push(", ")
            .text(it.kind.as_str())
            .push(", ")
            .text(&it.target)
            .push(", ")
            .text(&it.event_id)
            .push(", ")
            .text(&it.event_type)
            .push(", ")
            .text(&it.payload)
            .push(", ")
            .int(ms(it.created_at))
            .push(", ")
            .text(it.state.as_str())
            .push(", ")
            .int(i64::from(it.attempts))
            .push(", ")
            .int(ms(it.next_attempt_at))
            .push(")");
    }
    q.push(" ON CONFLICT (kind, target, event_id) DO NOTHING");
    Ok(q.build().execute(&mut *conn).await?.rows_affected())
}

/// Whether any webhook endpoint is enabled: one read of a small table, so an audit write (every
/// sign-in writes one) skips the transaction of [`fan_out`] when nobody subscribes. An endpoint
/// enabled while that write runs gets the events recorded after it, as if created a moment later.
/// Audit writes read it through the configuration cache (`SqlStore::webhooks_enabled`): an
/// endpoint enabled through this process counts from the next write, one enabled by another
/// process within the cache's TTL (`storage::cache::DEFAULT_TTL`).
pub(super) async fn any_enabled(conn: &mut DbConn) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM webhook_endpoints WHERE enabled = $1 LIMIT 1")
            .bind(true)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?
            .is_some(),
    )
}

/// Queue the webhook deliveries of `events` (the audit events being written on `conn`): one
/// row per event per enabled endpoint that subscribes to its type and, when scoped to an app,
/// whose app the event's org is linked to. Nothing is read when no event is a webhook event.
pub(super) async fn fan_out(
    conn: &mut DbConn,
    events: &[AuditEvent],
) -> std::result::Result<u64, WriteError> {
    let hooks: Vec<WebhookEvent> = events.iter().filter_map(event_from_audit).collect();
    if hooks.is_empty() {
        return Ok(0);
    }
    let rows = sqlx::query("SELECT id, app_id, events FROM webhook_endpoints WHERE enabled = $1")
        .bind(true)
        .fetch_all(&mut *conn)
        .await?;
    let mut endpoints = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = col(r, "id")?;
        let app: Option<String> = col(r, "app_id")?;
        let types: BTreeSet<EventType> = col_json(r, "events")?;
        endpoints.push((id, app, types));
    }
    if endpoints.is_empty() {
        return Ok(0);
    }
    // The apps each event's org is linked to, read once per org (app-scoped endpoints only).
    let mut linked: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if endpoints.iter().any(|(_, app, _)| app.is_some()) {
        for org in hooks.iter().filter_map(|h| h.org_id.as_ref()) {
            if linked.contains_key(org.as_str()) {
                continue;
            }
            let apps = sqlx::query("SELECT app_id FROM org_app_links WHERE org_id = $1")
                .bind(org.as_str())
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| col::<String>(r, "app_id"))
                .collect::<Result<BTreeSet<_>>>()?;
            linked.insert(org.as_str().to_owned(), apps);
        }
    }
    let mut items = Vec::new();
    for h in &hooks {
        let body = h.body();
        for (id, app, types) in &endpoints {
            if !types.contains(&h.event_type) {
                continue;
            }
            if let Some(app) = app {
                let ok = h
                    .org_id
                    .as_ref()
                    .and_then(|o| linked.get(o.as_str()))
                    .is_some_and(|apps| apps.contains(app));
                if !ok {
                    continue;
                }
            }
            items.push(OutboxItem {
                id: OutboxId::generate(),
                kind: OutboxKind::Webhook,
                target: id.clone(),
                event_id: h.id.to_string(),
                event_type: h.event_type.as_str().to_owned(),
                payload: body.clone(),
                created_at: h.created_at,
                state: OutboxState::Pending,
                attempts: 0,
                next_attempt_at: h.created_at,
                last_status: None,
                last_error: None,
                last_attempt_at: None,
            });
        }
    }
    insert_outbox(conn, &items).await
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert_outbox(&mut conn, items)
            .await
            .map_err(|e| self.write_error(e, "target"))?;
        if !items.is_empty() {
            self.queued.notify_one();
        }
        Ok(())
    }

    fn queued_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.queued.clone())
    }

    async fn claim_due(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        let now_ms = ms(now);
        let candidates = sqlx::query(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at, id \
             LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let until = ms(now + lease);
        let mut out = Vec::with_capacity(candidates.len());
        for c in &candidates {
            let id: String = col(c, "id")?;
            let sql = format!(
                "UPDATE outbox SET lease_owner = $2, lease_until = $3 \
                 WHERE id = $1 AND state = 'pending' AND next_attempt_at <= $4 \
                 AND (lease_until IS NULL OR lease_until <= $4) RETURNING {OUTBOX_COLS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .bind(owner)
                .bind(until)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            // `None`: another instance took it between the two statements.
            if let Some(r) = row {
                out.push(outbox_from(&r)?);
            }
        }
        Ok(out)
    }

    async fn finish_attempt(
        &self,
        id: &OutboxId,
        owner: &str,
        result: &AttemptResult,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let row = sqlx::query("SELECT attempts FROM outbox WHERE id = $1 AND lease_owner = $2")
            .bind(id.as_str())
            .bind(owner)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(false) };
        let before: i64 = col(&row, "attempts")?;
        let after = u32::try_from(before + 1).unwrap_or(u32::MAX);
        let next = next_attempt(after, result, now);
        let (state, status, error) = match result {
            AttemptResult::Delivered { status } => (OutboxState::Delivered, Some(*status), None),
            AttemptResult::Failed { status, error, .. } => (
                if next.is_some() {
                    OutboxState::Pending
                } else {
                    OutboxState::Failed
                },
                *status,
                Some(error.as_str()),
            ),
        };
        let done = sqlx::query(
            "UPDATE outbox SET state = $3, attempts = $4, next_attempt_at = $5, \
             last_status = $6, last_error = $7, last_attempt_at = $8, lease_owner = NULL, \
             lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND attempts = $9",
        )
        .bind(id.as_str())
        .bind(owner)
        .bind(state.as_str())
        .bind(i64::from(after))
        .bind(ms(next.unwrap_or(now)))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(ms(now))
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn prune_outbox(&self, before: OffsetDateTime) -> Result<u64> {
        let r = sqlx::query("DELETE FROM outbox WHERE state <> 'pending' AND created_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected())
    }

    async fn list_outbox(
        &self,
        kind: OutboxKind,
        target: &str,
        page: &PageRequest,
    ) -> Result<Page<OutboxItem>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE kind = "));
        q.text(kind.as_str()).push(" AND target = ").text(target);
        if let Some(after) = &page.after {
            q.push(" AND id < ").text(after);
        }
        q.push(" ORDER BY id DESC LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(outbox_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |i| i.id.to_string()))
    }
}
