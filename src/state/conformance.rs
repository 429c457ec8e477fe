//! The one conformance suite every `StateStore` backend must pass: memory always, Redis when
//! `LOBBY_TEST_REDIS_URL` is set (each test gets its own random key prefix; when the variable is
//! set and Redis does not answer, the test fails instead of skipping).
//!
//! Owns: the behavioural contract of `StateStore` as tests. Must not touch: backend internals
//! (backend-specific tests live beside each backend).
//!
//! Time: memory runs on a `ManualClock` that the suite moves; Redis runs on its own clock with
//! short real TTLs (about a second) and bounded waits.

use super::memory::MemoryState;
use super::redis::RedisState;
use super::{Found, Put, StateError, StateStore, Then};
use crate::domain::{ManualClock, random_token};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

/// Number of concurrent callers in the race tests.
const RACERS: usize = 50;

/// A backend under test and the way to let time pass for it.
pub(crate) struct Harness {
    pub store: Arc<dyn StateStore>,
    /// Makes a second store of the same backend with a different key prefix.
    twin: Box<dyn Fn() -> Arc<dyn StateStore> + Send + Sync>,
    manual: Option<Arc<ManualClock>>,
}

impl Harness {
    pub fn memory() -> Self {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let c2 = clock.clone();
        Self {
            store: MemoryState::new(clock.clone()),
            twin: Box::new(move || MemoryState::new(c2.clone()) as Arc<dyn StateStore>),
            manual: Some(clock),
        }
    }

    /// `None` (with a note) when `LOBBY_TEST_REDIS_URL` is unset; panics when it is set but Redis
    /// does not answer.
    pub async fn redis() -> Option<Self> {
        let Ok(url) = std::env::var("LOBBY_TEST_REDIS_URL") else {
            eprintln!("note: LOBBY_TEST_REDIS_URL unset; Redis state conformance skipped");
            return None;
        };
        let prefix = format!("lobbytest:{}:state:", random_token());
        let store = RedisState::connect(&url, &prefix)
            .await
            .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer");
        let twin_prefix = format!("lobbytest:{}:state:", random_token());
        let twin = RedisState::connect(&url, &twin_prefix)
            .await
            .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer");
        Some(Self {
            store: Arc::new(store),
            twin: Box::new(move || Arc::new(twin.clone()) as Arc<dyn StateStore>),
            manual: None,
        })
    }

    async fn elapse(&self, d: Duration) {
        match &self.manual {
            Some(c) => c.advance(time::Duration::try_from(d).unwrap()),
            None => tokio::time::sleep(d).await,
        }
    }
}

const TTL: Duration = Duration::from_secs(60);
/// Short TTL for expiry cases: real time on Redis, so about a second.
const SHORT: Duration = Duration::from_millis(1100);
/// Slack on top of a TTL before asserting the key is gone.
const SLACK: Duration = Duration::from_millis(150);

pub(crate) async fn put_get_overwrite(h: Harness) {
    let s = &h.store;
    assert_eq!(s.get("a").await.unwrap(), None);
    s.put("a", b"one", TTL).await.unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    // Reads do not consume.
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    s.put("a", b"two", TTL).await.unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"two"[..]));
    // Binary values and empty values survive.
    let bin = [0u8, 255, 10, 13, 0, 128];
    s.put("bin", &bin, TTL).await.unwrap();
    assert_eq!(s.get("bin").await.unwrap().as_deref(), Some(&bin[..]));
    s.put("empty", b"", TTL).await.unwrap();
    assert_eq!(s.get("empty").await.unwrap().as_deref(), Some(&b""[..]));
    s.delete("a").await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), None);
    // Deleting what is not there is fine.
    s.delete("never-there").await.unwrap();
}

