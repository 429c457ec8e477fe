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
//! Each connection belongs to the thread that opened it, and a lease takes one of its own
//! thread's connections first: a connection's socket is driven by the runtime that opened it,
//! so a serving thread (`http::serve`, one single-threaded runtime per thread) using another
//! serving thread's connection woke that thread for every read. A lease opens a connection of
//! its own thread while the set has room, and uses another thread's (correct, a little dearer)
//! only when the set is full. A connection whose thread has stopped (serving threads stop only
//! when Lobby does) fails the statement that borrows it, and is then dropped.
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
use std::thread::ThreadId;
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
    set: Mutex<Set>,
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

/// The idle connections and the count of open ones.
#[derive(Default)]
struct Set {
    /// Most recently returned last.
    idle: Vec<Idle>,
    /// Connections open (leased, idle, being settled or being opened): at most `size`.
    open: u32,
}

struct Idle {
    conn: AnyConnection,
    since: Instant,
    /// The thread that opened it.
    home: ThreadId,
}

/// What a lease does after looking at the set.
enum Pick {
    Idle(Idle),
    Open,
}

impl Held {
    /// At most `size` connections to `options`; every lease waits at most `acquire_timeout`
    /// (opening a connection included).
    pub fn new(options: AnyConnectOptions, size: u32, acquire_timeout: Duration) -> Arc<Held> {
        Arc::new(Held {
            options,
            set: Mutex::new(Set::default()),
            size,
            permits: Arc::new(Semaphore::new(size as usize)),
            acquire_timeout,
        })
    }

    fn set(&self) -> std::sync::MutexGuard<'_, Set> {
        self.set.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One connection: the most recently returned idle one of this thread (checked first if it
    /// idled long); else a new one while fewer than `size` are open; else another thread's.
    pub async fn lease(self: &Arc<Self>) -> Result<HeldConn, sqlx::Error> {
        let deadline = Instant::now() + self.acquire_timeout;
        let permit = timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let here = std::thread::current().id();
        loop {
            let (conn, owner) = match self.pick(here) {
                Pick::Idle(i) if i.since.elapsed() >= IDLE_TIMEOUT => {
                    self.forget(i.conn);
                    continue;
                }
                Pick::Idle(Idle {
                    mut conn,
                    since,
                    home,
                }) if since.elapsed() >= CHECK_AFTER_IDLE => {
                    match timeout_at(deadline, conn.ping()).await {
                        Ok(Ok(())) => (conn, home),
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "idle PostgreSQL connection is gone; replacing it");
                            self.forget(conn);
                            continue;
                        }
                        Err(_) => {
                            self.forget(conn);
                            return Err(sqlx::Error::PoolTimedOut);
                        }
                    }
                }
                Pick::Idle(i) => (i.conn, i.home),
                Pick::Open => match timeout_at(deadline, self.options.connect()).await {
                    Ok(Ok(c)) => (c, here),
                    Ok(Err(e)) => {
                        self.uncount();
                        return Err(e);
                    }
                    Err(_) => {
                        self.uncount();
                        return Err(sqlx::Error::PoolTimedOut);
                    }
                },
            };
            return Ok(HeldConn {
                conn: Some(conn),
                owner,
                home: self.clone(),
                permit: Some(permit),
                tx: false,
                clean: true,
            });
        }
    }

    /// Called holding a permit. While it is held, the other leases hold at most `size - 1`
    /// connections, so when `size` are open at least one is idle.
    fn pick(&self, here: ThreadId) -> Pick {
        let mut set = self.set();
        if let Some(i) = set.idle.iter().rposition(|i| i.home == here) {
            return Pick::Idle(set.idle.remove(i));
        }
        if set.open < self.size {
            set.open += 1;
            return Pick::Open;
        }
        match set.idle.pop() {
            Some(i) => Pick::Idle(i),
            // Not reached (see above); opening one more is the safe answer if it were.
            None => {
                set.open += 1;
                Pick::Open
            }
        }
    }

    /// A connection that will not be used again: closed (its socket, by dropping it) and no
    /// longer counted.
    fn forget(&self, conn: AnyConnection) {
        drop(conn);
        self.uncount();
    }

    /// One connection fewer is open (closed, dropped, or never opened).
    fn uncount(&self) {
        let mut set = self.set();
        set.open = set.open.saturating_sub(1);
    }

    fn put_back(&self, conn: AnyConnection, home: ThreadId) {
        if self.permits.is_closed() {
            self.forget(conn);
            return;
        }
        self.set().idle.push(Idle {
            conn,
            since: Instant::now(),
            home,
        });
    }

    /// How many connections are open, and how many of them idle (tests).
    #[cfg(test)]
    fn counts(&self) -> (u32, usize) {
        let set = self.set();
        (set.open, set.idle.len())
    }

    /// Wait for every leased connection to come back, close them all; later leases fail.
    pub async fn close(&self) {
        let all = self.permits.acquire_many(self.size).await;
        let conns = std::mem::take(&mut self.set().idle);
        self.permits.close();
        drop(all);
        for i in conns {
            let _ = timeout(SETTLE_TIMEOUT, i.conn.close()).await;
            self.uncount();
        }
    }
}

