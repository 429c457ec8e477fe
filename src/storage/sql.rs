//! The SQL implementation of every storage trait, shared by SQLite and PostgreSQL through
//! sqlx's `Any` driver: one set of queries with `$N` placeholders, ids and enums as TEXT,
//! timestamps as BIGINT unix milliseconds, sets and maps as JSON TEXT.
//!
//! Owns: queries, row mapping, optimistic concurrency (`version` compare-and-swap), the
//! transactions of multi-row writes, and turning constraint violations into `StorageError`s.
//! Must not touch: dialect setup (`sqlite.rs`, `postgres.rs`), business rules (`domain`).
//!
//! Choices worth knowing:
//! - Role-group contents and the role groups a link allows are join tables
//!   (`role_group_roles`, `link_role_groups`) with foreign keys, so "a role in a group" and
//!   "a group allowed by a link" are enforced by the database, race-free on both dialects:
//!   deleting such a role or group fails with a foreign-key violation that we report as
//!   `InUse`. A role group can only contain existing roles of its app
//!   (`MissingReference("role")`), a link only existing groups (`MissingReference("role group")`).
//! - Rows owned by an org (domains, connections, links, invitations, memberships, refresh
//!   families) and by a user (identities, memberships, refresh families) go with their owner
//!   through `ON DELETE CASCADE`; audit events stay.
//! - SQLite write transactions start with `BEGIN IMMEDIATE` so a read-then-write transaction
//!   never fails half-way with "database is locked" (it waits on the busy timeout instead).

use super::db::{Db, Tx};
use super::{
    AppStore, AuditFilter, AuditStore, Change, ConnectionStore, DomainStore, IdentityMember,
    InvitationStore, KeyStatus, KeyStore, LinkStore, MembershipStore, OrgStore, Page, PageRequest,
    RefreshFamily, RefreshInContext, RefreshStore, RefreshToken, Result, RoleStore, RotateOutcome,
    SigningKeyRecord, Storage, StorageError, UserFilter, UserStore, postgres, sqlite,
};
use crate::domain::*;
use anyhow::Context;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, Row, SqlSafeStr};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::hash::Hash;
use std::sync::Arc;
use time::OffsetDateTime;

use super::cache::{self, ConfigCache};

mod saml;

/// Org trees deeper than this are not walked (ancestors, descendants, cascade delete).
pub const MAX_ORG_DEPTH: i64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect a database URL names.
    pub fn of_url(url: &str) -> anyhow::Result<Dialect> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL: expected sqlite:<path>, sqlite::memory: or postgres://…"
            )
        }
    }
}

/// A constraint violation, as reported by either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The name of the violated unique constraint or index (PostgreSQL naming).
    Unique(String),
    ForeignKey,
}

/// Durable storage on SQLite or PostgreSQL.
///
/// Reads of configuration rows (app by client id, org, org–app link, connection, role groups)
/// go through a per-process [`ConfigCache`] unless this is the [`Storage::uncached`] view; every
/// configuration write, through either view, invalidates it (see `cache.rs` for the rules).
pub struct SqlStore {
    pool: Db,
    dialect: Dialect,
    cache: Arc<ConfigCache>,
    cached_reads: bool,
}

