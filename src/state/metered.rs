//! The state store with its figures: [`Metered`] wraps whichever [`StateStore`] Lobby runs on
//! (composed once, in `app`) and records each operation's latency and failures
//! (`ops::metrics::state_op`), and counts the sign-in flows in flight in this process.
//!
//! In-flight flows: entries stored under the flow prefix (`flow:`) are remembered with their
//! expiry until they are taken or deleted (the flow finished) or expire (counted as expired).
//! Only this process's operations are seen: behind a load balancer without affinity, a flow
//! started here and finished on another instance counts here until it expires. Flows the memory
//! store evicted count until their expiry too. At most [`MAX_TRACKED`] flows are remembered
//! (the rest are not counted); each stored flow drops a few expired ones, each scrape all.
//!
//! Owns: timing and counting. Must not touch: what is stored — every call goes to the inner
//! store unchanged, errors included. Every method of [`StateStore`] must be forwarded here,
//! default methods too (`put_evictable`), or the inner store's own version is bypassed.

use super::{Found, Put, Result, StateStore, Then};
use crate::domain::Clock;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most flows remembered for the in-flight gauge (a hash and an expiry each: a few MB).
pub const MAX_TRACKED: usize = 100_000;
/// Expired flows dropped per stored flow, so the set stays small between scrapes.
const SWEEP_PER_STORE: usize = 4;

/// A state store whose operations are measured.
pub struct Metered {
    inner: Arc<dyn StateStore>,
    flows: Flows,
}

/// Flows stored and not yet finished, by a hash of their key, with their expiry (unix ms).
struct Flows {
    prefix: &'static str,
    clock: Arc<dyn Clock>,
    hasher: RandomState,
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    by_key: HashMap<u64, i64>,
    by_expiry: BTreeSet<(i64, u64)>,
    /// Expired flows dropped since the last [`Flows::sweep`].
    expired: u64,
}

impl Live {
    /// Drop up to `max` flows expired at `now`.
    fn expire(&mut self, now: i64, max: usize) {
        for _ in 0..max {
            match self.by_expiry.first() {
                Some(&(exp, key)) if exp <= now => {
                    self.by_expiry.pop_first();
                    self.by_key.remove(&key);
                    self.expired += 1;
                }
                _ => break,
            }
        }
    }
}

