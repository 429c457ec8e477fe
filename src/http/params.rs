//! Request parameters of the OAuth endpoints and hosted-page forms: query strings and
//! `application/x-www-form-urlencoded` bodies, parsed without ever failing or panicking.
//!
//! Owns: RFC 6749 §3.1 parameter rules (a parameter sent without a value is treated as omitted;
//! a parameter must not be sent more than once) and per-parameter size bounds. Must not touch:
//! what the parameters mean.

use axum::http::{HeaderMap, header};

/// Largest value accepted for free-text parameters echoed or stored in a flow: `state`,
/// `nonce`, `login_hint` and friends.
pub const MAX_PARAM_BYTES: usize = 512;

/// The parameters of one request, in order, as sent.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

/// A parameter appeared more than once (RFC 6749 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl Params {
    /// Parse a query string or urlencoded body. Invalid percent-escapes and invalid UTF-8 are
    /// decoded lossily, so this never fails; the values are then checked by each endpoint.
    pub fn parse(raw: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_query(q: Option<&str>) -> Self {
        Self::parse(q.unwrap_or("").as_bytes())
    }

    /// The single non-empty value of `name`. Empty values count as omitted (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found: Option<&str> = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(Repeated(name.to_owned()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The first parameter (in a fixed list of names) that is repeated, if any.
    pub fn first_repeated(&self, names: &[&str]) -> Option<Repeated> {
        names.iter().find_map(|n| self.get(n).err())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `true` when a request body is declared as `application/x-www-form-urlencoded` (parameters
/// such as `; charset=UTF-8` allowed).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The request id of the request-id layer (`http::current_request_id`), else a well-formed
/// `x-request-id` header; shown on error pages and put in audit events.
pub fn request_id(headers: &HeaderMap) -> String {
    if let Some(id) = crate::http::current_request_id() {
        return id;
    }
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .unwrap_or("-")
        .to_owned()
}

/// Value of one cookie in the `Cookie` header(s), if present exactly once.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for h in headers.get_all(header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=')
                && k == name
            {
                if found.is_some() {
                    // Two cookies with our name (e.g. one planted for a parent domain):
                    // trust neither.
                    return None;
                }
                found = Some(v.trim());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_omitted_and_repeats_are_errors() {
        let p = Params::parse(b"a=1&b=&c=x&c=y&d=%ZZ&e=%FF");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), None);
        assert_eq!(p.get("zz").unwrap(), None);
        assert_eq!(p.get("c"), Err(Repeated("c".into())));
        assert_eq!(p.get("d").unwrap(), Some("%ZZ"));
        assert!(p.get("e").unwrap().is_some());
        assert_eq!(p.first_repeated(&["a", "c"]), Some(Repeated("c".into())));
        // One empty and one real value is not a repeat.
        assert_eq!(Params::parse(b"s=&s=1").get("s").unwrap(), Some("1"));
    }

    #[test]
    fn cookies_and_request_ids() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "x=1; lobby_flow=abc; y=2".parse().unwrap());
        assert_eq!(cookie(&h, "lobby_flow"), Some("abc"));
        assert_eq!(cookie(&h, "nope"), None);
        h.append(header::COOKIE, "lobby_flow=def".parse().unwrap());
        assert_eq!(cookie(&h, "lobby_flow"), None);
        h.insert("x-request-id", "abc-123".parse().unwrap());
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", "<script>".parse().unwrap());
        assert_eq!(request_id(&h), "-");
    }

    #[test]
    fn form_content_type() {
        let mut h = HeaderMap::new();
        assert!(!is_form(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(is_form(&h));
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_form(&h));
    }
}
