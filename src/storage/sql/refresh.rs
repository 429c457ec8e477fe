//! `RefreshStore` on the SQL backends: refresh-token families and their tokens. Creating a
//! family and rotating a token are single statements (triggers insert the first and the next
//! token), so concurrent rotations of one token have exactly one winner.
//!
//! Owns: the `refresh_families` and `refresh_tokens` queries. Must not touch: members (only
//! read, joined, for the claims of a refresh).

use super::errors::*;
use super::members::{MEMBERSHIP_COLS, membership_from_p};
use super::orgs::{ORG_COLS, org_from_p};
use super::query::*;
use super::users::{USER_COLS, user_from_p};
use super::values::*;
use super::{Dialect, SqlStore};
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;

pub(super) const FAMILY_COLS: &str = "f.id, f.app_id, f.user_id, f.org_id, f.session_id, f.auth_time, \
     f.amr, f.scope, f.idp, f.created_at, f.expires_at, f.revoked_at";

pub(super) fn family_from(r: &AnyRow) -> Result<RefreshFamily> {
    Ok(RefreshFamily {
        id: col_parse(r, "id", RefreshFamilyId::parse)?,
        app_id: col_parse(r, "app_id", AppId::parse)?,
        user_id: col_parse(r, "user_id", UserId::parse)?,
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        session_id: col(r, "session_id")?,
        auth_time: col_ts(r, "auth_time")?,
        amr: col_json(r, "amr")?,
        scope: col(r, "scope")?,
        idp: col_opt_parse(r, "idp", ConnectionId::parse)?,
        created_at: col_ts(r, "created_at")?,
        expires_at: col_ts(r, "expires_at")?,
        revoked_at: col_opt_ts(r, "revoked_at")?,
    })
}

/// A token joined with its family: the token's columns are prefixed `t_`.
/// The columns of a refresh token and its family, and the join they come from (macros, so
/// queries that extend them stay string literals).
macro_rules! token_family_cols {
    () => {
        "SELECT t.hash AS t_hash, t.family_id AS t_family_id, t.created_at AS t_created_at, \
         t.used_at AS t_used_at, f.id, f.app_id, f.user_id, f.org_id, f.session_id, \
         f.auth_time, f.amr, f.scope, f.idp, f.created_at, f.expires_at, f.revoked_at"
    };
}
macro_rules! token_family_from {
    () => {
        "FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id"
    };
}

/// A new family ($1–$12) and, through the `refresh_families_first_token` trigger (migration
/// 0007), its first token ($13): one statement, so a duplicate token hash fails it as a whole.
const CREATE_FAMILY: &str = "INSERT INTO refresh_families (id, app_id, user_id, org_id, \
     session_id, auth_time, amr, scope, idp, created_at, expires_at, revoked_at, first_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

fn bind_family<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: &RefreshFamily,
    first: &TokenHash,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    Ok(q.bind(f.id.as_str().to_owned())
        .bind(f.app_id.as_str().to_owned())
        .bind(f.user_id.as_str().to_owned())
        .bind(f.org_id.as_str().to_owned())
        .bind(f.session_id.clone())
        .bind(ms(f.auth_time))
        .bind(json(&f.amr)?)
        .bind(f.scope.clone())
        .bind(f.idp.as_ref().map(|c| c.as_str().to_owned()))
        .bind(ms(f.created_at))
        .bind(ms(f.expires_at))
        .bind(opt_ms(f.revoked_at))
        .bind(first.as_hex().to_owned()))
}

impl SqlStore {
    /// A failed family INSERT as a `StorageError`: which reference is missing, or a duplicate.
    async fn create_family_error(&self, e: sqlx::Error, f: &RefreshFamily) -> StorageError {
        if self.is_fk(&e) {
            return self
                .missing(
                    &[
                        ("app", APP_EXISTS, &[f.app_id.as_str()]),
                        ("user", USER_EXISTS, &[f.user_id.as_str()]),
                    ],
                    "organization",
                )
                .await;
        }
        self.write_err(e, "app, user or organization")
    }
}