impl Flows {
    fn now_ms(&self) -> i64 {
        (self.clock.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    fn stored(&self, key: &str, ttl: Duration) {
        if !key.starts_with(self.prefix) {
            return;
        }
        let now = self.now_ms();
        let expires = now + ttl.as_millis() as i64;
        let h = self.hasher.hash_one(key);
        let mut l = self.live.lock().unwrap_or_else(|p| p.into_inner());
        l.expire(now, SWEEP_PER_STORE);
        if let Some(old) = l.by_key.get(&h).copied() {
            l.by_expiry.remove(&(old, h));
        } else if l.by_key.len() >= MAX_TRACKED {
            return;
        }
        l.by_key.insert(h, expires);
        l.by_expiry.insert((expires, h));
    }

    fn finished(&self, key: &str) {
        if !key.starts_with(self.prefix) {
            return;
        }
        let h = self.hasher.hash_one(key);
        let mut l = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(exp) = l.by_key.remove(&h) {
            l.by_expiry.remove(&(exp, h));
        }
    }

    /// Drop the expired ones; the in-flight count and how many expired since the last sweep.
    fn sweep(&self) -> (usize, u64) {
        let now = self.now_ms();
        let mut l = self.live.lock().unwrap_or_else(|p| p.into_inner());
        l.expire(now, usize::MAX);
        (l.by_key.len(), std::mem::take(&mut l.expired))
    }
}

impl Metered {
    /// Wrap `inner`; keys starting with `flow_prefix` are sign-in flows.
    pub fn new(
        inner: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        flow_prefix: &'static str,
    ) -> Arc<Metered> {
        Arc::new(Metered {
            inner,
            flows: Flows {
                prefix: flow_prefix,
                clock,
                hasher: RandomState::new(),
                live: Mutex::new(Live::default()),
            },
        })
    }

    /// Bring the in-flight gauge up to date (before each scrape).
    pub fn refresh_gauges(&self) {
        let (live, expired) = self.flows.sweep();
        crate::ops::metrics::flows(live, expired);
    }

    fn record<T>(&self, op: &'static str, started: Instant, r: &Result<T>) {
        crate::ops::metrics::state_op(self.inner.backend(), op, started.elapsed(), r.is_ok());
    }
}

#[async_trait]
impl StateStore for Metered {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.put(key, value, ttl).await;
        self.record("put", t, &r);
        if r.is_ok() {
            self.flows.stored(key, ttl);
        }
        r
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let t = Instant::now();
        let r = self.inner.put_if_absent(key, value, ttl).await;
        self.record("put_if_absent", t, &r);
        if matches!(r, Ok(true)) {
            self.flows.stored(key, ttl);
        }
        r
    }

    async fn put_evictable(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.put_evictable(key, value, ttl).await;
        self.record("put", t, &r);
        if r.is_ok() {
            self.flows.stored(key, ttl);
        }
        r
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.record("get", t, &r);
        r
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let t = Instant::now();
        let r = self.inner.take(key).await;
        self.record("take", t, &r);
        if r.is_ok() {
            self.flows.finished(key);
        }
        r
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.delete(key).await;
        self.record("delete", t, &r);
        if r.is_ok() {
            self.flows.finished(key);
        }
        r
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64> {
        let t = Instant::now();
        let r = self.inner.incr(key, ttl).await;
        self.record("incr", t, &r);
        r
    }

    async fn incr_within(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
    ) -> Result<(u64, Option<u64>)> {
        let t = Instant::now();
        let r = self.inner.incr_within(first, limit, second).await;
        self.record("incr", t, &r);
        r
    }

    async fn incr_within_then(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
        second_limit: u64,
        then: Then<'_>,
    ) -> Result<((u64, Option<u64>), Option<Found>)> {
        let t = Instant::now();
        let r = self
            .inner
            .incr_within_then(first, limit, second, second_limit, then)
            .await;
        self.record("incr_then", t, &r);
        if let (Then::TakeVia { prefix, .. }, Ok((_, Some(Found::Via(Some((v, _))))))) = (then, &r)
            && let Ok(v) = std::str::from_utf8(v)
        {
            self.flows.finished(&format!("{prefix}{v}"));
        }
        r
    }

    async fn put_all(&self, entries: &[Put<'_>]) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.put_all(entries).await;
        self.record("put", t, &r);
        r
    }

    async fn take_and_delete(&self, key: &str, also: &[&str]) -> Result<Option<Vec<u8>>> {
        let t = Instant::now();
        let r = self.inner.take_and_delete(key, also).await;
        self.record("take", t, &r);
        r
    }

    async fn claim_and_take(&self, claim: Put<'_>, key: &str) -> Result<(bool, Option<Vec<u8>>)> {
        let t = Instant::now();
        let r = self.inner.claim_and_take(claim, key).await;
        self.record("claim_and_take", t, &r);
        if matches!(r, Ok((true, _))) {
            self.flows.stored(claim.key, claim.ttl);
            self.flows.finished(key);
        }
        r
    }

    async fn get_via(
        &self,
        index: &str,
        prefix: &str,
    ) -> Result<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        let t = Instant::now();
        let r = self.inner.get_via(index, prefix).await;
        self.record("get_via", t, &r);
        r
    }

    async fn put_then_get(&self, put: Put<'_>, key: &str) -> Result<Option<Vec<u8>>> {
        let t = Instant::now();
        let r = self.inner.put_then_get(put, key).await;
        self.record("put_then_get", t, &r);
        if r.is_ok() {
            self.flows.stored(put.key, put.ttl);
        }
        r
    }

    async fn ping(&self) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.ping().await;
        self.record("ping", t, &r);
        r
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ManualClock;

    #[tokio::test]
    async fn forwards_and_counts_flows_until_taken_or_expired() {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let inner = crate::state::MemoryState::new(clock.clone());
        let m = Metered::new(inner, clock.clone(), "flow:");
        let ttl = Duration::from_secs(600);
        m.put_evictable("flow:a", b"1", ttl).await.unwrap();
        m.put("flow:b", b"1", ttl).await.unwrap();
        m.put("flow:b", b"2", ttl).await.unwrap();
        m.put("code:x", b"1", ttl).await.unwrap();
        assert_eq!(m.get("flow:b").await.unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(m.flows.sweep(), (2, 0));
        assert!(m.take("flow:a").await.unwrap().is_some());
        assert_eq!(m.flows.sweep(), (1, 0));
        clock.advance(time::Duration::seconds(601));
        // Storing a flow drops a few expired ones on the way; the sweep reports them.
        m.put("flow:c", b"1", ttl).await.unwrap();
        assert_eq!(m.flows.live.lock().unwrap().by_key.len(), 1);
        assert_eq!(m.flows.sweep(), (1, 1));
        assert_eq!(m.flows.sweep(), (1, 0));
        assert_eq!(m.backend(), "memory");
        assert!(m.ping().await.is_ok());
    }
}
