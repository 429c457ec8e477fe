//! `LinkStore` on the SQL backends: org–app links and the role groups each allows (the join
//! table `link_role_groups`, so an allowed group cannot be deleted).
//!
//! Owns: the `org_app_links` and `link_role_groups` queries. Must not touch: other tables.

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

/// Links are read joined with their allowed role groups, like role groups with their roles.
pub(super) const LINK_SELECT: &str = "SELECT l.org_id, l.app_id, l.auth_policy, l.jit, l.default_roles, \
     l.mfa, l.version, l.created_at, l.updated_at, g.group_id FROM org_app_links l \
     LEFT JOIN link_role_groups g ON g.org_id = l.org_id AND g.app_id = l.app_id";

pub(super) fn links_from(rows: &[AnyRow]) -> Result<Vec<OrgAppLink>> {
    let mut out: Vec<OrgAppLink> = Vec::new();
    for r in rows {
        let org_id = col_parse(r, "org_id", OrgId::parse)?;
        let app_id = col_parse(r, "app_id", AppId::parse)?;
        let group = col_opt_parse(r, "group_id", RoleGroupId::parse)?;
        match out.last_mut() {
            Some(l) if l.org_id == org_id && l.app_id == app_id => {
                l.allowed_role_groups.extend(group);
            }
            _ => out.push(OrgAppLink {
                org_id,
                app_id,
                allowed_role_groups: group.into_iter().collect(),
                auth_policy: col_json(r, "auth_policy")?,
                jit: col_bool(r, "jit")?,
                default_roles: col_json(r, "default_roles")?,
                mfa: col_opt_parse(r, "mfa", mfa_policy)?,
                version: col(r, "version")?,
                created_at: col_ts(r, "created_at")?,
                updated_at: col_ts(r, "updated_at")?,
            }),
        }
    }
    Ok(out)
}

pub(super) const INSERT_LINK: &str = "INSERT INTO org_app_links (org_id, app_id, auth_policy, jit, \
     default_roles, version, created_at, updated_at, mfa) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(super) async fn write_link_row(
    conn: &mut DbConn,
    l: &OrgAppLink,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_LINK} ON CONFLICT (org_id, app_id) DO UPDATE SET \
             auth_policy = excluded.auth_policy, jit = excluded.jit, \
             default_roles = excluded.default_roles, updated_at = excluded.updated_at, \
             mfa = excluded.mfa, version = org_app_links.version + 1"
        ))
    } else {
        Cow::Borrowed(INSERT_LINK)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(l.org_id.as_str())
        .bind(l.app_id.as_str())
        .bind(json(&l.auth_policy)?)
        .bind(l.jit)
        .bind(json(&l.default_roles)?)
        .bind(l.version)
        .bind(ms(l.created_at))
        .bind(ms(l.updated_at))
        .bind(l.mfa.map(|m| m.as_str().to_owned()))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// Replace the role groups a link allows (the link row exists).
pub(super) async fn replace_link_groups(
    conn: &mut DbConn,
    org: &OrgId,
    app: &AppId,
    groups: &BTreeSet<RoleGroupId>,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM link_role_groups WHERE org_id = $1 AND app_id = $2")
        .bind(org.as_str())
        .bind(app.as_str())
        .execute(&mut *conn)
        .await?;
    for g in groups {
        sqlx::query("INSERT INTO link_role_groups (org_id, app_id, group_id) VALUES ($1, $2, $3)")
            .bind(org.as_str())
            .bind(app.as_str())
            .bind(g.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl LinkStore for SqlStore {
    async fn create_link(&self, l: &OrgAppLink) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        match write_link_row(&mut tx, l, false).await {
            Ok(_) => {}
            Err(WriteError::Sql(e)) if self.is_fk(&e) => {
                tx.rollback().await.map_err(backend)?;
                return Err(self
                    .missing(&[("organization", ORG_EXISTS, &[l.org_id.as_str()])], "app")
                    .await);
            }
            Err(e) => return Err(self.write_error(e, "organization or app")),
        }
        if let Err(e) =
            replace_link_groups(&mut tx, &l.org_id, &l.app_id, &l.allowed_role_groups).await
        {
            return Err(self.write_err(e, "role group"));
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_link(&self, org: &OrgId, app: &AppId) -> Result<Option<OrgAppLink>> {
        let load = async {
            let sql =
                format!("{LINK_SELECT} WHERE l.org_id = $1 AND l.app_id = $2 ORDER BY g.group_id");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.as_str())
                .bind(app.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            Ok(links_from(&rows)?.into_iter().next())
        };
        self.read_through(
            crate::storage::cache::LINKS,
            &(org.clone(), app.clone()),
            load,
        )
        .await
    }

    async fn list_links_for_org(&self, org: &OrgId) -> Result<Vec<OrgAppLink>> {
        let sql = format!("{LINK_SELECT} WHERE l.org_id = $1 ORDER BY l.app_id, g.group_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        links_from(&rows)
    }

    async fn update_link(&self, l: &OrgAppLink) -> Result<OrgAppLink> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "UPDATE org_app_links SET auth_policy = $4, jit = $5, default_roles = $6, \
             updated_at = $7, mfa = $8, version = version + 1 \
             WHERE org_id = $1 AND app_id = $2 AND version = $3 \
             RETURNING org_id, app_id, auth_policy, jit, default_roles, mfa, version, \
             created_at, updated_at",
        )
        .bind(l.org_id.as_str())
        .bind(l.app_id.as_str())
        .bind(l.version)
        .bind(json(&l.auth_policy)?)
        .bind(l.jit)
        .bind(json(&l.default_roles)?)
        .bind(ms(l.updated_at))
        .bind(l.mfa.map(|m| m.as_str().to_owned()))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = rows.first() else {
            tx.rollback().await.map_err(backend)?;
            return Err(self
                .cas_miss(
                    "SELECT 1 FROM org_app_links WHERE org_id = $1 AND app_id = $2",
                    &[l.org_id.as_str(), l.app_id.as_str()],
                )
                .await);
        };
        let stored = OrgAppLink {
            org_id: col_parse(row, "org_id", OrgId::parse)?,
            app_id: col_parse(row, "app_id", AppId::parse)?,
            allowed_role_groups: l.allowed_role_groups.clone(),
            auth_policy: col_json(row, "auth_policy")?,
            jit: col_bool(row, "jit")?,
            default_roles: col_json(row, "default_roles")?,
            mfa: col_opt_parse(row, "mfa", mfa_policy)?,
            version: col(row, "version")?,
            created_at: col_ts(row, "created_at")?,
            updated_at: col_ts(row, "updated_at")?,
        };
        if let Err(e) =
            replace_link_groups(&mut tx, &l.org_id, &l.app_id, &l.allowed_role_groups).await
        {
            return Err(self.write_err(e, "role group"));
        }
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn delete_link(&self, org: &OrgId, app: &AppId) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query("DELETE FROM org_app_links WHERE org_id = $1 AND app_id = $2")
            .bind(org.as_str())
            .bind(app.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}