pub(crate) async fn ttl_expiry(h: Harness) {
    let s = &h.store;
    s.put("e", b"v", SHORT).await.unwrap();
    s.put("keep", b"v", TTL).await.unwrap();
    h.elapse(SHORT / 2).await;
    assert!(s.get("e").await.unwrap().is_some(), "alive before its TTL");
    h.elapse(SHORT / 2 + SLACK).await;
    assert_eq!(s.get("e").await.unwrap(), None, "gone after its TTL");
    assert_eq!(s.take("e").await.unwrap(), None);
    assert!(s.get("keep").await.unwrap().is_some());
    // An expired key is free again for put_if_absent.
    s.put_if_absent("p", b"1", SHORT).await.unwrap();
    h.elapse(SHORT + SLACK).await;
    assert!(s.put_if_absent("p", b"2", TTL).await.unwrap());
    assert_eq!(s.get("p").await.unwrap().as_deref(), Some(&b"2"[..]));
    // Overwriting sets the new TTL.
    s.put("o", b"1", SHORT).await.unwrap();
    s.put("o", b"2", TTL).await.unwrap();
    h.elapse(SHORT + SLACK).await;
    assert_eq!(s.get("o").await.unwrap().as_deref(), Some(&b"2"[..]));
}

pub(crate) async fn take_once(h: Harness) {
    let s = &h.store;
    s.put("code", b"c1", TTL).await.unwrap();
    assert_eq!(s.take("code").await.unwrap().as_deref(), Some(&b"c1"[..]));
    assert_eq!(s.take("code").await.unwrap(), None);
    assert_eq!(s.get("code").await.unwrap(), None);
    assert_eq!(s.take("missing").await.unwrap(), None);
}

pub(crate) async fn concurrent_take_exactly_one(h: Harness) {
    for round in 0..3 {
        let key = format!("race-{round}");
        h.store.put(&key, b"prize", TTL).await.unwrap();
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for _ in 0..RACERS {
            let (s, b, k) = (h.store.clone(), barrier.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                s.take(&k).await
            }));
        }
        let mut winners = 0;
        for t in tasks {
            if let Some(v) = t.await.unwrap().unwrap() {
                assert_eq!(v, b"prize");
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "exactly one taker gets the value");
    }
}

