//! Redis-backed short-lived state, shared by every Lobby instance behind a load balancer.
//!
//! Owns: the Redis connections ([`RedisConns`]: one `redis::aio::ConnectionManager`, which
//! reconnects by itself, per thread that sends commands), the key prefix, timeouts, and the
//! mapping of `StateStore` operations onto Redis commands.
//! Must not touch: durable data, HTTP, the meaning of keys or values.
//!
//! Commands (Redis ≥ 6.2; Valkey works too): `put` = `SET k v PX ttl`, `put_if_absent` =
//! `SET k v NX PX ttl`, `take` = `GETDEL` (atomic on the server, so of any number of concurrent
//! takers exactly one gets the value), `incr` = a Lua script that runs `INCR` and, when the
//! key has no expiry yet, `PEXPIRE` — one atomic step on the server, portable to Redis
//! versions without `PEXPIRE … NX`. Expiry is Redis's own clock. `put_all`,
//! `take_and_delete` and `put_then_get` send their commands as one pipeline (one round trip, not
//! a transaction); `claim_and_take` (`SET NX`, then `GETDEL` only when set), `get_via` (a
//! `GET` of the key another key names) and `incr_within_then` (the two counters of a rate limit,
//! then, within both limits, a `GET` — plain or through an index — or a `GETDEL` through an
//! index) are Lua scripts: one atomic step each.
//!
//! Fail closed and fast: each connection attempt and each response has a timeout, reconnects are
//! retried once, a command whose connection died under it is sent once more
//! on the new connection ([`bounded`]), and every operation is additionally bounded by [`OP_TIMEOUT`]. Any failure is
//! `StateError::Unavailable`; a request never hangs on a dead Redis.

use super::{Found, Put, Result, StateError, StateStore, Then};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// The prefix of every state key Lobby writes (sessions use [`super::sessions::SESSION_PREFIX`]).
pub const DEFAULT_PREFIX: &str = "lobby:state:";
/// Upper bound on one operation, reconnect included.
pub const OP_TIMEOUT: Duration = Duration::from_millis(2500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1000);

/// INCR and set the expiry only on a key that has none (the first increment).
const INCR_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// The counting of `incr_within`, shared by two scripts: KEYS[1] with TTL ARGV[1]; KEYS[2]
/// with TTL ARGV[3] only while KEYS[1] is at most ARGV[2]. Leaves the counts in `n` and `m`
/// (`m` = -1 when KEYS[2] was not touched).
macro_rules! incr_within_lua {
    () => {
        r"
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local m = -1
if n <= tonumber(ARGV[2]) then
  m = redis.call('INCR', KEYS[2])
  if redis.call('PTTL', KEYS[2]) < 0 then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  end
end
"
    };
}

/// `incr_within` in one round trip. Returns {n1, n2}.
const INCR_WITHIN_SCRIPT: &str = concat!(incr_within_lua!(), "return {n, m}\n");

/// `incr_within_then` in one round trip: the counting of `incr_within`; then, only when KEYS[1]
/// is at most ARGV[2] and KEYS[2] at most ARGV[4], the step ARGV[5]: `get` (GET KEYS[3]), `via`
/// (GET KEYS[3] and, when present, GET of ARGV[6] followed by its value) or `take` (the same
/// with GETDEL, and DEL KEYS[4] when KEYS[3] was there). Returns {n1, n2, made (1/0), KEYS[3]'s
/// value, named value}; absent values are nil.
const INCR_WITHIN_THEN_SCRIPT: &str = concat!(
    incr_within_lua!(),
    r"
if n > tonumber(ARGV[2]) or m > tonumber(ARGV[4]) then
  return {n, m, 0, false, false}
end
local op = 'GET'
if ARGV[5] == 'take' then
  op = 'GETDEL'
end
local v = redis.call(op, KEYS[3])
if ARGV[5] == 'get' or not v then
  return {n, m, 1, v, false}
end
local named = redis.call(op, ARGV[6] .. v)
if ARGV[5] == 'take' then
  redis.call('DEL', KEYS[4])
end
return {n, m, 1, v, named}
"
);

/// `claim_and_take` in one atomic step: store KEYS[1] = ARGV[1] (TTL ARGV[2] ms) only if
/// absent, and only then GETDEL KEYS[2]. Returns {1, value or nil} when claimed, {0, nil}
/// when the claim was there already.
const CLAIM_AND_TAKE_SCRIPT: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GETDEL', KEYS[2])}
end
return {0, false}
";