/// A leased PostgreSQL connection; with `tx` set it is inside a transaction, rolled back if
/// dropped so. Goes back to its set when dropped.
pub struct HeldConn {
    conn: Option<AnyConnection>,
    /// The thread that opened the connection.
    owner: ThreadId,
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
        let owner = self.owner;
        if self.clean {
            self.home.put_back(conn, owner);
            drop(permit);
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // No runtime to settle it on: dropped (closes the socket).
            self.home.forget(conn);
            return;
        };
        let home = self.home.clone();
        rt.spawn(async move {
            match timeout(SETTLE_TIMEOUT, conn.ping()).await {
                Ok(Ok(())) => home.put_back(conn, owner),
                _ => {
                    tracing::debug!("PostgreSQL connection dropped after an interrupted statement");
                    home.forget(conn);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The PostgreSQL test URL, or `None` (and a note) when it is not set.
    fn url() -> Option<String> {
        sqlx::any::install_default_drivers();
        let url = std::env::var("LOBBY_TEST_DATABASE_URL").ok();
        if url.is_none() {
            eprintln!("note: LOBBY_TEST_DATABASE_URL is not set; PostgreSQL case not run");
        }
        url
    }

    /// A thread of its own with a single-threaded runtime (as a serving thread), running `f`
    /// and then staying up (its runtime driving the sockets it opened, which other threads may
    /// borrow) until the returned sender is dropped. `f`'s result comes back on `done`.
    fn serving_thread<T: Send + 'static>(
        f: impl std::future::Future<Output = T> + Send + 'static,
        done: std::sync::mpsc::Sender<T>,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let t = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let _ = done.send(f.await);
                    let _ = stopped.await;
                })
        });
        (stop, t)
    }

    /// The backend pid of a leased connection (which server process, i.e. which connection).
    async fn pid(c: &mut HeldConn) -> i32 {
        use sqlx::Row;
        let (conn, _) = c.parts();
        sqlx::query("SELECT pg_backend_pid()")
            .fetch_one(conn)
            .await
            .unwrap()
            .get::<i32, _>(0)
    }

    /// Each thread gets its own connections back while the set has room; the set never holds
    /// more than its size; when it is full, a thread uses another thread's idle connection.
    #[test]
    fn a_thread_leases_its_own_connections_and_borrows_only_when_full() {
        let Some(url) = url() else { return };
        let held = Held::new(options(&url).unwrap(), 2, Duration::from_secs(5));
        let (tx, rx) = std::sync::mpsc::channel();
        let own_twice = |held: Arc<Held>| async move {
            let a = pid(&mut held.lease().await.unwrap()).await;
            let b = pid(&mut held.lease().await.unwrap()).await;
            assert_eq!(a, b, "a thread gets its own idle connection back");
            vec![a]
        };
        let first_thread = serving_thread(own_twice(held.clone()), tx.clone());
        let first = rx.recv().unwrap()[0];
        assert_eq!(held.counts(), (1, 1));
        // Another thread: a new connection of its own (the set has room), not the first one.
        let second_thread = serving_thread(own_twice(held.clone()), tx.clone());
        let second = rx.recv().unwrap()[0];
        assert_ne!(first, second, "each thread has a connection of its own");
        assert_eq!(held.counts(), (2, 2));
        // A third thread finds the set full: it uses the idle ones, opens none.
        let third_thread = serving_thread(
            {
                let held = held.clone();
                async move {
                    let mut a = held.lease().await.unwrap();
                    let mut b = held.lease().await.unwrap();
                    vec![pid(&mut a).await, pid(&mut b).await]
                }
            },
            tx,
        );
        let third = rx.recv().unwrap();
        assert!(
            third.contains(&first) && third.contains(&second),
            "{third:?}"
        );
        assert_eq!(held.counts(), (2, 2), "never more than the size");
        for (stop, t) in [first_thread, second_thread, third_thread] {
            drop(stop);
            t.join().unwrap();
        }
    }

    /// A connection that fails to open is not counted: the set can still open its full size.
    #[tokio::test]
    async fn failed_opens_are_not_counted() {
        sqlx::any::install_default_drivers();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let held = Held::new(
            options(&format!("postgres://nobody@127.0.0.1:{port}/none")).unwrap(),
            2,
            Duration::from_secs(2),
        );
        for _ in 0..3 {
            assert!(held.lease().await.is_err());
        }
        assert_eq!(
            held.counts(),
            (0, 0),
            "a failed open leaves no count behind"
        );
    }
}
