//! `ConnectionStore` on the SQL backends: an org's upstream IdP connections (read through the
//! configuration cache by id).
//!
//! Owns: the `connections` queries. Must not touch: pinned SAML state (`saml.rs`).

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const CONNECTION_COLS: &str =
    "id, org_id, name, kind, state, config, version, created_at, updated_at";

pub(super) fn connection_from(r: &AnyRow) -> Result<Connection> {
    Ok(Connection {
        id: col_parse(r, "id", ConnectionId::parse)?,
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        name: col(r, "name")?,
        state: col_enum(r, "state")?,
        config: col_json(r, "config")?,
        version: col(r, "version")?,
        created_at: col_ts(r, "created_at")?,
        updated_at: col_ts(r, "updated_at")?,
    })
}

pub(super) const INSERT_CONNECTION: &str = "INSERT INTO connections (id, org_id, name, kind, state, \
     config, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(super) async fn write_connection(
    conn: &mut DbConn,
    c: &Connection,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    // An upsert never moves a connection to another org: the row is left alone and zero rows
    // are reported.
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_CONNECTION} ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             kind = excluded.kind, state = excluded.state, config = excluded.config, \
             updated_at = excluded.updated_at, version = connections.version + 1 \
             WHERE connections.org_id = excluded.org_id"
        ))
    } else {
        Cow::Borrowed(INSERT_CONNECTION)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(c.id.as_str())
        .bind(c.org_id.as_str())
        .bind(c.name.as_str())
        .bind(c.kind().as_str())
        .bind(c.state.as_str())
        .bind(json(&c.config)?)
        .bind(c.version)
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

impl SqlStore {
    /// One connection by id, within `org` when given.
    async fn load_connection(
        &self,
        org: Option<&OrgId>,
        id: &ConnectionId,
    ) -> Result<Option<Connection>> {
        let row = match org {
            Some(org) => {
                let sql = format!(
                    "SELECT {CONNECTION_COLS} FROM connections WHERE org_id = $1 AND id = $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(org.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
            }
            None => {
                let sql = format!("SELECT {CONNECTION_COLS} FROM connections WHERE id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
            }
        };
        row.map_err(backend)?
            .as_ref()
            .map(connection_from)
            .transpose()
    }
}

#[async_trait]
impl ConnectionStore for SqlStore {
    async fn create_connection(&self, c: &Connection) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = write_connection(&mut conn, c, false).await;
        drop(conn);
        res.map_err(|e| self.write_error(e, "organization"))?;
        Ok(())
    }

    async fn list_connections(&self, org: &OrgId) -> Result<Vec<Connection>> {
        let load = async {
            let sql =
                format!("SELECT {CONNECTION_COLS} FROM connections WHERE org_id = $1 ORDER BY id");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            rows.iter()
                .map(connection_from)
                .collect::<Result<_>>()
                .map(Some)
        };
        Ok(self
            .read_through(crate::storage::cache::ORG_CONNECTIONS, org, load)
            .await?
            .unwrap_or_default())
    }

    async fn update_connection(&self, c: &Connection) -> Result<Connection> {
        let _invalidate = self.cache.on_write();
        let sql = format!(
            "UPDATE connections SET name = $4, kind = $5, state = $6, config = $7, \
             updated_at = $8, version = version + 1 \
             WHERE org_id = $1 AND id = $2 AND version = $3 RETURNING {CONNECTION_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.org_id.as_str())
            .bind(c.id.as_str())
            .bind(c.version)
            .bind(c.name.as_str())
            .bind(c.kind().as_str())
            .bind(c.state.as_str())
            .bind(json(&c.config)?)
            .bind(ms(c.updated_at))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        match rows.first() {
            Some(r) => connection_from(r),
            None => Err(self
                .cas_miss(
                    "SELECT 1 FROM connections WHERE org_id = $1 AND id = $2",
                    &[c.org_id.as_str(), c.id.as_str()],
                )
                .await),
        }
    }

    async fn delete_connection(&self, org: &OrgId, id: &ConnectionId) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query("DELETE FROM connections WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn get_connection(&self, org: &OrgId, id: &ConnectionId) -> Result<Option<Connection>> {
        // Cached by id: a cached connection of another org is "not found", as in the query.
        let found = self
            .read_through(
                crate::storage::cache::CONNECTIONS,
                id,
                self.load_connection(Some(org), id),
            )
            .await?;
        Ok(found.filter(|c| c.org_id == *org))
    }

    async fn get_connection_for_callback(&self, id: &ConnectionId) -> Result<Option<Connection>> {
        self.read_through(
            crate::storage::cache::CONNECTIONS,
            id,
            self.load_connection(None, id),
        )
        .await
    }
}