/// `get_via` in one step: GET KEYS[1]; when present, GET of ARGV[1] followed by its value.
/// Returns nil when KEYS[1] is absent, else {value, named value or nil}. (The named key is
/// not declared in KEYS: this needs a single Redis server, not a cluster, as the other
/// multi-key scripts do.)
const GET_VIA_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  return false
end
return {v, redis.call('GET', ARGV[1] .. v)}
";

/// Redis connections, opened lazily: one multiplexed connection (a `ConnectionManager` with
/// Lobby's timeouts) per thread that sends commands, so a command and the task that drives its
/// connection run on the same thread. A connection's driver task runs on the runtime that
/// opened it; with one connection shared by the serving threads (`http::serve`), each command
/// from another serving thread woke the opener's thread to write it and again to read the
/// answer (docs/perf-issue17.md, "Session 8" and "Session 10"). Cheap to clone (the clones
/// share the connections).
///
/// The URL (which may hold a password) is never put in an error or in `Debug`.
#[derive(Clone)]
pub struct RedisConns(std::sync::Arc<ConnsInner>);

struct ConnsInner {
    client: redis::Client,
    config: ConnectionManagerConfig,
    per_thread: thread_local::ThreadLocal<ConnectionManager>,
}

impl std::fmt::Debug for RedisConns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConns").finish_non_exhaustive()
    }
}

impl RedisConns {
    /// Connections to `url`; none is opened until a thread sends its first command.
    ///
    /// Must be called inside a tokio runtime (each connection's manager spawns tasks on the
    /// runtime of the thread that first uses it); outside one it returns an error instead of
    /// panicking.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            anyhow::bail!("the Redis connection must be set up inside the tokio runtime");
        }
        let client = redis::Client::open(url).map_err(|e| {
            anyhow::anyhow!("LOBBY_REDIS_URL is not a valid Redis URL ({:?})", e.kind())
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        Ok(Self(std::sync::Arc::new(ConnsInner {
            client,
            config,
            per_thread: thread_local::ThreadLocal::new(),
        })))
    }

    /// This thread's connection (set up on the thread's first command).
    ///
    /// A thread that exits leaves its connection behind, and a later thread may be given the
    /// same slot (`thread_local` reuses the ids of exited threads): if that connection's
    /// runtime is gone, its first command fails as a dropped connection, which [`bounded`]
    /// retries once — and the manager reconnects on the runtime of the thread that asks.
    pub(crate) fn here(&self) -> redis::RedisResult<ConnectionManager> {
        self.0
            .per_thread
            .get_or_try(|| {
                // The manager spawns its tasks on this thread's runtime: without one, an error
                // rather than a panic.
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "no tokio runtime on this thread",
                    )));
                }
                ConnectionManager::new_lazy_with_config(
                    self.0.client.clone(),
                    self.0.config.clone(),
                )
            })
            .cloned()
    }

    /// [`bounded`] for `op` on this thread's connection (taken again for the retry).
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        bounded(what, || {
            let c = self.here();
            let op = &op;
            async move { op(c?).await }
        })
        .await
    }

    /// How many threads have a connection (tests).
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.0.per_thread.iter().count()
    }
}

/// Runs one Redis call under [`OP_TIMEOUT`], mapping every failure to `Unavailable`.
///
/// `op` makes the call; it is made a second time when the first attempt failed because the
/// connection died under it (Redis restarted, a proxy dropped the socket): the
/// `ConnectionManager` reconnects on such an error, so without the retry the first request
/// after every Redis restart would fail. Repeating is safe for every command Lobby sends: SET,
/// GET and DEL are idempotent; a GETDEL or SET NX whose first attempt did reach the server
/// answers "absent" / "exists" the second time, which fails closed (an expired flow, a replay
/// refused); an INCR may count one extra request against a rate limit.
async fn bounded<T, F, Fut>(what: &'static str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let attempts = async {
        match op().await {
            Err(e) if e.is_unrecoverable_error() => {
                tracing::debug!(error = %e, what, "redis connection dropped; retrying once");
                op().await
            }
            r => r,
        }
    };
    match tokio::time::timeout(OP_TIMEOUT, attempts).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StateError::Unavailable(anyhow::anyhow!(
            "redis {what}: {e}"
        ))),
        Err(_) => Err(StateError::Unavailable(anyhow::anyhow!(
            "redis {what}: no answer within {} ms",
            OP_TIMEOUT.as_millis()
        ))),
    }
}

