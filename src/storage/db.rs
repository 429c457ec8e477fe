//! The database handle the SQL store runs its statements on: a bounded set of PostgreSQL
//! connections Lobby keeps itself (`held.rs`), and a small fixed set of long-lived SQLite
//! connections run on the calling thread (`lite.rs`) for a SQLite file (or the one connection
//! of `sqlite::memory:`).
//!
//! Why not sqlx's pool: it pings every connection it hands out and every connection it gets
//! back, so a statement costs three round trips on PostgreSQL; and sqlx-sqlite runs each
//! statement on a worker thread of the connection — two hand-offs between threads per
//! statement, which cost about as much CPU as the statements (docs/perf-issue17.md). A SQLite
//! connection cannot go stale the way a network connection can; here it is leased, used
//! inline, and returned. A PostgreSQL connection is checked only when there is a reason to
//! doubt it (`held.rs`).
//!
//! Writers of this process are serialised by an async lock before they reach SQLite: a
//! transaction takes it at `begin` and keeps it until commit or rollback, a single writing
//! statement for its own duration (SQLite says which statements write). So a task never sleeps
//! in SQLite's busy handler — which would block its runtime thread — waiting for another task
//! of this process; only another process holding the write lock can make it wait, bounded by
//! `busy_timeout`. Order: a connection first, then the write lock; the holder of the write lock
//! always has its connection, so the two cannot deadlock. A transaction dropped without
//! `commit` is rolled back at once (statements run inline, so nothing is left half-sent).
//!
//! Owns: acquiring and returning connections, transactions over them, the write lock, and the
//! [`Executor`] implementations that let `sql/` write `.fetch_optional(&self.pool)` or
//! `.execute(&mut *tx)` for both backends. That is also where storage latency is measured
//! (`ops::metrics::storage_op`): every statement run on the handle (outside a transaction),
//! every `BEGIN` and every `COMMIT` is timed; statements on a held connection or inside a
//! transaction are not timed one by one. Failures are counted where the SQL store turns them
//! into errors (`sql/errors.rs`, with [`error_class`]), so every path counts once.
//! Must not touch: queries, dialect differences (`sqlite.rs`, `postgres.rs`), SQLite's C API
//! (`lite.rs`).

use super::held::{Held, HeldConn};
use super::lite::{LiteConn, Want};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::SqlStr;
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{Any, Either, Execute, Executor};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Where statements run.
#[derive(Clone, Debug)]
pub enum Db {
    /// PostgreSQL connections, opened on demand and kept (`held.rs`).
    Held(Arc<Held>),
    /// A fixed set of SQLite connections, opened once and kept.
    Fixed(Arc<Fixed>),
}

/// A fixed set of connections: a semaphore with one permit per connection, the idle ones, and
/// this process's write lock.
pub struct Fixed {
    idle: Mutex<Vec<LiteConn>>,
    size: u32,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixed")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Fixed {
    /// Keep `conns` for good. Every acquire waits at most `acquire_timeout` for one.
    pub fn new(conns: Vec<LiteConn>, acquire_timeout: Duration) -> Arc<Fixed> {
        Arc::new(Fixed {
            permits: Arc::new(Semaphore::new(conns.len())),
            size: u32::try_from(conns.len()).unwrap_or(u32::MAX),
            idle: Mutex::new(conns),
            acquire_timeout,
            writer: Arc::default(),
        })
    }

    async fn lease(self: &Arc<Self>) -> Result<Lease, sqlx::Error> {
        let permit =
            tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or(sqlx::Error::PoolClosed)?;
        Ok(Lease {
            conn: Some(conn),
            home: self.clone(),
            _permit: permit,
        })
    }

