//! In-process short-lived state: the default `StateStore` when no Redis is configured.
//!
//! Owns: a sharded map of byte values with per-entry expiry, read through an injected `Clock`,
//! and the background sweeper that removes expired entries. Must not touch: anything durable,
//! HTTP, the meaning of keys or values. Only valid for a single Lobby instance: state is lost on
//! restart and not shared between processes (that is what `redis.rs` is for).
//!
//! Expired entries are invisible at once (every read checks the expiry under the shard lock);
//! the sweeper only reclaims their memory. Each shard keeps an expiry index so one sweep pass
//! removes at most `SWEEP_BATCH` entries per shard while holding that shard's lock: the work
//! per lock hold is bounded no matter how many entries expire together. The sweeper task holds
//! only a `Weak` reference and ends on its next tick after the store is dropped.

use super::{Result, StateError, StateStore};
use crate::domain::{Clock, to_millis};
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

/// Number of independently locked shards.
const SHARDS: usize = 32;
/// Most entries one shard gives up per sweep pass (bounded work per lock hold).
pub const SWEEP_BATCH: usize = 512;
/// Time between sweeps when the previous sweep finished everything it found.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Most entries the store holds (per shard: this / `SHARDS`). Beyond it, evictable entries
/// (unbound sign-in flows, [`StateStore::put_evictable`]) are dropped oldest first; when none is
/// left, new entries are refused (the caller fails closed) rather than growing without bound.
pub const MAX_ENTRIES: usize = 262_144;
/// Pause between passes while a sweep still has a backlog.
const SWEEP_BACKLOG_PAUSE: Duration = Duration::from_millis(5);

struct Entry {
    value: Vec<u8>,
    /// Unix milliseconds; the entry is gone when `now >= expires_at`.
    expires_at: i64,
    /// Insertion number of an evictable entry (its place in `evictable`).
    evict_seq: Option<u64>,
}

#[derive(Default)]
struct Shard {
    map: HashMap<String, Entry>,
    /// (expires_at, key) of every entry in `map`: the sweeper pops from the front.
    by_expiry: BTreeSet<(i64, String)>,
    /// (insertion number, key) of the evictable entries: eviction pops the oldest.
    evictable: BTreeSet<(u64, String)>,
}

impl Shard {
    /// The entry under `key` if it has not expired; an expired one is removed on the spot.
    fn live(&mut self, key: &str, now: i64) -> Option<&mut Entry> {
        let expired = match self.map.get(key) {
            None => return None,
            Some(e) => e.expires_at <= now,
        };
        if expired {
            self.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: Vec<u8>, expires_at: i64) {
        self.insert_with(key, value, expires_at, None);
    }

    fn insert_with(&mut self, key: &str, value: Vec<u8>, expires_at: i64, evict_seq: Option<u64>) {
        let entry = Entry {
            value,
            expires_at,
            evict_seq,
        };
        if let Some(old) = self.map.insert(key.to_owned(), entry) {
            self.by_expiry.remove(&(old.expires_at, key.to_owned()));
            if let Some(seq) = old.evict_seq {
                self.evictable.remove(&(seq, key.to_owned()));
            }
        }
        self.by_expiry.insert((expires_at, key.to_owned()));
        if let Some(seq) = evict_seq {
            self.evictable.insert((seq, key.to_owned()));
        }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let old = self.map.remove(key)?;
        self.by_expiry.remove(&(old.expires_at, key.to_owned()));
        if let Some(seq) = old.evict_seq {
            self.evictable.remove(&(seq, key.to_owned()));
        }
        Some(old)
    }

    /// Make room for one new entry under `cap`: expired entries first, then the oldest
    /// evictable ones. `false` when the shard stays full. Replacing an existing key needs no
    /// room.
    fn make_room(&mut self, key: &str, now: i64, cap: usize) -> bool {
        if self.map.len() < cap || self.map.contains_key(key) {
            return true;
        }
        self.sweep(now, SWEEP_BATCH);
        while self.map.len() >= cap {
            let Some((_, oldest)) = self.evictable.pop_first() else {
                return false;
            };
            if let Some(old) = self.map.remove(&oldest) {
                self.by_expiry.remove(&(old.expires_at, oldest));
                crate::ops::metrics::state_evicted();
            }
        }
        true
    }

    /// Removes up to `limit` expired entries; returns how many were removed.
    fn sweep(&mut self, now: i64, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            match self.by_expiry.first() {
                Some((exp, _)) if *exp <= now => {}
                _ => break,
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                if let Some(old) = self.map.remove(&key)
                    && let Some(seq) = old.evict_seq
                {
                    self.evictable.remove(&(seq, key));
                }
                removed += 1;
            }
        }
        removed
    }
}

