//! `/metrics`, scraped over HTTP from its own listener after real sign-ins: the counters a
//! login, a refused password, token grants and a refresh-token reuse move, the state store and
//! database timings, state store failures, build info, and that no label value is an id or an
//! email. (Database failures are counted in `storage::sql`'s unit test.)
//!
//! The recorder is process-wide and every test of this binary records into it at once, so each
//! check compares a value before and after (at least the expected increase).
//!
//! Owns: the scrape helpers (`Scrape`) other test modules use. Must not touch: the server's
//! internals (it reads the text format as Prometheus would).

use crate::provider::fixture::*;
use std::collections::BTreeMap;

/// One scrape: every sample line, `name{labels}` → value.
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The value of `name` with exactly these labels (in any order), 0 when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        want.sort();
        self.samples
            .iter()
            .filter(|(series, _)| {
                let (n, l) = split_series(series);
                let mut got: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                got.sort();
                n == name && got == want
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// The sum of `name` over every series whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(series, _)| {
                let (n, l) = split_series(series);
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    }
}

/// `name{a="x",b="y"}` → (name, [(a, x), (b, y)]). Label values here never hold `"` or `,`.
fn split_series(series: &str) -> (&str, Vec<(String, String)>) {
    match series.split_once('{') {
        None => (series, Vec::new()),
        Some((name, rest)) => {
            let inner = rest.trim_end_matches('}');
            let labels = inner
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.to_owned(), v.trim_matches('"').to_owned()))
                })
                .collect();
            (name, labels)
        }
    }
}

/// A metrics listener on port 0 serving the process's recorder, as `lobby serve` does on
/// `LOBBY_METRICS_LISTEN`; its `/metrics` URL.
pub async fn metrics_listener() -> String {
    let metrics = lobby::ops::metrics::install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lobby::ops::metrics::serve(
        listener,
        metrics,
        std::future::pending(),
    ));
    format!("http://{addr}/metrics")
}

/// GET `/metrics` and parse it.
pub async fn scrape(url: &str) -> Scrape {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.unwrap();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        samples.insert(series.to_owned(), value.parse::<f64>().expect("a number"));
    }
    Scrape { text, samples }
}