    /// Run one query on `conn`, taking the write lock around it when it writes and no
    /// transaction holds the lock already.
    async fn run<'q, E: Execute<'q, Any>>(
        &self,
        conn: &mut LiteConn,
        in_tx: bool,
        mut query: E,
        want: Want,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error> {
        let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
        // As sqlx: only statements with bound arguments are kept prepared.
        let persistent = query.persistent() && args.is_some();
        let sql = query.sql();
        let prepared = conn.take(sql.as_str(), persistent)?;
        let _write = if !in_tx && prepared.writes() {
            Some(self.writer.lock().await)
        } else {
            None
        };
        conn.run(prepared, args, want)
    }
}

/// A connection taken from a [`Fixed`] set; it goes back when dropped.
pub struct Lease {
    conn: Option<LiteConn>,
    home: Arc<Fixed>,
    // Released after the connection is back (fields drop in declaration order after `drop`).
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.home
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(c);
        }
    }
}

impl Deref for Lease {
    type Target = LiteConn;
    fn deref(&self) -> &LiteConn {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut LiteConn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

/// A held connection of either backend, as `sql/` runs statements on it (`&mut DbConn` is an
/// [`Executor`]).
pub enum DbConn {
    Held(HeldConn),
    Fixed(FixedConn),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbConn::Held(_) => "DbConn::Held",
            DbConn::Fixed(_) => "DbConn::Fixed",
        })
    }
}

/// A leased SQLite connection; with `tx` set it is inside a transaction that holds the write
/// lock, and is rolled back if dropped so.
pub struct FixedConn {
    lease: Lease,
    tx: Option<OwnedMutexGuard<()>>,
}

impl FixedConn {
    /// Run one query on the held connection; inside a transaction the write lock is held
    /// already.
    async fn run<'q, E: Execute<'q, Any>>(
        &mut self,
        query: E,
        want: Want,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error> {
        let home = self.lease.home.clone();
        home.run(&mut self.lease, self.tx.is_some(), query, want)
            .await
    }
}

impl Drop for FixedConn {
    fn drop(&mut self) {
        if self.tx.is_some() {
            // Not committed (an error, an early return, a cancelled task): undone now, while
            // the write lock is still held (the guard drops after this).
            let _ = self.lease.exec("ROLLBACK");
        }
    }
}

/// One connection, held until dropped.
pub struct Conn(DbConn);

impl Deref for Conn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.0
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0
    }
}

/// A transaction. Dropped without [`Tx::commit`], it is rolled back.
pub struct Tx(DbConn);

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let db = match &self.0 {
            DbConn::Held(_) => Db::HELD_LABEL,
            DbConn::Fixed(_) => Db::FIXED_LABEL,
        };
        let _timer = Timer::start(db);
        self.end("COMMIT").await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }

    async fn end(self, how: &'static str) -> Result<(), sqlx::Error> {
        match self.0 {
            DbConn::Held(mut h) => h.end(how == "COMMIT").await,
            DbConn::Fixed(mut f) => {
                // A failed COMMIT leaves the transaction open: `f` rolls it back when dropped.
                f.lease.exec(how)?;
                f.tx = None;
                Ok(())
            }
        }
    }
}

impl Deref for Tx {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0
    }
}

impl Db {
    /// Close every connection (after those in use come back); later acquires fail.
    pub async fn close(&self) {
        match self {
            Db::Held(h) => h.close().await,
            Db::Fixed(f) => {
                // Every permit: every leased connection is back.
                let all = f.permits.acquire_many(f.size).await;
                let conns = std::mem::take(&mut *f.idle.lock().unwrap_or_else(|p| p.into_inner()));
                f.permits.close();
                drop(all);
                for c in conns {
                    c.close();
                }
            }
        }
    }

    /// Apply `migrator`'s migrations not applied yet.
    pub async fn migrate(&self, migrator: &Migrator) -> Result<(), MigrateError> {
        match self {
            Db::Held(h) => {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                *clean = false;
                migrator.run_direct(None, conn, false).await?;
                *clean = true;
                Ok(())
            }
            Db::Fixed(f) => {
                let mut lease = f.lease().await?;
                let _write = f.writer.lock().await;
                migrator.run_direct(None, &mut *lease, false).await
            }
        }
    }

