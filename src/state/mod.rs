//! Short-lived shared state: login flow records, authorization codes, SAML request ids,
//! replay caches, rate-limit counters. In-process memory by default (`memory.rs`), Redis when
//! `LOBBY_REDIS_URL` is set (`redis.rs`); `conformance.rs` is the suite both must pass.
//! Also the `tower-sessions` session stores on the same backends (`sessions.rs`).
//!
//! Owns: expiry, atomic take-once, put-if-absent, counters.
//! Must not touch: durable data (that is `storage`), HTTP, the meaning of what it stores.
//!
//! Fail closed: every error is returned to the caller, who must refuse the request. A check is
//! never skipped because the store is down.

pub mod memory;
pub mod metered;
pub mod redis;
pub mod sessions;

#[cfg(test)]
mod conformance;

pub use memory::MemoryState;
pub use metered::Metered;
pub use redis::RedisState;
pub use sessions::{SessionBackend, session_store};

use crate::domain::Clock;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("short-lived state store unavailable: {0}")]
    Unavailable(#[from] anyhow::Error),
}

pub type Result<T> = std::result::Result<T, StateError>;

/// One entry of [`StateStore::put_all`].
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    pub key: &'a str,
    pub value: &'a [u8],
    pub ttl: Duration,
    /// Stored as by `put_evictable`.
    pub evictable: bool,
}

/// The step [`StateStore::incr_within_then`] makes after counting, when both counts are within
/// their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then<'a> {
    /// As `get(key)`.
    Get(&'a str),
    /// As `get_via(index, prefix)`.
    Via { index: &'a str, prefix: &'a str },
    /// `take(index)` and, when the index was there, `take` of the key `prefix` followed by its
    /// value and `delete(also)`: an entry taken through an index, which is taken with it. Of
    /// any number of concurrent callers exactly one gets the index, and only it takes the entry.
    TakeVia {
        index: &'a str,
        prefix: &'a str,
        also: &'a str,
    },
}

/// What a [`Then`] found: the answer of `get` (`Get`), or the index's value and what the key
/// it names held (`Via`, `TakeVia`; `None` when the index was absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Get(Option<Vec<u8>>),
    Via(Option<(Vec<u8>, Option<Vec<u8>>)>),
}