pub(crate) async fn concurrent_put_if_absent_exactly_one(h: Harness) {
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let (s, b) = (h.store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            let v = format!("caller-{i}");
            let won = s.put_if_absent("replay", v.as_bytes(), TTL).await?;
            Ok::<_, StateError>((won, v))
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (won, v) = t.await.unwrap().unwrap();
        if won {
            winners.push(v);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one caller stores");
    // The stored value is the winner's.
    let stored = h.store.get("replay").await.unwrap().unwrap();
    assert_eq!(stored, winners[0].as_bytes());
    assert!(!h.store.put_if_absent("replay", b"late", TTL).await.unwrap());
}

/// The second counter moves only while the first is within its limit.
pub(crate) async fn incr_within_stops_at_the_first_limit(h: Harness) {
    let s = &h.store;
    let (a, b) = (("ip", TTL), ("all", TTL));
    assert_eq!(s.incr_within(a, 2, b).await.unwrap(), (1, Some(1)));
    assert_eq!(s.incr_within(a, 2, b).await.unwrap(), (2, Some(2)));
    assert_eq!(s.incr_within(a, 2, b).await.unwrap(), (3, None));
    assert_eq!(s.incr("all", TTL).await.unwrap(), 3, "untouched while over");
    // Each counter has its own window.
    assert_eq!(
        s.incr_within(("x", SHORT), 5, ("y", TTL)).await.unwrap(),
        (1, Some(1))
    );
    h.elapse(SHORT + SLACK).await;
    assert_eq!(
        s.incr_within(("x", SHORT), 5, ("y", TTL)).await.unwrap(),
        (1, Some(2))
    );
}

/// The counting of `incr_within`, then a step made only within both limits: a read (plain or
/// through an index; reads change nothing) or a take through an index.
pub(crate) async fn incr_within_then_counts_and_steps_within_the_limits(h: Harness) {
    let s = &h.store;
    let (a, b) = (("ip", TTL), ("all", TTL));
    let get = Then::Get("flow:1");
    assert_eq!(
        s.incr_within_then(a, 2, b, 9, get).await.unwrap(),
        ((1, Some(1)), Some(Found::Get(None)))
    );
    s.put("flow:1", b"f1", TTL).await.unwrap();
    assert_eq!(
        s.incr_within_then(a, 2, b, 9, get).await.unwrap(),
        ((2, Some(2)), Some(Found::Get(Some(b"f1".to_vec()))))
    );
    assert_eq!(
        s.incr_within_then(a, 2, b, 9, get).await.unwrap(),
        ((3, None), None),
        "over the first limit: no step, the second counter untouched"
    );
    assert_eq!(s.incr("all", TTL).await.unwrap(), 3, "untouched while over");
    assert_eq!(
        s.incr_within_then(("ip2", TTL), 5, b, 3, get)
            .await
            .unwrap(),
        ((1, Some(4)), None),
        "over the second limit: no step"
    );
    let via = Then::Via {
        index: "idx",
        prefix: "flow:",
    };
    let (c, d) = (("c", TTL), ("d", SHORT));
    assert_eq!(
        s.incr_within_then(c, 9, d, 9, via).await.unwrap(),
        ((1, Some(1)), Some(Found::Via(None))),
        "no index"
    );
    s.put("idx", b"2", TTL).await.unwrap();
    assert_eq!(
        s.incr_within_then(c, 9, d, 9, via).await.unwrap(),
        ((2, Some(2)), Some(Found::Via(Some((b"2".to_vec(), None))))),
        "an index naming a missing entry"
    );
    s.put("idx", b"1", TTL).await.unwrap();
    h.elapse(SHORT + SLACK).await;
    assert_eq!(
        s.incr_within_then(c, 9, d, 9, via).await.unwrap(),
        (
            (3, Some(1)),
            Some(Found::Via(Some((b"1".to_vec(), Some(b"f1".to_vec())))))
        ),
        "each counter in its own window"
    );
    assert!(s.get("idx").await.unwrap().is_some());
    assert!(s.get("flow:1").await.unwrap().is_some());
    // A take through the index: the index, the entry it names and `also` are gone after.
    s.put("other", b"o", TTL).await.unwrap();
    let take = Then::TakeVia {
        index: "idx",
        prefix: "flow:",
        also: "other",
    };
    assert_eq!(
        s.incr_within_then(("e", TTL), 1, ("f", TTL), 9, take)
            .await
            .unwrap(),
        (
            (1, Some(1)),
            Some(Found::Via(Some((b"1".to_vec(), Some(b"f1".to_vec())))))
        )
    );
    for k in ["idx", "flow:1", "other"] {
        assert_eq!(s.get(k).await.unwrap(), None, "{k} taken or deleted");
    }
    // Over a limit nothing is taken; once within, the take finds the index gone.
    s.put("idx", b"1", TTL).await.unwrap();
    s.put("flow:1", b"f1", TTL).await.unwrap();
    assert_eq!(
        s.incr_within_then(("e", TTL), 1, ("f", TTL), 9, take)
            .await
            .unwrap(),
        ((2, None), None)
    );
    assert!(s.get("idx").await.unwrap().is_some(), "refused: not taken");
    assert_eq!(
        s.incr_within_then(("g", TTL), 1, ("f", TTL), 9, take)
            .await
            .unwrap(),
        (
            (1, Some(2)),
            Some(Found::Via(Some((b"1".to_vec(), Some(b"f1".to_vec())))))
        )
    );
    assert_eq!(
        s.incr_within_then(("h", TTL), 1, ("f", TTL), 9, take)
            .await
            .unwrap(),
        ((1, Some(3)), Some(Found::Via(None))),
        "taken once"
    );
}

/// Of concurrent takes through one index, exactly one gets the entry.
pub(crate) async fn concurrent_takes_through_an_index_exactly_one(h: Harness) {
    let s = h.store.clone();
    s.put("idx", b"1", TTL).await.unwrap();
    s.put("flow:1", b"f1", TTL).await.unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let s = s.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let ip = format!("ip{i}");
            let take = Then::TakeVia {
                index: "idx",
                prefix: "flow:",
                also: "x",
            };
            barrier.wait().await;
            let (_, found) = s
                .incr_within_then((&ip, TTL), 1, ("all", TTL), u64::MAX, take)
                .await
                .unwrap();
            matches!(found, Some(Found::Via(Some((_, Some(_))))))
        }));
    }
    let mut got = 0;
    for t in tasks {
        got += usize::from(t.await.unwrap());
    }
    assert_eq!(got, 1);
}