    /// One connection, until the returned value is dropped.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        match self {
            Db::Held(h) => Ok(Conn(DbConn::Held(h.lease().await?))),
            Db::Fixed(f) => Ok(Conn(DbConn::Fixed(FixedConn {
                lease: f.lease().await?,
                tx: None,
            }))),
        }
    }

    /// A transaction opened with `BEGIN`.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.begin_with(None).await
    }

    /// A transaction opened with `statement` (SQLite: `BEGIN IMMEDIATE`), or `BEGIN`.
    pub async fn begin_with(&self, statement: Option<&'static str>) -> Result<Tx, sqlx::Error> {
        let _timer = Timer::start(self.label());
        self.begin_unmetered(statement).await
    }

    /// The metrics label of this handle.
    const HELD_LABEL: &'static str = "postgres";
    const FIXED_LABEL: &'static str = "sqlite";

    fn label(&self) -> &'static str {
        match self {
            Db::Held(_) => Self::HELD_LABEL,
            Db::Fixed(_) => Self::FIXED_LABEL,
        }
    }

    async fn begin_unmetered(&self, statement: Option<&'static str>) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Held(h) => {
                let mut c = h.lease().await?;
                c.begin(statement).await?;
                Ok(Tx(DbConn::Held(c)))
            }
            Db::Fixed(f) => {
                // A connection first, then the write lock (see the module comment).
                let mut lease = f.lease().await?;
                let write = f.writer.clone().lock_owned().await;
                lease.exec(statement.unwrap_or("BEGIN"))?;
                Ok(Tx(DbConn::Fixed(FixedConn {
                    lease,
                    tx: Some(write),
                })))
            }
        }
    }
}

fn rows(out: Vec<Either<AnyQueryResult, AnyRow>>) -> Vec<AnyRow> {
    out.into_iter().filter_map(Either::right).collect()
}

fn total(out: Vec<Either<AnyQueryResult, AnyRow>>) -> AnyQueryResult {
    let mut sum = AnyQueryResult::default();
    sum.extend(out.into_iter().filter_map(Either::left));
    sum
}

fn stream<'e>(
    run: BoxFuture<'e, Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error>>,
) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>> {
    Box::pin(futures::stream::once(run).flat_map(|r| {
        futures::stream::iter(match r {
            Ok(v) => v.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    }))
}

/// `run` on a held PostgreSQL connection whose `clean` flag is down while it runs: a statement
/// cut off or failed on the connection leaves it to be settled before reuse (`held.rs`). A
/// database error (a constraint, a syntax error) is answered in full by PostgreSQL and leaves
/// the connection usable.
fn watched<'e, T: Send + 'e>(
    clean: &'e mut bool,
    run: BoxFuture<'e, Result<T, sqlx::Error>>,
) -> BoxFuture<'e, Result<T, sqlx::Error>> {
    *clean = false;
    Box::pin(async move {
        let r = run.await;
        if matches!(r, Ok(_) | Err(sqlx::Error::Database(_))) {
            *clean = true;
        }
        r
    })
}

fn no_prepare<'e>() -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>> {
    Box::pin(async {
        Err(sqlx::Error::AnyDriverError(
            "the embedded SQLite store does not prepare statements for callers".into(),
        ))
    })
}

