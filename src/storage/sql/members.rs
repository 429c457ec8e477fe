//! `MembershipStore` on the SQL backends: who belongs to which org with which roles, and the
//! member context (user, membership, org in one read) that token issuance uses.
//!
//! Owns: the `memberships` queries. Must not touch: users or orgs beyond joined reads.

use super::SqlStore;
use super::errors::*;
use super::member_search;
use super::orgs::{ORG_COLS, org_from_p};
use super::query::*;
use super::users::{USER_COLS, user_from, user_from_p};
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const MEMBERSHIP_COLS: &str =
    "org_id, user_id, status, roles, org_roles, version, created_at, updated_at";

pub(super) fn membership_from(r: &AnyRow) -> Result<Membership> {
    membership_from_p(r, Prefix::NONE)
}

pub(super) fn membership_from_p(r: &AnyRow, p: Prefix) -> Result<Membership> {
    Ok(Membership {
        org_id: col_parse(r, &p.n("org_id"), OrgId::parse)?,
        user_id: col_parse(r, &p.n("user_id"), UserId::parse)?,
        status: col_enum(r, &p.n("status"))?,
        roles: col_json(r, &p.n("roles"))?,
        org_roles: col_json(r, &p.n("org_roles"))?,
        version: col(r, &p.n("version"))?,
        created_at: col_ts(r, &p.n("created_at"))?,
        updated_at: col_ts(r, &p.n("updated_at"))?,
    })
}

