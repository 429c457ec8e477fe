//! The first read a sign-in request's handler makes, made early: the rate limiter
//! (`rate_limit`) sends it to the state store together with the request's count — one round trip
//! on Redis instead of two — and leaves what it found in the request's extensions, where the
//! handler takes it ([`Early`]) instead of reading again (issue 17).
//!
//! The reads made early: the flow named by `flow=` in the query of a `GET /login…`, or in the
//! form of a `POST /login…` (a form of at most [`MAX_FORM_BYTES`] declared bytes; the limiter
//! buffers it and passes it on unchanged); the flow behind an OIDC callback's `state` (its
//! index by state, then the flow). A read made early is only a read: the handler still makes
//! every check (browser binding, CSRF, expiry), and takes the flow atomically where it did.
//! A handler that finds no early read, or one of another key, reads as before.
//!
//! Owns: which read a request makes first, and handing its answer over. Must not touch: the
//! counts (`rate_limit`), what the handlers do with what they read (`flow`, `oidc`).

use crate::http::params::{Params, is_form};
use crate::login::flow::{self, FlowId};
use crate::pages::{PageError, error_page};
use crate::state::{Found, Read};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::Response;
use std::convert::Infallible;

/// The largest form (declared `Content-Length`) the limiter buffers to find its flow; a larger
/// or undeclared one is passed on unread, and its handler reads the flow itself.
pub const MAX_FORM_BYTES: u64 = 16 * 1024;

/// The read a request's handler will make first (its key, or its index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `get` of this key: a flow.
    Get(String),
    /// `get_via` of this index (an OIDC callback's state) into the flows.
    Via(String),
}

impl Plan {
    /// The read, for the state store.
    pub fn read(&self) -> Read<'_> {
        match self {
            Plan::Get(key) => Read::Get(key),
            Plan::Via(index) => Read::Via {
                index,
                prefix: flow::KEY_PREFIX,
            },
        }
    }
}

/// What an early read found, for the handler of the same request.
#[derive(Debug, Clone)]
pub struct Prefetched {
    plan: Plan,
    found: Found,
}

impl Prefetched {
    pub fn new(plan: Plan, found: Found) -> Self {
        Self { plan, found }
    }
}

/// The request's early read, taken out of its extensions (`None` when none was made).
#[derive(Debug, Default)]
pub struct Early(Option<Prefetched>);

impl Early {
    /// What `get(key)` found, when that is the read made early.
    pub fn get(&mut self, key: &str) -> Option<Option<Vec<u8>>> {
        match self.0.take()? {
            Prefetched {
                plan: Plan::Get(k),
                found: Found::Get(v),
            } if k == key => Some(v),
            other => {
                self.0 = Some(other);
                None
            }
        }
    }

    /// What `get_via(index, flow::KEY_PREFIX)` found, when that is the read made early.
    #[allow(clippy::type_complexity)]
    pub fn via(&mut self, index: &str) -> Option<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        match self.0.take()? {
            Prefetched {
                plan: Plan::Via(i),
                found: Found::Via(v),
            } if i == index => Some(v),
            other => {
                self.0 = Some(other);
                None
            }
        }
    }

    /// Take the early read out of a request's extensions.
    pub fn from_parts(parts: &mut Parts) -> Self {
        Self(parts.extensions.remove::<Prefetched>())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Early {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts))
    }
}

/// The read a `GET` makes first, from its path and query.
fn plan_query(path: &str, query: Option<&str>) -> Option<Plan> {
    if path == "/login" || path.starts_with("/login/") {
        let p = Params::from_query(query);
        let id = FlowId::parse(p.get("flow").ok()??)?;
        return Some(Plan::Get(flow::key_of(&id)));
    }
    if path.starts_with("/sso/oidc/") && path.ends_with("/callback") {
        let p = Params::from_query(query);
        let state = p.get("state").ok()??;
        return crate::login::oidc::state_key_of(state).map(Plan::Via);
    }
    None
}

