//! Token endpoint throughput on ONE core: refresh grants/s and authorization_code exchanges/s,
//! RS256 and ES256, with median and p99 latency. The whole app runs on a current-thread tokio
//! runtime (one core) with SQLite + memory state, driven in-process through the router (no
//! sockets), so the numbers are Lobby's own cost: client auth, code/refresh checks, claims
//! from the current membership, signing, storage writes.
//!
//! `cargo bench --bench token` (env: LOBBY_BENCH_SECS, default 5; LOBBY_BENCH_CONCURRENCY, 16;
//! LOBBY_BENCH_ALGS, e.g. `ES256`, default both). Besides wall-clock req/s it reports the
//! process CPU time per request (all threads), which is what "per core" means and is far less
//! sensitive to other load on a shared machine than wall-clock throughput.
//!
//! The bench runs on the `lobby` binary's allocator (mimalloc, `src/main.rs`); until issue 17's
//! session 3 it ran on the system allocator (glibc) — the A/B of that change in
//! docs/perf-issue17.md found no difference in CPU per refresh.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use lobby::app::{AppState, Boot, Server};
use lobby::config::Config;
use lobby::domain::SigningAlg;
use lobby::domain::{CodeRecord, Grant, code_key};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The allocator of the `lobby` binary (`src/main.rs`), so the bench measures what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const YAML: &str = r#"
apps:
  - { id: app_rs, name: RS, client_id: rs, client_secret: rs-bench-secret-0123456789-0123456789, signing_alg: RS256, redirect_uris: ["https://app.example/cb"], roles: [{ value: sales, name: Sales, description: "" }], role_groups: [{ id: rs-all, name: All, roles: [sales] }] }
  - { id: app_es, name: ES, client_id: es, client_secret: es-bench-secret-0123456789-0123456789, signing_alg: ES256, redirect_uris: ["https://app.example/cb"], roles: [{ value: sales, name: Sales, description: "" }], role_groups: [{ id: es-all, name: All, roles: [sales] }] }
orgs:
  - id: acme
    slug: acme
    name: Acme
    apps: [{ app_id: app_rs, allowed_role_groups: [rs-all] }, { app_id: app_es, allowed_role_groups: [es-all] }]
    connections: [{ id: conn_pw, name: Passwords, state: active, config: { kind: password } }]
    members: [{ user_id: usr_a, roles: { app_rs: [sales], app_es: [sales] } }]
users:
  - { id: usr_a, email: a@acme.example, email_verified: true, name: A }
"#;

const VERIFIER: &str = "bench-verifier-0123456789-0123456789-0123456789";

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn post_token(router: &axum::Router, auth: &str, form: String) -> serde_json::Value {
    let req = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(form))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert!(status.is_success(), "token endpoint: {status} {v}");
    v
}

async fn mint_code(st: &AppState, client: &str) -> String {
    let code = lobby::domain::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(VERIFIER.as_bytes()));
    let now = st.clock.now();
    let rec = CodeRecord {
        client_id: lobby::domain::ClientId::parse(client).unwrap(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: challenge,
        nonce: Some("n".into()),
        grant: Grant {
            user_id: lobby::domain::UserId::parse("usr_a").unwrap(),
            org_id: lobby::domain::OrgId::parse("acme").unwrap(),
            sid: "bench-sid".into(),
            auth_time: now.unix_timestamp(),
            amr: vec!["pwd".into()],
            idp: Some(lobby::domain::ConnectionId::parse("conn_pw").unwrap()),
            scope: "openid email profile".into(),
        },
        expires_at: lobby::domain::to_millis(now) + 60_000,
    };
    st.ephemeral
        .put(
            &code_key(&code),
            &serde_json::to_vec(&rec).unwrap(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    code
}

fn code_form(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}"
    )
}

struct Stats {
    n: usize,
    secs: f64,
    lat: Vec<Duration>,
    /// Process CPU time (all threads: the runtime and sqlx's SQLite workers) during the run.
    cpu: f64,
}

/// User + system CPU seconds of this whole process so far (`/proc/self/stat` fields 14 and 15,
/// in clock ticks of 1/100 s on Linux), or 0 where that file does not exist.
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may contain spaces; the fields after it are plain numbers.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

