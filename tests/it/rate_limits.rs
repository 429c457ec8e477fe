//! Request rate limits on `/authorize`, `/login*`, `/token`, `/sso/*` (issue 13 item 11):
//! per client IP per minute and global per second, counted in the state store (so they hold
//! across instances sharing Redis), 429 with `Retry-After` (the fixed page for browsers, JSON
//! for `/token`), and fail closed when the state store fails; the in-memory state store's cap
//! (unbound flows evicted oldest first).

use crate::provider::fixture::*;
use async_trait::async_trait;
use lobby::domain::Clock;
use lobby::state::{Found, Put, Result as StateResult, StateError, StateStore, Then};
use std::sync::Arc;
use std::time::Duration;

const SENTENCE: &str =
    "Too many sign-in requests came from your network. Wait a minute and try again.";

fn retry_after(r: &Resp) -> u64 {
    r.headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn authorize() -> String {
    let (_, challenge) = pkce();
    authorize_path("crm", CRM_CB, &challenge, &[])
}

async fn token(lobby: &Lobby, b: &Browser) -> Resp {
    b.post(
        &format!("{}/token", lobby.base),
        &[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("client_id", "crm"),
            ("client_secret", CRM_SECRET),
            ("redirect_uri", CRM_CB),
            ("code_verifier", "x"),
        ],
    )
    .await
}

#[tokio::test]
async fn per_ip_limits_answer_429_with_retry_after_and_spare_other_clients() {
    let lobby = Lobby::boot(Backends {
        config: Some(|c| {
            c.rate_limit_per_ip = 5;
            c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        }),
        ..Backends::default()
    })
    .await;
    let noisy = lobby.browser();
    noisy.set_header("x-forwarded-for", "198.51.100.7");
    for _ in 0..5 {
        assert_eq!(noisy.get(&authorize()).await.status, 303);
    }
    let r = noisy.get(&authorize()).await;
    assert_eq!(r.status, 429);
    assert!(r.body.contains(SENTENCE), "{}", r.body);
    assert!((1..=60).contains(&retry_after(&r)));

    // Each class has its own budget: /token still answers, then is limited with JSON.
    for _ in 0..5 {
        let r = token(&lobby, &noisy).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = token(&lobby, &noisy).await;
    assert_eq!(r.status, 429);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    assert!((1..=60).contains(&retry_after(&r)));

    // Another client is not affected; the next minute the noisy one is back.
    let quiet = lobby.browser();
    quiet.set_header("x-forwarded-for", "203.0.113.5");
    assert_eq!(quiet.get(&authorize()).await.status, 303);
    lobby.clock.advance(time::Duration::seconds(61));
    assert_eq!(noisy.get(&authorize()).await.status, 303);
}

#[tokio::test]
async fn the_global_limit_holds_for_all_clients_together() {
    let lobby = Lobby::boot(Backends {
        config: Some(|c| {
            c.rate_limit_per_ip = 0;
            c.rate_limit_global = 3;
            c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        }),
        ..Backends::default()
    })
    .await;
    for i in 0..3 {
        let b = lobby.browser();
        b.set_header("x-forwarded-for", &format!("198.51.100.{i}"));
        assert_eq!(b.get(&authorize()).await.status, 303);
    }
    let b = lobby.browser();
    b.set_header("x-forwarded-for", "203.0.113.5");
    let r = b.get(&authorize()).await;
    assert_eq!(r.status, 429);
    assert_eq!(retry_after(&r), 1);
    // The login pages are a class of their own.
    let r = b.get("/login?flow=nope").await;
    assert_ne!(r.status, 429);
    lobby.clock.advance(time::Duration::seconds(1));
    assert_eq!(b.get(&authorize()).await.status, 303);
}

#[tokio::test]
async fn limits_hold_across_instances_sharing_redis() {
    let Ok(redis) = std::env::var("LOBBY_TEST_REDIS_URL") else {
        eprintln!("note: LOBBY_TEST_REDIS_URL is not set; cross-instance rate limit not run");
        return;
    };
    let prefix = format!("lobby:it:{}:", lobby::domain::random_token());
    let boot = || {
        Lobby::boot(Backends {
            redis_url: Some(redis.clone()),
            redis_prefix: Some(prefix.clone()),
            config: Some(|c| c.rate_limit_per_ip = 3),
            ..Backends::default()
        })
    };
    let a = boot().await;
    let b = boot().await;
    // Both clocks start near the same wall-clock minute; keep them equal.
    let now = a.clock.now();
    b.clock.set(now);
    assert_eq!(a.browser().get(&authorize()).await.status, 303);
    assert_eq!(a.browser().get(&authorize()).await.status, 303);
    assert_eq!(b.browser().get(&authorize()).await.status, 303);
    let r = b.browser().get(&authorize()).await;
    assert_eq!(
        r.status, 429,
        "the fourth request from 127.0.0.1, on another instance"
    );
}

/// A state store whose counters fail (everything else works).
struct FailingIncr(Arc<dyn StateStore>);

#[async_trait]
impl StateStore for FailingIncr {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        self.0.put(key, value, ttl).await
    }
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        self.0.put_if_absent(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.0.get(key).await
    }
    async fn take(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.0.take(key).await
    }
    async fn delete(&self, key: &str) -> StateResult<()> {
        self.0.delete(key).await
    }
    async fn incr(&self, _key: &str, _ttl: Duration) -> StateResult<u64> {
        Err(StateError::Unavailable(anyhow::anyhow!(
            "counters are down"
        )))
    }
    async fn ping(&self) -> StateResult<()> {
        self.0.ping().await
    }
    fn backend(&self) -> &'static str {
        "failing"
    }
}

