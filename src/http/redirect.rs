//! OAuth 2.0 error codes and the browser redirects every edge sends: `303 See Other`, a
//! redirect carrying parameters to a *validated* client redirect_uri, and the authorization
//! error redirect (RFC 6749 §4.1.2.1 with `iss`, RFC 9207 §2).
//!
//! Owns: the error code values and how they travel in a redirect. Must not touch: deciding
//! whether a redirect_uri is valid (the provider does that before calling here), storage.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The error codes Lobby returns (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009 §2.2.1;
/// OIDC Core §3.1.2.6; RFC 8707 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
    InvalidScope,
    /// RFC 8707 §2: the `resource` is unknown, malformed or not allowed.
    InvalidTarget,
    AccessDenied,
    InvalidToken,
    LoginRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::InvalidToken => "invalid_token",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Build the redirect that carries an authorization error back to a *validated* client
/// redirect_uri (RFC 6749 §4.1.2.1), with `state` and `iss` (RFC 9207 §2).
pub fn error_redirect(
    redirect_uri: &str,
    code: ErrorCode,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let mut pairs: Vec<(&str, &str)> =
        vec![("error", code.as_str()), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

/// 303 to `uri` with `pairs` appended to its query (the client's own query is kept).
/// `uri` has been matched byte for byte against the client's registration before.
pub fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            see_other(u.as_str())
        }
        // Registered URIs are validated as absolute URLs; this is unreachable in practice, and
        // an error page is the safe answer.
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "The redirect URI registered for this application is invalid.",
        )
            .into_response(),
    }
}

/// A `303 See Other` (the browser follows it with GET).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            res.headers_mut().insert(header::LOCATION, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => (StatusCode::BAD_REQUEST, "Invalid redirect location.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_redirect_keeps_client_query_and_adds_iss() {
        let r = error_redirect(
            "https://app.example.com/cb?x=1",
            ErrorCode::LoginRequired,
            "no session",
            Some("s t"),
            "https://login.example.com",
        );
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let loc = r.headers()[header::LOCATION].to_str().unwrap();
        let u = url::Url::parse(loc).unwrap();
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(q[0], ("x".into(), "1".into()));
        assert!(q.contains(&("error".into(), "login_required".into())));
        assert!(q.contains(&("state".into(), "s t".into())));
        assert!(q.contains(&("iss".into(), "https://login.example.com".into())));
    }
}
