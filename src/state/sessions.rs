//! Browser-session stores for `tower-sessions` (the SSO session behind `prompt=none`, the portal
//! session) on the same backend as the short-lived state: memory or Redis.
//!
//! Owns: persisting `tower_sessions` records with their expiry, refusing to resurrect a session
//! that was deleted or expired (`save` only replaces a live record), and re-drawing an id on the
//! (astronomically unlikely) collision in `create`. Must not touch: what is in a session, cookies,
//! HTTP.
//!
//! Memory: records live in a [`MemoryState`] (so expired sessions are swept instead of piling up
//! as they would in `tower_sessions::MemoryStore`). Redis: `SET key value PXAT <expiry> NX` to
//! create, `… XX` to save, under the [`SESSION_PREFIX`] key prefix. Records are JSON.

use super::memory::MemoryState;
use super::redis::{RedisConns, query};
use crate::domain::{Clock, to_millis};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, Error as StoreError};

/// Prefix of every session key in Redis.
pub const SESSION_PREFIX: &str = "lobby:sess:";
/// Attempts to find an unused id in `create` before giving up (ids are 128 random bits).
const MAX_ID_ATTEMPTS: usize = 8;

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| StoreError::Encode(e.to_string()))
}

/// A stored record that does not decode (e.g. written by an older version) is treated as no
/// session: the user signs in again; nothing fails open.
fn decode(bytes: &[u8]) -> Option<Record> {
    match serde_json::from_slice(bytes) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "session record does not decode; treating it as absent");
            None
        }
    }
}

fn backend_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Time left until `expiry` at `now_ms`, or `None` when already expired.
fn remaining(expiry: OffsetDateTime, now_ms: i64) -> Option<Duration> {
    let left = to_millis(expiry).checked_sub(now_ms)?;
    (left > 0).then(|| Duration::from_millis(left as u64))
}

/// Sessions in process memory (single instance).
#[derive(Clone, Debug)]
pub struct MemorySessionStore {
    state: Arc<MemoryState>,
}

