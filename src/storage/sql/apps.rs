//! `AppStore` and `RoleStore` on the SQL backends: apps, their roles and role groups (a
//! group's roles are the join table `role_group_roles`, so a role inside a group cannot be
//! deleted).
//!
//! Owns: the `apps`, `roles`, `role_groups` and `role_group_roles` queries. Must not touch:
//! other tables (links reference groups through `links.rs`).

use super::SqlStore;
use super::errors::*;
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const APP_COLS: &str = "id, name, client_id, client_type, client_secret_hash, redirect_uris, \
     post_logout_redirect_uris, signing_alg, token_lifetimes, invite_ttl_secs, revoke_on, \
     auth_policy, admin_api, backchannel_logout, mfa, version, created_at, updated_at";

pub(super) fn app_from(r: &AnyRow) -> Result<App> {
    Ok(App {
        id: col_parse(r, "id", AppId::parse)?,
        name: col(r, "name")?,
        client_id: col_parse(r, "client_id", ClientId::parse)?,
        client_type: col_enum(r, "client_type")?,
        client_secret_hash: col_opt_parse(r, "client_secret_hash", token_hash)?,
        redirect_uris: col_json(r, "redirect_uris")?,
        post_logout_redirect_uris: col_json(r, "post_logout_redirect_uris")?,
        signing_alg: col_parse(r, "signing_alg", SigningAlg::parse)?,
        token_lifetimes: col_json(r, "token_lifetimes")?,
        invite_ttl_secs: col(r, "invite_ttl_secs")?,
        revoke_on: col_json(r, "revoke_on")?,
        auth_policy: col_json(r, "auth_policy")?,
        admin_api: col_json(r, "admin_api")?,
        backchannel_logout: col_opt_json(r, "backchannel_logout")?,
        mfa: col_parse(r, "mfa", mfa_policy)?,
        version: col(r, "version")?,
        created_at: col_ts(r, "created_at")?,
        updated_at: col_ts(r, "updated_at")?,
    })
}

pub(super) fn role_from(r: &AnyRow) -> Result<Role> {
    Ok(Role {
        app_id: col_parse(r, "app_id", AppId::parse)?,
        value: col_parse(r, "value", RoleValue::parse)?,
        name: col(r, "name")?,
        description: col(r, "description")?,
    })
}

/// Role groups are read joined with their roles: one row per (group, role), `role_value`
/// NULL for an empty group. Rows must be ordered by group.
pub(super) const GROUP_SELECT: &str = "SELECT g.app_id, g.id, g.name, g.version, g.created_at, \
     g.updated_at, r.role_value FROM role_groups g LEFT JOIN role_group_roles r \
     ON r.app_id = g.app_id AND r.group_id = g.id";

pub(super) fn groups_from(rows: &[AnyRow]) -> Result<Vec<RoleGroup>> {
    let mut out: Vec<RoleGroup> = Vec::new();
    for r in rows {
        let id = col_parse(r, "id", RoleGroupId::parse)?;
        let role = col_opt_parse(r, "role_value", RoleValue::parse)?;
        match out.last_mut() {
            Some(g) if g.id == id => {
                g.roles.extend(role);
            }
            _ => out.push(RoleGroup {
                id,
                app_id: col_parse(r, "app_id", AppId::parse)?,
                name: col(r, "name")?,
                roles: role.into_iter().collect(),
                version: col(r, "version")?,
                created_at: col_ts(r, "created_at")?,
                updated_at: col_ts(r, "updated_at")?,
            }),
        }
    }
    Ok(out)
}

pub(super) const INSERT_APP: &str = "INSERT INTO apps (id, name, client_id, client_type, \
     client_secret_hash, redirect_uris, post_logout_redirect_uris, signing_alg, token_lifetimes, \
     invite_ttl_secs, revoke_on, auth_policy, admin_api, version, created_at, updated_at, \
     backchannel_logout, mfa) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

