//! `UserStore` on the SQL backends: users and their external identities (the federated
//! sign-in's returning-user read joins identity, user and membership in one query).
//!
//! Owns: the `users` and `external_identities` queries. Must not touch: memberships beyond
//! that joined read (`members.rs`).

use super::SqlStore;
use super::errors::*;
use super::members::{MEMBERSHIP_COLS, membership_from_p};
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use std::borrow::Cow;

pub(super) const USER_COLS: &str =
    "id, email, email_verified, name, password_hash, version, created_at, updated_at";

pub(super) fn user_from(r: &AnyRow) -> Result<User> {
    user_from_p(r, Prefix::NONE)
}

pub(super) fn user_from_p(r: &AnyRow, p: Prefix) -> Result<User> {
    Ok(User {
        id: col_parse(r, &p.n("id"), UserId::parse)?,
        email: col_parse(r, &p.n("email"), Email::parse)?,
        email_verified: col_bool(r, &p.n("email_verified"))?,
        name: col(r, &p.n("name"))?,
        password_hash: col::<Option<String>>(r, &p.n("password_hash"))?.map(Secret::new),
        version: col(r, &p.n("version"))?,
        created_at: col_ts(r, &p.n("created_at"))?,
        updated_at: col_ts(r, &p.n("updated_at"))?,
    })
}

pub(super) const IDENTITY_COLS: &str = "connection_id, issuer, subject, user_id, created_at";

pub(super) fn identity_from(r: &AnyRow) -> Result<ExternalIdentity> {
    Ok(ExternalIdentity {
        connection_id: col_parse(r, "connection_id", ConnectionId::parse)?,
        issuer: col(r, "issuer")?,
        subject: col(r, "subject")?,
        user_id: col_parse(r, "user_id", UserId::parse)?,
        created_at: col_ts(r, "created_at")?,
    })
}

pub(super) const INSERT_USER: &str = "INSERT INTO users (id, email, email_verified, name, password_hash, \
     version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(super) async fn write_user(
    conn: &mut DbConn,
    u: &User,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_USER} ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             email_verified = excluded.email_verified, name = excluded.name, \
             password_hash = excluded.password_hash, updated_at = excluded.updated_at, \
             version = users.version + 1"
        ))
    } else {
        Cow::Borrowed(INSERT_USER)
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql.into_owned()))
        .bind(u.id.as_str())
        .bind(u.email.as_str())
        .bind(u.email_verified)
        .bind(u.name.clone())
        .bind(u.password_hash.as_ref().map(|h| h.expose().to_owned()))
        .bind(u.version)
        .bind(ms(u.created_at))
        .bind(ms(u.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// One external identity (on a connection of the pool or a transaction).
pub(super) async fn insert_identity(
    conn: &mut DbConn,
    i: &ExternalIdentity,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO external_identities (connection_id, issuer, subject, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(i.connection_id.as_str())
    .bind(i.issuer.as_str())
    .bind(i.subject.as_str())
    .bind(i.user_id.as_str())
    .bind(ms(i.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// A failed identity insert as a `StorageError`. Reads on the pool to name a missing
    /// reference: call it after any transaction of the insert is gone.
    pub(super) async fn identity_error(
        &self,
        e: sqlx::Error,
        i: &ExternalIdentity,
    ) -> StorageError {
        if self.is_fk(&e) {
            self.missing(
                &[("connection", CONNECTION_EXISTS, &[i.connection_id.as_str()])],
                "user",
            )
            .await
        } else {
            self.write_err(e, "connection or user")
        }
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: &User) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = write_user(&mut conn, u, false).await;
        drop(conn);
        match res.map_err(|e| self.write_error(e, "user")) {
            Ok(_) => Ok(()),
            // Both keys may be taken: the id is the one to name (SQLite reports whichever
            // index it checked first).
            Err(StorageError::Duplicate(what))
                if what != "user id" && self.exists(USER_EXISTS, &[u.id.as_str()]).await? =>
            {
                Err(StorageError::Duplicate("user id".into()))
            }
            Err(e) => Err(e),
        }
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!("SELECT {USER_COLS} FROM users WHERE 1 = 1"));
        if let Some(email) = &filter.email {
            q.push(" AND email = ").text(email.as_str());
        }
        if let Some(after) = &page.after {
            q.push(" AND id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(user_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |u| u.id.to_string()))
    }

    async fn update_user(&self, u: &User) -> Result<User> {
        let sql = format!(
            "UPDATE users SET email = $3, email_verified = $4, name = $5, password_hash = $6, \
             updated_at = $7, version = version + 1 WHERE id = $1 AND version = $2 \
             RETURNING {USER_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(u.id.as_str())
            .bind(u.version)
            .bind(u.email.as_str())
            .bind(u.email_verified)
            .bind(u.name.clone())
            .bind(u.password_hash.as_ref().map(|h| h.expose().to_owned()))
            .bind(ms(u.updated_at))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "user"))?;
        match rows.first() {
            Some(r) => user_from(r),
            None => Err(self.cas_miss(USER_EXISTS, &[u.id.as_str()]).await),
        }
    }

    async fn delete_user(&self, id: &UserId) -> Result<()> {
        // Identities, memberships and refresh families go with the user (ON DELETE CASCADE).
        let res = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn create_identity(&self, i: &ExternalIdentity) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = insert_identity(&mut conn, i).await;
        drop(conn);
        match res {
            Ok(()) => Ok(()),
            Err(e) => Err(self.identity_error(e, i).await),
        }
    }

    async fn find_identity_member(
        &self,
        connection: &ConnectionId,
        issuer: &str,
        subject: &str,
        org: &OrgId,
    ) -> Result<Option<IdentityMember>> {
        const U: Prefix = Prefix("u_");
        const M: Prefix = Prefix("m_");
        // Built once: this read is on every returning federated sign-in.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {}, {}, {} FROM external_identities i \
                 LEFT JOIN users u ON u.id = i.user_id \
                 LEFT JOIN memberships m ON m.user_id = i.user_id AND m.org_id = $4 \
                 WHERE i.connection_id = $1 AND i.issuer = $2 AND i.subject = $3",
                aliased(IDENTITY_COLS, "i", Prefix::NONE),
                aliased(USER_COLS, "u", U),
                aliased(MEMBERSHIP_COLS, "m", M),
            )
        });
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(connection.as_str())
            .bind(issuer)
            .bind(subject)
            .bind(org.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let user = left_joined(&r, "u_id", || user_from_p(&r, U))?;
        let member = left_joined(&r, "m_user_id", || membership_from_p(&r, M))?;
        Ok(Some((identity_from(&r)?, user, member)))
    }

    async fn list_identities(&self, user: &UserId) -> Result<Vec<ExternalIdentity>> {
        let sql = format!(
            "SELECT {IDENTITY_COLS} FROM external_identities WHERE user_id = $1 \
             ORDER BY connection_id, issuer, subject"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(identity_from).collect()
    }

    async fn find_password_user(&self, email: &Email) -> Result<Option<User>> {
        // Served by the partial unique index `users_password_email_key`.
        let sql =
            format!("SELECT {USER_COLS} FROM users WHERE email = $1 AND password_hash IS NOT NULL");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(user_from)
            .transpose()
    }
}