#[tokio::test]
async fn a_failing_state_store_makes_the_limiter_fail_closed() {
    let lobby = Lobby::boot(Backends {
        wrap_state: Some(|s| Arc::new(FailingIncr(s))),
        ..Backends::default()
    })
    .await;
    let b = lobby.browser();
    let r = b.get(&authorize()).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("Sign-in is temporarily unavailable"));
    let r = token(&lobby, &b).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "temporarily_unavailable");
    // Endpoints without a limit are not affected.
    assert_eq!(b.get("/jwks").await.status, 200);
}

/// A memory state store of 512 entries: a flood of `/authorize` evicts the oldest unbound
/// flows, while a flow whose user has signed in (bound) survives and finishes.
#[tokio::test]
async fn a_flood_of_flows_evicts_unbound_flows_oldest_first_not_signed_in_ones() {
    let lobby = Lobby::boot(Backends {
        // The flood comes from one address: only the memory cap is under test here.
        config: Some(|c| c.rate_limit_per_ip = 0),
        wrap_state: Some(|_| {
            Arc::new(lobby::state::MemoryState::with_capacity(
                Arc::new(lobby::domain::SystemClock),
                512,
            ))
        }),
        ..Backends::default()
    })
    .await;
    // Bob signs in and stands at the org chooser: his flow is bound.
    let bob = lobby.browser();
    let (_, challenge) = pkce();
    let bob_flow = bob
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let r = bob.sign_in(&bob_flow, "bob@acme.test", PASSWORD).await;
    assert_eq!(r.location(), format!("/login/org?flow={bob_flow}"));
    // The flood: far more flows than the store holds.
    let flooder = lobby.browser();
    let first = flooder.start(&authorize()).await;
    for _ in 0..2000 {
        assert_eq!(flooder.get(&authorize()).await.status, 303);
    }
    let last = flooder.start(&authorize()).await;
    // The oldest unbound flow is gone, the newest is there…
    let r = flooder.get(&format!("/login?flow={first}")).await;
    assert!(
        r.body.contains("This sign-in attempt has expired"),
        "{}",
        r.status
    );
    assert_eq!(
        flooder.get(&format!("/login?flow={last}")).await.status,
        200
    );
    // …and bob finishes.
    let r = bob.choose(&bob_flow, "globex").await;
    assert!(!code_from(&r, &lobby.base, CRM_CB).is_empty());
}

