//! `OrgStore` on the SQL backends: organizations and their tree (recursive queries bounded by
//! `MAX_ORG_DEPTH`; a cascade delete takes the subtree and, through `ON DELETE CASCADE`,
//! everything it owns).
//!
//! Owns: the `orgs` queries. Must not touch: the rows orgs own (they go by foreign key).

use super::errors::*;
use super::query::*;
use super::values::*;
use super::{MAX_ORG_DEPTH, SqlStore};
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const ORG_COLS: &str =
    "id, slug, name, status, parent_id, branding, version, created_at, updated_at";

pub(super) fn org_from(r: &AnyRow) -> Result<Org> {
    org_from_p(r, Prefix::NONE)
}

pub(super) fn org_from_p(r: &AnyRow, p: Prefix) -> Result<Org> {
    Ok(Org {
        id: col_parse(r, &p.n("id"), OrgId::parse)?,
        slug: col_parse(r, &p.n("slug"), Slug::parse)?,
        name: col(r, &p.n("name"))?,
        status: col_parse(r, &p.n("status"), OrgStatus::parse)?,
        parent_id: col_opt_parse(r, &p.n("parent_id"), OrgId::parse)?,
        branding: col_json(r, &p.n("branding"))?,
        version: col(r, &p.n("version"))?,
        created_at: col_ts(r, &p.n("created_at"))?,
        updated_at: col_ts(r, &p.n("updated_at"))?,
    })
}

pub(super) const INSERT_ORG: &str = "INSERT INTO orgs (id, slug, name, status, parent_id, branding, \
     version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(super) async fn write_org(
    conn: &mut DbConn,
    o: &Org,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_ORG} ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, \
             name = excluded.name, status = excluded.status, parent_id = excluded.parent_id, \
             branding = excluded.branding, updated_at = excluded.updated_at, \
             version = orgs.version + 1"
        ))
    } else {
        Cow::Borrowed(INSERT_ORG)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(o.id.as_str())
        .bind(o.slug.as_str())
        .bind(o.name.as_str())
        .bind(o.status.as_str())
        .bind(o.parent_id.as_ref().map(|p| p.as_str().to_owned()))
        .bind(json(&o.branding)?)
        .bind(o.version)
        .bind(ms(o.created_at))
        .bind(ms(o.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

#[async_trait]
impl OrgStore for SqlStore {
    async fn create_org(&self, org: &Org) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = write_org(&mut conn, org, false).await;
        drop(conn);
        res.map_err(|e| self.write_error(e, "parent organization"))?;
        Ok(())
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>> {
        self.read_through(crate::storage::cache::ORGS, id, async {
            let sql = format!("SELECT {ORG_COLS} FROM orgs WHERE id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(org_from)
                .transpose()
        })
        .await
    }

    async fn get_org_by_slug(&self, slug: &Slug) -> Result<Option<Org>> {
        let sql = format!("SELECT {ORG_COLS} FROM orgs WHERE slug = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(org_from)
            .transpose()
    }

    async fn list_orgs(&self, parent: Option<&OrgId>, page: &PageRequest) -> Result<Page<Org>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!("SELECT {ORG_COLS} FROM orgs WHERE 1 = 1"));
        if let Some(p) = parent {
            q.push(" AND parent_id = ").text(p.as_str());
        }
        if let Some(after) = &page.after {
            q.push(" AND id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(org_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |o| o.id.to_string()))
    }

    async fn update_org(&self, o: &Org) -> Result<Org> {
        let _invalidate = self.cache.on_write();
        let sql = format!(
            "UPDATE orgs SET slug = $3, name = $4, status = $5, parent_id = $6, branding = $7, \
             updated_at = $8, version = version + 1 WHERE id = $1 AND version = $2 \
             RETURNING {ORG_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(o.id.as_str())
            .bind(o.version)
            .bind(o.slug.as_str())
            .bind(o.name.as_str())
            .bind(o.status.as_str())
            .bind(o.parent_id.as_ref().map(|p| p.as_str().to_owned()))
            .bind(json(&o.branding)?)
            .bind(ms(o.updated_at))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "parent organization"))?;
        match rows.first() {
            Some(r) => org_from(r),
            None => Err(self.cas_miss(ORG_EXISTS, &[o.id.as_str()]).await),
        }
    }

    async fn delete_org(&self, id: &OrgId, cascade: bool) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        let found = sqlx::query(ORG_EXISTS)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if found.is_none() {
            return Err(StorageError::NotFound);
        }
        if cascade {
            // The whole subtree in one statement; what the orgs own goes with them through
            // ON DELETE CASCADE. A subtree deeper than MAX_ORG_DEPTH leaves a child whose
            // parent would vanish: the foreign key refuses and nothing is deleted.
            sqlx::query(
                "WITH RECURSIVE sub(id, depth) AS ( \
                   SELECT id, 0 FROM orgs WHERE id = $1 \
                   UNION ALL \
                   SELECT o.id, s.depth + 1 FROM orgs o JOIN sub s ON o.parent_id = s.id \
                   WHERE s.depth < $2) \
                 DELETE FROM orgs WHERE id IN (SELECT id FROM sub)",
            )
            .bind(id.as_str())
            .bind(MAX_ORG_DEPTH)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.delete_err(e, "child organizations"))?;
        } else {
            for (sql, what) in [
                (
                    "SELECT 1 FROM orgs WHERE parent_id = $1 LIMIT 1",
                    "child organizations",
                ),
                (
                    "SELECT 1 FROM memberships WHERE org_id = $1 LIMIT 1",
                    "members",
                ),
            ] {
                let used = sqlx::query(sql)
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                if used.is_some() {
                    return Err(StorageError::InUse(what.into()));
                }
            }
            sqlx::query("DELETE FROM orgs WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.delete_err(e, "child organizations"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn org_ancestors(&self, id: &OrgId) -> Result<Vec<OrgId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE anc(id, parent_id, depth) AS ( \
               SELECT id, parent_id, 0 FROM orgs WHERE id = $1 \
               UNION ALL \
               SELECT o.id, o.parent_id, a.depth + 1 FROM orgs o JOIN anc a ON o.id = a.parent_id \
               WHERE a.depth < $2) \
             SELECT id FROM anc WHERE depth > 0 ORDER BY depth",
        )
        .bind(id.as_str())
        .bind(MAX_ORG_DEPTH)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| col_parse(r, "id", OrgId::parse))
            .collect()
    }

    async fn org_descendants(&self, id: &OrgId) -> Result<Vec<OrgId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE sub(id, depth) AS ( \
               SELECT id, 1 FROM orgs WHERE parent_id = $1 \
               UNION ALL \
               SELECT o.id, s.depth + 1 FROM orgs o JOIN sub s ON o.parent_id = s.id \
               WHERE s.depth < $2) \
             SELECT id FROM sub ORDER BY depth, id",
        )
        .bind(id.as_str())
        .bind(MAX_ORG_DEPTH)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| col_parse(r, "id", OrgId::parse))
            .collect()
    }
}