/// The rotation of a refresh token ($1 presented, $2 now, $3 the successor's hash, $4 the app):
/// one statement; of any number of concurrent callers presenting one token, exactly one sees a
/// row affected (SQLite takes the write lock for the whole statement; PostgreSQL re-checks
/// `used_at IS NULL` after waiting on the row lock). Setting `next_hash` fires the
/// `refresh_tokens_rotate` trigger (migration 0006), which inserts the successor into the
/// presented token's family, created at `now`, within this same statement. A duplicate
/// successor hash fails the whole statement.
const ROTATE: &str = "UPDATE refresh_tokens SET used_at = $2, next_hash = $3 \
     WHERE hash = $1 AND used_at IS NULL \
     AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.id = refresh_tokens.family_id \
     AND f.revoked_at IS NULL AND f.expires_at > $2 AND ($4 IS NULL OR f.app_id = $4))";

const U: Prefix = Prefix("u_");
const M: Prefix = Prefix("m_");
const O: Prefix = Prefix("o_");

/// The token hashed $1 with its family and the family's member (user, membership, org; left
/// joined), plus `extra` columns (`", expr AS name"` or empty).
fn in_context(extra: &str) -> String {
    format!(
        concat!(
            token_family_cols!(),
            ", {}, {}, {}{} ",
            token_family_from!(),
            " LEFT JOIN memberships m ON m.org_id = f.org_id AND m.user_id = f.user_id \
             LEFT JOIN users u ON u.id = m.user_id LEFT JOIN orgs o ON o.id = m.org_id \
             WHERE t.hash = $1"
        ),
        aliased(USER_COLS, "u", U),
        aliased(MEMBERSHIP_COLS, "m", M),
        aliased(ORG_COLS, "o", O),
        extra,
    )
}

fn in_context_from(r: &AnyRow) -> Result<RefreshInContext> {
    let member = left_joined(r, "m_user_id", || {
        Ok((
            user_from_p(r, U)?,
            membership_from_p(r, M)?,
            org_from_p(r, O)?,
        ))
    })?;
    Ok((token_from(r)?, family_from(r)?, member))
}

pub(super) fn token_from(r: &AnyRow) -> Result<RefreshToken> {
    Ok(RefreshToken {
        hash: col_parse(r, "t_hash", token_hash)?,
        family_id: col_parse(r, "t_family_id", RefreshFamilyId::parse)?,
        created_at: col_ts(r, "t_created_at")?,
        used_at: col_opt_ts(r, "t_used_at")?,
    })
}

