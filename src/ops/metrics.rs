//! Lobby's Prometheus metrics: every metric name, the one helper each is recorded with, the
//! process-wide recorder ([`install`]) and the `/metrics` endpoint, served on its own listener
//! (`LOBBY_METRICS_LISTEN`, default `127.0.0.1:9464`, `off` to disable) — never on the public
//! listener. README "Operations" lists the metrics and suggested alerts.
//!
//! Label sets stay bounded. No label ever carries a user id, an email, an org id or a
//! connection id: orgs and their connections are created without limit (per-org and
//! per-connection figures belong in the audit log and the admin API). The labels are fixed
//! vocabularies (connection kind, grant type, outcome codes, operation names) and one bounded
//! exception: `client_id` on token grants, bounded by the apps an operator registered, and only
//! for a client that authenticated (an unknown or failed client is `unknown`, so a caller cannot
//! mint label values). Reasons that arrive as strings go through [`label`], which maps anything
//! that is not a short snake_case code to `other`.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder): [`install`]
//! sets it once and every later call returns the same [`Metrics`] handle; tests in one process
//! share it and compare before/after values. Recording is a few atomic operations; a scrape
//! renders what is there (no I/O, no store queries).
//!
//! Owns: names, buckets, label vocabularies, rendering. Must not touch: outcomes of requests,
//! other modules (a leaf, see `ops`).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// `lobby_build_info{version}`: always 1; the version of the running binary.
pub const BUILD_INFO: &str = "lobby_build_info";
/// `{kind}`: a person was sent to an IdP (`oidc`, `saml`) or asked for a password (`password`).
pub const LOGINS_STARTED: &str = "lobby_logins_started_total";
/// `{kind, outcome}`: a sign-in ended: `success`, or the refusal reason of its audit event.
pub const LOGINS_FINISHED: &str = "lobby_logins_finished_total";
/// `{page}`: a sign-in step ended on a fixed error page without a refusal reason (e.g.
/// `flow_expired`, `wrong_browser`, `unavailable`, `server`).
pub const LOGIN_ERROR_PAGES: &str = "lobby_login_error_pages_total";
/// Sign-in flows this process stored and that are neither finished (taken) nor expired.
pub const FLOWS_IN_FLIGHT: &str = "lobby_login_flows_in_flight";
/// Sign-in flows this process stored that expired without being finished.
pub const FLOWS_EXPIRED: &str = "lobby_login_flows_expired_total";
/// `{grant_type, client_id, outcome}`: `/token` answers; outcome `success` or the OAuth error.
pub const TOKEN_GRANTS: &str = "lobby_token_grants_total";
/// `{cause}`: refresh-token families revoked.
pub const REFRESH_REVOKED: &str = "lobby_refresh_families_revoked_total";
/// `{kind}`: latency of each request to an organization's IdP (`oidc`, `saml`).
pub const UPSTREAM_DURATION: &str = "lobby_upstream_request_duration_seconds";
/// `{kind, error}`: requests to IdPs that failed (network, timeout, HTTP 4xx/5xx, …).
pub const UPSTREAM_ERRORS: &str = "lobby_upstream_errors_total";
/// `{reason}`: SAML responses refused.
pub const SAML_REJECTIONS: &str = "lobby_saml_rejections_total";
/// IdP metadata refreshes (by URL) that failed.
pub const SAML_METADATA_REFRESH_FAILURES: &str = "lobby_saml_metadata_refresh_failures_total";
/// `{backend, op}`: latency of each short-lived state store operation.
pub const STATE_DURATION: &str = "lobby_state_op_duration_seconds";
/// `{backend, op}`: short-lived state store operations that failed.
pub const STATE_ERRORS: &str = "lobby_state_errors_total";
/// Unbound flows the memory state store dropped because it was full.
pub const STATE_EVICTIONS: &str = "lobby_state_evictions_total";
/// `{db}`: latency of each database statement run outside a transaction, and of opening and
/// committing a transaction.
pub const STORAGE_DURATION: &str = "lobby_storage_op_duration_seconds";
/// `{error}`: database failures (`connection`, `pool_timeout`, `database`, `constraint`,
/// `corrupt`, `other`) — not answers such as a duplicate name or a missing row.
pub const STORAGE_ERRORS: &str = "lobby_storage_errors_total";
/// `{class}`: requests refused by a rate limit.
pub const RATE_LIMITED: &str = "lobby_rate_limited_total";
/// `{step}`: the emailed org chooser of shared domains (`requested`, `sent`, `opened`, …).
pub const ORG_LINKS: &str = "lobby_org_links_total";

/// Remote calls to IdPs: 5 ms … 10 s (the outbound timeout).
const UPSTREAM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Local stores: 100 µs … 5 s.
const STORE_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

type Refresh = Arc<dyn Fn() + Send + Sync>;

/// The installed recorder's handle: renders the text format.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// Run before each render, to bring gauges up to date (e.g. expire in-flight flows); set
    /// by the server last built in this process (one in production).
    refresh: Arc<Mutex<Option<Refresh>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

