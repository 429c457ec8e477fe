//! [`CsrfForm`]: the body of every portal POST — a urlencoded form whose `_csrf` field must
//! equal the portal session's CSRF token (compared in constant time). Missing, wrong, or from
//! another session: the 403 page "This form expired…". Forms are plain HTML POSTs.
//!
//! Field values are strings. A field sent several times (checkboxes) becomes a list: declare it
//! `#[serde(default, deserialize_with = "crate::portal::form::many")] Vec<String>`; a field
//! sent once into such a list is a one-element list.
//!
//! Owns: the CSRF check and form decoding. Must not touch: what the form does.

use super::PortalCtx;
use super::session::{KEY, SignedIn};
use super::view::PortalError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// A form POST with its CSRF token checked.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "_csrf";

/// Decode `application/x-www-form-urlencoded` pairs into a JSON object: a key sent once is a
/// string, a key sent several times a list of strings.
pub fn form_object(body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let (k, v) = (k.into_owned(), Value::String(v.into_owned()));
        match out.get_mut(&k) {
            None => {
                out.insert(k, v);
            }
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, v]);
            }
        }
    }
    out
}

/// `deserialize_with` for a list field: one value or several.
pub fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Whether `presented` is the session's token (constant time).
pub fn token_ok(expected: &str, presented: Option<&str>) -> bool {
    match presented {
        Some(p) if !expected.is_empty() => expected.as_bytes().ct_eq(p.as_bytes()).into(),
        _ => false,
    }
}

impl<T: DeserializeOwned> FromRequest<PortalCtx> for CsrfForm<T> {
    type Rejection = PortalError;

    async fn from_request(req: Request, ctx: &PortalCtx) -> Result<Self, PortalError> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, ctx)
            .await
            .map_err(|_| PortalError::internal("the portal session layer is missing"))?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PortalError::Csrf);
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), ctx)
            .await
            .map_err(|_| {
                PortalError::bad_request(super::view::current_tr().t("portal-form-unreadable"))
            })?;
        let mut obj = form_object(&bytes);
        let presented = match obj.remove(CSRF_FIELD) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let rec: Option<SignedIn> = session.get(KEY).await.ok().flatten();
        let expected = rec.map(|r| r.csrf).unwrap_or_default();
        if !token_ok(&expected, presented.as_deref()) {
            return Err(PortalError::Csrf);
        }
        serde_json::from_value(Value::Object(obj))
            .map(CsrfForm)
            .map_err(|e| {
                tracing::info!(error = %e, "portal form does not decode");
                PortalError::bad_request(super::view::current_tr().t("portal-form-malformed"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct F {
        name: String,
        #[serde(default, deserialize_with = "many")]
        roles: Vec<String>,
    }

    #[test]
    fn repeated_fields_become_lists() {
        let o = form_object(b"name=a+b&roles=x&roles=y%3Az");
        let f: F = serde_json::from_value(Value::Object(o)).unwrap();
        assert_eq!(f.name, "a b");
        assert_eq!(f.roles, ["x", "y:z"]);
        let f: F = serde_json::from_value(Value::Object(form_object(b"name=n&roles=x"))).unwrap();
        assert_eq!(f.roles, ["x"]);
        let f: F = serde_json::from_value(Value::Object(form_object(b"name=n"))).unwrap();
        assert!(f.roles.is_empty());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(token_ok("abc", Some("abc")));
        assert!(!token_ok("abc", Some("abd")));
        assert!(!token_ok("abc", None));
        assert!(!token_ok("", Some("")));
    }
}