pub(super) const UPSERT_APP_TAIL: &str = " ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     client_id = excluded.client_id, client_type = excluded.client_type, \
     client_secret_hash = excluded.client_secret_hash, redirect_uris = excluded.redirect_uris, \
     post_logout_redirect_uris = excluded.post_logout_redirect_uris, \
     signing_alg = excluded.signing_alg, token_lifetimes = excluded.token_lifetimes, \
     invite_ttl_secs = excluded.invite_ttl_secs, revoke_on = excluded.revoke_on, \
     auth_policy = excluded.auth_policy, admin_api = excluded.admin_api, updated_at = excluded.updated_at, \
     backchannel_logout = excluded.backchannel_logout, mfa = excluded.mfa, \
     version = apps.version + 1";

pub(super) async fn write_app(
    conn: &mut DbConn,
    a: &App,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!("{INSERT_APP}{UPSERT_APP_TAIL}"))
    } else {
        Cow::Borrowed(INSERT_APP)
    };
    let r = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(a.id.as_str())
        .bind(a.name.as_str())
        .bind(a.client_id.as_str())
        .bind(enum_name(&a.client_type)?)
        .bind(a.client_secret_hash.as_ref().map(|h| h.as_hex().to_owned()))
        .bind(json(&a.redirect_uris)?)
        .bind(json(&a.post_logout_redirect_uris)?)
        .bind(a.signing_alg.as_str())
        .bind(json(&a.token_lifetimes)?)
        .bind(a.invite_ttl_secs)
        .bind(json(&a.revoke_on)?)
        .bind(json(&a.auth_policy)?)
        .bind(json(&a.admin_api)?)
        .bind(a.version)
        .bind(ms(a.created_at))
        .bind(ms(a.updated_at))
        .bind(opt_json(a.backchannel_logout.as_ref())?)
        .bind(a.mfa.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

pub(super) async fn write_role(
    conn: &mut DbConn,
    r: &Role,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        "INSERT INTO roles (app_id, value, name, description) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (app_id, value) DO UPDATE SET name = excluded.name, \
         description = excluded.description"
    } else {
        "INSERT INTO roles (app_id, value, name, description) VALUES ($1, $2, $3, $4)"
    };
    let res = sqlx::query(sql)
        .bind(r.app_id.as_str())
        .bind(r.value.as_str())
        .bind(r.name.as_str())
        .bind(r.description.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

pub(super) async fn write_group_row(
    conn: &mut DbConn,
    g: &RoleGroup,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        "INSERT INTO role_groups (app_id, id, name, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id, id) DO UPDATE SET \
         name = excluded.name, updated_at = excluded.updated_at, \
         version = role_groups.version + 1"
    } else {
        "INSERT INTO role_groups (app_id, id, name, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    };
    let res = sqlx::query(sql)
        .bind(g.app_id.as_str())
        .bind(g.id.as_str())
        .bind(g.name.as_str())
        .bind(g.version)
        .bind(ms(g.created_at))
        .bind(ms(g.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// Replace the roles of a group (the group row exists).
pub(super) async fn replace_group_roles(
    conn: &mut DbConn,
    app: &AppId,
    group: &RoleGroupId,
    roles: &BTreeSet<RoleValue>,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM role_group_roles WHERE app_id = $1 AND group_id = $2")
        .bind(app.as_str())
        .bind(group.as_str())
        .execute(&mut *conn)
        .await?;
    for r in roles {
        sqlx::query(
            "INSERT INTO role_group_roles (app_id, group_id, role_value) VALUES ($1, $2, $3)",
        )
        .bind(app.as_str())
        .bind(group.as_str())
        .bind(r.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl AppStore for SqlStore {
    async fn create_app(&self, app: &App) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_app(&mut conn, app, false)
            .await
            .map_err(|e| self.write_error(e, "app"))?;
        Ok(())
    }

    /// Through the configuration cache: read at every SAML sign-in (`continue`).
    async fn get_app(&self, id: &AppId) -> Result<Option<App>> {
        self.read_through(crate::storage::cache::APPS_BY_ID, id, async {
            let sql = format!("SELECT {APP_COLS} FROM apps WHERE id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(app_from)
                .transpose()
        })
        .await
    }

    async fn get_app_by_client_id(&self, client_id: &ClientId) -> Result<Option<App>> {
        self.read_through(crate::storage::cache::APPS, client_id, async {
            let sql = format!("SELECT {APP_COLS} FROM apps WHERE client_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(client_id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(app_from)
                .transpose()
        })
        .await
    }

    async fn list_apps(&self, page: &PageRequest) -> Result<Page<App>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!("SELECT {APP_COLS} FROM apps"));
        if let Some(after) = &page.after {
            q.push(" WHERE id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(app_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |a| a.id.to_string()))
    }

    async fn update_app(&self, a: &App) -> Result<App> {
        let _invalidate = self.cache.on_write();
        let sql = format!(
            "UPDATE apps SET name = $3, client_id = $4, client_type = $5, \
             client_secret_hash = $6, redirect_uris = $7, post_logout_redirect_uris = $8, \
             signing_alg = $9, token_lifetimes = $10, invite_ttl_secs = $11, revoke_on = $12, \
             auth_policy = $13, admin_api = $14, updated_at = $15, backchannel_logout = $16, \
             mfa = $17, version = version + 1 \
             WHERE id = $1 AND version = $2 RETURNING {APP_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a.id.as_str())
            .bind(a.version)
            .bind(a.name.as_str())
            .bind(a.client_id.as_str())
            .bind(enum_name(&a.client_type)?)
            .bind(a.client_secret_hash.as_ref().map(|h| h.as_hex().to_owned()))
            .bind(json(&a.redirect_uris)?)
            .bind(json(&a.post_logout_redirect_uris)?)
            .bind(a.signing_alg.as_str())
            .bind(json(&a.token_lifetimes)?)
            .bind(a.invite_ttl_secs)
            .bind(json(&a.revoke_on)?)
            .bind(json(&a.auth_policy)?)
            .bind(json(&a.admin_api)?)
            .bind(ms(a.updated_at))
            .bind(opt_json(a.backchannel_logout.as_ref())?)
            .bind(a.mfa.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "app"))?;
        match rows.first() {
            Some(r) => app_from(r),
            None => Err(self.cas_miss(APP_EXISTS, &[a.id.as_str()]).await),
        }
    }

    async fn delete_app(&self, id: &AppId, cascade: bool) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        let found = sqlx::query(APP_EXISTS)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if found.is_none() {
            return Err(StorageError::NotFound);
        }
        let users: [(&str, &'static str); 3] = [
            (
                "SELECT 1 FROM org_app_links WHERE app_id = $1 LIMIT 1",
                "organization links",
            ),
            (
                "SELECT 1 FROM role_groups WHERE app_id = $1 LIMIT 1",
                "role groups",
            ),
            ("SELECT 1 FROM roles WHERE app_id = $1 LIMIT 1", "roles"),
        ];
        if cascade {
            // Links first (their allowed groups go with them), then groups (their role lists
            // go with them), then roles; refresh families go with the app.
            for sql in [
                "DELETE FROM org_app_links WHERE app_id = $1",
                "DELETE FROM role_groups WHERE app_id = $1",
                "DELETE FROM roles WHERE app_id = $1",
            ] {
                sqlx::query(sql)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
        } else {
            for (sql, what) in users {
                let used = sqlx::query(sql)
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                if used.is_some() {
                    return Err(StorageError::InUse(what.into()));
                }
            }
        }
        sqlx::query("DELETE FROM apps WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.delete_err(e, "roles, role groups or organization links"))?;
        tx.commit().await.map_err(backend)
    }
}

#[async_trait]
impl RoleStore for SqlStore {
    async fn create_role(&self, role: &Role) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_role(&mut conn, role, false)
            .await
            .map_err(|e| self.write_error(e, "app"))?;
        Ok(())
    }

    async fn get_role(&self, app: &AppId, value: &RoleValue) -> Result<Option<Role>> {
        sqlx::query(
            "SELECT app_id, value, name, description FROM roles WHERE app_id = $1 AND value = $2",
        )
        .bind(app.as_str())
        .bind(value.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(role_from)
        .transpose()
    }

    async fn list_roles(&self, app: &AppId) -> Result<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT app_id, value, name, description FROM roles WHERE app_id = $1 ORDER BY value",
        )
        .bind(app.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(role_from).collect()
    }

    async fn update_role(&self, role: &Role) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let res = sqlx::query(
            "UPDATE roles SET name = $3, description = $4 WHERE app_id = $1 AND value = $2",
        )
        .bind(role.app_id.as_str())
        .bind(role.value.as_str())
        .bind(role.name.as_str())
        .bind(role.description.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_role(&self, app: &AppId, value: &RoleValue) -> Result<()> {
        let _invalidate = self.cache.on_write();
        // A role inside a group is protected by role_group_roles' foreign key.
        let res = sqlx::query("DELETE FROM roles WHERE app_id = $1 AND value = $2")
            .bind(app.as_str())
            .bind(value.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| self.delete_err(e, "role groups"))?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn create_role_group(&self, g: &RoleGroup) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        if let Err(e) = write_group_row(&mut tx, g, false).await {
            return Err(self.write_error(e, "app"));
        }
        if let Err(e) = replace_group_roles(&mut tx, &g.app_id, &g.id, &g.roles).await {
            return Err(self.write_err(e, "role"));
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_role_group(&self, app: &AppId, id: &RoleGroupId) -> Result<Option<RoleGroup>> {
        let sql = format!("{GROUP_SELECT} WHERE g.app_id = $1 AND g.id = $2 ORDER BY r.role_value");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app.as_str())
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(groups_from(&rows)?.into_iter().next())
    }

    async fn list_role_groups(&self, app: &AppId) -> Result<Vec<RoleGroup>> {
        let load = async {
            let sql = format!("{GROUP_SELECT} WHERE g.app_id = $1 ORDER BY g.id, r.role_value");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(app.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            groups_from(&rows).map(Some)
        };
        Ok(self
            .read_through(crate::storage::cache::ROLE_GROUPS, app, load)
            .await?
            .unwrap_or_default())
    }

    async fn update_role_group(&self, g: &RoleGroup) -> Result<RoleGroup> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE role_groups SET name = $4, updated_at = $5, version = version + 1 \
             WHERE app_id = $1 AND id = $2 AND version = $3 \
             RETURNING app_id, id, name, version, created_at, updated_at",
        )
        .bind(g.app_id.as_str())
        .bind(g.id.as_str())
        .bind(g.version)
        .bind(g.name.as_str())
        .bind(ms(g.updated_at))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row.first() else {
            tx.rollback().await.map_err(backend)?;
            return Err(self
                .cas_miss(
                    "SELECT 1 FROM role_groups WHERE app_id = $1 AND id = $2",
                    &[g.app_id.as_str(), g.id.as_str()],
                )
                .await);
        };
        let stored = RoleGroup {
            id: col_parse(row, "id", RoleGroupId::parse)?,
            app_id: col_parse(row, "app_id", AppId::parse)?,
            name: col(row, "name")?,
            roles: g.roles.clone(),
            version: col(row, "version")?,
            created_at: col_ts(row, "created_at")?,
            updated_at: col_ts(row, "updated_at")?,
        };
        if let Err(e) = replace_group_roles(&mut tx, &g.app_id, &g.id, &g.roles).await {
            return Err(self.write_err(e, "role"));
        }
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn delete_role_group(&self, app: &AppId, id: &RoleGroupId) -> Result<()> {
        let _invalidate = self.cache.on_write();
        // A group allowed by a link is protected by link_role_groups' foreign key.
        let res = sqlx::query("DELETE FROM role_groups WHERE app_id = $1 AND id = $2")
            .bind(app.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| self.delete_err(e, "organization links"))?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}
