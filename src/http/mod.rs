//! Shared axum plumbing: error responses, request ids, per-request tracing spans, security
//! headers, body-size caps, panic catching.
//!
//! Owns: cross-cutting HTTP concerns that every edge (admin API, OIDC provider, hosted pages,
//! portal) sits on. Must not touch: storage, domain rules, HTML rendering.

pub mod client_ip;
pub mod error;
pub mod params;
pub mod redirect;
pub mod serve;

pub use error::{ApiError, ErrorBody, Json, Path, Query, current_request_id};

use crate::config::Config;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tracing::Instrument;

/// `Retry-After` (seconds) of every 503 that does not set its own: a backend outage is
/// usually a restart, over within seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The request-id header, read from the client (when well-formed) and always echoed.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, also available as a request extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The answer to a request whose declared body is over the cap: the edge decides its shape
/// (a JSON error for programs, the fixed page for browsers).
pub type TooLarge = fn(&Request) -> Response;

/// The JSON answer to an oversized body ([`ApiError::payload_too_large`]).
pub fn too_large_json(_req: &Request) -> Response {
    ApiError::payload_too_large().into_response()
}

/// Wrap the routes with the cross-cutting layers, outermost first: request id (+ tracing span
/// per request), security headers, panic catching, body-size cap (answered by `too_large`).
///
/// Routes added to the router after this call are not wrapped: add every route first.
pub fn layers<S>(routes: Router<S>, config: &Config, too_large: TooLarge) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let hsts = config.public_url.scheme() == "https";
    let limit = config.max_body_bytes;
    routes
        // Extractors (`Json`, `Form`, `Bytes`) stop reading at the cap and reject with 413.
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            content_length_cap(limit, too_large, req, next)
        }))
        .layer(middleware::from_fn(catch_panic))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            security_headers(hsts, req, next)
        }))
        .layer(middleware::from_fn(request_id_and_span))
        // Read by the `ClientIp` extractor.
        .layer(axum::Extension(client_ip::TrustedProxies::new(
            &config.trusted_proxies,
        )))
}

/// A client-supplied request id is kept only when it is short and plain, so it is safe to
/// log and echo.
fn acceptable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

async fn request_id_and_span(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| ulid::Ulid::new().to_string().to_ascii_lowercase());
    req.extensions_mut().insert(RequestId(id.clone()));
    // Only the path: query strings may carry codes or tokens; a path that is itself a secret
    // (an invitation link) is logged without it.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
    );
    let started = Instant::now();
    let fut = error::REQUEST_ID.scope(id.clone(), next.run(req));
    let mut res = fut.instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "served"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    res
}

/// Strict defaults; a handler that sets its own header of the same name (a page with a CSP
/// nonce, say) keeps its value.
/// The path as logged: `/invite/{token}` paths carry a single-use credential, so only their
/// route is logged.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/invite/") {
        "/invite/{token}"
    } else {
        path
    }
}

