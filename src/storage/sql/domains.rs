//! `DomainStore` on the SQL backends: an org's email domains and discovery by verified domain
//! (a partial unique index keeps a domain verified by one org at most).
//!
//! Owns: the `org_domains` queries. Must not touch: other tables.

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const DOMAIN_COLS: &str =
    "org_id, domain, verified, verification_token, verified_at, created_at, shared";

pub(super) fn domain_from(r: &AnyRow) -> Result<OrgDomain> {
    Ok(OrgDomain {
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        domain: col_parse(r, "domain", EmailDomain::parse)?,
        verified: col_bool(r, "verified")?,
        verification_token: col(r, "verification_token")?,
        verified_at: col_opt_ts(r, "verified_at")?,
        created_at: col_ts(r, "created_at")?,
        shared: col_bool(r, "shared")?,
    })
}

pub(super) const INSERT_DOMAIN: &str = "INSERT INTO org_domains (org_id, domain, verified, \
     verification_token, verified_at, created_at, shared) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(super) async fn write_domain(
    conn: &mut DbConn,
    d: &OrgDomain,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_DOMAIN} ON CONFLICT (org_id, domain) DO UPDATE SET \
             verified = excluded.verified, verification_token = excluded.verification_token, \
             verified_at = excluded.verified_at, shared = excluded.shared"
        ))
    } else {
        Cow::Borrowed(INSERT_DOMAIN)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(d.org_id.as_str())
        .bind(d.domain.as_str())
        .bind(d.verified)
        .bind(d.verification_token.as_str())
        .bind(opt_ms(d.verified_at))
        .bind(ms(d.created_at))
        .bind(d.shared)
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

#[async_trait]
impl DomainStore for SqlStore {
    async fn create_domain(&self, d: &OrgDomain) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = write_domain(&mut conn, d, false).await;
        drop(conn);
        res.map_err(|e| self.write_error(e, "organization"))?;
        Ok(())
    }

    async fn get_domain(&self, org: &OrgId, domain: &EmailDomain) -> Result<Option<OrgDomain>> {
        let sql =
            format!("SELECT {DOMAIN_COLS} FROM org_domains WHERE org_id = $1 AND domain = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(domain.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(domain_from)
            .transpose()
    }

    async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>> {
        let sql =
            format!("SELECT {DOMAIN_COLS} FROM org_domains WHERE org_id = $1 ORDER BY domain");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(domain_from).collect()
    }

    async fn update_domain(&self, d: &OrgDomain) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query(
            "UPDATE org_domains SET verified = $3, verified_at = $4, verification_token = $5, \
             shared = $6 WHERE org_id = $1 AND domain = $2",
        )
        .bind(d.org_id.as_str())
        .bind(d.domain.as_str())
        .bind(d.verified)
        .bind(opt_ms(d.verified_at))
        .bind(d.verification_token.as_str())
        .bind(d.shared)
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "organization"))?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_domain(&self, org: &OrgId, domain: &EmailDomain) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query("DELETE FROM org_domains WHERE org_id = $1 AND domain = $2")
            .bind(org.as_str())
            .bind(domain.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn find_verified_domain(&self, domain: &EmailDomain) -> Result<Option<OrgDomain>> {
        let load = async {
            // Served by the partial unique index org_domains_verified_key.
            let sql =
                format!("SELECT {DOMAIN_COLS} FROM org_domains WHERE domain = $1 AND verified");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(domain.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(domain_from)
                .transpose()
        };
        self.read_through(crate::storage::cache::DOMAIN_ORGS, domain, load)
            .await
    }
}
