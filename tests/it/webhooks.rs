//! Event webhooks end to end: a receiver on 127.0.0.1 gets signed events from the outbox
//! worker, a 500 is retried after the backoff (driven by a manual clock), and events queued
//! while the receiver is down are delivered by a new Lobby instance on the same database.
//!
//! Owns: these scenarios. Must not touch: Lobby's internals beyond its public API.

use lobby::app::{Boot, Server};
use lobby::config::Config;
use lobby::domain::{Clock, ManualClock};
use lobby::webhooks::signature;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "test-admin-token-0123456789";

/// What the receiver saw: the signature header and the raw body of each POST.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

struct Receiver {
    url: String,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A receiver on `listener` that answers 500 to the first `fail` requests, then 204.
fn receiver(listener: tokio::net::TcpListener, fail: usize) -> Receiver {
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let fails = Arc::new(AtomicUsize::new(fail));
    let (s, f) = (seen.clone(), fails.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                let sig = headers
                    .get("lobby-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                s.lock().unwrap().push((sig, body));
                if f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/hook"),
        seen,
        task,
    }
}

struct Lobby {
    base: String,
    client: reqwest::Client,
    _server: Server,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Lobby {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Lobby {
    /// An instance on the SQLite file and seal key in `dir`.
    async fn start(dir: &std::path::Path, clock: Arc<ManualClock>) -> Lobby {
        Self::start_polling(dir, clock, Duration::from_millis(50)).await
    }

    /// The same, with the outbox worker polling every `poll`.
    async fn start_polling(
        dir: &std::path::Path,
        clock: Arc<ManualClock>,
        poll: Duration,
    ) -> Lobby {
        let url = format!("sqlite://{}?mode=rwc", dir.join("lobby.db").display());
        let config = Config::for_tests(&url, dir);
        let server = Server::build(
            config,
            Boot {
                clock: Some(clock),
                outbox_poll: Some(poll),
                ..Boot::default()
            },
        )
        .await
        .expect("lobby");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = server.router.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Lobby {
            base: format!("http://{addr}/api/v1"),
            client: reqwest::Client::new(),
            _server: server,
            task,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        let status = res.status();
        let v = res.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// The endpoint as the API shows it, once `done` holds. The receiver sees a delivery
    /// before the worker records its outcome, so health is polled, not read once.
    async fn health_when(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut h = Value::Null;
        for _ in 0..200 {
            h = self
                .call(reqwest::Method::GET, &format!("/webhooks/{id}"), None)
                .await
                .1;
            if done(&h) {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        h
    }
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn count(seen: &Seen) -> usize {
    seen.lock().unwrap().len()
}

fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_signed_and_a_500_is_retried_after_the_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start_clock();
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        1,
    );
    let lobby = Lobby::start(dir.path(), clock.clone()).await;

    // Plain http is refused for a non-loopback host; unknown event types are named.
    let (s, v) = lobby
        .call(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": "http://hooks.example.com/h", "events": ["org.created"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = lobby
        .call(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": rx.url, "events": ["org.exploded"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("member.added"),
        "{v}"
    );

    let (s, hook) = lobby
        .call(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": rx.url, "events": ["org.created", "member.added"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = hook["id"].as_str().unwrap().to_owned();
    // The secret is shown once.
    let (_, again) = lobby
        .call(reqwest::Method::GET, &format!("/webhooks/{id}"), None)
        .await;
    assert!(again.get("secret").is_none(), "{again}");

    let (s, _) = lobby
        .call(
            reqwest::Method::POST,
            "/orgs",
            Some(json!({"id": "org_acme", "slug": "acme", "name": "Acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    wait_for("the first attempt", || count(&rx.seen) >= 1).await;
    let h = lobby
        .health_when(&id, |h| h["health"]["last_status"] == 500)
        .await;
    assert_eq!(h["health"]["last_status"], 500, "{h}");
    assert_eq!(h["health"]["consecutive_failures"], 1, "{h}");
    assert_eq!(h["health"]["pending"], 1, "{h}");
    // Not retried before the backoff has passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&rx.seen), 1);

    clock.advance(time::Duration::seconds(5));
    wait_for("the retry", || count(&rx.seen) >= 2).await;
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].1, seen[1].1,
        "the retry sends the same body (same event id)"
    );
    let (sig, body) = &seen[1];
    let now = clock.now().unix_timestamp();
    assert!(
        signature::verify(secret.as_bytes(), sig, body.as_bytes(), now, 300),
        "{sig}"
    );
    assert!(sig.starts_with(&format!("t={now},v1=")), "{sig}");
    assert!(!signature::verify(
        b"whsec_other",
        sig,
        body.as_bytes(),
        now,
        300
    ));
    let ev: Value = serde_json::from_str(body).unwrap();
    assert_eq!(ev["type"], "org.created");
    assert_eq!(ev["org_id"], "org_acme");
    assert_eq!(ev["data"]["object"]["slug"], "acme");
    assert!(ev["id"].as_str().unwrap().starts_with("evt_"));

    let h = lobby
        .health_when(&id, |h| {
            h["health"]["consecutive_failures"] == 0 && h["health"]["pending"] == 0
        })
        .await;
    assert_eq!(h["health"]["consecutive_failures"], 0, "{h}");
    assert_eq!(h["health"]["last_status"], 204, "{h}");
    assert_eq!(h["health"]["pending"], 0, "{h}");
    let (s, d) = lobby
        .call(
            reqwest::Method::GET,
            &format!("/webhooks/{id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["items"][0]["state"], "delivered", "{d}");
    assert_eq!(d["items"][0]["attempts"], 2, "{d}");
    assert_eq!(d["items"][0]["event_id"], ev["id"], "{d}");

    // Deleting the endpoint: it is gone from the list.
    let (s, _) = lobby
        .call(reqwest::Method::DELETE, &format!("/webhooks/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, l) = lobby.call(reqwest::Method::GET, "/webhooks", None).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_while_the_receiver_is_down_arrive_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start_clock();
    // A port nobody listens on (yet).
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{addr}/hook");
    let (id, secret, event_id) = {
        let a = Lobby::start(dir.path(), clock.clone()).await;
        let (s, hook) = a
            .call(
                reqwest::Method::POST,
                "/webhooks",
                Some(json!({"url": url, "events": ["org.created"]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hook}");
        let id = hook["id"].as_str().unwrap().to_owned();
        a.call(
            reqwest::Method::POST,
            "/orgs",
            Some(json!({"id": "org_down", "slug": "down", "name": "Down"})),
        )
        .await;
        // The attempt fails (nothing listens) and is recorded.
        let h = a
            .health_when(&id, |h| {
                h["health"]["consecutive_failures"].as_i64().unwrap_or(0) >= 1
            })
            .await;
        assert!(h["health"]["last_status"].is_null(), "{h}");
        assert!(h["health"]["last_error"].is_string(), "{h}");
        assert_eq!(h["health"]["pending"], 1, "{h}");
        let (_, d) = a
            .call(
                reqwest::Method::GET,
                &format!("/webhooks/{id}/deliveries"),
                None,
            )
            .await;
        let event_id = d["items"][0]["event_id"].as_str().unwrap().to_owned();
        (id, hook["secret"].as_str().unwrap().to_owned(), event_id)
        // Instance A stops here (its worker with it).
    };

    let rx = receiver(tokio::net::TcpListener::bind(addr).await.unwrap(), 0);
    // Later: past the backoff, a new instance on the same database.
    clock.advance(time::Duration::minutes(1));
    let b = Lobby::start(dir.path(), clock.clone()).await;
    wait_for("the delivery by the new instance", || count(&rx.seen) >= 1).await;
    let (sig, body) = rx.seen.lock().unwrap()[0].clone();
    assert!(signature::verify(
        secret.as_bytes(),
        &sig,
        body.as_bytes(),
        clock.now().unix_timestamp(),
        300
    ));
    let ev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["id"], event_id.as_str());
    assert_eq!(ev["type"], "org.created");
    let h = b
        .health_when(&id, |h| {
            h["health"]["pending"] == 0 && h["health"]["last_status"] == 204
        })
        .await;
    assert_eq!(h["health"]["pending"], 0, "{h}");
    assert_eq!(h["health"]["last_status"], 204, "{h}");
}

/// Sign-ins (the password page's refusal and a successful code) are queued as webhook events
/// by the same audit writes that record them.
#[tokio::test]
async fn sign_ins_are_queued_as_webhook_events() {
    use crate::provider::fixture::{CRM_CB, Lobby as Fixture, PASSWORD, authorize_path, pkce};
    use lobby::domain::*;
    use lobby::storage::PageRequest;
    let lobby = Fixture::start().await;
    let st = lobby.st.storage.clone();
    let now = lobby.clock.now();
    let w = WebhookEndpoint {
        id: WebhookId::generate(),
        url: "https://hooks.example.com/lobby".into(),
        app_id: None,
        events: [EventType::SignInSucceeded, EventType::SignInFailed].into(),
        enabled: true,
        description: String::new(),
        secret_sealed: lobby.st.seal.seal(b"whsec_test").unwrap(),
        created_at: now,
        updated_at: now,
        health: DeliveryHealth::default(),
    };
    st.create_webhook(&w).await.unwrap();
    for password in ["wrong password", PASSWORD] {
        let b = lobby.browser();
        let (_, challenge) = pkce();
        let flow = b
            .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
            .await;
        let r = b.sign_in(&flow, "alice@acme.test", password).await;
        assert_eq!(
            r.status == 303 && r.location().starts_with(CRM_CB),
            password == PASSWORD
        );
    }
    let rows = st
        .list_outbox(OutboxKind::Webhook, w.id.as_str(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    let mut types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    types.sort();
    assert_eq!(types, ["sign_in.failed", "sign_in.succeeded"]);
    let ok = rows
        .iter()
        .find(|r| r.event_type == "sign_in.succeeded")
        .unwrap();
    let body: Value = serde_json::from_str(&ok.payload).unwrap();
    assert_eq!(body["org_id"], "acme", "{body}");
    assert_eq!(body["data"]["object"]["client_id"], "crm", "{body}");
    let failed = rows
        .iter()
        .find(|r| r.event_type == "sign_in.failed")
        .unwrap();
    let body: Value = serde_json::from_str(&failed.payload).unwrap();
    assert_eq!(body["data"]["object"]["connection"], "password", "{body}");
}

/// A delivery queued by this instance leaves on the store's signal, not at the next poll: with
/// a poll of an hour, the event still arrives (and a second one after it: the signal re-arms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_event_leaves_at_once_not_at_the_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        0,
    );
    let lobby = Lobby::start_polling(dir.path(), start_clock(), Duration::from_secs(3600)).await;
    let (s, hook) = lobby
        .call(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": rx.url, "events": ["org.created"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    for (n, (id, slug)) in [("org_one", "one"), ("org_two", "two")]
        .into_iter()
        .enumerate()
    {
        let (s, _) = lobby
            .call(
                reqwest::Method::POST,
                "/orgs",
                Some(json!({"id": id, "slug": slug, "name": slug})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        wait_for("the event, long before the hourly poll", || {
            count(&rx.seen) > n
        })
        .await;
    }
    let seen = rx.seen.lock().unwrap().clone();
    assert!(seen[0].1.contains("org_one"), "{}", seen[0].1);
    assert!(seen[1].1.contains("org_two"), "{}", seen[1].1);
}