/// `sql/` runs statements on `&self.pool` for either backend; on a fixed set, each statement
/// takes a connection for its own duration.
impl<'c> Executor<'c> for &'c Db {
    type Database = Any;

    fn execute<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<AnyQueryResult, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let timer = Timer::start(self.label());
        let run: BoxFuture<'e, _> = match self {
            Db::Held(h) => Box::pin(async move {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                watched(clean, conn.execute(query)).await
            }),
            Db::Fixed(f) => Box::pin(async move {
                let mut c = f.lease().await?;
                f.run(&mut c, false, query, Want::All).await.map(total)
            }),
        };
        timer.around(run)
    }

    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let timer = Timer::start(self.label());
        let run: BoxFuture<'e, _> = match self {
            Db::Held(h) => Box::pin(async move {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                watched(clean, conn.fetch_all(query)).await
            }),
            Db::Fixed(f) => Box::pin(async move {
                let mut c = f.lease().await?;
                f.run(&mut c, false, query, Want::All).await.map(rows)
            }),
        };
        timer.around(run)
    }

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let timer = Timer::start(self.label());
        let rows: BoxStream<'e, _> = match self {
            Db::Held(h) => stream(Box::pin(async move {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                watched(clean, Box::pin(conn.fetch_many(query).try_collect())).await
            })),
            // Run to the end while the connection is held, then streamed: the store never
            // streams unbounded results.
            Db::Fixed(f) => stream(Box::pin(async move {
                let mut c = f.lease().await?;
                f.run(&mut c, false, query, Want::All).await
            })),
        };
        // Timed until the stream is dropped (read to its end, or abandoned).
        Box::pin(rows.inspect(move |_| {
            let _ = &timer;
        }))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let timer = Timer::start(self.label());
        let run: BoxFuture<'e, _> = match self {
            Db::Held(h) => Box::pin(async move {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                watched(clean, conn.fetch_optional(query)).await
            }),
            Db::Fixed(f) => Box::pin(async move {
                let mut c = f.lease().await?;
                let out = f.run(&mut c, false, query, Want::FirstRow).await?;
                Ok(rows(out).into_iter().next())
            }),
        };
        timer.around(run)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Db::Held(h) => Box::pin(async move {
                let mut c = h.lease().await?;
                let (conn, clean) = c.parts();
                watched(clean, conn.prepare_with(sql, parameters)).await
            }),
            Db::Fixed(_) => no_prepare(),
        }
    }
}

/// Statements on a held connection or inside a transaction (`&mut *tx`, `&mut *conn`).
impl<'c> Executor<'c> for &'c mut DbConn {
    type Database = Any;

    fn execute<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<AnyQueryResult, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            DbConn::Held(h) => {
                let (conn, clean) = h.parts();
                watched(clean, conn.execute(query))
            }
            DbConn::Fixed(f) => Box::pin(async move { f.run(query, Want::All).await.map(total) }),
        }
    }

    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            DbConn::Held(h) => {
                let (conn, clean) = h.parts();
                watched(clean, conn.fetch_all(query))
            }
            DbConn::Fixed(f) => Box::pin(async move { f.run(query, Want::All).await.map(rows) }),
        }
    }

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            DbConn::Held(h) => {
                let (conn, clean) = h.parts();
                *clean = false;
                let rows = conn.fetch_many(query);
                // Clean again only once the stream has ended without an error.
                Box::pin(futures::stream::unfold(
                    (rows, Some(clean)),
                    |(mut rows, clean)| async move {
                        match rows.next().await {
                            Some(item) => {
                                let clean = if item.is_err() { None } else { clean };
                                Some((item, (rows, clean)))
                            }
                            None => {
                                if let Some(c) = clean {
                                    *c = true;
                                }
                                None
                            }
                        }
                    },
                ))
            }
            DbConn::Fixed(f) => stream(Box::pin(f.run(query, Want::All))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            DbConn::Held(h) => {
                let (conn, clean) = h.parts();
                watched(clean, conn.fetch_optional(query))
            }
            DbConn::Fixed(f) => Box::pin(async move {
                let out = f.run(query, Want::FirstRow).await?;
                Ok(rows(out).into_iter().next())
            }),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            DbConn::Held(h) => {
                let (conn, clean) = h.parts();
                watched(clean, conn.prepare_with(sql, parameters))
            }
            DbConn::Fixed(_) => no_prepare(),
        }
    }
}

/// Times one database operation: recorded when dropped (so a cancelled statement is timed too).
struct Timer {
    db: &'static str,
    started: Instant,
}

impl Timer {
    fn start(db: &'static str) -> Timer {
        Timer {
            db,
            started: Instant::now(),
        }
    }

    fn around<'e, T: Send + 'e>(
        self,
        run: BoxFuture<'e, Result<T, sqlx::Error>>,
    ) -> BoxFuture<'e, Result<T, sqlx::Error>> {
        Box::pin(async move {
            let r = run.await;
            drop(self);
            r
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        crate::ops::metrics::storage_op(self.db, self.started.elapsed());
    }
}

/// Whether a failed operation means the database is unreachable for now (see
/// [`super::StorageError::is_unavailable`]): the connection-level classes of
/// [`error_class`], and SQLSTATE class 08 (connection exception) and 57P (the server is
/// shutting down, crashed or not yet accepting connections — PostgreSQL manual, Appendix A).
pub(crate) fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => matches!(error_class(e), "connection" | "pool_timeout"),
    }
}