/// Ids are `prefix_<26-character ULID>`; UUIDs have four dashes.
fn looks_like_id_or_email(v: &str) -> bool {
    let ulid_tail = v.rsplit_once('_').is_some_and(|(_, tail)| {
        tail.len() == 26 && tail.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let uuid = v.len() == 36 && v.matches('-').count() == 4;
    let long_token = v.len() >= 32 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    v.contains('@') || ulid_tail || uuid || long_token
}

#[test]
fn the_id_detector_sees_ids_and_emails() {
    for id in [
        "usr_01hzy3k4m5n6p7q8r9s0t1v2w3",
        "alice@acme.test",
        "123e4567-e89b-12d3-a456-426614174000",
    ] {
        assert!(looks_like_id_or_email(id), "{id}");
    }
    for ok in [
        "password",
        "bad_credentials",
        "authorization_code",
        "crm",
        "0.1.0",
    ] {
        assert!(!looks_like_id_or_email(ok), "{ok}");
    }
}

/// Every label value of the scrape, with its label name.
fn label_values(s: &Scrape) -> Vec<(String, String)> {
    s.samples
        .keys()
        .flat_map(|series| split_series(series).1)
        .collect()
}

#[tokio::test]
async fn a_login_and_token_grants_move_the_counters_on_the_metrics_listener() {
    let lobby = Lobby::start().await;
    let url = metrics_listener().await;
    // Not on the public listener.
    let public = lobby
        .http()
        .get(lobby.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);

    let before = scrape(&url).await;
    let b = lobby.browser();
    // A refused password, then a good sign-in and its code at /token.
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let r = b
        .sign_in(&flow, "alice@acme.test", "not the password")
        .await;
    assert_eq!(r.status, 200, "the password page again");
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let tokens = lobby.exchange(&code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Rotate once, then present the old token after the grace window: reuse revokes the family.
    let (status, _) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(status, 200);
    lobby.clock.advance(time::Duration::seconds(120));
    let (status, _) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(status, 400);
    // An unknown client: counted as `unknown`, never under the id it sent.
    let r = lobby
        .http()
        .post(lobby.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "made-up-client-0123456789"),
            ("code", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let after = scrape(&url).await;

    let moved = |name: &str, labels: &[(&str, &str)], by: f64| {
        let d = after.value(name, labels) - before.value(name, labels);
        assert!(
            d >= by,
            "{name}{labels:?} moved by {d}, expected at least {by}"
        );
    };
    moved("lobby_logins_started_total", &[("kind", "password")], 2.0);
    moved(
        "lobby_logins_finished_total",
        &[("kind", "password"), ("outcome", "success")],
        1.0,
    );
    moved(
        "lobby_logins_finished_total",
        &[("kind", "password"), ("outcome", "bad_credentials")],
        1.0,
    );
    moved(
        "lobby_token_grants_total",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "crm"),
            ("outcome", "success"),
        ],
        1.0,
    );
    moved(
        "lobby_token_grants_total",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "crm"),
            ("outcome", "success"),
        ],
        1.0,
    );
    moved(
        "lobby_token_grants_total",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "crm"),
            ("outcome", "invalid_grant"),
        ],
        1.0,
    );
    moved(
        "lobby_token_grants_total",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "unknown"),
            ("outcome", "invalid_client"),
        ],
        1.0,
    );
    moved(
        "lobby_refresh_families_revoked_total",
        &[("cause", "refresh_reuse")],
        1.0,
    );
    // The state store and the database were timed (memory state, SQLite file).
    moved(
        "lobby_state_op_duration_seconds_count",
        &[("backend", "memory"), ("op", "take")],
        1.0,
    );
    moved(
        "lobby_storage_op_duration_seconds_count",
        &[("db", "sqlite")],
        5.0,
    );
    assert!(
        after
            .text
            .contains("lobby_storage_op_duration_seconds_bucket{db=\"sqlite\",le=\"0.001\"}"),
        "histogram buckets are Lobby's own"
    );
    assert_eq!(
        after.value(
            "lobby_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert!(
        after
            .text
            .contains("# TYPE lobby_logins_finished_total counter")
    );
    assert!(after.text.contains("# HELP lobby_token_grants_total "));
    assert!(
        !after.text.contains("made-up-client"),
        "an unauthenticated client id never becomes a label"
    );
    for (k, v) in label_values(&after) {
        assert!(
            !looks_like_id_or_email(&v),
            "label {k}=\"{v}\" looks like an id or an email"
        );
    }
}

#[tokio::test]
async fn state_store_failures_are_counted_and_a_duplicate_is_no_database_failure() {
    let url = metrics_listener().await;
    let clock: std::sync::Arc<dyn lobby::domain::Clock> =
        std::sync::Arc::new(lobby::domain::SystemClock);
    let fs = std::sync::Arc::new(FailingState::new(lobby::state::MemoryState::new(clock)));
    let lobby = Lobby::boot(Backends {
        state: Some(fs.clone()),
        config: Some(crate::fail_closed::no_rate_limits),
        ..Backends::default()
    })
    .await;
    let before = scrape(&url).await;

    // The state store fails: the password check cannot count the attempt (fail closed).
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let csrf = b.to_password_page(&flow, "alice@acme.test").await;
    fs.fail();
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert!(r.status >= 500, "{}", r.status);

    // A duplicate row is an answer (`Duplicate`), not a database failure: not counted.
    let crm = lobby
        .storage()
        .get_app(&app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        lobby.storage().create_app(&crm).await,
        Err(lobby::storage::StorageError::Duplicate(_))
    ));

    let after = scrape(&url).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let d = after.sum(name, labels) - before.sum(name, labels);
        assert!(d >= 1.0, "{name}{labels:?} moved by {d}");
    };
    moved("lobby_state_errors_total", &[("backend", "failing-double")]);
    moved("lobby_login_error_pages_total", &[("page", "unavailable")]);
    assert!(after.text.contains("lobby_login_flows_in_flight "));
}
