//! The HTTP floor: a bare axum server on the same axum, hyper, tokio runtime and allocator as
//! Lobby, with none of Lobby's layers, sessions or storage. `tests/interop/bench/http-floor.mjs`
//! times the CPU this process spends per request next to Lobby's own cheapest answers, so the
//! part of a login's CPU that is Lobby's own (middleware, sessions, handlers) can be told from
//! what any axum server pays per exchange (docs/perf-issue17.md, "Session 7").
//!
//!   cargo run --release --example http_floor   (prints `listening on 127.0.0.1:PORT`)
//!
//! Routes: `GET /healthz` answers `ok` (Lobby's `/healthz` is the same handler behind its
//! layers); `GET /redirect` answers a 302 of the size and headers of Lobby's `/authorize`
//! redirect to an IdP (a ~400-byte `Location`, a `Set-Cookie`, the four security headers).
//!
//! Owns: nothing but this measurement. Must not touch: Lobby's code (it links none of it).

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LOCATION: &str = "http://127.0.0.1:4000/auth?client_id=lobby-acme&response_type=code\
&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fsso%2Foidc%2F01jf7c2xk9m3q4r5s6t7v8w9xy%2Fcallback\
&scope=openid%20email%20profile&state=Zk3pQ0v9c1m8rT2yW4xB6nH5jL7sD0aF3gK8eU1iO9&nonce=\
Qm2vT8rX4cN6bH1jK9pL3sD7fG0aZ5wE2yU4iO6tR8&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSs\
tw-cM&code_challenge_method=S256&login_hint=alice%40acme.test";

async fn healthz() -> &'static str {
    "ok"
}

async fn redirect() -> Response {
    let mut res = StatusCode::FOUND.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static(LOCATION));
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "lobby_session=Ab3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1yZ3aB5cD7eF9g; HttpOnly; SameSite=Lax; Path=/",
        ),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

fn main() -> std::io::Result<()> {
    // The runtime Lobby's `main` builds: multi-threaded, one worker per CPU unless
    // TOKIO_WORKER_THREADS says otherwise.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?);
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/redirect", get(redirect));
        axum::serve(listener, app).await
    })
}
