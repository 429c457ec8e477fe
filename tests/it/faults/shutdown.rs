//! SIGTERM on a real `lobby serve` process while sign-ins are in flight: the listener closes
//! at once (new connections are refused), a request that finishes within the shutdown timeout
//! (`LOBBY_SHUTDOWN_TIMEOUT_SECS`) gets its answer, one that would outlive it is cut off, and
//! the process exits cleanly within the bound.
//!
//! The slow requests are real sign-ins whose identifier step waits on an organization's IdP:
//! one IdP answers its discovery document after 2 s, the other accepts and never answers.

use crate::provider::fixture::{Browser, authorize_path, pkce};
use axum::routing::get;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `LOBBY_SHUTDOWN_TIMEOUT_SECS` of the process under test.
const DRAIN_SECS: u64 = 4;
/// How long the slow IdP takes: well inside the drain bound.
const SLOW: Duration = Duration::from_secs(2);

/// An OP whose discovery document arrives after [`SLOW`].
async fn slow_idp() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let b = base.clone();
    let router = axum::Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let b = b.clone();
            async move {
                tokio::time::sleep(SLOW).await;
                axum::Json(serde_json::json!({
                    "issuer": b,
                    "authorization_endpoint": format!("{b}/authorize"),
                    "token_endpoint": format!("{b}/token"),
                    "jwks_uri": format!("{b}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                }))
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    base
}

/// A TCP server that accepts connections and never says a word.
async fn hung_idp() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    base
}

fn tenant(slow: &str, hung: &str) -> String {
    let org = |id: &str, issuer: &str| {
        format!(
            "  - id: {id}\n    slug: {id}\n    name: {id}\n    domains:\n      - domain: {id}.test\n        verified: true\n    apps:\n      - app_id: app_crm\n        allowed_role_groups: [std]\n        jit: true\n        default_roles: [sales]\n    connections:\n      - id: conn_{id}\n        name: {id} IdP\n        state: active\n        config:\n          kind: oidc\n          issuer: {issuer}\n          client_id: lobby\n          client_secret: upstream-secret\n"
        )
    };
    format!(
        "apps:\n  - id: app_crm\n    name: CRM\n    client_id: crm\n    client_secret: crm-secret-0123456789-0123456789-abcdef\n    redirect_uris: [\"http://127.0.0.1:9/cb\"]\n    roles:\n      - value: sales\n        name: Sales\n    role_groups:\n      - id: std\n        name: Standard\n        roles: [sales]\norgs:\n{}{}",
        org("slow", slow),
        org("hung", hung)
    )
}

/// The identifier step of a sign-in for `email` (the request that waits on the IdP).
async fn identifier(b: &Browser, email: &str) -> Result<(u16, String), String> {
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            "http://127.0.0.1:9/cb",
            &challenge,
            &[],
        ))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    b.try_post(
        "/login",
        &[("flow", &flow), ("csrf", &csrf), ("email", email)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_within_the_bound_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.yaml");
    std::fs::write(&file, tenant(&slow_idp().await, &hung_idp().await)).unwrap();
    let port = super::services::spare_port();
    let base = format!("http://127.0.0.1:{port}");
    let lobby = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lobby"));
        c.args(args)
            .env("LOBBY_DATA_DIR", dir.path())
            .env("LOBBY_LISTEN", format!("127.0.0.1:{port}"))
            .env("LOBBY_METRICS_LISTEN", "off")
            .env("LOBBY_UPSTREAM_ALLOW_PRIVATE", "true")
            .env("LOBBY_SHUTDOWN_TIMEOUT_SECS", DRAIN_SECS.to_string())
            .env("LOBBY_LOG", "info")
            .env_remove("LOBBY_DATABASE_URL")
            .env_remove("LOBBY_REDIS_URL")
            .stdin(Stdio::null());
        c
    };
    let out = lobby(&["import", file.to_str().unwrap()]).output().unwrap();
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = dir.path().join("lobby.log");
    let mut child = lobby(&["serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Kill the server whatever happens below.
    struct Reap(Option<std::process::Child>);
    impl Drop for Reap {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    while fresh().get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "lobby serve exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "lobby serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut reap = Reap(Some(child));

    let (slow_b, hung_b) = (Browser::new(&base), Browser::new(&base));
    let slow = identifier(&slow_b, "pat@slow.test");
    let hung = identifier(&hung_b, "pat@hung.test");
    let signal = async {
        // Both requests are waiting on their IdP now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let signalled = Instant::now();
        // New connections are refused once the signal is handled.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = fresh().get(format!("{base}/healthz")).send().await;
        assert!(
            refused.as_ref().is_err_and(|e| e.is_connect()),
            "a new connection after SIGTERM: {refused:?}"
        );
        signalled
    };
    let (slow, hung, signalled) = tokio::join!(slow, hung, signal);

    // The request that finished inside the bound got its real answer (the redirect to the IdP).
    let (status, location) = slow.expect("the slow sign-in was answered");
    assert_eq!(status, 303, "{location}");
    assert!(location.contains("/authorize?"), "{location}");
    // The one that would have outlived the bound was cut off (its connection closed, no
    // half-written answer).
    assert!(hung.is_err(), "the hung sign-in: {hung:?}");

    // The process exits by itself within the bound, successfully.
    let child = reap.0.as_mut().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(DRAIN_SECS + 3),
            "still running {:?} after SIGTERM",
            signalled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    reap.0 = None;
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status:?}: {log}");
    assert!(
        took >= Duration::from_secs(DRAIN_SECS - 1),
        "exited after {took:?}, before the hung request's time was up"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(log.contains("lobby stopped"), "{log}");
}