/// A state store that writes down the name of every operation it is asked for (issue 17: how
/// many round trips a request costs on Redis). Every method is forwarded, so a default method
/// of the trait is never counted in place of the store's own.
struct Counting {
    inner: Arc<dyn StateStore>,
    ops: Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl Counting {
    fn note(&self, op: &'static str) {
        self.ops.lock().unwrap().push(op);
    }
}

#[async_trait]
impl StateStore for Counting {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        self.note("put");
        self.inner.put(key, value, ttl).await
    }
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        self.note("put_if_absent");
        self.inner.put_if_absent(key, value, ttl).await
    }
    async fn put_evictable(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        self.note("put_evictable");
        self.inner.put_evictable(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.note("get");
        self.inner.get(key).await
    }
    async fn take(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.note("take");
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> StateResult<()> {
        self.note("delete");
        self.inner.delete(key).await
    }
    async fn incr(&self, key: &str, ttl: Duration) -> StateResult<u64> {
        self.note("incr");
        self.inner.incr(key, ttl).await
    }
    async fn incr_within(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
    ) -> StateResult<(u64, Option<u64>)> {
        self.note("incr_within");
        self.inner.incr_within(first, limit, second).await
    }
    async fn incr_within_then(
        &self,
        first: (&str, Duration),
        limit: u64,
        second: (&str, Duration),
        second_limit: u64,
        then: Then<'_>,
    ) -> StateResult<((u64, Option<u64>), Option<Found>)> {
        self.note("incr_within_then");
        self.inner
            .incr_within_then(first, limit, second, second_limit, then)
            .await
    }
    async fn put_all(&self, entries: &[Put<'_>]) -> StateResult<()> {
        self.note("put_all");
        self.inner.put_all(entries).await
    }
    async fn take_and_delete(&self, key: &str, also: &[&str]) -> StateResult<Option<Vec<u8>>> {
        self.note("take_and_delete");
        self.inner.take_and_delete(key, also).await
    }
    async fn claim_and_take(
        &self,
        claim: Put<'_>,
        key: &str,
    ) -> StateResult<(bool, Option<Vec<u8>>)> {
        self.note("claim_and_take");
        self.inner.claim_and_take(claim, key).await
    }
    async fn get_via(
        &self,
        index: &str,
        prefix: &str,
    ) -> StateResult<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        self.note("get_via");
        self.inner.get_via(index, prefix).await
    }
    async fn put_then_get(&self, put: Put<'_>, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.note("put_then_get");
        self.inner.put_then_get(put, key).await
    }
    async fn ping(&self) -> StateResult<()> {
        self.inner.ping().await
    }
    fn backend(&self) -> &'static str {
        "counting"
    }
}

/// The flow a login page or form reads first goes to the state store with the request's
/// rate-limit count, as one operation (one round trip on Redis), and the handler does not
/// read it again; a form over the buffering cap, or a limiter counting one budget only, reads
/// as before.
#[tokio::test]
async fn a_login_page_reads_its_flow_with_its_rate_limit_count() {
    let ops = Arc::new(std::sync::Mutex::new(Vec::new()));
    let clock: Arc<dyn Clock> = Arc::new(lobby::domain::SystemClock);
    let lobby = Lobby::boot(Backends {
        state: Some(Arc::new(Counting {
            inner: lobby::state::MemoryState::new(clock),
            ops: ops.clone(),
        })),
        ..Backends::default()
    })
    .await;
    let b = lobby.browser();
    let flow = b.start(&authorize()).await;
    let take = || std::mem::take(&mut *ops.lock().unwrap());
    take();
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(take(), ["incr_within_then"], "the identifier page");
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "alice@acme.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        take(),
        ["incr_within_then", "put_all"],
        "the identifier form: its flow read with the count, then saved"
    );
    // A form too large to buffer is read by its handler (and still works).
    let page = b.get(&r.location()).await;
    take();
    let pad = "x".repeat(20 * 1024);
    let r = b
        .post(
            "/login/password",
            &[
                ("flow", &flow),
                ("csrf", &page.hidden("csrf")),
                ("password", "wrong password"),
                ("pad", &pad),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = take();
    assert_eq!(seen[..2], ["incr_within", "get"], "{seen:?}");
    // The early read is only a read: a flow of another browser is still refused.
    let other = lobby.browser();
    let r = other.get(&format!("/login?flow={flow}")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("started in another browser"), "{}", r.body);
}