/// The in-memory `StateStore`. Create it with [`MemoryState::new`]; share it as an `Arc`.
pub struct MemoryState {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::hash::RandomState,
    clock: Arc<dyn Clock>,
    /// Entries per shard at most.
    shard_cap: usize,
    /// Insertion numbers of evictable entries (oldest first).
    evict_seq: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for MemoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryState")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl MemoryState {
    /// A new store; when called inside a tokio runtime it also starts the background sweeper
    /// (every [`SWEEP_EVERY`]), which stops by itself once the store is dropped.
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Self> {
        let store = Arc::new(Self::without_sweeper(clock));
        if tokio::runtime::Handle::try_current().is_ok() {
            store.spawn_sweeper(SWEEP_EVERY);
        }
        store
    }

    /// A store without a background task (expired entries are still invisible at once and are
    /// removed when touched or by [`MemoryState::sweep_expired`]).
    pub fn without_sweeper(clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(clock, MAX_ENTRIES)
    }

    /// A store (without sweeper) holding at most about `max_entries` entries (rounded up to a
    /// multiple of the shard count).
    pub fn with_capacity(clock: Arc<dyn Clock>, max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: std::hash::RandomState::new(),
            clock,
            shard_cap: max_entries.div_ceil(SHARDS).max(1),
            evict_seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Store under the cap; `evictable` entries may be dropped later to make room.
    fn store(&self, key: &str, value: &[u8], ttl: Duration, evictable: bool) -> Result<()> {
        let now = self.now();
        let seq = evictable.then(|| {
            self.evict_seq
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        });
        let mut shard = self.shard(key);
        if !shard.make_room(key, now, self.shard_cap) {
            tracing::warn!("in-memory state is full: a new entry is refused");
            return Err(full());
        }
        shard.insert_with(key, value.to_vec(), expiry(now, ttl), seq);
        Ok(())
    }

    /// Starts a sweeper task on the current tokio runtime. It holds only a `Weak` reference and
    /// returns on the first tick after the last `Arc` is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime (like `tokio::spawn`).
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut pause = every;
            loop {
                tokio::time::sleep(pause).await;
                let Some(store) = weak.upgrade() else { return };
                let (_, backlog) = store.sweep_pass(SWEEP_BATCH);
                drop(store);
                pause = if backlog { SWEEP_BACKLOG_PAUSE } else { every };
            }
        })
    }

    /// One sweep pass over all shards, at most `per_shard` removals per shard. Returns the
    /// number of entries removed.
    pub fn sweep_expired(&self, per_shard: usize) -> usize {
        self.sweep_pass(per_shard).0
    }

    /// (removed, whether some shard hit the limit and may have more).
    fn sweep_pass(&self, per_shard: usize) -> (usize, bool) {
        let mut total = 0;
        let mut backlog = false;
        for shard in self.shards.iter() {
            let now = self.now();
            let n = lock(shard).sweep(now, per_shard);
            backlog |= n == per_shard && per_shard > 0;
            total += n;
        }
        (total, backlog)
    }

    /// Entries held in memory, including expired ones not yet swept (for tests and metrics).
    pub fn entry_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    /// Replace the value only if a live entry exists (the session store's `save`). `true` when
    /// replaced.
    pub(crate) fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let now = self.now();
        let mut shard = self.shard(key);
        if shard.live(key, now).is_none() {
            return false;
        }
        shard.insert(key, value.to_vec(), expiry(now, ttl));
        true
    }

    pub(crate) fn now(&self) -> i64 {
        to_millis(self.clock.now())
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        lock(&self.shards[i])
    }
}