impl MemorySessionStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: MemoryState::new(clock),
        }
    }

    fn key(id: &Id) -> String {
        format!("sess:{id}")
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        use super::StateStore;
        let Some(ttl) = remaining(record.expiry_date, self.state.now()) else {
            return Ok(()); // born expired: there is nothing to keep
        };
        for _ in 0..MAX_ID_ATTEMPTS {
            let v = encode(record)?;
            let stored = self
                .state
                .put_if_absent(&Self::key(&record.id), &v, ttl)
                .await
                .map_err(backend_err)?;
            if stored {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(StoreError::Backend("no unused session id found".into()))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        use super::StateStore;
        let key = Self::key(&record.id);
        match remaining(record.expiry_date, self.state.now()) {
            None => self.state.delete(&key).await.map_err(backend_err),
            Some(ttl) => {
                self.state.put_if_present(&key, &encode(record)?, ttl);
                Ok(())
            }
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        use super::StateStore;
        let now = self.state.now();
        let bytes = self.state.get(&Self::key(id)).await.map_err(backend_err)?;
        Ok(bytes
            .as_deref()
            .and_then(decode)
            .filter(|r| r.id == *id && remaining(r.expiry_date, now).is_some()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        use super::StateStore;
        self.state.delete(&Self::key(id)).await.map_err(backend_err)
    }
}

/// Sessions in Redis, shared by all instances.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: RedisConns,
    prefix: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    pub fn new(conn: RedisConns, prefix: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            clock,
        }
    }

    fn key(&self, id: &Id) -> String {
        format!("{}{id}", self.prefix)
    }

    fn now(&self) -> i64 {
        to_millis(self.clock.now())
    }

    /// `SET key value PXAT expiry NX|XX`; `true` when Redis stored it.
    async fn set(&self, record: &Record, mode: &'static str) -> session_store::Result<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&record.id))
            .arg(encode(record)?)
            .arg("PXAT")
            .arg(to_millis(record.expiry_date))
            .arg(mode);
        let r: Option<String> = query(&self.conn, "SET session", &cmd)
            .await
            .map_err(backend_err)?;
        Ok(r.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        if remaining(record.expiry_date, self.now()).is_none() {
            return Ok(());
        }
        for _ in 0..MAX_ID_ATTEMPTS {
            if self.set(record, "NX").await? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(StoreError::Backend("no unused session id found".into()))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if remaining(record.expiry_date, self.now()).is_none() {
            return self.delete(&record.id).await;
        }
        // XX: a session deleted (logout) or expired meanwhile is not brought back.
        self.set(record, "XX").await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(id));
        let bytes: Option<Vec<u8>> = query(&self.conn, "GET session", &cmd)
            .await
            .map_err(backend_err)?;
        let now = self.now();
        Ok(bytes
            .as_deref()
            .and_then(decode)
            .filter(|r| r.id == *id && remaining(r.expiry_date, now).is_some()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(id));
        query::<()>(&self.conn, "DEL session", &cmd)
            .await
            .map_err(backend_err)
    }
}

/// The session store Lobby uses: memory or Redis, picked like [`super::open`].
#[derive(Clone, Debug)]
pub enum SessionBackend {
    Memory(MemorySessionStore),
    Redis(RedisSessionStore),
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Memory(s) => s.create(record).await,
            Self::Redis(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Memory(s) => s.save(record).await,
            Self::Redis(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Memory(s) => s.load(id).await,
            Self::Redis(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Memory(s) => s.delete(id).await,
            Self::Redis(s) => s.delete(id).await,
        }
    }
}

/// Memory sessions when `redis_url` is `None`, otherwise Redis sessions under
/// [`SESSION_PREFIX`]. Redis connects lazily; when it does not answer now a warning is logged
/// and requests that need a session fail until it does (`/readyz` reports it through the state
/// store).
pub async fn session_store(
    redis_url: Option<&str>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<SessionBackend> {
    match redis_url {
        None => Ok(SessionBackend::Memory(MemorySessionStore::new(clock))),
        Some(url) => {
            let conn = RedisConns::new(url)?;
            let store = RedisSessionStore::new(conn, SESSION_PREFIX, clock);
            if let Err(e) = query::<String>(&store.conn, "PING", &redis::cmd("PING")).await {
                tracing::warn!(error = %e, "Redis for sessions does not answer yet");
            }
            Ok(SessionBackend::Redis(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ManualClock, SystemClock, random_token};
    use std::collections::HashMap;

    /// A session store and the way to move its time.
    struct Harness {
        store: SessionBackend,
        clock: Arc<dyn Clock>,
        manual: Option<Arc<ManualClock>>,
    }

    impl Harness {
        fn memory() -> Self {
            let m = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
            Self {
                store: SessionBackend::Memory(MemorySessionStore::new(m.clone())),
                clock: m.clone(),
                manual: Some(m),
            }
        }

        async fn redis() -> Option<Self> {
            let Ok(url) = std::env::var("LOBBY_TEST_REDIS_URL") else {
                eprintln!("note: LOBBY_TEST_REDIS_URL unset; Redis session tests skipped");
                return None;
            };
            let conn = RedisConns::new(&url).expect("LOBBY_TEST_REDIS_URL is valid");
            query::<String>(&conn, "PING", &::redis::cmd("PING"))
                .await
                .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer");
            let prefix = format!("lobbytest:{}:sess:", random_token());
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            Some(Self {
                store: SessionBackend::Redis(RedisSessionStore::new(conn, &prefix, clock.clone())),
                clock,
                manual: None,
            })
        }

        fn now(&self) -> OffsetDateTime {
            self.clock.now()
        }

        async fn elapse(&self, d: Duration) {
            match &self.manual {
                Some(m) => m.advance(time::Duration::try_from(d).unwrap()),
                None => tokio::time::sleep(d).await,
            }
        }

        fn record(&self, ttl: Duration) -> Record {
            let mut data = HashMap::new();
            data.insert("user".to_string(), serde_json::json!("u1"));
            Record {
                id: Id::default(),
                data,
                expiry_date: self.now() + time::Duration::try_from(ttl).unwrap(),
            }
        }
    }

    async fn create_load_save_delete(h: Harness) {
        let s = &h.store;
        let mut r = h.record(Duration::from_secs(60));
        s.create(&mut r).await.unwrap();
        assert_eq!(s.load(&r.id).await.unwrap().as_ref(), Some(&r));

        r.data.insert("n".into(), serde_json::json!(2));
        s.save(&r).await.unwrap();
        let loaded = s.load(&r.id).await.unwrap().unwrap();
        assert_eq!(loaded.data.get("n"), Some(&serde_json::json!(2)));

        // An unknown id loads as nothing.
        assert_eq!(s.load(&Id::default()).await.unwrap(), None);

        s.delete(&r.id).await.unwrap();
        assert_eq!(s.load(&r.id).await.unwrap(), None);
        // Save after delete (e.g. a concurrent request finishing after logout) does not
        // resurrect the session.
        s.save(&r).await.unwrap();
        assert_eq!(s.load(&r.id).await.unwrap(), None);
    }

    async fn create_with_a_taken_id_draws_a_new_one(h: Harness) {
        let s = &h.store;
        let mut a = h.record(Duration::from_secs(60));
        s.create(&mut a).await.unwrap();
        let mut b = h.record(Duration::from_secs(60));
        b.id = a.id;
        b.data.insert("other".into(), serde_json::json!(true));
        s.create(&mut b).await.unwrap();
        assert_ne!(a.id, b.id, "the colliding record got a fresh id");
        assert_eq!(s.load(&a.id).await.unwrap().as_ref(), Some(&a));
        assert_eq!(s.load(&b.id).await.unwrap().as_ref(), Some(&b));
    }

    async fn expiry(h: Harness) {
        let s = &h.store;
        let mut r = h.record(Duration::from_millis(1100));
        s.create(&mut r).await.unwrap();
        assert!(s.load(&r.id).await.unwrap().is_some());
        h.elapse(Duration::from_millis(1300)).await;
        assert_eq!(s.load(&r.id).await.unwrap(), None);
        // A save of the expired record does not bring it back.
        s.save(&r).await.unwrap();
        assert_eq!(s.load(&r.id).await.unwrap(), None);
        // A record born expired is not stored.
        let mut dead = h.record(Duration::from_secs(60));
        dead.expiry_date = h.now() - time::Duration::seconds(1);
        s.create(&mut dead).await.unwrap();
        assert_eq!(s.load(&dead.id).await.unwrap(), None);
    }

    async fn save_with_expiry_in_the_past_deletes(h: Harness) {
        let s = &h.store;
        let mut r = h.record(Duration::from_secs(60));
        s.create(&mut r).await.unwrap();
        r.expiry_date = h.now() - time::Duration::seconds(1);
        s.save(&r).await.unwrap();
        assert_eq!(s.load(&r.id).await.unwrap(), None);
    }

    macro_rules! both_backends {
        ($($case:ident),* $(,)?) => {
            mod memory {
                $(#[tokio::test] async fn $case() { super::$case(super::Harness::memory()).await })*
            }
            mod redis {
                $(#[tokio::test] async fn $case() {
                    if let Some(h) = super::Harness::redis().await { super::$case(h).await }
                })*
            }
        };
    }

    both_backends!(
        create_load_save_delete,
        create_with_a_taken_id_draws_a_new_one,
        expiry,
        save_with_expiry_in_the_past_deletes,
    );

    #[tokio::test]
    async fn session_store_picks_the_backend() {
        let c: Arc<dyn Clock> = Arc::new(SystemClock);
        assert!(matches!(
            session_store(None, c.clone()).await.unwrap(),
            SessionBackend::Memory(_)
        ));
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // A Redis URL gives a Redis store even when the server is down (it fails per request).
        let s = session_store(Some(&format!("redis://127.0.0.1:{port}")), c)
            .await
            .unwrap();
        assert!(matches!(s, SessionBackend::Redis(_)));
        let mut r = Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::minutes(5),
        };
        assert!(s.create(&mut r).await.is_err(), "fail closed");
    }
}
