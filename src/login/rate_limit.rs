//! Request rate limits on the unauthenticated sign-in surface: `/authorize`, `/login*`,
//! `/token`, `/sso/*` (issue 13 item 11). Each class of endpoint has a per-client-IP budget per
//! minute and a global budget per second, counted in the shared state store (Redis when
//! configured), so the limits hold across instances. Over budget: 429 with `Retry-After` —
//! the fixed page for browsers, an OAuth-style JSON error for `/token`. A state store that
//! fails makes the limiter fail closed (503), like every other check on it.
//!
//! Owns: the counters and the 429 answer. Must not touch: what the endpoints do, the client
//! address rules (`http::client_ip`), the password lockout (`password`).

use crate::http::client_ip::{ClientIp, ip_bucket};
use crate::login::LoginCtx;
use crate::login::prefetch::{self, Plan, Prefetched};
use crate::pages::{PageError, error_page};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The endpoint classes with their own budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Authorize,
    Login,
    Token,
    Sso,
}

impl Class {
    /// The class of a request path; `None` for paths without a limit.
    pub fn of(path: &str) -> Option<Class> {
        match path {
            "/authorize" => Some(Class::Authorize),
            "/token" => Some(Class::Token),
            "/login" => Some(Class::Login),
            p if p.starts_with("/login/") && p != "/login/error" => Some(Class::Login),
            p if p.starts_with("/sso/") => Some(Class::Sso),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Class::Authorize => "authorize",
            Class::Login => "login",
            Class::Token => "token",
            Class::Sso => "sso",
        }
    }
}

/// What the counters said.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Allow,
    /// Over a budget: retry after this many seconds.
    Limited(u64),
}

/// Count this request against the client's and the global budget of its class; with both
/// budgets counted, `read` (the handler's first step in the state store, `prefetch`) goes with
/// the count and is made only when the request is within both, and what it found is returned.
async fn check(
    st: &LoginCtx,
    class: Class,
    ip: Option<std::net::IpAddr>,
    read: Option<Plan>,
) -> crate::state::Result<(Verdict, Option<Prefetched>)> {
    let now = st.clock.now().unix_timestamp().max(0) as u64;
    let per_ip = st.config.rate_limit_per_ip;
    let global = st.config.rate_limit_global;
    let ip_key = ip.filter(|_| per_ip > 0).map(|ip| {
        let minute = now / 60;
        format!("rl:{}:ip:{}:{minute}", class.as_str(), ip_bucket(ip))
    });
    let all_key = (global > 0).then(|| format!("rl:{}:all:{now}", class.as_str()));
    const IP_WINDOW: Duration = Duration::from_secs(61);
    const ALL_WINDOW: Duration = Duration::from_secs(2);
    // A client over its own budget is refused without counting against the global one.
    let mut early = None;
    let (n_ip, n_all) = match (&ip_key, &all_key) {
        (Some(ip_key), Some(all_key)) => {
            let ip = (ip_key.as_str(), IP_WINDOW);
            let limit = u64::from(per_ip);
            let all = (all_key.as_str(), ALL_WINDOW);
            match read {
                Some(plan) => {
                    let (counts, found) = st
                        .ephemeral
                        .incr_within_then(ip, limit, all, u64::from(global), plan.then())
                        .await?;
                    early = found.map(|found| Prefetched::new(plan, found));
                    counts
                }
                None => st.ephemeral.incr_within(ip, limit, all).await?,
            }
        }
        (Some(ip_key), None) => (st.ephemeral.incr(ip_key, IP_WINDOW).await?, None),
        (None, Some(all_key)) => (0, Some(st.ephemeral.incr(all_key, ALL_WINDOW).await?)),
        (None, None) => (0, None),
    };
    if n_ip > u64::from(per_ip) && ip_key.is_some() {
        return Ok((Verdict::Limited(60 - now % 60), None));
    }
    if n_all.is_some_and(|n| n > u64::from(global)) {
        return Ok((Verdict::Limited(1), None));
    }
    Ok((Verdict::Allow, early))
}

/// The middleware on the browser-facing router (provider + login).
pub async fn limit(
    State(st): State<LoginCtx>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Response {
    let Some(class) = Class::of(req.uri().path()) else {
        return next.run(req).await;
    };
    // The first step goes with the count only when both budgets are counted (`check`): plan
    // it (which may buffer a form) only then.
    let both = ip.is_some() && st.config.rate_limit_per_ip > 0 && st.config.rate_limit_global > 0;
    let (mut req, plan) = if both {
        match prefetch::plan(st.config.secure_cookies(), req).await {
            Ok(r) => r,
            Err(refused) => return refused,
        }
    } else {
        (req, None)
    };
    match check(&st, class, ip, plan).await {
        Ok((Verdict::Allow, early)) => {
            if let Some(early) = early {
                req.extensions_mut().insert(early);
            }
            next.run(req).await
        }
        Ok((Verdict::Limited(secs), _)) => {
            // Debug, not warn: a flood must not flood the log too (the metric counts it).
            tracing::debug!(class = class.as_str(), ip = ?ip, "rate limit: request refused");
            crate::ops::metrics::rate_limited(class.as_str());
            too_many(class, secs, req.headers())
        }
        Err(e) => {
            tracing::error!(error = %e, "rate limit: state store unavailable, refusing");
            unavailable(class, req.headers())
        }
    }
}

fn too_many(class: Class, secs: u64, headers: &HeaderMap) -> Response {
    let mut res = if class == Class::Token {
        oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many requests; retry after {secs} seconds."),
        )
    } else {
        error_page(PageError::TooManyRequests, headers, None)
    };
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    res
}

fn unavailable(class: Class, headers: &HeaderMap) -> Response {
    if class == Class::Token {
        oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable; retry later.",
        )
    } else {
        error_page(PageError::Unavailable, headers, None)
    }
}

/// The token endpoint's error shape (RFC 6749 §5.2); `temporarily_unavailable` borrows the
/// authorization endpoint's code (§4.1.2.1), the closest one for "not now".
fn oauth_error(status: StatusCode, description: &str) -> Response {
    let mut res = (
        status,
        axum::Json(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": description,
        })),
    )
        .into_response();
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Class::of("/authorize"), Some(Class::Authorize));
        assert_eq!(Class::of("/token"), Some(Class::Token));
        assert_eq!(Class::of("/login"), Some(Class::Login));
        assert_eq!(Class::of("/login/password"), Some(Class::Login));
        assert_eq!(Class::of("/login/error"), None);
        assert_eq!(Class::of("/sso/saml/c/acs"), Some(Class::Sso));
        assert_eq!(Class::of("/jwks"), None);
        assert_eq!(Class::of("/userinfo"), None);
        assert_eq!(Class::of("/loginx"), None);
    }
}