/// Several puts in one step, each with its own TTL; a take that also deletes other keys.
pub(crate) async fn put_all_then_take_and_delete(h: Harness) {
    let s = &h.store;
    let put = |key, value, ttl, evictable| Put {
        key,
        value,
        ttl,
        evictable,
    };
    s.put_all(&[
        put("flow", b"f".as_slice(), TTL, true),
        put("state", b"s".as_slice(), SHORT, false),
        put("other", b"o".as_slice(), TTL, false),
    ])
    .await
    .unwrap();
    assert_eq!(s.get("flow").await.unwrap().as_deref(), Some(&b"f"[..]));
    assert_eq!(s.get("state").await.unwrap().as_deref(), Some(&b"s"[..]));
    h.elapse(SHORT + SLACK).await;
    assert_eq!(s.get("state").await.unwrap(), None, "its own TTL");
    assert_eq!(s.get("flow").await.unwrap().as_deref(), Some(&b"f"[..]));
    s.put("state", b"s2", TTL).await.unwrap();
    let v = s
        .take_and_delete("flow", &["state", "absent"])
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some(&b"f"[..]));
    assert_eq!(s.get("flow").await.unwrap(), None);
    assert_eq!(s.get("state").await.unwrap(), None);
    assert_eq!(s.get("other").await.unwrap().as_deref(), Some(&b"o"[..]));
    // Nothing to take: the others are deleted all the same.
    assert_eq!(s.take_and_delete("flow", &["other"]).await.unwrap(), None);
    assert_eq!(s.get("other").await.unwrap(), None);
    s.put_all(&[]).await.unwrap();
    // Nothing else to delete: a plain take (flows are taken this way).
    s.put("alone", b"a", TTL).await.unwrap();
    let v = s.take_and_delete("alone", &[]).await.unwrap();
    assert_eq!(v.as_deref(), Some(&b"a"[..]));
    assert_eq!(s.take_and_delete("alone", &[]).await.unwrap(), None);
}

pub(crate) async fn incr_counts_and_expires(h: Harness) {
    let s = &h.store;
    assert_eq!(s.incr("n", SHORT).await.unwrap(), 1);
    assert_eq!(s.incr("n", SHORT).await.unwrap(), 2);
    h.elapse(SHORT / 2).await;
    // Later increments do not extend the window: it runs from the first increment.
    assert_eq!(s.incr("n", SHORT * 10).await.unwrap(), 3);
    h.elapse(SHORT / 2 + SLACK).await;
    assert_eq!(s.incr("n", SHORT).await.unwrap(), 1, "a new window");
    // Concurrent increments are not lost.
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move { s.incr("m", TTL).await }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=RACERS as u64).collect::<Vec<_>>());
}

pub(crate) async fn keys_are_isolated_by_prefix(h: Harness) {
    let other = (h.twin)();
    h.store.put("shared-name", b"mine", TTL).await.unwrap();
    assert_eq!(other.get("shared-name").await.unwrap(), None);
    assert_eq!(other.take("shared-name").await.unwrap(), None);
    assert!(
        other
            .put_if_absent("shared-name", b"theirs", TTL)
            .await
            .unwrap()
    );
    assert_eq!(other.incr("shared-name-n", TTL).await.unwrap(), 1);
    other.delete("shared-name").await.unwrap();
    assert_eq!(
        h.store.get("shared-name").await.unwrap().as_deref(),
        Some(&b"mine"[..])
    );
    assert_eq!(h.store.incr("shared-name-n", TTL).await.unwrap(), 1);
}

