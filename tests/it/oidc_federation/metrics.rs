//! `/metrics` after federated sign-ins through the fake OpenID Provider: a good one, one whose
//! ID token has the wrong nonce and one whose code the IdP refuses move the OIDC login
//! counters; every request to the IdP is timed, and its errors counted, under the connection
//! kind (never the connection id).

use super::*;
use crate::metrics::{metrics_listener, scrape};

#[tokio::test]
async fn federated_logins_and_idp_requests_show_on_the_metrics_listener() {
    let url = metrics_listener().await;
    let fed = Fed::start().await;
    let before = scrape(&url).await;

    // A good sign-in.
    let b = fed.browser();
    let (req, _verifier) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
    let q = [
        ("code", "c1"),
        ("state", &req.state),
        ("iss", &fed.op.issuer()),
    ];
    let r = fed.callback(&b, "hooli-idp", &q).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // One refused for its ID token's nonce.
    let b2 = fed.browser();
    let (req2, _) = fed.to_idp(&b2, "pat@hooli.test", &[]).await;
    let bad = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", "another-nonce", "pat@hooli.test"));
    fed.op.will_answer("c2", &req2.challenge, bad);
    let q2 = [
        ("code", "c2"),
        ("state", &req2.state),
        ("iss", &fed.op.issuer()),
    ];
    let r = fed.callback(&b2, "hooli-idp", &q2).await;
    assert_ne!(r.status, 303, "refused");

    // One whose code the IdP does not know: its token endpoint answers 400.
    let b3 = fed.browser();
    let (req3, _) = fed.to_idp(&b3, "pat@hooli.test", &[]).await;
    let q3 = [
        ("code", "never-issued"),
        ("state", &req3.state),
        ("iss", &fed.op.issuer()),
    ];
    let r = fed.callback(&b3, "hooli-idp", &q3).await;
    assert_ne!(r.status, 303, "refused");

    let after = scrape(&url).await;
    let moved = |name: &str, labels: &[(&str, &str)], by: f64| {
        let d = after.sum(name, labels) - before.sum(name, labels);
        assert!(
            d >= by,
            "{name}{labels:?} moved by {d}, expected at least {by}"
        );
    };
    moved("lobby_logins_started_total", &[("kind", "oidc")], 3.0);
    moved(
        "lobby_upstream_errors_total",
        &[("kind", "oidc"), ("error", "http_4xx")],
        1.0,
    );
    moved(
        "lobby_logins_finished_total",
        &[("kind", "oidc"), ("outcome", "success")],
        1.0,
    );
    moved(
        "lobby_logins_finished_total",
        &[("kind", "oidc"), ("outcome", "nonce_mismatch")],
        1.0,
    );
    // Two code exchanges at least (discovery and JWKS may come from the cache).
    moved(
        "lobby_upstream_request_duration_seconds_count",
        &[("kind", "oidc")],
        2.0,
    );
    assert!(
        !after.text.contains("hooli-idp"),
        "no connection id in any label"
    );
}
