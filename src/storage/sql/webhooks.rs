//! `WebhookStore` on the SQL backends: registered endpoints, their sealed secrets and their
//! delivery health.
//!
//! Owns: the `webhook_endpoints` queries (and removing an endpoint's queued deliveries with
//! it). Must not touch: the outbox otherwise (`outbox.rs`), sealing (`keys::seal`).

use super::SqlStore;
use super::errors::*;
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;

const WEBHOOK_COLS: &str = "id, url, app_id, events, enabled, description, secret_sealed, \
     created_at, updated_at, last_status, last_error, last_attempt_at, last_success_at, \
     consecutive_failures";

fn webhook_from(r: &AnyRow) -> Result<WebhookEndpoint> {
    let status: Option<i64> = col(r, "last_status")?;
    Ok(WebhookEndpoint {
        id: col_parse(r, "id", WebhookId::parse)?,
        url: col(r, "url")?,
        app_id: col_opt_parse(r, "app_id", AppId::parse)?,
        events: col_json(r, "events")?,
        enabled: col_bool(r, "enabled")?,
        description: col(r, "description")?,
        secret_sealed: col(r, "secret_sealed")?,
        created_at: col_ts(r, "created_at")?,
        updated_at: col_ts(r, "updated_at")?,
        health: DeliveryHealth {
            last_status: status.and_then(|s| u16::try_from(s).ok()),
            last_error: col(r, "last_error")?,
            last_attempt_at: col_opt_ts(r, "last_attempt_at")?,
            last_success_at: col_opt_ts(r, "last_success_at")?,
            consecutive_failures: col(r, "consecutive_failures")?,
        },
    })
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, w: &WebhookEndpoint) -> Result<()> {
        // Audit writes cache whether any endpoint is enabled (`outbox::any_enabled`).
        let _invalidate = self.cache.on_write();
        let res = sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, app_id, events, enabled, description, \
             secret_sealed, created_at, updated_at, consecutive_failures) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
        )
        .bind(w.id.as_str())
        .bind(w.url.as_str())
        .bind(w.app_id.as_ref().map(|a| a.as_str().to_owned()))
        .bind(json(&w.events)?)
        .bind(w.enabled)
        .bind(w.description.as_str())
        .bind(w.secret_sealed.as_str())
        .bind(ms(w.created_at))
        .bind(ms(w.updated_at))
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => Err(self.write_err(e, "app")),
        }
    }

    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<WebhookEndpoint>> {
        let sql = format!("SELECT {WEBHOOK_COLS} FROM webhook_endpoints WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(webhook_from)
            .transpose()
    }

    async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<WebhookEndpoint>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {WEBHOOK_COLS} FROM webhook_endpoints WHERE 1 = 1"
        ));
        if let Some(after) = &page.after {
            q.push(" AND id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(webhook_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |w| w.id.to_string()))
    }

    async fn update_webhook(&self, w: &WebhookEndpoint) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, app_id = $3, events = $4, enabled = $5, \
             description = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(w.id.as_str())
        .bind(w.url.as_str())
        .bind(w.app_id.as_ref().map(|a| a.as_str().to_owned()))
        .bind(json(&w.events)?)
        .bind(w.enabled)
        .bind(w.description.as_str())
        .bind(ms(w.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "app"))?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_webhook(&self, id: &WebhookId) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        sqlx::query("DELETE FROM outbox WHERE kind = $1 AND target = $2")
            .bind(OutboxKind::Webhook.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn record_webhook_attempt(
        &self,
        id: &WebhookId,
        result: &AttemptResult,
        at: OffsetDateTime,
    ) -> Result<()> {
        let q = match result {
            AttemptResult::Delivered { status } => sqlx::query(
                "UPDATE webhook_endpoints SET last_status = $2, last_error = NULL, \
                 last_attempt_at = $3, last_success_at = $3, consecutive_failures = 0 \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(i64::from(*status))
            .bind(ms(at)),
            AttemptResult::Failed { status, error, .. } => sqlx::query(
                "UPDATE webhook_endpoints SET last_status = $2, last_error = $3, \
                 last_attempt_at = $4, consecutive_failures = consecutive_failures + 1 \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(status.map(i64::from))
            .bind(error.clone())
            .bind(ms(at)),
        };
        q.execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn webhook_pending(&self, id: &WebhookId) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE kind = $1 AND target = $2 \
             AND state = 'pending'",
        )
        .bind(OutboxKind::Webhook.as_str())
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        col(&row, "n")
    }
}
