//! sqlx's migration bookkeeping on a [`LiteConn`], with the table sqlx-sqlite creates
//! (`_sqlx_migrations`: version, description, success, checksum, execution time), so a
//! database migrated before the embedded store ran SQLite itself is recognised: same versions,
//! same checksums, nothing re-runs.
//!
//! Owns: the `Migrate` implementation. Must not touch: the migrations themselves (`sqlite.rs`).

use super::{LiteConn, Want};
use futures::future::BoxFuture;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::migrate::{AppliedMigration, Migrate, MigrateError, Migration};
use sqlx_core::any::{AnyArgumentBuffer, AnyValueKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl LiteConn {
    fn query_rows(
        &mut self,
        sql: &str,
        args: Vec<AnyValueKind>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let p = self.take(sql, false)?;
        let args = AnyArguments {
            values: AnyArgumentBuffer(args),
        };
        Ok(self
            .run(p, Some(args), Want::All)?
            .into_iter()
            .filter_map(|r| r.right())
            .collect())
    }

    fn record_migration(&mut self, table: &str, m: &Migration) -> Result<(), MigrateError> {
        self.query_rows(
            &format!(
                "INSERT INTO {table} (version, description, success, checksum, execution_time) \
                 VALUES (?1, ?2, TRUE, ?3, -1)"
            ),
            vec![
                AnyValueKind::BigInt(m.version),
                AnyValueKind::Text(Arc::new(m.description.to_string())),
                AnyValueKind::Blob(Arc::new(m.checksum.to_vec())),
            ],
        )?;
        Ok(())
    }

    fn apply_now(&mut self, table: &str, m: &Migration) -> Result<Duration, MigrateError> {
        let start = Instant::now();
        // The script and its bookkeeping in one transaction, so a migration never runs twice.
        self.exec("BEGIN IMMEDIATE")?;
        let done = self
            .exec(m.sql.as_str())
            .map_err(|e| MigrateError::ExecuteMigration(e, m.version))
            .and_then(|_| self.record_migration(table, m));
        if let Err(e) = done {
            let _ = self.exec("ROLLBACK");
            return Err(e);
        }
        self.exec("COMMIT")?;
        let elapsed = start.elapsed();
        self.query_rows(
            &format!("UPDATE {table} SET execution_time = ?1 WHERE version = ?2"),
            vec![
                AnyValueKind::BigInt(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)),
                AnyValueKind::BigInt(m.version),
            ],
        )?;
        Ok(elapsed)
    }
}

fn int_at(row: &AnyRow, i: usize) -> Option<i64> {
    match row.values.get(i).map(|v| &v.kind) {
        Some(AnyValueKind::BigInt(v)) => Some(*v),
        _ => None,
    }
}

impl Migrate for LiteConn {
    fn create_schema_if_not_exists<'e>(
        &'e mut self,
        schema_name: &'e str,
    ) -> BoxFuture<'e, Result<(), MigrateError>> {
        Box::pin(async move {
            Err(MigrateError::CreateSchemasNotSupported(format!(
                "cannot create the schema {schema_name} in SQLite"
            )))
        })
    }

    fn ensure_migrations_table<'e>(
        &'e mut self,
        table_name: &'e str,
    ) -> BoxFuture<'e, Result<(), MigrateError>> {
        Box::pin(async move {
            self.exec(&format!(
                "CREATE TABLE IF NOT EXISTS {table_name} (
                    version BIGINT PRIMARY KEY,
                    description TEXT NOT NULL,
                    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                    success BOOLEAN NOT NULL,
                    checksum BLOB NOT NULL,
                    execution_time BIGINT NOT NULL
                )"
            ))?;
            Ok(())
        })
    }

    fn dirty_version<'e>(
        &'e mut self,
        table_name: &'e str,
    ) -> BoxFuture<'e, Result<Option<i64>, MigrateError>> {
        Box::pin(async move {
            let rows = self.query_rows(
                &format!(
                    "SELECT version FROM {table_name} WHERE success = false \
                     ORDER BY version LIMIT 1"
                ),
                Vec::new(),
            )?;
            Ok(rows.first().and_then(|r| int_at(r, 0)))
        })
    }

    fn list_applied_migrations<'e>(
        &'e mut self,
        table_name: &'e str,
    ) -> BoxFuture<'e, Result<Vec<AppliedMigration>, MigrateError>> {
        Box::pin(async move {
            let rows = self.query_rows(
                &format!("SELECT version, checksum FROM {table_name} ORDER BY version"),
                Vec::new(),
            )?;
            Ok(rows
                .iter()
                .filter_map(|r| {
                    let checksum = match r.values.get(1).map(|v| &v.kind) {
                        Some(AnyValueKind::Blob(b)) => b.to_vec(),
                        _ => return None,
                    };
                    Some(AppliedMigration {
                        version: int_at(r, 0)?,
                        checksum: checksum.into(),
                    })
                })
                .collect())
        })
    }

    // One process migrates at start, before it serves; SQLite's write lock orders two.
    fn lock(&mut self) -> BoxFuture<'_, Result<(), MigrateError>> {
        Box::pin(async { Ok(()) })
    }

    fn unlock(&mut self) -> BoxFuture<'_, Result<(), MigrateError>> {
        Box::pin(async { Ok(()) })
    }

    fn apply<'e>(
        &'e mut self,
        table_name: &'e str,
        migration: &'e Migration,
    ) -> BoxFuture<'e, Result<Duration, MigrateError>> {
        Box::pin(async move { self.apply_now(table_name, migration) })
    }

    fn revert<'e>(
        &'e mut self,
        _table_name: &'e str,
        migration: &'e Migration,
    ) -> BoxFuture<'e, Result<Duration, MigrateError>> {
        Box::pin(async move { Err(MigrateError::VersionNotPresent(migration.version)) })
    }
}