#[async_trait]
impl RefreshStore for SqlStore {
    async fn create_family(&self, f: &RefreshFamily, first: &TokenHash) -> Result<()> {
        // One statement: the trigger `refresh_families_first_token` (migration 0007) inserts
        // the first token, so a duplicate token hash fails the family's INSERT as a whole.
        let res = bind_family(sqlx::query(CREATE_FAMILY), f, first)?
            .execute(&self.pool)
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => Err(self.create_family_error(e, f).await),
        }
    }

    async fn create_family_in_context(
        &self,
        f: &RefreshFamily,
        first: &TokenHash,
    ) -> Result<Option<(User, Membership, Org)>> {
        // One round trip, as `rotate_refresh_in_context`: SQLite runs the INSERT and the read
        // as two statements of one query; PostgreSQL the INSERT in a data-modifying WITH.
        static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{CREATE_FAMILY}; {}",
                super::members::member_context_sql("$4", "$3")
            )
        });
        static POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH ins AS ({CREATE_FAMILY} RETURNING 1) {}",
                super::members::member_context_sql("$4", "$3")
            )
        });
        let sql = match self.dialect {
            Dialect::Sqlite => SQLITE.as_str(),
            Dialect::Postgres => POSTGRES.as_str(),
        };
        // `fetch_all`, as in `rotate_refresh_in_context`.
        let res = bind_family(sqlx::query(sqlx::AssertSqlSafe(sql)), f, first)?
            .fetch_all(&self.pool)
            .await;
        match res {
            Ok(rows) => rows
                .first()
                .map(super::members::member_context_from)
                .transpose(),
            Err(e) => Err(self.create_family_error(e, f).await),
        }
    }

    async fn get_family(&self, id: &RefreshFamilyId) -> Result<Option<RefreshFamily>> {
        let sql = format!("SELECT {FAMILY_COLS} FROM refresh_families f WHERE f.id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(family_from)
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome> {
        // One statement, the atomic step ([`ROTATE`], for any app).
        let marked = sqlx::query(ROTATE)
            .bind(presented.as_hex())
            .bind(ms(now))
            .bind(next.as_hex())
            .bind(None::<String>)
            .execute(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "refresh token family"))?
            .rows_affected();
        if marked == 1 {
            return Ok(RotateOutcome::Rotated);
        }
        // Not rotated: tell a reused token of a live family from an unknown or dead one.
        const SQL: &str = concat!(
            token_family_cols!(),
            " ",
            token_family_from!(),
            " WHERE t.hash = $1"
        );
        let row = sqlx::query(SQL)
            .bind(presented.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(RotateOutcome::Invalid);
        };
        let token = token_from(&row)?;
        let family = family_from(&row)?;
        let live = family.revoked_at.is_none() && family.expires_at > now;
        Ok(match token.used_at {
            Some(used_at) if live => RotateOutcome::AlreadyUsed {
                family: Box::new(family),
                used_at,
            },
            _ => RotateOutcome::Invalid,
        })
    }

    async fn find_refresh(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(RefreshToken, RefreshFamily)>> {
        const SQL: &str = concat!(
            token_family_cols!(),
            " ",
            token_family_from!(),
            " WHERE t.hash = $1"
        );
        let row = sqlx::query(SQL)
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => Ok(Some((token_from(&r)?, family_from(&r)?))),
            None => Ok(None),
        }
    }

    async fn find_refresh_in_context(&self, hash: &TokenHash) -> Result<Option<RefreshInContext>> {
        // Built once: this read is on every refresh the one-step path does not serve.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| in_context(""));
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        in_context_from(&r).map(Some)
    }

    async fn rotate_refresh_in_context(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        app: &AppId,
        now: OffsetDateTime,
    ) -> Result<Option<(bool, RefreshInContext)>> {
        // One round trip. SQLite: the rotation and the read as two statements of one query
        // (sqlx runs them in one call of the connection's worker thread; `changes()` is the
        // UPDATE's row count — the trigger's insert is not counted). PostgreSQL: the rotation
        // in a data-modifying WITH (its trigger fires as for a plain UPDATE); the SELECT sees
        // the row as it was before, so the token's `used_at` is set here below.
        static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("{ROTATE}; {}", in_context(", changes() AS rotated"))
        });
        static POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH upd AS ({ROTATE} RETURNING 1) {}",
                in_context(", (SELECT COUNT(*) FROM upd) AS rotated")
            )
        });
        let sql = match self.dialect {
            Dialect::Sqlite => SQLITE.as_str(),
            Dialect::Postgres => POSTGRES.as_str(),
        };
        // `fetch_all`: sqlx's `fetch_optional` over the `Any` driver stops at SQLite's first
        // result, which is the UPDATE's (no rows).
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(presented.as_hex())
            .bind(ms(now))
            .bind(next.as_hex())
            .bind(app.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "refresh token family"))?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let rotated = col::<i64>(r, "rotated")? == 1;
        let (mut token, family, member) = in_context_from(r)?;
        if rotated {
            token.used_at = Some(trunc_millis(now));
        }
        Ok(Some((rotated, (token, family, member))))
    }

    async fn revoke_family(&self, id: &RefreshFamilyId, now: OffsetDateTime) -> Result<()> {
        let res = sqlx::query(
            "UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_str())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0
            && !self
                .exists(
                    "SELECT 1 FROM refresh_families WHERE id = $1",
                    &[id.as_str()],
                )
                .await?
        {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn revoke_member_families(
        &self,
        org: &OrgId,
        user: &UserId,
        apps: Option<&BTreeSet<AppId>>,
        now: OffsetDateTime,
    ) -> Result<u64> {
        if apps.is_some_and(|a| a.is_empty()) {
            return Ok(0);
        }
        let mut q = DynQuery::new("UPDATE refresh_families SET revoked_at = ");
        q.int(ms(now))
            .push(" WHERE revoked_at IS NULL AND expires_at > ")
            .int(ms(now))
            .push(" AND org_id = ")
            .text(org.as_str())
            .push(" AND user_id = ")
            .text(user.as_str());
        push_app_filter(&mut q, apps);
        self.revoke_and_notify(q, now).await
    }

    async fn revoke_org_families(
        &self,
        org: &OrgId,
        apps: Option<&BTreeSet<AppId>>,
        now: OffsetDateTime,
    ) -> Result<u64> {
        if apps.is_some_and(|a| a.is_empty()) {
            return Ok(0);
        }
        let mut q = DynQuery::new("UPDATE refresh_families SET revoked_at = ");
        q.int(ms(now))
            .push(" WHERE revoked_at IS NULL AND expires_at > ")
            .int(ms(now))
            .push(" AND org_id = ")
            .text(org.as_str());
        push_app_filter(&mut q, apps);
        self.revoke_and_notify(q, now).await
    }

    async fn revoke_session_families(&self, session_id: &str, now: OffsetDateTime) -> Result<u64> {
        let mut q = DynQuery::new("UPDATE refresh_families SET revoked_at = ");
        q.int(ms(now))
            .push(" WHERE revoked_at IS NULL AND expires_at > ")
            .int(ms(now))
            .push(" AND session_id = ")
            .text(session_id);
        self.revoke_and_notify(q, now).await
    }

    async fn revoke_user_families(&self, user: &UserId, now: OffsetDateTime) -> Result<u64> {
        let mut q = DynQuery::new("UPDATE refresh_families SET revoked_at = ");
        q.int(ms(now))
            .push(" WHERE revoked_at IS NULL AND expires_at > ")
            .int(ms(now))
            .push(" AND user_id = ")
            .text(user.as_str());
        self.revoke_and_notify(q, now).await
    }
}

impl SqlStore {
    /// Run a revoking `UPDATE refresh_families …` and, in the same transaction, queue a
    /// Back-Channel Logout row for every (app, SSO session) it ended whose app registered a
    /// logout URI (`domain::backchannel`): the revocation and its logout tokens, both or
    /// neither. Returns how many families were revoked.
    async fn revoke_and_notify(&self, mut q: DynQuery, now: OffsetDateTime) -> Result<u64> {
        q.push(" RETURNING id, app_id, org_id, user_id, session_id");
        let mut tx = self.begin().await?;
        let rows = q.build().fetch_all(&mut *tx).await.map_err(backend)?;
        let n = rows.len() as u64;
        if rows.is_empty() {
            tx.commit().await.map_err(backend)?;
            return Ok(0);
        }
        let mut ended = Vec::with_capacity(rows.len());
        for r in &rows {
            ended.push(EndedAppSession {
                family_id: col(r, "id")?,
                app_id: col_parse(r, "app_id", AppId::parse)?,
                org_id: col_parse(r, "org_id", OrgId::parse)?,
                user_id: col_parse(r, "user_id", UserId::parse)?,
                session_id: col(r, "session_id")?,
            });
        }
        let apps: BTreeSet<&AppId> = ended.iter().map(|e| &e.app_id).collect();
        let mut sel = DynQuery::new(
            "SELECT id, backchannel_logout FROM apps WHERE backchannel_logout IS NOT NULL \
             AND id IN (",
        );
        for (i, a) in apps.iter().enumerate() {
            if i > 0 {
                sel.push(", ");
            }
            sel.text(a.as_str());
        }
        sel.push(")");
        let mut registered = std::collections::BTreeMap::new();
        for r in sel.build().fetch_all(&mut *tx).await.map_err(backend)? {
            let id = col_parse(&r, "id", AppId::parse)?;
            if let Some(b) = col_opt_json::<BackchannelLogout>(&r, "backchannel_logout")? {
                registered.insert(id, b);
            }
        }
        let items = logout_items(&ended, &registered, now);
        super::outbox::insert_outbox(&mut tx, &items)
            .await
            .map_err(|e| self.write_error(e, "outbox"))?;
        tx.commit().await.map_err(backend)?;
        if !items.is_empty() {
            self.queued.notify_one();
        }
        Ok(n)
    }
}

fn push_app_filter(q: &mut DynQuery, apps: Option<&BTreeSet<AppId>>) {
    if let Some(apps) = apps {
        q.push(" AND app_id IN (");
        for (i, a) in apps.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.text(a.as_str());
        }
        q.push(")");
    }
}