static INSTALLED: OnceLock<Metrics> = OnceLock::new();

/// Install the process-wide recorder once (later calls return the same handle) and set
/// `lobby_build_info`. If another recorder was installed first (an embedding program), Lobby's
/// figures go to that one and this handle renders nothing of them; a warning says so.
pub fn install() -> Metrics {
    INSTALLED
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in [
                (UPSTREAM_DURATION, &UPSTREAM_BUCKETS[..]),
                (STATE_DURATION, &STORE_BUCKETS[..]),
                (STORAGE_DURATION, &STORE_BUCKETS[..]),
            ] {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
                    .expect("static, non-empty buckets");
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder is installed: /metrics will not show Lobby's figures"
                );
            }
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            // Series an alert reads exist from the start (at 0), not from their first event.
            metrics::counter!(SAML_METADATA_REFRESH_FAILURES).increment(0);
            metrics::counter!(FLOWS_EXPIRED).increment(0);
            metrics::gauge!(FLOWS_IN_FLIGHT).set(0.0);
            Metrics {
                handle,
                refresh: Arc::new(Mutex::new(None)),
            }
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label names the running build."
    );
    describe_counter!(
        LOGINS_STARTED,
        "Sign-ins started, by connection kind (sent to the IdP, or asked for a password)."
    );
    describe_counter!(
        LOGINS_FINISHED,
        "Sign-ins ended, by connection kind and outcome (success or the refusal reason)."
    );
    describe_counter!(
        LOGIN_ERROR_PAGES,
        "Sign-in steps that ended on a fixed error page, by page."
    );
    describe_gauge!(
        FLOWS_IN_FLIGHT,
        "Sign-in flows stored by this process, not yet finished or expired."
    );
    describe_counter!(
        FLOWS_EXPIRED,
        "Sign-in flows stored by this process that expired unfinished."
    );
    describe_counter!(
        TOKEN_GRANTS,
        "Token endpoint answers by grant type, client and outcome."
    );
    describe_counter!(REFRESH_REVOKED, "Refresh-token families revoked, by cause.");
    describe_histogram!(
        UPSTREAM_DURATION,
        metrics::Unit::Seconds,
        "Requests to organizations' IdPs, by connection kind."
    );
    describe_counter!(
        UPSTREAM_ERRORS,
        "Failed requests to organizations' IdPs, by connection kind and error."
    );
    describe_counter!(SAML_REJECTIONS, "SAML responses refused, by reason.");
    describe_counter!(
        SAML_METADATA_REFRESH_FAILURES,
        "SAML IdP metadata refreshes that failed."
    );
    describe_histogram!(
        STATE_DURATION,
        metrics::Unit::Seconds,
        "Short-lived state store operations, by backend and operation."
    );
    describe_counter!(
        STATE_ERRORS,
        "Failed short-lived state store operations, by backend and operation."
    );
    describe_counter!(
        STATE_EVICTIONS,
        "Unbound sign-in flows dropped by the full memory state store."
    );
    describe_histogram!(
        STORAGE_DURATION,
        metrics::Unit::Seconds,
        "Database statements (outside transactions), transaction begins and commits."
    );
    describe_counter!(
        STORAGE_ERRORS,
        "Database failures (not answers such as duplicates), by error class."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by class.");
    describe_counter!(
        ORG_LINKS,
        "Steps of the emailed organization chooser of shared email domains, by step."
    );
}

impl Metrics {
    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let refresh = self
            .refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(f) = refresh {
            f();
        }
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Run `f` before every render, instead of what an earlier server set.
    pub fn on_render(&self, f: Refresh) {
        *self.refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// `GET /metrics`, for the metrics listener only.
    pub fn router(&self) -> Router {
        let m = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move { scrape(&m) }
            }),
        )
    }
}

fn scrape(m: &Metrics) -> Response {
    let mut res = m.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// Serve `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A reason or code as a label value: short snake_case codes pass, anything else is `other`
/// (so free text, ids or addresses can never become a label).
pub fn label(s: &str) -> Cow<'static, str> {
    // Codes are words: no part longer than 20 letters (a ULID is 26), at most 3 digits.
    let ok = !s.is_empty()
        && s.len() <= 48
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        && s.bytes().filter(u8::is_ascii_digit).count() <= 3
        && s.split(['_', '.']).all(|part| part.len() <= 20);
    if ok {
        Cow::Owned(s.to_owned())
    } else {
        Cow::Borrowed("other")
    }
}

/// A sign-in was sent to an IdP or asked for a password: `kind` is `oidc`, `saml`, `password`.
pub fn login_started(kind: &'static str) {
    metrics::counter!(LOGINS_STARTED, "kind" => kind).increment(1);
}

/// A sign-in authenticated the person.
pub fn login_succeeded(kind: &'static str) {
    metrics::counter!(LOGINS_FINISHED, "kind" => kind, "outcome" => "success").increment(1);
}