impl std::fmt::Debug for SqlStore {
    // The URL (and its password) is not kept, so there is nothing secret to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connect to `sqlite:…` or `postgres://…` and apply that dialect's migrations.
    pub async fn connect(url: &str) -> anyhow::Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let (pool, migrations) = match dialect {
            Dialect::Sqlite => (
                sqlite::connect(url)
                    .await
                    .context("opening the SQLite database")?,
                sqlite::MIGRATIONS,
            ),
            Dialect::Postgres => (
                postgres::connect(url)
                    .await
                    .context("connecting to PostgreSQL")?,
                postgres::MIGRATIONS,
            ),
        };
        let migrator = Migrator::with_migrations(
            migrations
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect(),
        );
        {
            let mut conn = pool
                .acquire()
                .await
                .context("applying database migrations")?;
            migrator
                .run(&mut *conn)
                .await
                .context("applying database migrations")?;
        }
        Ok(SqlStore {
            pool,
            dialect,
            cache: Arc::new(ConfigCache::new(cache::DEFAULT_TTL)),
            cached_reads: true,
        })
    }

    /// The same store with another lifetime for cached configuration rows (zero: no caching).
    pub fn with_config_ttl(self, ttl: std::time::Duration) -> SqlStore {
        SqlStore {
            cache: Arc::new(ConfigCache::new(ttl)),
            ..self
        }
    }

    /// A configuration row through the cache: served from it when present, otherwise `load`ed
    /// and remembered when it exists. `load` is a future, so it does nothing unless awaited on
    /// a miss. The uncached view always loads.
    async fn read_through<K: Eq + Hash + Clone, V: Clone>(
        &self,
        pick: cache::Pick<K, V>,
        key: &K,
        load: impl std::future::Future<Output = Result<Option<V>>>,
    ) -> Result<Option<V>> {
        if !self.cached_reads {
            return load.await;
        }
        let ticket = match self.cache.get(pick, key) {
            Ok(hit) => return Ok(Some(hit)),
            Err(ticket) => ticket,
        };
        let found = load.await?;
        if let Some(v) = &found {
            self.cache.store(pick, ticket, key.clone(), v.clone());
        }
        Ok(found)
    }

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

    /// The database handle (the discovery benchmark seeds through it).
    pub fn pool(&self) -> &Db {
        &self.pool
    }

    pub fn dialect_kind(&self) -> Dialect {
        self.dialect
    }

    /// A write transaction. SQLite: take the write lock up front (see the module comment).
    async fn begin(&self) -> Result<Tx> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with(Some("BEGIN IMMEDIATE")).await,
            Dialect::Postgres => self.pool.begin().await,
        };
        tx.map_err(backend)
    }

    fn violation(&self, e: &sqlx::Error) -> Option<Violation> {
        let sqlx::Error::Database(db) = e else {
            return None;
        };
        match self.dialect {
            Dialect::Sqlite => sqlite::classify(db.as_ref()),
            Dialect::Postgres => postgres::classify(db.as_ref()),
        }
    }

    /// A failed write: unique → `Duplicate(what)`, foreign key → `MissingReference(fk)`.
    fn write_err(&self, e: sqlx::Error, fk: &str) -> StorageError {
        match self.violation(&e) {
            Some(Violation::Unique(c)) => StorageError::Duplicate(duplicate_label(&c).into()),
            Some(Violation::ForeignKey) => StorageError::MissingReference(fk.into()),
            None => backend(e),
        }
    }

    /// A failed delete: a foreign-key violation means rows still refer to it.
    fn delete_err(&self, e: sqlx::Error, in_use: &str) -> StorageError {
        match self.violation(&e) {
            Some(Violation::ForeignKey) => StorageError::InUse(in_use.into()),
            _ => backend(e),
        }
    }

    fn is_fk(&self, e: &sqlx::Error) -> bool {
        self.violation(e) == Some(Violation::ForeignKey)
    }

    async fn exists(&self, sql: &'static str, args: &[&str]) -> Result<bool> {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        Ok(q.fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .is_some())
    }

    /// After a foreign-key failure: which reference is missing. `checks` are tried in order;
    /// `fallback` names the reference when all of them exist (the last one, by elimination).
    async fn missing(
        &self,
        checks: &[(&'static str, &'static str, &[&str])],
        fallback: &str,
    ) -> StorageError {
        for (label, sql, args) in checks {
            match self.exists(sql, args).await {
                Ok(false) => return StorageError::MissingReference((*label).into()),
                Ok(true) => {}
                Err(e) => return e,
            }
        }
        StorageError::MissingReference(fallback.into())
    }

    /// A compare-and-swap that changed nothing: the row is gone or its version moved on.
    async fn cas_miss(&self, sql: &'static str, args: &[&str]) -> StorageError {
        match self.exists(sql, args).await {
            Ok(true) => StorageError::Conflict,
            Ok(false) => StorageError::NotFound,
            Err(e) => e,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and value conversion

fn backend(e: impl Into<anyhow::Error>) -> StorageError {
    StorageError::Backend(e.into())
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(anyhow::anyhow!(
        "unreadable stored value in column {col}: {e}"
    ))
}

/// "What is duplicated", by constraint name (SQLite's are translated in `sqlite.rs`).
fn duplicate_label(constraint: &str) -> &'static str {
    match constraint {
        "apps_pkey" => "app id",
        "apps_client_id_key" => "client_id",
        "roles_pkey" => "role",
        "role_groups_pkey" => "role group",
        "role_group_roles_pkey" => "role in the role group",
        "orgs_pkey" => "org id",
        "orgs_slug_key" => "org slug",
        "org_app_links_pkey" => "organization link",
        "link_role_groups_pkey" => "role group on the link",
        "org_domains_pkey" => "domain",
        "org_domains_verified_key" => "verified domain",
        "connections_pkey" => "connection id",
        "users_pkey" => "user id",
        "external_identities_pkey" => "external identity",
        "memberships_pkey" => "membership",
        "invitations_pkey" => "invitation id",
        "invitations_token_hash_key" => "invitation token",
        "audit_events_pkey" => "audit event id",
        "signing_keys_pkey" => "signing key",
        "refresh_families_pkey" => "refresh token family",
        "refresh_tokens_pkey" => "refresh token",
        _ => "row",
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    to_millis(t)
}

fn opt_ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(to_millis)
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(backend)
}

/// The serde name of a unit enum variant (`"snake_case"` as in the API).
fn enum_name<T: Serialize>(v: &T) -> Result<String> {
    match serde_json::to_value(v).map_err(backend)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(backend(anyhow::anyhow!("not a unit enum: {other}"))),
    }
}

fn col<T>(row: &AnyRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get::<T, _>(name).map_err(|e| corrupt(name, e))
}

/// Booleans are BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite.
fn col_bool(row: &AnyRow, name: &str) -> Result<bool> {
    match row.try_get::<bool, _>(name) {
        Ok(b) => Ok(b),
        Err(_) => Ok(col::<i64>(row, name)? != 0),
    }
}

fn col_ts(row: &AnyRow, name: &str) -> Result<OffsetDateTime> {
    Ok(from_millis(col::<i64>(row, name)?))
}

fn col_opt_ts(row: &AnyRow, name: &str) -> Result<Option<OffsetDateTime>> {
    Ok(col::<Option<i64>>(row, name)?.map(from_millis))
}

