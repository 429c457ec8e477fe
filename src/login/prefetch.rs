//! The first step a sign-in request's handler makes in the state store, made early: the rate
//! limiter (`rate_limit`) sends it together with the request's count — one round trip on Redis
//! instead of two —, only when the request is within its budgets, and leaves what it found in
//! the request's extensions, where the handler takes it ([`Early`]) instead of going to the
//! store again (issue 17).
//!
//! The steps made early: reading the flow named by `flow=` in the query of a `GET /login…` or
//! in the form of a `POST /login…` (a form of at most [`MAX_FORM_BYTES`] declared bytes; the
//! limiter buffers it and passes it on unchanged); at an OIDC callback, taking the flow through
//! the index by state only its own browser can name, or without the browser's cookie reading it
//! through the state's own index (`oidc::callback_plan`). The handler still makes every check
//! (browser binding, CSRF, expiry). A handler that finds no early step, or one for another key,
//! goes to the store as before.
//!
//! Owns: which step a request makes first, and handing its answer over. Must not touch: the
//! counts (`rate_limit`), what the handlers do with what they find (`flow`, `oidc`).

use crate::http::params::{Params, is_form};
use crate::login::flow::{self, FlowId};
use crate::pages::{PageError, error_page};
use crate::state::{Found, Then};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use std::convert::Infallible;

/// The largest form (declared `Content-Length`) the limiter buffers to find its flow; a larger
/// or undeclared one is passed on unread, and its handler reads the flow itself.
pub const MAX_FORM_BYTES: u64 = 16 * 1024;

/// The step a request's handler will make first in the state store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `get` of this key: a flow.
    Get(String),
    /// `get_via` of this index (an OIDC callback's state) into the flows.
    Via(String),
    /// The take of a flow through this browser's own index by state (an OIDC callback's), which
    /// is taken with it, and the delete of the state's other index (`also`): see
    /// `oidc::callback_plan`.
    TakeVia { index: String, also: String },
}

impl Plan {
    /// The step, for the state store.
    pub fn then(&self) -> Then<'_> {
        match self {
            Plan::Get(key) => Then::Get(key),
            Plan::Via(index) => Then::Via {
                index,
                prefix: flow::KEY_PREFIX,
            },
            Plan::TakeVia { index, also } => Then::TakeVia {
                index,
                prefix: flow::KEY_PREFIX,
                also,
            },
        }
    }
}

/// What an early step found, for the handler of the same request.
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

/// The request's early step, taken out of its extensions (`None` when none was made).
#[derive(Debug, Default)]
pub struct Early(Option<Prefetched>);

impl Early {
    /// What the early step found, taken out, when `mine` says the step is the caller's own.
    fn found_if(&mut self, mine: impl FnOnce(&Plan) -> bool) -> Option<Found> {
        if !self.0.as_ref().is_some_and(|p| mine(&p.plan)) {
            return None;
        }
        self.0.take().map(|p| p.found)
    }

    /// What `get(key)` found, when that is the read made early.
    pub fn get(&mut self, key: &str) -> Option<Option<Vec<u8>>> {
        match self.found_if(|p| matches!(p, Plan::Get(k) if k == key))? {
            Found::Get(v) => Some(v),
            Found::Via(_) => None,
        }
    }

    /// What `get_via(index, flow::KEY_PREFIX)` found, when that is the read made early.
    #[allow(clippy::type_complexity)]
    pub fn via(&mut self, index: &str) -> Option<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        match self.found_if(|p| matches!(p, Plan::Via(i) if i == index))? {
            Found::Via(v) => Some(v),
            Found::Get(_) => None,
        }
    }

    /// What the take through `index` found, when that is the step made early: the index's
    /// value and the flow it named (both now gone from the store), `None` when the index was
    /// absent (nothing was taken).
    #[allow(clippy::type_complexity)]
    pub fn take_via(&mut self, index: &str) -> Option<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        match self.found_if(|p| matches!(p, Plan::TakeVia { index: i, .. } if i == index))? {
            Found::Via(v) => Some(v),
            Found::Get(_) => None,
        }
    }

    /// Take the early step out of a request's extensions.
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

/// `/login` and the pages under it.
fn is_login_page(path: &str) -> bool {
    path == "/login" || path.starts_with("/login/")
}