/// A sign-in refused, from the parts of its audit event: the action (`login.failure`,
/// `login.oidc`, …) and its details (`connection`, `reason`). Other audit events are ignored.
pub fn login_refused(action: &str, details: &serde_json::Value) {
    let kind = match (action, details.get("connection").and_then(|v| v.as_str())) {
        ("login.oidc", _) | (_, Some("oidc")) => "oidc",
        ("login.saml", _) | (_, Some("saml")) => "saml",
        (_, Some("password")) => "password",
        (a, _) if a.starts_with("login.") => "unknown",
        _ => return,
    };
    let reason = details
        .get("reason")
        .and_then(|v| v.as_str())
        .map_or(Cow::Borrowed("other"), label);
    metrics::counter!(LOGINS_FINISHED, "kind" => kind, "outcome" => reason).increment(1);
}

/// A sign-in step ended on a fixed error page (`pages::PageError::code`) with no refusal reason.
pub fn login_error_page(code: &'static str) {
    metrics::counter!(LOGIN_ERROR_PAGES, "page" => code).increment(1);
}

/// The in-flight gauge and the flows that expired since the last call.
pub fn flows(in_flight: usize, newly_expired: u64) {
    metrics::gauge!(FLOWS_IN_FLIGHT).set(in_flight as f64);
    if newly_expired > 0 {
        metrics::counter!(FLOWS_EXPIRED).increment(newly_expired);
    }
}

/// A `/token` answer. `client_id` only for an authenticated client, else `None` (`unknown`).
pub fn token_grant(grant_type: &'static str, client_id: Option<&str>, outcome: &'static str) {
    let app = client_id.map_or(Cow::Borrowed("unknown"), |c| Cow::Owned(c.to_owned()));
    metrics::counter!(TOKEN_GRANTS, "grant_type" => grant_type, "client_id" => app, "outcome" => outcome)
        .increment(1);
}

/// `n` refresh-token families revoked for `cause`.
pub fn families_revoked(cause: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(REFRESH_REVOKED, "cause" => cause).increment(n);
    }
}

/// One request to an IdP of connection kind `kind` and how it ended (`None`: fine).
pub fn upstream_request(kind: &'static str, took: Duration, error: Option<&'static str>) {
    metrics::histogram!(UPSTREAM_DURATION, "kind" => kind).record(took.as_secs_f64());
    if let Some(e) = error {
        metrics::counter!(UPSTREAM_ERRORS, "kind" => kind, "error" => e).increment(1);
    }
}

/// One short-lived state store operation.
pub fn state_op(backend: &'static str, op: &'static str, took: Duration, ok: bool) {
    metrics::histogram!(STATE_DURATION, "backend" => backend, "op" => op)
        .record(took.as_secs_f64());
    if !ok {
        metrics::counter!(STATE_ERRORS, "backend" => backend, "op" => op).increment(1);
    }
}

/// One database operation's latency.
pub fn storage_op(db: &'static str, took: Duration) {
    metrics::histogram!(STORAGE_DURATION, "db" => db).record(took.as_secs_f64());
}

/// The database failed (`class`: `connection`, `pool_timeout`, `database`, …).
pub fn storage_error(class: &'static str) {
    metrics::counter!(STORAGE_ERRORS, "error" => class).increment(1);
}

/// A SAML response refused for `reason`.
pub fn saml_rejected(reason: &str) {
    metrics::counter!(SAML_REJECTIONS, "reason" => label(reason)).increment(1);
}

/// An IdP metadata refresh failed.
pub fn saml_metadata_refresh_failed() {
    metrics::counter!(SAML_METADATA_REFRESH_FAILURES).increment(1);
}

/// A step of the emailed org chooser of a shared domain (`login::shared`): `requested` (the
/// button; the same answer for every address), `sent` (a message went out), `opened`,
/// `picked`, `refused` (a pick not in the list), `link_refused` (expired, used or another
/// browser's link).
pub fn org_link(step: &'static str) {
    metrics::counter!(ORG_LINKS, "step" => step).increment(1);
}

/// A request refused by the rate limit of `class`.
pub fn rate_limited(class: &'static str) {
    metrics::counter!(RATE_LIMITED, "class" => class).increment(1);
}

/// The memory state store dropped an unbound flow.
pub fn state_evicted() {
    metrics::counter!(STATE_EVICTIONS).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_pass_codes_and_refuse_everything_else() {
        for ok in ["bad_signature", "in_response_to", "http_5xx", "login.oidc"] {
            assert_eq!(label(ok), ok);
        }
        for bad in [
            "",
            "alice@example.com",
            "usr_01hzy3k4m5n6p7q8r9s0t1v2w3",
            "Bad Signature",
            "a-b",
            "0123456789abcdef",
            &"x".repeat(49),
        ] {
            assert_eq!(label(bad), "other", "{bad}");
        }
    }

    #[test]
    fn install_is_idempotent_and_renders_build_info() {
        let a = install();
        let b = install();
        login_started("oidc");
        let text = b.render();
        assert!(text.contains(&format!(
            "lobby_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(
            a.render()
                .contains("lobby_logins_started_total{kind=\"oidc\"}")
        );
    }
}