fn col_json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let s: String = col(row, name)?;
    serde_json::from_str(&s).map_err(|e| corrupt(name, e))
}

fn col_enum<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let s: String = col(row, name)?;
    serde_json::from_value(serde_json::Value::String(s)).map_err(|e| corrupt(name, e))
}

fn col_parse<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    let s: String = col(row, name)?;
    parse(&s).map_err(|e| corrupt(name, e))
}

fn col_opt_parse<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    match col::<Option<String>>(row, name)? {
        Some(s) => parse(&s).map(Some).map_err(|e| corrupt(name, e)),
        None => Ok(None),
    }
}

fn token_hash(s: &str) -> std::result::Result<TokenHash, &'static str> {
    TokenHash::from_hex(s).ok_or("not a SHA-256 hex digest")
}

/// Keyset pagination: `rows` were fetched with `LIMIT limit + 1`.
fn page_of<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next }
}

/// A query assembled from fixed fragments with `$N` placeholders for every value.
struct DynQuery {
    sql: String,
    args: Vec<DynArg>,
}

enum DynArg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

impl DynQuery {
    fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }
    fn push(&mut self, fragment: &str) -> &mut Self {
        self.sql.push_str(fragment);
        self
    }
    /// Appends a placeholder for `arg`.
    fn arg(&mut self, arg: DynArg) -> &mut Self {
        self.args.push(arg);
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }
    fn text(&mut self, s: &str) -> &mut Self {
        self.arg(DynArg::Text(s.to_owned()))
    }
    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        self.arg(DynArg::OptText(s.map(str::to_owned)))
    }
    fn int(&mut self, i: i64) -> &mut Self {
        self.arg(DynArg::Int(i))
    }
    fn build(self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        // Only fixed fragments and placeholders are ever pushed into `sql`.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for a in self.args {
            q = match a {
                DynArg::Text(s) => q.bind(s),
                DynArg::OptText(s) => q.bind(s),
                DynArg::Int(i) => q.bind(i),
            };
        }
        q
    }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

const APP_COLS: &str = "id, name, client_id, client_type, client_secret_hash, redirect_uris, \
     post_logout_redirect_uris, signing_alg, token_lifetimes, invite_ttl_secs, revoke_on, \
     auth_policy, version, created_at, updated_at";

fn app_from(r: &AnyRow) -> Result<App> {
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
        version: col(r, "version")?,
        created_at: col_ts(r, "created_at")?,
        updated_at: col_ts(r, "updated_at")?,
    })
}

fn role_from(r: &AnyRow) -> Result<Role> {
    Ok(Role {
        app_id: col_parse(r, "app_id", AppId::parse)?,
        value: col_parse(r, "value", RoleValue::parse)?,
        name: col(r, "name")?,
        description: col(r, "description")?,
    })
}

/// Role groups are read joined with their roles: one row per (group, role), `role_value`
/// NULL for an empty group. Rows must be ordered by group.
const GROUP_SELECT: &str = "SELECT g.app_id, g.id, g.name, g.version, g.created_at, \
     g.updated_at, r.role_value FROM role_groups g LEFT JOIN role_group_roles r \
     ON r.app_id = g.app_id AND r.group_id = g.id";

fn groups_from(rows: &[AnyRow]) -> Result<Vec<RoleGroup>> {
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

/// Column names of one table in a joined read: `""` for a plain `SELECT {X_COLS} FROM x`, or
/// the alias prefix given to [`aliased`] (`"o_"` for `o.id AS o_id, …`).
#[derive(Clone, Copy)]
struct Prefix(&'static str);

impl Prefix {
    const NONE: Prefix = Prefix("");

    fn n(self, column: &'static str) -> std::borrow::Cow<'static, str> {
        if self.0.is_empty() {
            std::borrow::Cow::Borrowed(column)
        } else {
            std::borrow::Cow::Owned(format!("{}{column}", self.0))
        }
    }
}

/// The rows a LEFT JOIN brought, read by `read`; `None` when `key` (a NOT NULL column of the
/// joined table) is NULL, i.e. when the join found no row.
fn left_joined<T>(r: &AnyRow, key: &str, read: impl FnOnce() -> Result<T>) -> Result<Option<T>> {
    match col::<Option<String>>(r, key)? {
        None => Ok(None),
        Some(_) => read().map(Some),
    }
}

/// `"id, name"`, table alias `o`, prefix `o_` → `"o.id AS o_id, o.name AS o_name"`.
fn aliased(cols: &str, table: &str, prefix: Prefix) -> String {
    cols.split(',')
        .map(str::trim)
        .map(|c| format!("{table}.{c} AS {}{c}", prefix.0))
        .collect::<Vec<_>>()
        .join(", ")
}

const ORG_COLS: &str =
    "id, slug, name, status, parent_id, branding, version, created_at, updated_at";

fn org_from(r: &AnyRow) -> Result<Org> {
    org_from_p(r, Prefix::NONE)
}

fn org_from_p(r: &AnyRow, p: Prefix) -> Result<Org> {
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

/// Links are read joined with their allowed role groups, like role groups with their roles.
const LINK_SELECT: &str = "SELECT l.org_id, l.app_id, l.auth_policy, l.jit, l.default_roles, \
     l.version, l.created_at, l.updated_at, g.group_id FROM org_app_links l \
     LEFT JOIN link_role_groups g ON g.org_id = l.org_id AND g.app_id = l.app_id";

fn links_from(rows: &[AnyRow]) -> Result<Vec<OrgAppLink>> {
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
                version: col(r, "version")?,
                created_at: col_ts(r, "created_at")?,
                updated_at: col_ts(r, "updated_at")?,
            }),
        }
    }
    Ok(out)
}