pub(super) const INSERT_MEMBERSHIP: &str = "INSERT INTO memberships (org_id, user_id, status, roles, \
     org_roles, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(super) async fn write_membership(
    conn: &mut DbConn,
    m: &Membership,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_MEMBERSHIP} ON CONFLICT (org_id, user_id) DO UPDATE SET \
             status = excluded.status, roles = excluded.roles, org_roles = excluded.org_roles, \
             updated_at = excluded.updated_at, version = memberships.version + 1"
        ))
    } else {
        Cow::Borrowed(INSERT_MEMBERSHIP)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(m.org_id.as_str())
        .bind(m.user_id.as_str())
        .bind(m.status.as_str())
        .bind(json(&m.roles)?)
        .bind(json(&m.org_roles)?)
        .bind(m.version)
        .bind(ms(m.created_at))
        .bind(ms(m.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// Delete the membership of (org, user) if it is `invited`.
pub(super) async fn remove_invited(
    conn: &mut DbConn,
    org: &OrgId,
    user: &UserId,
) -> std::result::Result<u64, sqlx::Error> {
    let res =
        sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2 AND status = $3")
            .bind(org.as_str())
            .bind(user.as_str())
            .bind(MemberStatus::Invited.as_str())
            .execute(&mut *conn)
            .await?;
    Ok(res.rows_affected())
}

/// Insert `m`, or turn the existing `invited` membership of (org, user) into `m`. Returns the
/// rows written: 0 when a membership in another status exists (left untouched).
pub(super) async fn activate_invited(
    conn: &mut DbConn,
    m: &Membership,
) -> std::result::Result<u64, WriteError> {
    let sql = format!(
        "{INSERT_MEMBERSHIP} ON CONFLICT (org_id, user_id) DO UPDATE SET \
         status = excluded.status, roles = excluded.roles, org_roles = excluded.org_roles, \
         updated_at = excluded.updated_at, version = memberships.version + 1 \
         WHERE memberships.status = 'invited'"
    );
    let res = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.org_id.as_str())
        .bind(m.user_id.as_str())
        .bind(m.status.as_str())
        .bind(json(&m.roles)?)
        .bind(json(&m.org_roles)?)
        .bind(m.version)
        .bind(ms(m.created_at))
        .bind(ms(m.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

const CTX_U: Prefix = Prefix("u_");
const CTX_M: Prefix = Prefix("m_");
const CTX_O: Prefix = Prefix("o_");

/// The user, their membership and its org, for the org and user named by the placeholders
/// `org` and `user` (`"$1"`, …): one joined read (every code exchange and refresh needs it).
pub(super) fn member_context_sql(org: &str, user: &str) -> String {
    format!(
        "SELECT {}, {}, {} FROM memberships m JOIN users u ON u.id = m.user_id \
         JOIN orgs o ON o.id = m.org_id WHERE m.org_id = {org} AND m.user_id = {user}",
        aliased(USER_COLS, "u", CTX_U),
        aliased(MEMBERSHIP_COLS, "m", CTX_M),
        aliased(ORG_COLS, "o", CTX_O),
    )
}

/// A row of [`member_context_sql`].
pub(super) fn member_context_from(r: &AnyRow) -> Result<(User, Membership, Org)> {
    Ok((
        user_from_p(r, CTX_U)?,
        membership_from_p(r, CTX_M)?,
        org_from_p(r, CTX_O)?,
    ))
}

#[async_trait]
impl MembershipStore for SqlStore {
    async fn create_membership(&self, m: &Membership) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = write_membership(&mut conn, m, false).await;
        drop(conn);
        match res {
            Ok(_) => Ok(()),
            Err(WriteError::Sql(e)) if self.is_fk(&e) => Err(self
                .missing(
                    &[("user", USER_EXISTS, &[m.user_id.as_str()])],
                    "organization",
                )
                .await),
            Err(e) => Err(self.write_error(e, "user or organization")),
        }
    }

    async fn get_membership(&self, org: &OrgId, user: &UserId) -> Result<Option<Membership>> {
        let sql =
            format!("SELECT {MEMBERSHIP_COLS} FROM memberships WHERE org_id = $1 AND user_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(membership_from)
            .transpose()
    }

    async fn list_members(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Membership>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE org_id = "
        ));
        q.text(org.as_str());
        if let Some(after) = &page.after {
            q.push(" AND user_id > ").text(after);
        }
        q.push(" ORDER BY user_id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows
            .iter()
            .map(membership_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |m| m.user_id.to_string()))
    }

    async fn search_members(
        &self,
        org: &OrgId,
        filter: &MemberFilter,
        page: &PageRequest,
    ) -> Result<Page<MemberRow>> {
        let limit = page.effective_limit();
        let cols = member_search::row_columns();
        let mut q = member_search::filtered(&cols, self.dialect, org, filter);
        if let Some(after) = &page.after {
            q.push(" AND m.user_id > ").text(after);
        }
        q.push(" ORDER BY m.user_id LIMIT ")
            .int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows
            .iter()
            .map(member_search::row_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |r| r.membership.user_id.to_string()))
    }

    async fn count_members(&self, org: &OrgId, filter: &MemberFilter) -> Result<u64> {
        let q = member_search::filtered("COUNT(*) AS n", self.dialect, org, filter);
        let row = q.build().fetch_one(&self.pool).await.map_err(backend)?;
        let n: i64 = col(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_memberships_for_user(&self, user: &UserId) -> Result<Vec<Membership>> {
        let sql =
            format!("SELECT {MEMBERSHIP_COLS} FROM memberships WHERE user_id = $1 ORDER BY org_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(membership_from).collect()
    }

    async fn list_memberships_for_email(&self, email: &Email) -> Result<Vec<Membership>> {
        // users_email_idx finds the users, memberships_user_idx their memberships.
        let sql = format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE user_id IN \
             (SELECT id FROM users WHERE email = $1) ORDER BY org_id, user_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(membership_from).collect()
    }

    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<(User, Membership)>> {
        // Users are tenant-level and emails are not unique among them; the first matching
        // member by user id wins, so the answer is stable.
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE email = $2 AND id IN \
             (SELECT user_id FROM memberships WHERE org_id = $1) ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from(&row)?;
        Ok(self.get_membership(org, &user.id).await?.map(|m| (user, m)))
    }

    async fn get_member_context(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<(User, Membership, Org)>> {
        // Built once: this read is on every code exchange the one-step path does not serve.
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| member_context_sql("$1", "$2"));
        let row = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(member_context_from).transpose()
    }

    async fn update_membership(&self, m: &Membership) -> Result<Membership> {
        let sql = format!(
            "UPDATE memberships SET status = $4, roles = $5, org_roles = $6, updated_at = $7, \
             version = version + 1 WHERE org_id = $1 AND user_id = $2 AND version = $3 \
             RETURNING {MEMBERSHIP_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(m.org_id.as_str())
            .bind(m.user_id.as_str())
            .bind(m.version)
            .bind(m.status.as_str())
            .bind(json(&m.roles)?)
            .bind(json(&m.org_roles)?)
            .bind(ms(m.updated_at))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        match rows.first() {
            Some(r) => membership_from(r),
            None => Err(self
                .cas_miss(
                    "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2",
                    &[m.org_id.as_str(), m.user_id.as_str()],
                )
                .await),
        }
    }

    async fn delete_membership(&self, org: &OrgId, user: &UserId) -> Result<()> {
        let res = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.as_str())
            .bind(user.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}