pub(crate) async fn claim_and_take_exactly_one(h: Harness) {
    let s = &h.store;
    // Nothing to take: the claim is still stored (a code that is not there was still claimed).
    let claim = |v: &'static [u8]| Put {
        key: "used",
        value: v,
        ttl: TTL,
        evictable: false,
    };
    assert_eq!(
        s.claim_and_take(claim(b"0"), "code").await.unwrap(),
        (true, None)
    );
    assert_eq!(
        s.claim_and_take(claim(b"1"), "code").await.unwrap(),
        (false, None),
        "claimed already"
    );
    assert_eq!(s.get("used").await.unwrap().as_deref(), Some(&b"0"[..]));
    // Racers: exactly one claims, and it is the one that gets the value.
    s.put("code2", b"secret", TTL).await.unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let s = s.clone();
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mine = i.to_string();
            b.wait().await;
            let claim = Put {
                key: "used2",
                value: mine.as_bytes(),
                ttl: TTL,
                evictable: false,
            };
            (
                mine.clone(),
                s.claim_and_take(claim, "code2").await.unwrap(),
            )
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (mine, (claimed, got)) = t.await.unwrap();
        if claimed {
            assert_eq!(got.as_deref(), Some(&b"secret"[..]));
            winners.push(mine);
        } else {
            assert_eq!(got, None, "only the claimer takes");
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        s.get("used2").await.unwrap().as_deref(),
        Some(winners[0].as_bytes()),
        "the claim holds the winner's record"
    );
    assert_eq!(s.get("code2").await.unwrap(), None);
}

pub(crate) async fn get_via_follows_the_index(h: Harness) {
    let s = &h.store;
    assert_eq!(s.get_via("idx", "item:").await.unwrap(), None);
    s.put("idx", b"abc", TTL).await.unwrap();
    assert_eq!(
        s.get_via("idx", "item:").await.unwrap(),
        Some((b"abc".to_vec(), None)),
        "an index naming a missing entry"
    );
    s.put("item:abc", b"the item", TTL).await.unwrap();
    assert_eq!(
        s.get_via("idx", "item:").await.unwrap(),
        Some((b"abc".to_vec(), Some(b"the item".to_vec())))
    );
    // Reads only: both are still there.
    assert!(s.get("idx").await.unwrap().is_some());
    assert!(s.get("item:abc").await.unwrap().is_some());
    // Another store's keys are not followed into.
    let other = (h.twin)();
    other.put("idx", b"abc", TTL).await.unwrap();
    assert_eq!(
        other.get_via("idx", "item:").await.unwrap(),
        Some((b"abc".to_vec(), None))
    );
}

pub(crate) async fn put_then_get_stores_and_reads(h: Harness) {
    let s = &h.store;
    s.put("mark", b"m", TTL).await.unwrap();
    let put = Put {
        key: "new",
        value: b"n",
        ttl: TTL,
        evictable: false,
    };
    assert_eq!(
        s.put_then_get(put, "mark").await.unwrap().as_deref(),
        Some(&b"m"[..])
    );
    assert_eq!(s.get("new").await.unwrap().as_deref(), Some(&b"n"[..]));
    let put = Put {
        key: "new2",
        value: b"n2",
        ttl: SHORT,
        evictable: true,
    };
    assert_eq!(s.put_then_get(put, "absent").await.unwrap(), None);
    assert_eq!(s.get("new2").await.unwrap().as_deref(), Some(&b"n2"[..]));
    h.elapse(SHORT + SLACK).await;
    assert_eq!(s.get("new2").await.unwrap(), None, "stored with its TTL");
}

pub(crate) async fn ping_and_backend(h: Harness) {
    h.store.ping().await.unwrap();
    let b = h.store.backend();
    assert!(b == "memory" || b == "redis", "{b}");
    assert_eq!(h.manual.is_some(), b == "memory");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::Harness::memory()).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(h) = super::Harness::redis().await { super::$case(h).await }
            })*
        }
    };
}

conformance!(
    put_get_overwrite,
    ttl_expiry,
    take_once,
    concurrent_take_exactly_one,
    concurrent_put_if_absent_exactly_one,
    incr_counts_and_expires,
    incr_within_stops_at_the_first_limit,
    incr_within_then_counts_and_steps_within_the_limits,
    concurrent_takes_through_an_index_exactly_one,
    put_all_then_take_and_delete,
    claim_and_take_exactly_one,
    get_via_follows_the_index,
    put_then_get_stores_and_reads,
    keys_are_isolated_by_prefix,
    ping_and_backend,
);