/// A failed database operation as a metric label: losing the database is `connection` or
/// `pool_timeout`; a constraint violation that was not an expected answer is `constraint`.
pub(crate) fn error_class(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::PoolTimedOut => "pool_timeout",
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => "connection",
        sqlx::Error::Database(d) => match d.kind() {
            sqlx::error::ErrorKind::UniqueViolation
            | sqlx::error::ErrorKind::ForeignKeyViolation
            | sqlx::error::ErrorKind::NotNullViolation
            | sqlx::error::ErrorKind::CheckViolation => "constraint",
            _ => "database",
        },
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    async fn count(db: &Db) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t")
            .fetch_one(db)
            .await
            .unwrap()
    }

    /// One kept connection (as for `sqlite::memory:`): transactions commit, roll back when
    /// dropped, and a cancelled statement leaves the connection usable.
    #[tokio::test]
    async fn fixed_connection_transactions_and_cancellation() {
        sqlx::any::install_default_drivers();
        let db = crate::storage::sqlite::connect("sqlite::memory:")
            .await
            .unwrap();
        assert!(matches!(db, Db::Fixed(_)));
        sqlx::query("CREATE TABLE t (v INTEGER)")
            .execute(&db)
            .await
            .unwrap();

        let mut tx = db.begin_with(Some("BEGIN IMMEDIATE")).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx); // not committed
        assert_eq!(count(&db).await, 0, "a dropped transaction is rolled back");

        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&db).await, 1);

        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(count(&db).await, 1);

        // A statement dropped after its first poll, and a transaction whose COMMIT is dropped
        // the same way: the connection goes back and serves the next statement.
        let f = sqlx::query("INSERT INTO t VALUES (3)").execute(&db);
        let _ = f.now_or_never();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (4)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let _ = tx.commit().now_or_never();
        let n = count(&db).await;
        assert!((1..=3).contains(&n), "{n}");
        let rows = sqlx::query("SELECT v FROM t").fetch_all(&db).await.unwrap();
        assert_eq!(rows.len() as i64, n);
    }

    /// Many tasks on a two-thread runtime write to one file through transactions that yield
    /// while open, single writing statements and reads: every write lands, none meets
    /// "database is locked" (writers wait on the process's write lock, not in SQLite's busy
    /// handler, which would block a runtime thread while the holder needs one to commit).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_wait_for_each_other_without_blocking_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = crate::storage::sqlite::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (v INTEGER)")
            .execute(&db)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..8i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..20i64 {
                    let mut tx = db.begin_with(Some("BEGIN IMMEDIATE")).await?;
                    sqlx::query("INSERT INTO t VALUES ($1)")
                        .bind(i * 1000 + j)
                        .execute(&mut *tx)
                        .await?;
                    tokio::task::yield_now().await;
                    sqlx::query("INSERT INTO t VALUES ($1)")
                        .bind(-(i * 1000 + j))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    sqlx::query("INSERT INTO t VALUES (0)").execute(&db).await?;
                    count(&db).await;
                }
                Ok::<_, sqlx::Error>(())
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("no deadlock")
                .unwrap()
                .unwrap();
        }
        assert_eq!(count(&db).await, 8 * 20 * 3);
    }

    /// PostgreSQL (when `LOBBY_TEST_DATABASE_URL` is set): a connection whose server side died
    /// while it idled is replaced before anyone gets it; a transaction dropped without commit is
    /// rolled back at once (its locks released); a statement cut off mid-way leaves no answer
    /// behind for the next statement on that connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn held_postgres_connections_are_checked_when_in_doubt() {
        use sqlx::{AnyConnection, Connection};
        let Ok(url) = std::env::var("LOBBY_TEST_DATABASE_URL") else {
            eprintln!("note: LOBBY_TEST_DATABASE_URL is not set; PostgreSQL case not run");
            return;
        };
        sqlx::any::install_default_drivers();
        let db = crate::storage::postgres::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("LOBBY_TEST_DATABASE_URL is set but unusable: {e:#}"));
        let pid = || async {
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                .fetch_one(&db)
                .await
                .unwrap()
        };

        // Killed while idle, then idle past the check: replaced, the statement succeeds.
        let first = pid().await;
        let mut admin = AnyConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(first)
            .execute(&mut admin)
            .await
            .unwrap();
        tokio::time::sleep(super::super::held::CHECK_AFTER_IDLE + Duration::from_millis(200)).await;
        let second = pid().await;
        assert_ne!(first, second, "a new connection");

        let table = format!(
            "held_t_{}",
            ulid::Ulid::new().to_string().to_ascii_lowercase()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {table} (v INTEGER)"
        )))
        .execute(&db)
        .await
        .unwrap();

        // Dropped inside a transaction that holds a lock on the table: the lock is free soon
        // after, and the row is not there.
        let mut tx = db.begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} VALUES (1)"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        drop(tx);
        sqlx::query("SET lock_timeout = '3s'")
            .execute(&mut admin)
            .await
            .unwrap();
        let mut t = admin.begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        )))
        .execute(&mut *t)
        .await
        .expect("the dropped transaction was rolled back and its lock released");
        t.commit().await.unwrap();
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(n, 0);

        // Cut off mid-statement, on a held connection and on the handle; every later answer is
        // the answer to its own statement.
        let mut c = db.acquire().await.unwrap();
        let cut = tokio::time::timeout(
            Duration::from_millis(50),
            sqlx::query("SELECT pg_sleep(0.3)").execute(&mut *c),
        )
        .await;
        assert!(cut.is_err());
        drop(c);
        let cut = tokio::time::timeout(
            Duration::from_millis(50),
            sqlx::query("SELECT pg_sleep(0.3)").execute(&db),
        )
        .await;
        assert!(cut.is_err());
        for i in 0..40i64 {
            let v: i64 = sqlx::query_scalar("SELECT $1::int8")
                .bind(i)
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(v, i);
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(&db)
            .await
            .unwrap();
        db.close().await;
        assert!(matches!(
            db.acquire().await.err(),
            Some(sqlx::Error::PoolClosed)
        ));
    }

    /// Losing the database is "unavailable" (503), a failing statement is not.
    #[test]
    fn unreachable_database_errors_are_unavailable() {
        use crate::storage::StorageError;
        let e = |x: sqlx::Error| StorageError::Backend(anyhow::Error::new(x));
        assert!(e(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(e(sqlx::Error::PoolClosed).is_unavailable());
        assert!(
            e(sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            ))
            .is_unavailable()
        );
        assert!(
            StorageError::Backend(anyhow::Error::new(sqlx::Error::PoolTimedOut).context("reading"))
                .is_unavailable(),
            "through a context"
        );
        assert!(!e(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!e(sqlx::Error::ColumnNotFound("x".into())).is_unavailable());
        assert!(!StorageError::NotFound.is_unavailable());
        assert!(!StorageError::Backend(anyhow::anyhow!("corrupt row")).is_unavailable());
    }

    /// Every connection of a fixed set is in use: the next caller waits, then times out.
    #[tokio::test]
    async fn fixed_set_acquire_times_out() {
        sqlx::any::install_default_drivers();
        let Db::Fixed(f) = crate::storage::sqlite::connect("sqlite::memory:")
            .await
            .unwrap()
        else {
            panic!("sqlite uses a fixed set");
        };
        let conns = {
            let mut idle = f.idle.lock().unwrap();
            std::mem::take(&mut *idle)
        };
        let short = Fixed::new(conns, Duration::from_millis(50));
        let db = Db::Fixed(short);
        let held = db.acquire().await.unwrap();
        assert!(matches!(
            db.acquire().await.err(),
            Some(sqlx::Error::PoolTimedOut)
        ));
        drop(held);
        assert!(db.acquire().await.is_ok());
        db.close().await;
        assert!(matches!(
            db.acquire().await.err(),
            Some(sqlx::Error::PoolClosed)
        ));
    }
}