impl Stats {
    fn report(&mut self, what: &str) {
        self.lat.sort();
        let q =
            |p: f64| self.lat[((self.lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
        let cpu_us = self.cpu * 1e6 / self.n as f64;
        println!(
            "{what:<34} {:>8.0} req/s   median {:>6.2} ms   p99 {:>6.2} ms   CPU {:>6.0} µs/req = {:>6.0} req per CPU-second   (n={})",
            self.n as f64 / self.secs,
            q(0.5),
            q(0.99),
            cpu_us,
            1e6 / cpu_us,
            self.n
        );
    }
}

/// `conc` chains, each refreshing with the token it got last, for `secs`.
async fn refresh_run(
    router: &axum::Router,
    st: &AppState,
    client: &str,
    secret: &str,
    conc: usize,
    secs: u64,
) -> Stats {
    let auth = basic(client, secret);
    let mut tokens = Vec::new();
    for _ in 0..conc {
        let code = mint_code(st, client).await;
        let v = post_token(router, &auth, code_form(&code)).await;
        tokens.push(v["refresh_token"].as_str().unwrap().to_owned());
    }
    let lat = Rc::new(RefCell::new(Vec::new()));
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let cpu0 = process_cpu_secs();
    let chains = tokens.into_iter().map(|mut rt| {
        let (router, auth, lat) = (router.clone(), auth.clone(), lat.clone());
        async move {
            while Instant::now() < end {
                let t = Instant::now();
                let v = post_token(
                    &router,
                    &auth,
                    format!("grant_type=refresh_token&refresh_token={rt}"),
                )
                .await;
                lat.borrow_mut().push(t.elapsed());
                rt = v["refresh_token"].as_str().unwrap().to_owned();
            }
        }
    });
    futures::future::join_all(chains).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_secs() - cpu0;
    let lat = Rc::try_unwrap(lat).unwrap().into_inner();
    Stats {
        n: lat.len(),
        secs,
        lat,
        cpu,
    }
}

async fn code_run(
    router: &axum::Router,
    st: &AppState,
    client: &str,
    secret: &str,
    conc: usize,
    n: usize,
) -> Stats {
    let auth = basic(client, secret);
    let mut codes = Vec::new();
    for _ in 0..n {
        codes.push(mint_code(st, client).await);
    }
    let codes = Rc::new(RefCell::new(codes));
    let lat = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    let cpu0 = process_cpu_secs();
    let workers = (0..conc).map(|_| {
        let (router, auth, lat, codes) = (router.clone(), auth.clone(), lat.clone(), codes.clone());
        async move {
            loop {
                let Some(code) = codes.borrow_mut().pop() else {
                    break;
                };
                let t = Instant::now();
                post_token(&router, &auth, code_form(&code)).await;
                lat.borrow_mut().push(t.elapsed());
            }
        }
    });
    futures::future::join_all(workers).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_secs() - cpu0;
    let lat = Rc::try_unwrap(lat).unwrap().into_inner();
    Stats {
        n: lat.len(),
        secs,
        lat,
        cpu,
    }
}

fn main() {
    let secs: u64 = std::env::var("LOBBY_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let conc: usize = std::env::var("LOBBY_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
        let mut config = Config::for_tests(&url, dir.path());
        config.log_level = "error".into();
        let storage = lobby::storage::open(&url).await.unwrap();
        lobby::admin::declarative::import(storage.as_ref(), YAML, "bench").await.unwrap();
        let state = lobby::state::open(None, std::sync::Arc::new(lobby::domain::SystemClock)).await.unwrap();
        let app = Server::build(config, Boot { storage: Some(storage), ephemeral: Some(state), ..Boot::default() }).await.unwrap();
        let (st, router) = (app.state, app.router);
        println!("token endpoint, one core (current-thread runtime), SQLite + memory state, {conc} concurrent clients");
        let only = std::env::var("LOBBY_BENCH_ALGS").unwrap_or_default();
        for (alg, client, secret) in [
            (SigningAlg::ES256, "es", "es-bench-secret-0123456789-0123456789"),
            (SigningAlg::RS256, "rs", "rs-bench-secret-0123456789-0123456789"),
        ] {
            if !only.is_empty() && !only.split(',').any(|a| a.eq_ignore_ascii_case(alg.as_str())) {
                continue;
            }
            refresh_run(&router, &st, client, secret, conc, 1).await; // warm-up
            refresh_run(&router, &st, client, secret, conc, secs).await.report(&format!("refresh_token grant, {}", alg.as_str()));
            code_run(&router, &st, client, secret, conc, 2000).await.report(&format!("authorization_code grant, {}", alg.as_str()));
        }
    });
}