async fn security_headers(hsts: bool, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let defaults: [(HeaderName, &'static str); 4] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (k, v) in defaults {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    }
    // RFC 9110 §15.6.4 / §10.2.3: a 503 (a backend such as Redis or the database is down, or a
    // rate-limited step is busy) says when to try again, unless the handler already did.
    if res.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE
        && !res.headers().contains_key(header::RETRY_AFTER)
    {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    let h = res.headers_mut();
    // RFC 6797 §7.2: HSTS is only meaningful (and only sent) over https.
    if hsts && !h.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    res
}

/// Refuse a declared oversized body before reading any of it.
async fn content_length_cap(
    limit: usize,
    too_large: TooLarge,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(&req);
    }
    next.run(req).await
}

/// A panic in a handler becomes the generic 500 (the panic message is logged, never sent).
async fn catch_panic(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            ApiError::internal(format!("handler panicked: {msg}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request as HttpRequest, StatusCode};
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn config(public: &str) -> Config {
        let mut c = Config::for_tests("sqlite::memory:", std::path::Path::new("/tmp"));
        c.public_url = url::Url::parse(public).unwrap();
        c.max_body_bytes = 1024;
        c
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body1 {
        name: String,
    }

    fn app(public: &str) -> Router {
        let routes = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("boom secret-value");
                    }
                    "never"
                }),
            )
            .route("/json", post(|Json(_b): Json<Body1>| async { "got it" }));
        layers(routes, &config(public), too_large_json)
    }

    async fn body_json(res: Response) -> serde_json::Value {
        let b = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn request_id_is_generated_or_echoed() {
        let res = app("http://127.0.0.1:1")
            .oneshot(HttpRequest::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let id = res
            .headers()
            .get(REQUEST_ID_HEADER)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(id.len(), 26);
        let res = app("http://127.0.0.1:1")
            .oneshot(
                HttpRequest::get("/ok")
                    .header(REQUEST_ID_HEADER, "abc-123")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.headers()[REQUEST_ID_HEADER], "abc-123");
        // A hostile id is replaced, not echoed.
        let res = app("http://127.0.0.1:1")
            .oneshot(
                HttpRequest::get("/ok")
                    .header(REQUEST_ID_HEADER, "a b<script>")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_ne!(res.headers()[REQUEST_ID_HEADER], "a b<script>");
    }

    #[tokio::test]
    async fn invitation_tokens_are_not_logged() {
        assert_eq!(loggable_path("/invite/abc-secret"), "/invite/{token}");
        assert_eq!(loggable_path("/login/password"), "/login/password");
    }

    #[tokio::test]
    async fn security_headers_and_hsts_only_on_https() {
        let res = app("http://127.0.0.1:1")
            .oneshot(HttpRequest::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'; frame-ancestors 'none'"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        let res = app("https://login.example.com")
            .oneshot(HttpRequest::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(
            res.headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .is_some()
        );
    }

    #[tokio::test]
    async fn panics_become_a_generic_500_with_the_request_id() {
        let res = app("http://127.0.0.1:1")
            .oneshot(
                HttpRequest::get("/panic")
                    .header(REQUEST_ID_HEADER, "req-panic")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let v = body_json(res).await;
        assert_eq!(v["error"], "internal_error");
        assert_eq!(v["request_id"], "req-panic");
        assert!(!v.to_string().contains("secret-value"));
    }

    async fn post_json(body: &'static str, ct: Option<&str>) -> Response {
        let mut b = HttpRequest::post("/json");
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        app("http://127.0.0.1:1")
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn json_rejections_are_api_errors() {
        let res = post_json(r#"{"name":"x"}"#, Some("application/json")).await;
        assert_eq!(res.status(), StatusCode::OK);

        let res = post_json(r#"{"name":"#, Some("application/json")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(res).await["error"], "malformed_json");

        let res = post_json(r#"{"name":"x"}"#, Some("text/plain")).await;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body_json(res).await["error"], "unsupported_media_type");

        let res = post_json(r#"{"name":"x","extra":1}"#, Some("application/json")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = body_json(res).await;
        assert_eq!(v["error"], "invalid_body");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("unknown field `extra`")
        );

        let res = post_json(r#"{"name":1}"#, Some("application/json")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = body_json(res).await;
        assert_eq!(v["field"], "name");
        assert!(v["message"].as_str().unwrap().contains("invalid type"));
        assert!(v["request_id"].is_string());
    }

    #[tokio::test]
    async fn oversized_bodies_get_413() {
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(4096));
        // Declared length over the cap.
        let res = app("http://127.0.0.1:1")
            .oneshot(
                HttpRequest::post("/json")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, big.len())
                    .body(Body::from(big.clone()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body_json(res).await["error"], "payload_too_large");
        // Streamed without a length: the extractor stops at the cap.
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
        let res = app("http://127.0.0.1:1")
            .oneshot(
                HttpRequest::post("/json")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(stream))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
