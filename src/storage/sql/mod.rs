//! The SQL implementation of every storage trait, shared by SQLite and PostgreSQL through
//! sqlx's `Any` driver: one set of queries with `$N` placeholders, ids and enums as TEXT,
//! timestamps as BIGINT unix milliseconds, sets and maps as JSON TEXT.
//!
//! Owns: the store itself (connecting, migrating, the configuration cache, write
//! transactions) and, one file per aggregate, its queries, row mapping, optimistic concurrency
//! (`version` compare-and-swap) and the transactions of multi-row writes. Shared by all of
//! them: `values.rs` (type mapping), `query.rs` (the query builder, pages, joined reads) and
//! `errors.rs` (constraint violations as `StorageError`s). Writes spanning aggregates:
//! `changes.rs` (declarative imports), `provision.rs` (a first federated sign-in), and every
//! audit write, which queues its webhook deliveries (`outbox.rs`) in the same transaction.
//! Must not touch: dialect setup (`../sqlite.rs`, `../postgres.rs`), business rules (`domain`).
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

mod apps;
mod audit;
mod changes;
mod connections;
mod domains;
mod errors;
mod invitations;
mod keys;
mod links;
mod member_search;
mod members;
mod mfa;
mod orgs;
mod outbox;
mod passkeys;
mod password_resets;
mod provision;
mod query;
mod refresh;
mod saml;
mod users;
mod values;
mod webhooks;

pub use super::dialect::Dialect;

use super::cache::{self, ConfigCache};
use super::db::{Db, Tx};
use super::{Change, FirstSignIn, Result, Storage, postgres, sqlite};
use anyhow::Context;
use async_trait::async_trait;
use errors::backend;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;
use std::hash::Hash;
use std::sync::Arc;

/// Org trees deeper than this are not walked (ancestors, descendants, cascade delete).
pub const MAX_ORG_DEPTH: i64 = 64;

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
    /// When this process last deleted expired SAML replay-cache rows (unix ms; `saml.rs`).
    saml_seen_pruned: Arc<std::sync::atomic::AtomicI64>,
    /// Raised after a commit that may have queued outbox rows (`OutboxStore::queued_signal`).
    queued: Arc<tokio::sync::Notify>,
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
        pool.migrate(&migrator)
            .await
            .context("applying database migrations")?;
        Ok(SqlStore {
            pool,
            dialect,
            cache: Arc::new(ConfigCache::new(cache::DEFAULT_TTL)),
            cached_reads: true,
            saml_seen_pruned: Arc::default(),
            queued: Arc::default(),
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
        tx.commit().await.map_err(backend)?;
        // An audit event may have queued webhook deliveries (`outbox::fan_out`).
        if changes.iter().any(|c| matches!(c, Change::Audit(_))) {
            self.queued.notify_one();
        }
        Ok(())
    }

    async fn provision_first_sign_in(&self, p: &FirstSignIn) -> Result<()> {
        self.first_sign_in(p).await
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
            saml_seen_pruned: self.saml_seen_pruned.clone(),
            queued: self.queued.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lost database is counted as a storage error (`ops::metrics`), once per failure.
    #[tokio::test]
    async fn database_failures_are_counted() {
        let metrics = crate::ops::metrics::install();
        let count = || {
            let text = metrics.render();
            text.lines()
                .find_map(|l| l.strip_prefix("lobby_storage_errors_total{error=\"connection\"} "))
                .map_or(0.0, |v| v.parse::<f64>().unwrap())
        };
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        store.ping().await.unwrap();
        let before = count();
        store.close_for_tests().await;
        assert!(store.ping().await.is_err());
        assert!(crate::storage::KeyStore::list_keys(&store).await.is_err());
        assert!(count() - before >= 2.0);
    }

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

    /// Every file under `migrations/<dialect>/` is applied, in the order of its number, and
    /// both dialects have the same migrations (a file nobody registered is never run).
    #[test]
    fn every_migration_file_is_registered() {
        let dir = |d: &str| -> Vec<(i64, String)> {
            let path = format!("{}/migrations/{d}", env!("CARGO_MANIFEST_DIR"));
            let mut v: Vec<(i64, String)> = std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .map(|n| (n[..4].parse().unwrap(), n))
                .collect();
            v.sort();
            v
        };
        for (d, list) in [
            ("sqlite", sqlite::MIGRATIONS),
            ("postgres", postgres::MIGRATIONS),
        ] {
            let files = dir(d);
            let numbers: Vec<i64> = list.iter().map(|m| m.0).collect();
            let mut sorted = numbers.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(
                numbers, sorted,
                "{d}: migrations out of order or duplicated"
            );
            assert_eq!(
                files.iter().map(|f| f.0).collect::<Vec<_>>(),
                numbers,
                "{d}: files {files:?}"
            );
            for ((_, name), m) in files.iter().zip(list) {
                let body = std::fs::read_to_string(format!(
                    "{}/migrations/{d}/{name}",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .unwrap();
                assert_eq!(
                    body, m.2,
                    "{d}: {name} is not the file registered as {}",
                    m.0
                );
            }
        }
    }
}