/// [`bounded`] for one command on this thread's connection.
pub(crate) async fn query<T: redis::FromRedisValue>(
    conns: &RedisConns,
    what: &'static str,
    cmd: &redis::Cmd,
) -> Result<T> {
    conns
        .run(
            what,
            |mut c| async move { cmd.query_async::<T>(&mut c).await },
        )
        .await
}

/// Milliseconds for `PX`/`PEXPIRE`: at least 1 (Redis rejects 0).
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The counts of the `incr_within` scripts: the first, and the second (-1: not touched).
fn counts(n: i64, m: i64) -> Result<(u64, Option<u64>)> {
    let n = u64::try_from(n).map_err(|_| {
        StateError::Unavailable(anyhow::anyhow!("redis INCR returned a negative counter"))
    })?;
    Ok((n, u64::try_from(m).ok()))
}

/// The Redis `StateStore`. Cheap to clone.
#[derive(Clone)]
pub struct RedisState {
    conn: RedisConns,
    prefix: String,
    incr: redis::Script,
    incr_within: redis::Script,
    incr_within_then: redis::Script,
    claim_and_take: redis::Script,
    get_via: redis::Script,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisState {
    /// A store on `url` whose keys all start with `prefix`; connects lazily (see
    /// [`RedisConns::new`]).
    pub fn connect_lazy(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self::with_conns(RedisConns::new(url)?, prefix))
    }

