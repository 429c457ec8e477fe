//! The PostgreSQL connections Lobby keeps itself: a bounded set of `AnyConnection`s, opened on
//! demand, leased one at a time, and handed back without a round trip when nothing went wrong.
//!
//! Why not sqlx's pool: it pings a connection when it hands it out and again every time it gets
//! one back, so each statement run "on the pool" costs three round trips to PostgreSQL instead
//! of one — a third of an OIDC login's Lobby CPU on PostgreSQL went to those pings
//! (docs/perf-issue17.md). Here a connection is tested only when there is a reason to doubt it:
//! - it sat idle for at least [`CHECK_AFTER_IDLE`] (PostgreSQL may have restarted meanwhile, or
//!   a proxy dropped the socket): pinged before it is handed out, replaced if the ping fails;
//! - a statement on it was cut off (its future dropped), failed, or a transaction on it was
//!   dropped without commit (sqlx queues the `ROLLBACK`): it is settled in the background — one
//!   ping, which sends what is queued and reads what is pending — before anyone else gets it,
//!   and dropped if that fails. The lease's permit is held meanwhile, so the bound holds.
//!
//! A connection that PostgreSQL closed while it was in use for less than
//! [`CHECK_AFTER_IDLE`] fails the statement that meets it (503, `temporarily_unavailable`) and
//! is then dropped; the next request opens a new one.
//!
//! Owns: opening, leasing, checking and returning PostgreSQL connections; transactions over a
//! leased connection. Must not touch: queries, dialect differences, metrics (the [`super::db`]
//! handle times statements).

use sqlx::AnyConnection;
use sqlx::any::AnyConnectOptions;
use sqlx::{Any, ConnectOptions, Connection, Database, SqlStr};
use sqlx_core::transaction::TransactionManager;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout, timeout_at};

type Tm = <Any as Database>::TransactionManager;

/// A connection idle this long is pinged before it is handed out. Under load connections come
/// back within milliseconds and are never pinged; after a pause (PostgreSQL restarted, a NAT
/// forgot the socket) the first request does not meet a dead connection.
pub const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Idle longer than this, a connection is closed instead of reused (sqlx's `idle_timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long settling a connection in the background may take before it is dropped.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// A bounded set of PostgreSQL connections.
pub struct Held {
    options: AnyConnectOptions,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    size: u32,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Held {
    // The connect options hold the password: not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("size", &self.size)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Held {
    /// At most `size` connections to `options`; every lease waits at most `acquire_timeout`
    /// (opening a connection included).
    pub fn new(options: AnyConnectOptions, size: u32, acquire_timeout: Duration) -> Arc<Held> {
        Arc::new(Held {
            options,
            idle: Mutex::new(Vec::new()),
            size,
            permits: Arc::new(Semaphore::new(size as usize)),
            acquire_timeout,
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AnyConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One connection: the most recently returned idle one (checked first if it idled long),
    /// or a new one.
    pub async fn lease(self: &Arc<Self>) -> Result<HeldConn, sqlx::Error> {
        let deadline = Instant::now() + self.acquire_timeout;
        let permit = timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let popped = self.idle().pop();
            let conn = match popped {
                Some((c, since)) if since.elapsed() >= IDLE_TIMEOUT => {
                    drop(c);
                    continue;
                }
                Some((mut c, since)) if since.elapsed() >= CHECK_AFTER_IDLE => {
                    match timeout_at(deadline, c.ping()).await {
                        Ok(Ok(())) => c,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "idle PostgreSQL connection is gone; replacing it");
                            continue;
                        }
                        Err(_) => return Err(sqlx::Error::PoolTimedOut),
                    }
                }
                Some((c, _)) => c,
                None => timeout_at(deadline, self.options.connect())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)??,
            };
            return Ok(HeldConn {
                conn: Some(conn),
                home: self.clone(),
                permit: Some(permit),
                tx: false,
                clean: true,
            });
        }
    }

    fn put_back(&self, conn: AnyConnection) {
        if !self.permits.is_closed() {
            self.idle().push((conn, Instant::now()));
        }
    }

    /// Wait for every leased connection to come back, close them all; later leases fail.
    pub async fn close(&self) {
        let all = self.permits.acquire_many(self.size).await;
        let conns = std::mem::take(&mut *self.idle());
        self.permits.close();
        drop(all);
        for (c, _) in conns {
            let _ = timeout(SETTLE_TIMEOUT, c.close()).await;
        }
    }
}

/// A leased PostgreSQL connection; with `tx` set it is inside a transaction, rolled back if
/// dropped so. Goes back to its set when dropped.
pub struct HeldConn {
    conn: Option<AnyConnection>,
    home: Arc<Held>,
    permit: Option<OwnedSemaphorePermit>,
    tx: bool,
    /// False while a statement is in flight and after one failed: the connection is settled
    /// before reuse.
    clean: bool,
}

impl HeldConn {
    /// The connection, and the flag a statement clears while it runs (set again when it
    /// completes without error).
    pub(crate) fn parts(&mut self) -> (&mut AnyConnection, &mut bool) {
        let conn = self
            .conn
            .as_mut()
            .expect("a lease holds its connection until dropped");
        (conn, &mut self.clean)
    }

    /// Open a transaction on this connection (`statement`, or `BEGIN`).
    pub async fn begin(&mut self, statement: Option<&'static str>) -> Result<(), sqlx::Error> {
        let (conn, clean) = self.parts();
        *clean = false;
        Tm::begin(conn, statement.map(SqlStr::from_static)).await?;
        *clean = true;
        self.tx = true;
        Ok(())
    }

    /// Commit (`commit`) or roll back the open transaction. A failed commit leaves the
    /// connection to be settled when dropped.
    pub async fn end(&mut self, commit: bool) -> Result<(), sqlx::Error> {
        let (conn, clean) = self.parts();
        *clean = false;
        if commit {
            Tm::commit(conn).await?;
        } else {
            Tm::rollback(conn).await?;
        }
        *clean = true;
        self.tx = false;
        Ok(())
    }
}

impl Drop for HeldConn {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let permit = self.permit.take();
        if self.tx {
            // Queued here, sent by the settling ping below (sqlx's own `Transaction` drop).
            Tm::start_rollback(&mut conn);
            self.clean = false;
        }
        if self.clean {
            self.home.put_back(conn);
            drop(permit);
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // no runtime to settle it on: dropped (closes the socket)
        };
        let home = self.home.clone();
        rt.spawn(async move {
            match timeout(SETTLE_TIMEOUT, conn.ping()).await {
                Ok(Ok(())) => home.put_back(conn),
                _ => {
                    tracing::debug!("PostgreSQL connection dropped after an interrupted statement")
                }
            }
            drop(permit);
        });
    }
}

/// The connect options for `url`.
pub fn options(url: &str) -> Result<AnyConnectOptions, sqlx::Error> {
    url.parse()
}