/// The step a `GET` makes first, from its path, query and cookies.
/// (`secure`: whether the cookies are the `__Host-` ones, `Config::secure_cookies`.)
fn plan_query(secure: bool, path: &str, query: Option<&str>, headers: &HeaderMap) -> Option<Plan> {
    if is_login_page(path) {
        let p = Params::from_query(query);
        let id = FlowId::parse(p.get("flow").ok()??)?;
        return Some(Plan::Get(flow::key(&id)));
    }
    // Only the callback's own route (`/sso/oidc/{connection_id}/callback`): a take made for a
    // request another route answers would lose the flow.
    let conn = path.strip_prefix("/sso/oidc/")?.strip_suffix("/callback")?;
    if conn.is_empty() || conn.contains('/') {
        return None;
    }
    crate::login::oidc::callback_plan(secure, query, headers)
}

/// The step a request will make first (`secure`: `Config::secure_cookies`), with the request to pass on (a form POST's body is
/// buffered to find it, then put back as it was). `Err` — the fixed "bad request" page — only
/// when a form's body could not be read (the client went away or sent less than it declared).
pub async fn plan(secure: bool, req: Request) -> Result<(Request, Option<Plan>), Response> {
    match *req.method() {
        Method::GET | Method::HEAD => {
            let plan = plan_query(secure, req.uri().path(), req.uri().query(), req.headers());
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
            if !is_login_page(path) || !small || !is_form(req.headers()) {
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
                .map(|id| Plan::Get(flow::key(&id)));
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
    fn the_first_step_of_each_kind_of_request() {
        let none = HeaderMap::new();
        let q = |path: &str, query: &str| plan_query(false, path, Some(query), &none);
        let id = random_token();
        let flow = Some(Plan::Get(format!("flow:{id}")));
        assert_eq!(q("/login", &format!("flow={id}")), flow);
        assert_eq!(q("/login/password", &format!("x=1&flow={id}")), flow);
        assert_eq!(q("/login", "flow=short"), None, "not an id");
        assert_eq!(
            q("/login", &format!("flow={id}&flow={id}")),
            None,
            "repeated"
        );
        assert_eq!(q("/authorize", &format!("flow={id}")), None);
        assert_eq!(q("/loginx", &format!("flow={id}")), None);
        // The callback: without the browser's binding cookie, a read through the state's index.
        let via = q("/sso/oidc/c1/callback", "state=abc&code=x");
        assert_eq!(via, crate::login::oidc::state_key_of("abc").map(Plan::Via));
        assert!(matches!(via, Some(Plan::Via(_))));
        assert_eq!(q("/sso/oidc/c1/callback", "code=x"), None);
        // With it, the take through the browser's own index.
        let secret = random_token();
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::COOKIE,
            format!("lobby_flow={secret}").parse().unwrap(),
        );
        let take = plan_query(
            false,
            "/sso/oidc/c1/callback",
            Some("state=abc&code=x"),
            &cookie,
        );
        let Some(Plan::TakeVia { index, also }) = take else {
            panic!("{take:?}")
        };
        assert_eq!(Some(also.clone()), crate::login::oidc::state_key_of("abc"));
        assert!(index.starts_with(&also) && index.ends_with(&flow::binding_hash(&secret)));
        // Not for a callback the handler refuses before the flow (a repeated parameter), nor
        // for a path the callback's route does not answer.
        for (path, query) in [
            ("/sso/oidc/c1/callback", "state=abc&code=x&code=y"),
            ("/sso/oidc/c1/x/callback", "state=abc&code=x"),
            ("/sso/oidc//callback", "state=abc&code=x"),
        ] {
            assert_eq!(
                plan_query(false, path, Some(query), &cookie),
                None,
                "{path}?{query}"
            );
        }
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
        assert_eq!(e.take_via("sso_state:1"), None, "a read is not a take");
        assert_eq!(e.via("sso_state:1"), Some(None));
        let taken = Some((b"id".to_vec(), Some(b"flow".to_vec())));
        let mut e = Early(Some(Prefetched::new(
            Plan::TakeVia {
                index: "sso_state:1:b".into(),
                also: "sso_state:1".into(),
            },
            Found::Via(taken.clone()),
        )));
        assert_eq!(e.via("sso_state:1:b"), None, "a take is not a read");
        assert_eq!(e.take_via("sso_state:1"), None, "another index");
        assert_eq!(e.take_via("sso_state:1:b"), Some(taken));
        assert_eq!(e.take_via("sso_state:1:b"), None, "once");
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
        let (req, plan) = plan(false, req).await.unwrap();
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
            let (req, plan) = super::plan(false, b.body(Body::from(body.clone())).unwrap())
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
