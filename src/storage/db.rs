//! The database handle the SQL store runs its statements on: sqlx's pool for PostgreSQL, and a
//! small fixed set of long-lived connections for a SQLite file (or the one connection of
//! `sqlite::memory:`).
//!
//! Why not sqlx's pool for SQLite: it pings every connection it gets back (one more round trip
//! to the connection's worker thread, from a task it spawns) before the next caller may use it,
//! so each statement cost two hand-offs between threads instead of one. A SQLite connection
//! cannot go stale the way a network connection can, and sqlx-sqlite's worker already recovers
//! from a cancelled statement (it stops sending rows when the receiver is gone, and rolls back a
//! `BEGIN` nobody received), so the ping buys nothing there. An open transaction dropped without
//! `commit` is rolled back by the connection's next command, as sqlx's own `Transaction` does.
//!
//! Owns: acquiring and returning connections, transactions over them, and the [`Executor`]
//! implementation that lets `sql/` write `.fetch_optional(&self.pool)` for both backends. That
//! implementation is also where storage latency is measured (`ops::metrics::storage_op`):
//! every statement run on the handle (outside a transaction), every `BEGIN` and every `COMMIT`
//! is timed; statements on a held connection or inside a transaction are not timed one by one.
//! Failures are counted where the SQL store turns them into errors (`sql/errors.rs`, with
//! [`error_class`]), so every path counts once.
//! Must not touch: queries, dialect differences (`sqlite.rs`, `postgres.rs`).

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sqlx::SqlStr;
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTransactionManager, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Either, Execute, Executor, Transaction};
use sqlx_core::transaction::TransactionManager;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Where statements run.
#[derive(Clone, Debug)]
pub enum Db {
    /// sqlx's pool (PostgreSQL): connections are tested and replaced as sqlx sees fit.
    Pool(AnyPool),
    /// A fixed set of connections, opened once and kept (SQLite).
    Fixed(Arc<Fixed>),
}

/// A fixed set of connections: a semaphore with one permit per connection, and the idle ones.
pub struct Fixed {
    idle: Mutex<Vec<AnyConnection>>,
    size: u32,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
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
    pub fn new(conns: Vec<AnyConnection>, acquire_timeout: Duration) -> Arc<Fixed> {
        Arc::new(Fixed {
            permits: Arc::new(Semaphore::new(conns.len())),
            size: u32::try_from(conns.len()).unwrap_or(u32::MAX),
            idle: Mutex::new(conns),
            acquire_timeout,
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
}

/// A connection taken from a [`Fixed`] set; it goes back when dropped.
pub struct Lease {
    conn: Option<AnyConnection>,
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
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

/// One connection, held until dropped.
pub enum Conn {
    Pool(PoolConnection<Any>),
    Fixed(Lease),
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pool(c) => c,
            Conn::Fixed(c) => c,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pool(c) => c,
            Conn::Fixed(c) => c,
        }
    }
}

/// A transaction. Dropped without [`Tx::commit`], it is rolled back (by the connection's next
/// command).
pub struct Tx(TxInner);

enum TxInner {
    Pool(Transaction<'static, Any>),
    Fixed(FixedTx),
}

/// A transaction on a leased connection. Still `open` when dropped (not committed, a failed or
/// cancelled COMMIT), it queues the rollback, which the connection's worker runs before its next
/// command (and skips when a COMMIT it ran was never acknowledged), as sqlx's `Transaction` does.
struct FixedTx {
    conn: Lease,
    open: bool,
}

impl Drop for FixedTx {
    fn drop(&mut self) {
        if self.open {
            AnyTransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let db = match &self.0 {
            TxInner::Pool(_) => Db::POOL_LABEL,
            TxInner::Fixed(_) => Db::FIXED_LABEL,
        };
        let _timer = Timer::start(db);
        self.commit_unmetered().await
    }

    async fn commit_unmetered(self) -> Result<(), sqlx::Error> {
        match self.0 {
            TxInner::Pool(t) => t.commit().await,
            TxInner::Fixed(mut f) => {
                AnyTransactionManager::commit(&mut f.conn).await?;
                f.open = false;
                Ok(())
            }
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            TxInner::Pool(t) => t.rollback().await,
            TxInner::Fixed(mut f) => {
                AnyTransactionManager::rollback(&mut f.conn).await?;
                f.open = false;
                Ok(())
            }
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            TxInner::Pool(t) => t,
            TxInner::Fixed(f) => &f.conn,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            TxInner::Pool(t) => t,
            TxInner::Fixed(f) => &mut f.conn,
        }
    }
}

impl Db {
    /// Close every connection (after those in use come back); later acquires fail.
    pub async fn close(&self) {
        match self {
            Db::Pool(p) => p.close().await,
            Db::Fixed(f) => {
                // Every permit: every leased connection is back.
                let all = f.permits.acquire_many(f.size).await;
                let conns = std::mem::take(&mut *f.idle.lock().unwrap_or_else(|p| p.into_inner()));
                f.permits.close();
                drop(all);
                for c in conns {
                    let _ = sqlx::Connection::close(c).await;
                }
            }
        }
    }

    /// One connection, until the returned value is dropped.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        match self {
            Db::Pool(p) => Ok(Conn::Pool(p.acquire().await?)),
            Db::Fixed(f) => Ok(Conn::Fixed(f.lease().await?)),
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

    /// The metrics label of this handle: PostgreSQL runs on sqlx's pool, SQLite on a fixed set.
    const POOL_LABEL: &'static str = "postgres";
    const FIXED_LABEL: &'static str = "sqlite";

    fn label(&self) -> &'static str {
        match self {
            Db::Pool(_) => Self::POOL_LABEL,
            Db::Fixed(_) => Self::FIXED_LABEL,
        }
    }

    async fn begin_unmetered(&self, statement: Option<&'static str>) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Pool(p) => Ok(Tx(TxInner::Pool(match statement {
                Some(s) => p.begin_with(s).await?,
                None => p.begin().await?,
            }))),
            Db::Fixed(f) => {
                let mut conn = f.lease().await?;
                // A cancelled BEGIN is rolled back by the worker itself (sqlx-sqlite).
                AnyTransactionManager::begin(&mut conn, statement.map(SqlStr::from_static)).await?;
                Ok(Tx(TxInner::Fixed(FixedTx { conn, open: true })))
            }
        }
    }
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
            Db::Pool(p) => p.execute(query),
            Db::Fixed(f) => Box::pin(async move { f.lease().await?.execute(query).await }),
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
            Db::Pool(p) => p.fetch_all(query),
            Db::Fixed(f) => Box::pin(async move { f.lease().await?.fetch_all(query).await }),
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
            Db::Pool(p) => p.fetch_many(query),
            // Collected while the connection is held, then streamed: the store never streams
            // unbounded results.
            Db::Fixed(f) => Box::pin(
                futures::stream::once(async move {
                    match f.lease().await {
                        Ok(mut c) => c.fetch_many(query).collect::<Vec<_>>().await,
                        Err(e) => vec![Err(e)],
                    }
                })
                .flat_map(futures::stream::iter),
            ),
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
            Db::Pool(p) => p.fetch_optional(query),
            Db::Fixed(f) => Box::pin(async move { f.lease().await?.fetch_optional(query).await }),
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
            Db::Pool(p) => p.prepare_with(sql, parameters),
            Db::Fixed(f) => {
                Box::pin(async move { f.lease().await?.prepare_with(sql, parameters).await })
            }
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
