//! `SamlStore` on the SQL backends (both dialects, same queries).
//!
//! Owns: the `saml_idp_state` and `saml_sp_keys` queries. Must not touch: other tables.

use super::SqlStore;
use super::errors::backend;
use super::values::{col, col_enum, col_opt_ts, col_ts, enum_name, ms, opt_ms};
use crate::domain::{ConnectionId, Secret};
use crate::storage::{KeyStatus, Result, SamlIdpRecord, SamlSpKeyRecord, SamlStore, StorageError};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

/// How often one process deletes expired rows of the SAML replay cache (`saml_seen`).
const PRUNE_SAML_SEEN_EVERY_MS: i64 = 60_000;

fn idp_from(r: &AnyRow) -> Result<SamlIdpRecord> {
    let id: String = col(r, "connection_id")?;
    Ok(SamlIdpRecord {
        connection_id: ConnectionId::parse(&id)
            .map_err(|e| backend(anyhow::anyhow!("stored connection id: {e}")))?,
        state: col(r, "state")?,
        updated_at: col_ts(r, "updated_at")?,
    })
}

fn key_from(r: &AnyRow) -> Result<SamlSpKeyRecord> {
    Ok(SamlSpKeyRecord {
        id: col(r, "id")?,
        status: col_enum(r, "status")?,
        private_key: Secret::new(col::<String>(r, "private_key")?),
        certificate: col(r, "certificate")?,
        created_at: col_ts(r, "created_at")?,
        retire_until: col_opt_ts(r, "retire_until")?,
    })
}

#[async_trait]
impl SamlStore for SqlStore {
    /// Through the configuration cache: read at every SAML sign-in (the request and the ACS);
    /// written by metadata refreshes and connection changes, which invalidate it.
    async fn get_saml_idp(&self, connection: &ConnectionId) -> Result<Option<SamlIdpRecord>> {
        let load = async {
            let row = sqlx::query(
                "SELECT connection_id, state, updated_at FROM saml_idp_state \
                 WHERE connection_id = $1",
            )
            .bind(connection.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
            row.as_ref().map(idp_from).transpose()
        };
        self.read_through(crate::storage::cache::SAML_IDPS, connection, load)
            .await
    }

    async fn put_saml_idp(&self, r: &SamlIdpRecord) -> Result<()> {
        let _invalidate = self.cache.on_write();
        sqlx::query(
            "INSERT INTO saml_idp_state (connection_id, state, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state, \
             updated_at = excluded.updated_at",
        )
        .bind(r.connection_id.as_str())
        .bind(r.state.as_str())
        .bind(ms(r.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "connection"))?;
        Ok(())
    }

    async fn list_saml_idps(&self) -> Result<Vec<SamlIdpRecord>> {
        let rows = sqlx::query(
            "SELECT connection_id, state, updated_at FROM saml_idp_state ORDER BY connection_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(idp_from).collect()
    }

    async fn create_saml_sp_key(&self, k: &SamlSpKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO saml_sp_keys (id, status, private_key, certificate, created_at, \
             retire_until) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(k.id.as_str())
        .bind(enum_name(&k.status)?)
        .bind(k.private_key.expose())
        .bind(k.certificate.as_str())
        .bind(ms(k.created_at))
        .bind(opt_ms(k.retire_until))
        .execute(&self.pool)
        .await
        .map_err(|e| match self.write_err(e, "SAML SP key") {
            StorageError::Duplicate(_) => StorageError::Duplicate("SAML SP key".into()),
            other => other,
        })?;
        Ok(())
    }

    async fn list_saml_sp_keys(&self) -> Result<Vec<SamlSpKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, status, private_key, certificate, created_at, retire_until \
             FROM saml_sp_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(key_from).collect()
    }

    async fn set_saml_sp_key_status(
        &self,
        id: &str,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> Result<()> {
        let res =
            sqlx::query("UPDATE saml_sp_keys SET status = $2, retire_until = $3 WHERE id = $1")
                .bind(id)
                .bind(enum_name(&status)?)
                .bind(opt_ms(retire_until))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_saml_sp_key(&self, id: &str) -> Result<()> {
        let res = sqlx::query("DELETE FROM saml_sp_keys WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn mark_assertion_used(
        &self,
        key: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        // One statement: a new key is inserted; an existing one is only overwritten when its
        // record has expired (upsert with a WHERE: SQLite ≥ 3.24 and PostgreSQL alike).
        let done = sqlx::query(
            "INSERT INTO saml_seen (key, until) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET until = excluded.until \
             WHERE saml_seen.until <= $3",
        )
        .bind(key)
        .bind(ms(until))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        // Expired rows decide nothing (the upsert above overwrites them); they are deleted so
        // the table stays small, at most once per `PRUNE_SAML_SEEN_EVERY_MS` per process rather
        // than at every sign-in (a write statement fewer per SAML login).
        let now_ms = ms(now);
        let last = self.saml_seen_pruned.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= PRUNE_SAML_SEEN_EVERY_MS
            && self
                .saml_seen_pruned
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            sqlx::query("DELETE FROM saml_seen WHERE until <= $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        }
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    async fn rows(s: &SqlStore) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM saml_seen")
            .fetch_one(s.pool())
            .await
            .unwrap()
    }

    /// Expired replay-cache rows go, but at most once a minute per process, not at every ACS.
    #[tokio::test]
    async fn expired_replay_rows_are_deleted_at_most_once_a_minute() {
        let s = SqlStore::connect("sqlite::memory:").await.unwrap();
        let t0 = crate::domain::trunc_millis(OffsetDateTime::now_utc());
        assert!(
            s.mark_assertion_used("a", t0 + Duration::minutes(5), t0)
                .await
                .unwrap()
        );
        let t1 = t0 + Duration::seconds(1);
        assert!(
            s.mark_assertion_used("b", t0 + Duration::minutes(1), t1)
                .await
                .unwrap()
        );
        assert_eq!(rows(&s).await, 2);
        // Ten minutes on, both have expired and the last deletion is long past: they go.
        let t2 = t0 + Duration::minutes(10);
        assert!(
            s.mark_assertion_used("c", t2 + Duration::minutes(5), t2)
                .await
                .unwrap()
        );
        assert_eq!(rows(&s).await, 1);
        // Within the minute after a deletion an expired row stays (and decides nothing).
        let t3 = t2 + Duration::seconds(1);
        assert!(
            s.mark_assertion_used("d", t3 + Duration::seconds(1), t3)
                .await
                .unwrap()
        );
        let t4 = t2 + Duration::seconds(30);
        assert!(
            s.mark_assertion_used("e", t4 + Duration::minutes(5), t4)
                .await
                .unwrap()
        );
        assert_eq!(rows(&s).await, 3);
        assert!(
            s.mark_assertion_used("d", t4 + Duration::minutes(5), t4)
                .await
                .unwrap()
        );
    }
}