    /// Like [`RedisState::connect_lazy`], then checks that Redis answers.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let s = Self::connect_lazy(url, prefix)?;
        s.ping().await?;
        Ok(s)
    }

    pub fn with_conns(conn: RedisConns, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            incr: redis::Script::new(INCR_SCRIPT),
            incr_within: redis::Script::new(INCR_WITHIN_SCRIPT),
            incr_within_then: redis::Script::new(INCR_WITHIN_THEN_SCRIPT),
            claim_and_take: redis::Script::new(CLAIM_AND_TAKE_SCRIPT),
            get_via: redis::Script::new(GET_VIA_SCRIPT),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl StateStore for RedisState {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl));
        query::<()>(&self.conn, "SET", &cmd).await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        // `OK` when set, nil when the key exists.
        let r: Option<String> = query(&self.conn, "SET NX", &cmd).await?;
        Ok(r.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(key));
        query(&self.conn, "GET", &cmd).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(self.key(key));
        query(&self.conn, "GETDEL", &cmd).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        query::<()>(&self.conn, "DEL", &cmd).await
    }

    async fn incr_within(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
    ) -> Result<(u64, Option<u64>)> {
        let mut inv = self.incr_within.key(self.key(first.0));
        inv.key(self.key(second.0))
            .arg(ttl_millis(first.1))
            .arg(limit)
            .arg(ttl_millis(second.1));
        let inv = &inv;
        let (n, m): (i64, i64) = self
            .conn
            .run(
                "INCR",
                |mut c| async move { inv.invoke_async(&mut c).await },
            )
            .await?;
        counts(n, m)
    }

    async fn incr_within_then(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
        second_limit: u64,
        then: Then<'_>,
    ) -> Result<((u64, Option<u64>), Option<Found>)> {
        let (mode, key, prefix, also) = match then {
            Then::Get(key) => ("get", key, None, None),
            Then::Via { index, prefix } => ("via", index, Some(prefix), None),
            Then::TakeVia {
                index,
                prefix,
                also,
            } => ("take", index, Some(prefix), Some(also)),
        };
        let mut inv = self.incr_within_then.key(self.key(first.0));
        inv.key(self.key(second.0)).key(self.key(key));
        if let Some(also) = also {
            inv.key(self.key(also));
        }
        inv.arg(ttl_millis(first.1))
            .arg(limit)
            .arg(ttl_millis(second.1))
            .arg(second_limit)
            .arg(mode)
            .arg(prefix.map(|p| self.key(p)).unwrap_or_default());
        let inv = &inv;
        type Reply = (i64, i64, i64, Option<Vec<u8>>, Option<Vec<u8>>);
        let (n, m, made, v, named): Reply = self
            .conn
            .run("INCR + step", |mut c| async move {
                inv.invoke_async(&mut c).await
            })
            .await?;
        let found = (made == 1).then(|| match then {
            Then::Get(_) => Found::Get(v),
            Then::Via { .. } | Then::TakeVia { .. } => Found::Via(v.map(|v| (v, named))),
        });
        Ok((counts(n, m)?, found))
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64> {
        let mut inv = self.incr.key(self.key(key));
        inv.arg(ttl_millis(ttl));
        let inv = &inv;
        let n: i64 = self
            .conn
            .run(
                "INCR",
                |mut c| async move { inv.invoke_async(&mut c).await },
            )
            .await?;
        u64::try_from(n).map_err(|_| {
            StateError::Unavailable(anyhow::anyhow!("redis INCR returned a negative counter"))
        })
    }

    async fn put_all(&self, entries: &[Put<'_>]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for e in entries {
            pipe.cmd("SET")
                .arg(self.key(e.key))
                .arg(e.value)
                .arg("PX")
                .arg(ttl_millis(e.ttl))
                .ignore();
        }
        let pipe = &pipe;
        self.conn
            .run("SET", |mut c| async move {
                pipe.query_async::<()>(&mut c).await
            })
            .await
    }

    async fn take_and_delete(&self, key: &str, also: &[&str]) -> Result<Option<Vec<u8>>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GETDEL").arg(self.key(key));
        for k in also {
            pipe.cmd("DEL").arg(self.key(k)).ignore();
        }
        let pipe = &pipe;
        let (v,): (Option<Vec<u8>>,) = self
            .conn
            .run(
                "GETDEL",
                |mut c| async move { pipe.query_async(&mut c).await },
            )
            .await?;
        Ok(v)
    }

    async fn claim_and_take(&self, claim: Put<'_>, key: &str) -> Result<(bool, Option<Vec<u8>>)> {
        let mut inv = self.claim_and_take.key(self.key(claim.key));
        inv.key(self.key(key))
            .arg(claim.value)
            .arg(ttl_millis(claim.ttl));
        let inv = &inv;
        let (claimed, v): (i64, Option<Vec<u8>>) = self
            .conn
            .run("SET NX + GETDEL", |mut c| async move {
                inv.invoke_async(&mut c).await
            })
            .await?;
        Ok((claimed == 1, v))
    }

    async fn get_via(
        &self,
        index: &str,
        prefix: &str,
    ) -> Result<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        let mut inv = self.get_via.key(self.key(index));
        inv.arg(self.key(prefix));
        let inv = &inv;
        self.conn
            .run(
                "GET via",
                |mut c| async move { inv.invoke_async(&mut c).await },
            )
            .await
    }

    async fn put_then_get(&self, put: Put<'_>, key: &str) -> Result<Option<Vec<u8>>> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.key(put.key))
            .arg(put.value)
            .arg("PX")
            .arg(ttl_millis(put.ttl))
            .ignore()
            .cmd("GET")
            .arg(self.key(key));
        let pipe = &pipe;
        let (v,): (Option<Vec<u8>>,) = self
            .conn
            .run("SET + GET", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        Ok(v)
    }

    async fn ping(&self) -> Result<()> {
        let pong: String = query(&self.conn, "PING", &redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StateError::Unavailable(anyhow::anyhow!(
                "redis PING: unexpected answer"
            )))
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Fail closed and fast: a Redis that is not there is `Unavailable` within the bound.
    #[tokio::test]
    async fn closed_port_is_unavailable_quickly() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = RedisState::connect_lazy(&format!("redis://127.0.0.1:{port}"), "t:").unwrap();
        let started = Instant::now();
        let r = s.put("k", b"v", Duration::from_secs(5)).await;
        assert!(matches!(r, Err(StateError::Unavailable(_))), "{r:?}");
        let r = s.take("k").await;
        assert!(matches!(r, Err(StateError::Unavailable(_))), "{r:?}");
        let r = s.put_if_absent("k", b"v", Duration::from_secs(5)).await;
        assert!(matches!(r, Err(StateError::Unavailable(_))), "{r:?}");
        let r = s.incr("k", Duration::from_secs(5)).await;
        assert!(matches!(r, Err(StateError::Unavailable(_))), "{r:?}");
        assert!(s.ping().await.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            RedisState::connect(&format!("redis://127.0.0.1:{port}"), "t:")
                .await
                .is_err()
        );
    }

    /// A TCP peer that accepts and never answers: operations still end within `OP_TIMEOUT`.
    #[tokio::test]
    async fn silent_server_times_out() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = l.accept().await {
                held.push(sock);
            }
        });
        let s = RedisState::connect_lazy(&format!("redis://127.0.0.1:{port}"), "t:").unwrap();
        let started = Instant::now();
        let r = s.get("k").await;
        assert!(matches!(r, Err(StateError::Unavailable(_))), "{r:?}");
        assert!(
            started.elapsed() < OP_TIMEOUT + Duration::from_millis(500),
            "took {:?}",
            started.elapsed()
        );
        hold.abort();
    }

    /// Keys really carry the prefix on the server (runs when `LOBBY_TEST_REDIS_URL` is set).
    #[tokio::test]
    async fn keys_carry_the_prefix_on_the_server() {
        let Ok(url) = std::env::var("LOBBY_TEST_REDIS_URL") else {
            eprintln!("note: LOBBY_TEST_REDIS_URL unset; Redis prefix test skipped");
            return;
        };
        let prefix = format!("lobbytest:{}:state:", crate::domain::random_token());
        let s = RedisState::connect(&url, &prefix)
            .await
            .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer");
        s.put("k", b"v", Duration::from_secs(30)).await.unwrap();
        s.incr("n", Duration::from_secs(30)).await.unwrap();
        let mut c = RedisConns::new(&url).unwrap().here().unwrap();
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("{prefix}k"))
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(raw.as_deref(), Some(&b"v"[..]));
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg("k")
            .query_async(&mut c)
            .await
            .unwrap();
        assert_ne!(raw.as_deref(), Some(&b"v"[..]));
        let pttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}n"))
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(pttl > 0 && pttl <= 30_000, "counter has its TTL: {pttl}");
    }

    /// Each thread sends on a connection of its own; a thread that comes after an exited one
    /// (and may be given its slot, whose connection's runtime is gone) still gets answers.
    #[test]
    fn each_thread_has_its_own_connection_and_a_dead_runtime_is_survived() {
        let Ok(url) = std::env::var("LOBBY_TEST_REDIS_URL") else {
            eprintln!("note: LOBBY_TEST_REDIS_URL unset; Redis per-thread test skipped");
            return;
        };
        let prefix = format!("lobbytest:{}:state:", crate::domain::random_token());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let s = rt.block_on(async { RedisState::connect(&url, &prefix).await.unwrap() });
        // The client id Redis gives the connection a command went over.
        fn client_id_on_a_thread(s: &RedisState) -> i64 {
            let s = s.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async move {
                        s.put("k", b"v", Duration::from_secs(30)).await.unwrap();
                        query::<i64>(&s.conn, "CLIENT ID", redis::cmd("CLIENT").arg("ID"))
                            .await
                            .unwrap()
                    })
            })
            .join()
            .unwrap()
        }
        let here: i64 = rt
            .block_on(query(&s.conn, "CLIENT ID", redis::cmd("CLIENT").arg("ID")))
            .unwrap();
        let mut ids = vec![here];
        for _ in 0..3 {
            ids.push(client_id_on_a_thread(&s));
        }
        assert_eq!(
            rt.block_on(query::<i64>(
                &s.conn,
                "CLIENT ID",
                redis::cmd("CLIENT").arg("ID")
            ))
            .unwrap(),
            here,
            "the same thread keeps its connection"
        );
        assert_ne!(ids[1], here, "another thread, another connection");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            4,
            "each thread had a live connection of its own: {ids:?}"
        );
        assert!(s.conn.threads() >= 2);
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        assert!(RedisState::connect_lazy("redis://127.0.0.1:1", "t:").is_err());
    }

    #[tokio::test]
    async fn bad_url_error_does_not_echo_the_url() {
        let e = RedisState::connect_lazy("redis://user:hunter2@[bad", "t:").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_shows_no_connection_details() {
        // Debug of the store must not print the URL (it may hold a password).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = RedisState::connect_lazy("redis://:hunter2@127.0.0.1:1", "p:").unwrap();
            let d = format!("{s:?}");
            assert!(!d.contains("hunter2"), "{d}");
        });
    }
}