const DOMAIN_COLS: &str = "org_id, domain, verified, verification_token, verified_at, created_at";

fn domain_from(r: &AnyRow) -> Result<OrgDomain> {
    Ok(OrgDomain {
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        domain: col_parse(r, "domain", EmailDomain::parse)?,
        verified: col_bool(r, "verified")?,
        verification_token: col(r, "verification_token")?,
        verified_at: col_opt_ts(r, "verified_at")?,
        created_at: col_ts(r, "created_at")?,
    })
}

const CONNECTION_COLS: &str =
    "id, org_id, name, kind, state, config, version, created_at, updated_at";

fn connection_from(r: &AnyRow) -> Result<Connection> {
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

const USER_COLS: &str =
    "id, email, email_verified, name, password_hash, version, created_at, updated_at";

fn user_from(r: &AnyRow) -> Result<User> {
    user_from_p(r, Prefix::NONE)
}

fn user_from_p(r: &AnyRow, p: Prefix) -> Result<User> {
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

const IDENTITY_COLS: &str = "connection_id, issuer, subject, user_id, created_at";

fn identity_from(r: &AnyRow) -> Result<ExternalIdentity> {
    Ok(ExternalIdentity {
        connection_id: col_parse(r, "connection_id", ConnectionId::parse)?,
        issuer: col(r, "issuer")?,
        subject: col(r, "subject")?,
        user_id: col_parse(r, "user_id", UserId::parse)?,
        created_at: col_ts(r, "created_at")?,
    })
}

const MEMBERSHIP_COLS: &str =
    "org_id, user_id, status, roles, org_roles, version, created_at, updated_at";

fn membership_from(r: &AnyRow) -> Result<Membership> {
    membership_from_p(r, Prefix::NONE)
}

fn membership_from_p(r: &AnyRow, p: Prefix) -> Result<Membership> {
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

const INVITATION_COLS: &str = "id, org_id, email, roles, org_roles, token_hash, status, \
     expires_at, invited_by, version, created_at";

fn invitation_from(r: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: col_parse(r, "id", InvitationId::parse)?,
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        email: col_parse(r, "email", Email::parse)?,
        roles: col_json(r, "roles")?,
        org_roles: col_json(r, "org_roles")?,
        token_hash: col_parse(r, "token_hash", token_hash)?,
        status: col_enum(r, "status")?,
        expires_at: col_ts(r, "expires_at")?,
        invited_by: col(r, "invited_by")?,
        version: col(r, "version")?,
        created_at: col_ts(r, "created_at")?,
    })
}

const AUDIT_COLS: &str = "id, time, actor, org_id, action, target_type, target_id, outcome, \
     details, request_id";

fn audit_from(r: &AnyRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: col_parse(r, "id", AuditEventId::parse)?,
        time: col_ts(r, "time")?,
        actor: col(r, "actor")?,
        org_id: col_opt_parse(r, "org_id", OrgId::parse)?,
        action: col(r, "action")?,
        target_type: col(r, "target_type")?,
        target_id: col(r, "target_id")?,
        outcome: col_enum(r, "outcome")?,
        details: col_json(r, "details")?,
        request_id: col(r, "request_id")?,
    })
}

const KEY_COLS: &str = "kid, alg, status, private_key, public_jwk, created_at, retire_until";

fn key_from(r: &AnyRow) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: col(r, "kid")?,
        alg: col_parse(r, "alg", SigningAlg::parse)?,
        status: col_enum(r, "status")?,
        private_key: Secret::new(col::<String>(r, "private_key")?),
        public_jwk: col(r, "public_jwk")?,
        created_at: col_ts(r, "created_at")?,
        retire_until: col_opt_ts(r, "retire_until")?,
    })
}

const FAMILY_COLS: &str = "f.id, f.app_id, f.user_id, f.org_id, f.session_id, f.auth_time, \
     f.amr, f.scope, f.idp, f.created_at, f.expires_at, f.revoked_at";