/// No code panics while holding a shard lock, but a poisoned lock must not take the store down.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn full() -> StateError {
    StateError::Unavailable(anyhow::anyhow!(
        "the in-memory state store is full (no evictable entry left)"
    ))
}

/// Absolute expiry in unix milliseconds; a TTL is at least 1 ms (like Redis `PX`).
fn expiry(now: i64, ttl: Duration) -> i64 {
    let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
    now.saturating_add(ms)
}

#[async_trait]
impl StateStore for MemoryState {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        self.store(key, value, ttl, false)
    }

    async fn put_evictable(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        self.store(key, value, ttl, true)
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let now = self.now();
        let mut shard = self.shard(key);
        if shard.live(key, now).is_some() {
            return Ok(false);
        }
        if !shard.make_room(key, now, self.shard_cap) {
            return Err(full());
        }
        shard.insert(key, value.to_vec(), expiry(now, ttl));
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = self.now();
        Ok(self.shard(key).live(key, now).map(|e| e.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = self.now();
        // Check and removal happen under one lock: of concurrent takers exactly one wins.
        let mut shard = self.shard(key);
        if shard.live(key, now).is_none() {
            return Ok(None);
        }
        Ok(shard.remove(key).map(|e| e.value))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.shard(key).remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64> {
        let now = self.now();
        let mut shard = self.shard(key);
        if let Some(e) = shard.live(key, now) {
            // Like Redis INCR: the value must be a decimal integer; the TTL is kept.
            let n = std::str::from_utf8(&e.value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .and_then(|n| n.checked_add(1))
                .ok_or_else(|| {
                    StateError::Unavailable(anyhow::anyhow!(
                        "incr: the value under this key is not a counter"
                    ))
                })?;
            e.value = n.to_string().into_bytes();
            return Ok(n);
        }
        if !shard.make_room(key, now, self.shard_cap) {
            return Err(full());
        }
        shard.insert(key, b"1".to_vec(), expiry(now, ttl));
        Ok(1)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ManualClock;
    use time::OffsetDateTime;

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        ))
    }

    #[tokio::test]
    async fn sweep_is_bounded_per_shard_and_only_removes_expired() {
        let c = clock();
        let s = MemoryState::without_sweeper(c.clone());
        for i in 0..2000 {
            s.put(&format!("short-{i}"), b"x", Duration::from_secs(1))
                .await
                .unwrap();
        }
        for i in 0..10 {
            s.put(&format!("long-{i}"), b"y", Duration::from_secs(100))
                .await
                .unwrap();
        }
        assert_eq!(s.sweep_expired(SWEEP_BATCH), 0, "nothing expired yet");
        c.advance(time::Duration::seconds(2));
        // One removal per shard per pass at most.
        let first = s.sweep_expired(1);
        assert!(first <= SHARDS && first > 0, "{first}");
        assert_eq!(s.entry_count(), 2010 - first);
        let mut total = first;
        loop {
            let n = s.sweep_expired(7);
            assert!(n <= 7 * SHARDS);
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 2000);
        assert_eq!(s.entry_count(), 10);
        assert_eq!(s.get("long-3").await.unwrap().as_deref(), Some(&b"y"[..]));
    }

    #[tokio::test]
    async fn a_full_store_evicts_the_oldest_unbound_flows_and_keeps_the_rest() {
        let c = clock();
        // 16 entries per shard; the 32 codes (spread by a random hash) never fill a shard.
        let s = MemoryState::with_capacity(c.clone(), SHARDS * 16);
        // Entries that must never be evicted.
        for i in 0..SHARDS {
            s.put(&format!("code:{i}"), b"c", Duration::from_secs(60))
                .await
                .unwrap();
        }
        let ttl = Duration::from_secs(600);
        for i in 0..10_000 {
            s.put_evictable(&format!("flow:{i}"), b"f", ttl)
                .await
                .unwrap();
        }
        assert!(s.entry_count() <= SHARDS * 16, "{}", s.entry_count());
        // The newest flow is there; the oldest were evicted; the codes are kept.
        assert!(s.get("flow:9999").await.unwrap().is_some());
        assert!(s.get("flow:0").await.unwrap().is_none());
        for i in 0..SHARDS {
            assert!(
                s.get(&format!("code:{i}")).await.unwrap().is_some(),
                "code:{i}"
            );
        }
        // A flow that became bound (stored with `put`) is no longer evictable.
        s.put("flow:9999", b"bound", ttl).await.unwrap();
        for i in 10_000..20_000 {
            s.put_evictable(&format!("flow:{i}"), b"f", ttl)
                .await
                .unwrap();
        }
        assert_eq!(
            s.get("flow:9999").await.unwrap().as_deref(),
            Some(&b"bound"[..])
        );
    }

    #[tokio::test]
    async fn a_store_full_of_unevictable_entries_refuses_new_ones() {
        let s = MemoryState::with_capacity(clock(), SHARDS);
        let mut refused = 0;
        for i in 0..SHARDS * 8 {
            if s.put(&format!("code:{i}"), b"c", Duration::from_secs(60))
                .await
                .is_err()
            {
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert!(s.entry_count() <= SHARDS);
        // Replacing an existing key needs no room.
        let (k, _) = {
            let shard = lock(&s.shards[0]);
            let k = shard.map.keys().next().cloned().unwrap();
            (k, ())
        };
        s.put(&k, b"again", Duration::from_secs(60)).await.unwrap();
        assert_eq!(s.get(&k).await.unwrap().as_deref(), Some(&b"again"[..]));
    }

    #[tokio::test]
    async fn overwrite_moves_the_expiry_index_entry() {
        let c = clock();
        let s = MemoryState::without_sweeper(c.clone());
        s.put("k", b"1", Duration::from_secs(1)).await.unwrap();
        s.put("k", b"2", Duration::from_secs(100)).await.unwrap();
        c.advance(time::Duration::seconds(5));
        assert_eq!(s.sweep_expired(SWEEP_BATCH), 0);
        assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"2"[..]));
        // Every map entry has exactly one index entry.
        let idx: usize = s.shards.iter().map(|sh| lock(sh).by_expiry.len()).sum();
        assert_eq!(idx, s.entry_count());
    }

    #[tokio::test]
    async fn sweeper_reclaims_and_stops_when_the_store_is_dropped() {
        let c = clock();
        let s = Arc::new(MemoryState::without_sweeper(c.clone()));
        let task = s.spawn_sweeper(Duration::from_millis(20));
        for i in 0..100 {
            s.put(&format!("k{i}"), b"v", Duration::from_millis(10))
                .await
                .unwrap();
        }
        c.advance(time::Duration::seconds(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while s.entry_count() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.entry_count(), 0, "the sweeper removed expired entries");
        drop(s);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("sweeper task ended after the store was dropped")
            .unwrap();
    }

    #[tokio::test]
    async fn incr_on_a_non_counter_is_an_error_not_a_panic() {
        let s = MemoryState::without_sweeper(clock());
        s.put("k", b"not a number", Duration::from_secs(5))
            .await
            .unwrap();
        assert!(s.incr("k", Duration::from_secs(5)).await.is_err());
    }

    #[tokio::test]
    async fn put_if_present_only_replaces_live_entries() {
        let c = clock();
        let s = MemoryState::without_sweeper(c.clone());
        assert!(!s.put_if_present("k", b"1", Duration::from_secs(5)));
        s.put("k", b"1", Duration::from_secs(5)).await.unwrap();
        assert!(s.put_if_present("k", b"2", Duration::from_secs(5)));
        assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"2"[..]));
        c.advance(time::Duration::seconds(6));
        assert!(!s.put_if_present("k", b"3", Duration::from_secs(5)));
        assert_eq!(s.get("k").await.unwrap(), None);
    }
}