#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Store `value` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()>;
    /// Store only if `key` is absent (or expired). `true` when stored. Replay caches use this.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool>;
    /// Like `put`, for an entry the store may drop before its TTL when it is full, oldest
    /// first: sign-in flows nobody has signed in to yet (unbound flows), which anyone can create
    /// with a `GET /authorize`. The memory store evicts them ([`memory::MAX_ENTRIES`]); Redis
    /// treats this as `put` (size Redis with its own `maxmemory`).
    async fn put_evictable(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        self.put(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Atomically read and delete: of any number of concurrent takers, exactly one gets it.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// Increment a counter; the counter expires `ttl` after its first increment.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64>;
    /// Increment `first`, and `second` only while `first` stays within `limit` (a per-client
    /// and a global rate-limit budget: a client over its own budget does not use up everyone
    /// else's). Returns both counts, `None` for a `second` left untouched. Each counter expires
    /// its own `ttl` after its first increment. Redis does both in one round trip.
    async fn incr_within(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
    ) -> Result<(u64, Option<u64>)> {
        let n = self.incr(first.0, first.1).await?;
        if n > limit {
            return Ok((n, None));
        }
        Ok((n, Some(self.incr(second.0, second.1).await?)))
    }
    /// `incr_within(first, limit, second)` and then, only when the first count is within
    /// `limit` and the second within `second_limit`, the step `then`: a request's rate-limit
    /// count and the first step its handler will make, which a refused request never makes.
    /// Returns the counts and, when the step was made, what it found. Redis does it all in one
    /// round trip (one script), where counting and then reading would take two.
    async fn incr_within_then(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
        second_limit: u64,
        then: Then<'_>,
    ) -> Result<((u64, Option<u64>), Option<Found>)> {
        let counts = self.incr_within(first, limit, second).await?;
        if counts.0 > limit || !matches!(counts.1, Some(m) if m <= second_limit) {
            return Ok((counts, None));
        }
        let found = match then {
            Then::Get(key) => Found::Get(self.get(key).await?),
            Then::Via { index, prefix } => Found::Via(self.get_via(index, prefix).await?),
            Then::TakeVia {
                index,
                prefix,
                also,
            } => Found::Via(match self.take(index).await? {
                None => None,
                Some(v) => {
                    let named = match std::str::from_utf8(&v) {
                        Ok(s) => self.take(&format!("{prefix}{s}")).await?,
                        Err(_) => None,
                    };
                    self.delete(also).await?;
                    Some((v, named))
                }
            }),
        };
        Ok((counts, Some(found)))
    }
    /// Every entry stored as by `put` (`put_evictable` where marked), in order. Redis sends
    /// them as one pipeline: one round trip. Not atomic: after an error some may be stored.
    async fn put_all(&self, entries: &[Put<'_>]) -> Result<()> {
        for e in entries {
            if e.evictable {
                self.put_evictable(e.key, e.value, e.ttl).await?;
            } else {
                self.put(e.key, e.value, e.ttl).await?;
            }
        }
        Ok(())
    }
    /// `take(key)`, and `delete` of every key of `also` (whatever the take found). Redis sends
    /// them as one pipeline: one round trip.
    async fn take_and_delete(&self, key: &str, also: &[&str]) -> Result<Option<Vec<u8>>> {
        let v = self.take(key).await?;
        for k in also {
            self.delete(k).await?;
        }
        Ok(v)
    }
    /// `put_if_absent(claim)` and, only when that stored the claim, `take(key)`: whether the
    /// claim was stored, and what the take found (`None` when not claimed). Of any number of
    /// concurrent callers with the same claim key, exactly one claims and only it takes. Redis
    /// does both in one atomic step (one round trip); here the claim is stored before the take,
    /// so whoever finds the claim knows the take happened or is about to.
    async fn claim_and_take(&self, claim: Put<'_>, key: &str) -> Result<(bool, Option<Vec<u8>>)> {
        if !self
            .put_if_absent(claim.key, claim.value, claim.ttl)
            .await?
        {
            return Ok((false, None));
        }
        Ok((true, self.take(key).await?))
    }
    /// The entry an index points at: reads `index`, then the key `prefix` followed by the
    /// index's value. `None` when the index is absent; else the index's value and what the
    /// key it names holds (`None` also when the value is not UTF-8, which names no key). Redis
    /// does both reads in one round trip.
    async fn get_via(
        &self,
        index: &str,
        prefix: &str,
    ) -> Result<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        let Some(v) = self.get(index).await? else {
            return Ok(None);
        };
        let named = match std::str::from_utf8(&v) {
            Ok(s) => self.get(&format!("{prefix}{s}")).await?,
            Err(_) => None,
        };
        Ok(Some((v, named)))
    }
    /// `put(put)` (or `put_evictable`, as marked), then `get(key)`. Redis sends both as one
    /// pipeline: one round trip, not atomic.
    async fn put_then_get(&self, put: Put<'_>, key: &str) -> Result<Option<Vec<u8>>> {
        self.put_all(&[put]).await?;
        self.get(key).await
    }
    /// `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// "memory" or "redis".
    fn backend(&self) -> &'static str;
}

/// The state store Lobby uses: in-process memory when `redis_url` is `None`, otherwise Redis
/// with keys under [`redis::DEFAULT_PREFIX`]. `clock` drives memory expiry (Redis expires by its
/// own clock).
///
/// Redis connects lazily: when it does not answer at start, a warning is logged, Lobby starts,
/// `/readyz` reports the state store as down and every request that needs it fails closed until
/// Redis is back. An invalid URL is an error.
pub async fn open(
    redis_url: Option<&str>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn StateStore>> {
    match redis_url {
        None => Ok(MemoryState::new(clock)),
        Some(url) => {
            let store = RedisState::connect_lazy(url, self::redis::DEFAULT_PREFIX)?;
            if let Err(e) = store.ping().await {
                tracing::warn!(error = %e, "Redis (LOBBY_REDIS_URL) does not answer yet; requests needing short-lived state will fail until it does");
            }
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod open_tests {
    use super::*;
    use crate::domain::SystemClock;

    #[tokio::test]
    async fn open_picks_memory_without_url_and_redis_with_one() {
        let s = open(None, Arc::new(SystemClock)).await.unwrap();
        assert_eq!(s.backend(), "memory");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = open(
            Some(&format!("redis://127.0.0.1:{port}")),
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
        assert_eq!(s.backend(), "redis");
        assert!(
            s.ping().await.is_err(),
            "a dead Redis is reported, not hidden"
        );
        assert!(
            open(Some("not a url"), Arc::new(SystemClock))
                .await
                .is_err()
        );
    }
}