/// The read a request will make first, with the request to pass on (a form POST's body is
/// buffered to find it, then put back as it was). `Err` — the fixed "bad request" page — only
/// when a form's body could not be read (the client went away or sent less than it declared).
pub async fn plan(req: Request) -> Result<(Request, Option<Plan>), Response> {
    match *req.method() {
        Method::GET | Method::HEAD => {
            let plan = plan_query(req.uri().path(), req.uri().query());
            Ok((req, plan))
        }
        Method::POST => {
            let path = req.uri().path();
            let small = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|n| n <= MAX_FORM_BYTES);
            if !(path == "/login" || path.starts_with("/login/"))
                || !small
                || !is_form(req.headers())
            {
                return Ok((req, None));
            }
            let (parts, body) = req.into_parts();
            let bytes: Bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES as usize).await {
                Ok(b) => b,
                Err(_) => return Err(error_page(PageError::BadRequest, &parts.headers, None)),
            };
            let plan = Params::parse(&bytes)
                .get("flow")
                .ok()
                .flatten()
                .and_then(FlowId::parse)
                .map(|id| Plan::Get(flow::key_of(&id)));
            Ok((Request::from_parts(parts, Body::from(bytes)), plan))
        }
        _ => Ok((req, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random_token;

    #[test]
    fn the_first_read_of_each_kind_of_request() {
        let id = random_token();
        let flow = Some(Plan::Get(format!("flow:{id}")));
        assert_eq!(plan_query("/login", Some(&format!("flow={id}"))), flow);
        assert_eq!(
            plan_query("/login/password", Some(&format!("x=1&flow={id}"))),
            flow
        );
        assert_eq!(plan_query("/login", Some("flow=short")), None, "not an id");
        assert_eq!(
            plan_query("/login", Some(&format!("flow={id}&flow={id}"))),
            None,
            "repeated"
        );
        assert_eq!(plan_query("/authorize", Some(&format!("flow={id}"))), None);
        assert_eq!(plan_query("/loginx", Some(&format!("flow={id}"))), None);
        let via = plan_query("/sso/oidc/c1/callback", Some("state=abc&code=x"));
        assert_eq!(via, crate::login::oidc::state_key_of("abc").map(Plan::Via));
        assert!(matches!(via, Some(Plan::Via(_))));
        assert_eq!(plan_query("/sso/oidc/c1/callback", Some("code=x")), None);
    }

    #[test]
    fn an_early_read_is_used_once_and_only_for_its_own_key() {
        let mut e = Early(Some(Prefetched::new(
            Plan::Get("flow:a".into()),
            Found::Get(Some(b"x".to_vec())),
        )));
        assert_eq!(e.via("flow:a"), None, "another kind of read");
        assert_eq!(e.get("flow:b"), None, "another key");
        assert_eq!(e.get("flow:a"), Some(Some(b"x".to_vec())));
        assert_eq!(e.get("flow:a"), None, "once");
        let mut e = Early(Some(Prefetched::new(
            Plan::Via("sso_state:1".into()),
            Found::Via(None),
        )));
        assert_eq!(e.via("sso_state:2"), None);
        assert_eq!(e.via("sso_state:1"), Some(None));
    }

    #[tokio::test]
    async fn a_form_is_read_for_its_flow_and_passed_on_unchanged() {
        let id = random_token();
        let body = format!("csrf=c&flow={id}&email=a%40b.example");
        let req = Request::builder()
            .method("POST")
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body.clone()))
            .unwrap();
        let (req, plan) = plan(req).await.unwrap();
        assert_eq!(plan, Some(Plan::Get(format!("flow:{id}"))));
        let passed = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(passed, body.as_bytes());
        // Undeclared length, other paths, other content types: passed on unread.
        for (uri, ctype, len) in [
            ("/login", "application/x-www-form-urlencoded", None),
            (
                "/token",
                "application/x-www-form-urlencoded",
                Some(body.len()),
            ),
            ("/login", "application/json", Some(body.len())),
        ] {
            let mut b = Request::builder()
                .method("POST")
                .uri(uri)
                .header(header::CONTENT_TYPE, ctype);
            if let Some(n) = len {
                b = b.header(header::CONTENT_LENGTH, n);
            }
            let (req, plan) = super::plan(b.body(Body::from(body.clone())).unwrap())
                .await
                .unwrap();
            assert_eq!(plan, None, "{uri} {ctype} {len:?}");
            let passed = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            assert_eq!(passed, body.as_bytes());
        }
    }
}