fn family_from(r: &AnyRow) -> Result<RefreshFamily> {
    Ok(RefreshFamily {
        id: col(r, "id")?,
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

fn token_from(r: &AnyRow) -> Result<RefreshToken> {
    Ok(RefreshToken {
        hash: col_parse(r, "t_hash", token_hash)?,
        family_id: col(r, "t_family_id")?,
        created_at: col_ts(r, "t_created_at")?,
        used_at: col_opt_ts(r, "t_used_at")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writes shared by the trait methods and `apply_changes` (they run on a transaction)

const INSERT_APP: &str = "INSERT INTO apps (id, name, client_id, client_type, \
     client_secret_hash, redirect_uris, post_logout_redirect_uris, signing_alg, token_lifetimes, \
     invite_ttl_secs, revoke_on, auth_policy, version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

const UPSERT_APP_TAIL: &str = " ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     client_id = excluded.client_id, client_type = excluded.client_type, \
     client_secret_hash = excluded.client_secret_hash, redirect_uris = excluded.redirect_uris, \
     post_logout_redirect_uris = excluded.post_logout_redirect_uris, \
     signing_alg = excluded.signing_alg, token_lifetimes = excluded.token_lifetimes, \
     invite_ttl_secs = excluded.invite_ttl_secs, revoke_on = excluded.revoke_on, \
     auth_policy = excluded.auth_policy, updated_at = excluded.updated_at, \
     version = apps.version + 1";

async fn write_app(
    conn: &mut AnyConnection,
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
        .bind(a.version)
        .bind(ms(a.created_at))
        .bind(ms(a.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

/// Why a write inside a transaction failed: the statement (to be classified by the caller,
/// who knows what it referenced) or anything else.
enum WriteError {
    Sql(sqlx::Error),
    Other(StorageError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Sql(e)
    }
}

impl From<StorageError> for WriteError {
    fn from(e: StorageError) -> Self {
        WriteError::Other(e)
    }
}

impl SqlStore {
    fn write_error(&self, e: WriteError, fk: &str) -> StorageError {
        match e {
            WriteError::Sql(e) => self.write_err(e, fk),
            WriteError::Other(e) => e,
        }
    }
}

async fn write_role(
    conn: &mut AnyConnection,
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

async fn write_group_row(
    conn: &mut AnyConnection,
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
async fn replace_group_roles(
    conn: &mut AnyConnection,
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

const INSERT_ORG: &str = "INSERT INTO orgs (id, slug, name, status, parent_id, branding, \
     version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

async fn write_org(
    conn: &mut AnyConnection,
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

const INSERT_LINK: &str = "INSERT INTO org_app_links (org_id, app_id, auth_policy, jit, \
     default_roles, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

async fn write_link_row(
    conn: &mut AnyConnection,
    l: &OrgAppLink,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_LINK} ON CONFLICT (org_id, app_id) DO UPDATE SET \
             auth_policy = excluded.auth_policy, jit = excluded.jit, \
             default_roles = excluded.default_roles, updated_at = excluded.updated_at, \
             version = org_app_links.version + 1"
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
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// Replace the role groups a link allows (the link row exists).
async fn replace_link_groups(
    conn: &mut AnyConnection,
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

const INSERT_DOMAIN: &str = "INSERT INTO org_domains (org_id, domain, verified, \
     verification_token, verified_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

async fn write_domain(
    conn: &mut AnyConnection,
    d: &OrgDomain,
    upsert: bool,
) -> std::result::Result<u64, WriteError> {
    let sql = if upsert {
        Cow::Owned(format!(
            "{INSERT_DOMAIN} ON CONFLICT (org_id, domain) DO UPDATE SET \
             verified = excluded.verified, verification_token = excluded.verification_token, \
             verified_at = excluded.verified_at"
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
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

const INSERT_CONNECTION: &str = "INSERT INTO connections (id, org_id, name, kind, state, \
     config, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

async fn write_connection(
    conn: &mut AnyConnection,
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

const INSERT_USER: &str = "INSERT INTO users (id, email, email_verified, name, password_hash, \
     version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

async fn write_user(
    conn: &mut AnyConnection,
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

const INSERT_MEMBERSHIP: &str = "INSERT INTO memberships (org_id, user_id, status, roles, \
     org_roles, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

async fn write_membership(
    conn: &mut AnyConnection,
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

/// Audit events in one INSERT (one row each); nothing for an empty slice.
async fn write_audits(
    conn: &mut AnyConnection,
    events: &[AuditEvent],
) -> std::result::Result<u64, WriteError> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut q = DynQuery::new(
        "INSERT INTO audit_events (id, time, actor, org_id, action, target_type, target_id, \
         outcome, details, request_id) VALUES ",
    );
    for (i, e) in events.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .text(e.id.as_str())
            .push(", ")
            .int(ms(e.time))
            .push(", ")
            .text(&e.actor)
            .push(", ")
            .opt_text(e.org_id.as_ref().map(OrgId::as_str))
            .push(", ")
            .text(&e.action)
            .push(", ")
            .text(&e.target_type)
            .push(", ")
            .text(&e.target_id)
            .push(", ")
            .text(e.outcome.as_str())
            .push(", ")
            .text(&json(&e.details)?)
            .push(", ")
            .opt_text(e.request_id.as_deref())
            .push(")");
    }
    Ok(q.build().execute(&mut *conn).await?.rows_affected())
}

// Existence checks used to tell NotFound from Conflict and to name missing references.
const APP_EXISTS: &str = "SELECT 1 FROM apps WHERE id = $1";
const ORG_EXISTS: &str = "SELECT 1 FROM orgs WHERE id = $1";
const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = $1";
const CONNECTION_EXISTS: &str = "SELECT 1 FROM connections WHERE id = $1";

// ---------------------------------------------------------------------------------------------

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

    async fn get_app(&self, id: &AppId) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLS} FROM apps WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(app_from)
            .transpose()
    }

    async fn get_app_by_client_id(&self, client_id: &ClientId) -> Result<Option<App>> {
        self.read_through(cache::APPS, client_id, async {
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
             auth_policy = $13, updated_at = $14, version = version + 1 \
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
            .bind(ms(a.updated_at))
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
            .read_through(cache::ROLE_GROUPS, app, load)
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
        self.read_through(cache::ORGS, id, async {
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
        self.read_through(cache::LINKS, &(org.clone(), app.clone()), load)
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
             updated_at = $7, version = version + 1 \
             WHERE org_id = $1 AND app_id = $2 AND version = $3 \
             RETURNING org_id, app_id, auth_policy, jit, default_roles, version, created_at, \
             updated_at",
        )
        .bind(l.org_id.as_str())
        .bind(l.app_id.as_str())
        .bind(l.version)
        .bind(json(&l.auth_policy)?)
        .bind(l.jit)
        .bind(json(&l.default_roles)?)
        .bind(ms(l.updated_at))
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
            "UPDATE org_domains SET verified = $3, verified_at = $4, verification_token = $5 \
             WHERE org_id = $1 AND domain = $2",
        )
        .bind(d.org_id.as_str())
        .bind(d.domain.as_str())
        .bind(d.verified)
        .bind(opt_ms(d.verified_at))
        .bind(d.verification_token.as_str())
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

    async fn find_verified_domain_org(&self, domain: &EmailDomain) -> Result<Option<OrgId>> {
        let load = async {
            // Served by the partial unique index org_domains_verified_key.
            sqlx::query("SELECT org_id FROM org_domains WHERE domain = $1 AND verified")
                .bind(domain.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(|r| col_parse(r, "org_id", OrgId::parse))
                .transpose()
        };
        self.read_through(cache::DOMAIN_ORGS, domain, load).await
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
            .read_through(cache::ORG_CONNECTIONS, org, load)
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
            .read_through(cache::CONNECTIONS, id, self.load_connection(Some(org), id))
            .await?;
        Ok(found.filter(|c| c.org_id == *org))
    }

    async fn get_connection_for_callback(&self, id: &ConnectionId) -> Result<Option<Connection>> {
        self.read_through(cache::CONNECTIONS, id, self.load_connection(None, id))
            .await
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: &User) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_user(&mut conn, u, false)
            .await
            .map_err(|e| self.write_error(e, "user"))?;
        Ok(())
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
            .map_err(backend)?;
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
        let res = sqlx::query(
            "INSERT INTO external_identities (connection_id, issuer, subject, user_id, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i.connection_id.as_str())
        .bind(i.issuer.as_str())
        .bind(i.subject.as_str())
        .bind(i.user_id.as_str())
        .bind(ms(i.created_at))
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if self.is_fk(&e) => Err(self
                .missing(
                    &[("connection", CONNECTION_EXISTS, &[i.connection_id.as_str()])],
                    "user",
                )
                .await),
            Err(e) => Err(self.write_err(e, "connection or user")),
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
        const U: Prefix = Prefix("u_");
        const M: Prefix = Prefix("m_");
        const O: Prefix = Prefix("o_");
        // Built once: this read is on every refresh and code exchange.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {}, {}, {} FROM memberships m JOIN users u ON u.id = m.user_id \
                 JOIN orgs o ON o.id = m.org_id WHERE m.org_id = $1 AND m.user_id = $2",
                aliased(USER_COLS, "u", U),
                aliased(MEMBERSHIP_COLS, "m", M),
                aliased(ORG_COLS, "o", O),
            )
        });
        let row = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok((
                user_from_p(&r, U)?,
                membership_from_p(&r, M)?,
                org_from_p(&r, O)?,
            ))
        })
        .transpose()
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

#[async_trait]
impl InvitationStore for SqlStore {
    async fn create_invitation(&self, i: &Invitation) -> Result<()> {
        sqlx::query(
            "INSERT INTO invitations (id, org_id, email, roles, org_roles, token_hash, status, \
             expires_at, invited_by, version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(i.id.as_str())
        .bind(i.org_id.as_str())
        .bind(i.email.as_str())
        .bind(json(&i.roles)?)
        .bind(json(&i.org_roles)?)
        .bind(i.token_hash.as_hex())
        .bind(i.status.as_str())
        .bind(ms(i.expires_at))
        .bind(i.invited_by.as_str())
        .bind(i.version)
        .bind(ms(i.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "organization"))?;
        Ok(())
    }

    async fn get_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<Option<Invitation>> {
        let sql =
            format!("SELECT {INVITATION_COLS} FROM invitations WHERE org_id = $1 AND id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    async fn list_invitations(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Invitation>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {INVITATION_COLS} FROM invitations WHERE org_id = "
        ));
        q.text(org.as_str());
        if let Some(after) = &page.after {
            q.push(" AND id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows
            .iter()
            .map(invitation_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |i| i.id.to_string()))
    }

    async fn find_invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>> {
        let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE token_hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    async fn update_invitation(&self, i: &Invitation) -> Result<Invitation> {
        let sql = format!(
            "UPDATE invitations SET email = $4, roles = $5, org_roles = $6, token_hash = $7, \
             status = $8, expires_at = $9, invited_by = $10, version = version + 1 \
             WHERE org_id = $1 AND id = $2 AND version = $3 RETURNING {INVITATION_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i.org_id.as_str())
            .bind(i.id.as_str())
            .bind(i.version)
            .bind(i.email.as_str())
            .bind(json(&i.roles)?)
            .bind(json(&i.org_roles)?)
            .bind(i.token_hash.as_hex())
            .bind(i.status.as_str())
            .bind(ms(i.expires_at))
            .bind(i.invited_by.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "organization"))?;
        match rows.first() {
            Some(r) => invitation_from(r),
            None => Err(self
                .cas_miss(
                    "SELECT 1 FROM invitations WHERE org_id = $1 AND id = $2",
                    &[i.org_id.as_str(), i.id.as_str()],
                )
                .await),
        }
    }

    async fn delete_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<()> {
        let res = sqlx::query("DELETE FROM invitations WHERE org_id = $1 AND id = $2")
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
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        self.append_audits(std::slice::from_ref(e)).await
    }

    async fn append_audits(&self, events: &[AuditEvent]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_audits(&mut conn, events)
            .await
            .map_err(|e| self.write_error(e, "audit event"))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE 1 = 1"
        ));
        if let Some(org) = &filter.org_id {
            q.push(" AND org_id = ").text(org.as_str());
        }
        if let Some(action) = &filter.action {
            q.push(" AND action = ").text(action);
        }
        if let Some(after) = &page.after {
            q.push(" AND id < ").text(after);
        }
        q.push(" ORDER BY id DESC LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |e| e.id.to_string()))
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn create_key(&self, k: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, status, private_key, public_jwk, created_at, \
             retire_until) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.kid.as_str())
        .bind(k.alg.as_str())
        .bind(enum_name(&k.status)?)
        .bind(k.private_key.expose())
        .bind(k.public_jwk.as_str())
        .bind(ms(k.created_at))
        .bind(opt_ms(k.retire_until))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "signing key"))?;
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let sql = format!("SELECT {KEY_COLS} FROM signing_keys ORDER BY created_at, kid");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(key_from).collect()
    }

    async fn set_key_status(
        &self,
        kid: &str,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> Result<()> {
        let res =
            sqlx::query("UPDATE signing_keys SET status = $2, retire_until = $3 WHERE kid = $1")
                .bind(kid)
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

    async fn delete_key(&self, kid: &str) -> Result<()> {
        let res = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl RefreshStore for SqlStore {
    async fn create_family(&self, f: &RefreshFamily, first: &TokenHash) -> Result<()> {
        // One statement: the trigger `refresh_families_first_token` (migration 0007) inserts
        // the first token, so a duplicate token hash fails the family's INSERT as a whole.
        let res = sqlx::query(
            "INSERT INTO refresh_families (id, app_id, user_id, org_id, session_id, auth_time, \
             amr, scope, idp, created_at, expires_at, revoked_at, first_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(f.id.as_str())
        .bind(f.app_id.as_str())
        .bind(f.user_id.as_str())
        .bind(f.org_id.as_str())
        .bind(f.session_id.as_str())
        .bind(ms(f.auth_time))
        .bind(json(&f.amr)?)
        .bind(f.scope.as_str())
        .bind(f.idp.as_ref().map(|c| c.as_str().to_owned()))
        .bind(ms(f.created_at))
        .bind(ms(f.expires_at))
        .bind(opt_ms(f.revoked_at))
        .bind(first.as_hex())
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if self.is_fk(&e) => Err(self
                .missing(
                    &[
                        ("app", APP_EXISTS, &[f.app_id.as_str()]),
                        ("user", USER_EXISTS, &[f.user_id.as_str()]),
                    ],
                    "organization",
                )
                .await),
            Err(e) => Err(self.write_err(e, "app, user or organization")),
        }
    }

    async fn get_family(&self, id: &str) -> Result<Option<RefreshFamily>> {
        let sql = format!("SELECT {FAMILY_COLS} FROM refresh_families f WHERE f.id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
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
        let now_ms = ms(now);
        // One statement, the atomic step: of any number of concurrent callers presenting one
        // token, exactly one sees a row affected (SQLite takes the write lock for the whole
        // statement; PostgreSQL re-checks `used_at IS NULL` after waiting on the row lock).
        // Setting `next_hash` fires the `refresh_tokens_rotate` trigger (migration 0006), which
        // inserts the successor into the presented token's family, created at `now`, within
        // this same statement. A duplicate successor hash fails the whole statement.
        let marked = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2, next_hash = $3 \
             WHERE hash = $1 AND used_at IS NULL \
             AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.id = refresh_tokens.family_id \
             AND f.revoked_at IS NULL AND f.expires_at > $2)",
        )
        .bind(presented.as_hex())
        .bind(now_ms)
        .bind(next.as_hex())
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
        const U: Prefix = Prefix("u_");
        const M: Prefix = Prefix("m_");
        const O: Prefix = Prefix("o_");
        // Built once: this read is on every refresh.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                concat!(
                    token_family_cols!(),
                    ", {}, {}, {} ",
                    token_family_from!(),
                    " LEFT JOIN memberships m ON m.org_id = f.org_id AND m.user_id = f.user_id \
                     LEFT JOIN users u ON u.id = m.user_id LEFT JOIN orgs o ON o.id = m.org_id \
                     WHERE t.hash = $1"
                ),
                aliased(USER_COLS, "u", U),
                aliased(MEMBERSHIP_COLS, "m", M),
                aliased(ORG_COLS, "o", O),
            )
        });
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let member = left_joined(&r, "m_user_id", || {
            Ok((
                user_from_p(&r, U)?,
                membership_from_p(&r, M)?,
                org_from_p(&r, O)?,
            ))
        })?;
        Ok(Some((token_from(&r)?, family_from(&r)?, member)))
    }

    async fn revoke_family(&self, id: &str, now: OffsetDateTime) -> Result<()> {
        let res = sqlx::query(
            "UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0
            && !self
                .exists("SELECT 1 FROM refresh_families WHERE id = $1", &[id])
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
        let res = q.build().execute(&self.pool).await.map_err(backend)?;
        Ok(res.rows_affected())
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
        let res = q.build().execute(&self.pool).await.map_err(backend)?;
        Ok(res.rows_affected())
    }

    async fn revoke_session_families(&self, session_id: &str, now: OffsetDateTime) -> Result<u64> {
        let res = sqlx::query(
            "UPDATE refresh_families SET revoked_at = $2 \
             WHERE session_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(session_id)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected())
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

impl SqlStore {
    async fn apply_one(&self, conn: &mut AnyConnection, c: &Change) -> Result<()> {
        match c {
            Change::UpsertApp(a) => {
                write_app(conn, a, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
            }
            Change::UpsertRole(r) => {
                write_role(conn, r, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
            }
            Change::UpsertRoleGroup(g) => {
                write_group_row(conn, g, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
                replace_group_roles(conn, &g.app_id, &g.id, &g.roles)
                    .await
                    .map_err(|e| self.write_err(e, "role"))?;
            }
            Change::UpsertOrg(o) => {
                write_org(conn, o, true)
                    .await
                    .map_err(|e| self.write_error(e, "parent organization"))?;
            }
            Change::UpsertLink(l) => {
                write_link_row(conn, l, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization or app"))?;
                replace_link_groups(conn, &l.org_id, &l.app_id, &l.allowed_role_groups)
                    .await
                    .map_err(|e| self.write_err(e, "role group"))?;
            }
            Change::UpsertDomain(d) => {
                write_domain(conn, d, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization"))?;
            }
            Change::UpsertConnection(cn) => {
                let n = write_connection(conn, cn, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization"))?;
                if n == 0 {
                    // The id belongs to a connection of another org.
                    return Err(StorageError::Duplicate("connection id".into()));
                }
            }
            Change::UpsertUser(u) => {
                write_user(conn, u, true)
                    .await
                    .map_err(|e| self.write_error(e, "user"))?;
            }
            Change::UpsertMembership(m) => {
                write_membership(conn, m, true)
                    .await
                    .map_err(|e| self.write_error(e, "user or organization"))?;
            }
            Change::Audit(e) => {
                write_audits(conn, std::slice::from_ref(e))
                    .await
                    .map_err(|e| self.write_error(e, "audit event"))?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Storage for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn apply_changes(&self, changes: &[Change]) -> Result<()> {
        let _invalidate = self.cache.on_write();
        let mut tx = self.begin().await?;
        for c in changes {
            // Any error drops `tx`, which rolls everything back.
            self.apply_one(&mut tx, c).await?;
        }
        tx.commit().await.map_err(backend)
    }

    fn dialect(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    fn uncached(&self) -> Arc<dyn Storage> {
        Arc::new(SqlStore {
            pool: self.pool.clone(),
            dialect: self.dialect,
            cache: self.cache.clone(),
            cached_reads: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two schemas differ only in types, collation and SQLite's WITHOUT ROWID.
    #[test]
    fn dialect_schemas_match() {
        let strip = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
                .map(|l| {
                    l.replace(" COLLATE \"C\"", "")
                        .replace("BIGINT", "INTEGER")
                        .replace("BOOLEAN", "INTEGER")
                        .replace(") WITHOUT ROWID;", ");")
                })
                .collect()
        };
        let pg = strip(postgres::MIGRATIONS[0].2);
        let lite = strip(sqlite::MIGRATIONS[0].2);
        assert_eq!(pg, lite);
    }

    /// Every unique constraint of the schema has a name for "what is duplicated".
    #[test]
    fn every_unique_constraint_is_named() {
        let sql = postgres::MIGRATIONS[0].2;
        let mut names = Vec::new();
        for l in sql.lines() {
            if let Some(rest) = l.strip_prefix("CREATE TABLE ") {
                let table = rest.split_whitespace().next().unwrap_or_default();
                names.push(format!("{table}_pkey"));
            }
            if let Some(rest) = l.strip_prefix("CREATE UNIQUE INDEX ") {
                names.push(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
        assert!(names.len() > 20);
        for n in names {
            assert_ne!(duplicate_label(&n), "row", "{n} has no label");
        }
    }

    #[test]
    fn dialects_by_url() {
        assert_eq!(Dialect::of_url("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(
            Dialect::of_url("sqlite:///var/lib/lobby/lobby.db?mode=rwc").unwrap(),
            Dialect::Sqlite
        );
        assert_eq!(
            Dialect::of_url("postgresql://u@h/db").unwrap(),
            Dialect::Postgres
        );
        assert!(Dialect::of_url("mysql://h/db").is_err());
    }

    #[test]
    fn pages_have_a_next_key_only_when_more_exist() {
        let p = page_of(vec![1, 2, 3, 4], 3, |i| i.to_string());
        assert_eq!((p.items, p.next), (vec![1, 2, 3], Some("3".into())));
        let p = page_of(vec![1, 2, 3], 3, |i| i.to_string());
        assert_eq!((p.items, p.next), (vec![1, 2, 3], None));
    }
}
