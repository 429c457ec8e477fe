//! OAuth 2.0 / OIDC error responses of the provider endpoints.
//!
//! Owns: the error codes of RFC 6749 §5.2 / §4.1.2.1, RFC 6750 §3.1 and OIDC Core §3.1.2.6, their
//! HTTP status and `WWW-Authenticate` header, the JSON body `{error, error_description}`, and the
//! rule of where an `/authorize` error goes: to the client's redirect_uri only once the client
//! and the redirect_uri are validated, else to the HTML error page (RFC 6749 §4.1.2.1 — never
//! redirect to an unverified URI). Must not touch: storage, token contents.

use crate::http::redirect::ErrorCode;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error of a back-channel endpoint (`/token`, `/revoke`, `/introspect`, `/userinfo`),
/// answered as JSON. The description is a fixed sentence: never request data, never secrets.
#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: &'static str,
}

impl OAuthError {
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        Self { code, description }
    }
    pub const fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
    pub const fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }
    pub const fn invalid_client() -> Self {
        Self::new(
            ErrorCode::InvalidClient,
            "Client authentication failed (unknown client, wrong secret, or wrong authentication method).",
        )
    }
    pub const fn invalid_token(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }
    /// A storage failure: logged by the caller with the request id; the body stays generic.
    pub const fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request. Try again later.",
        )
    }
    /// The short-lived state store is down: fail closed (DESIGN §5).
    pub const fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "The server is temporarily unable to handle the request. Try again later.",
        )
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            // RFC 6749 §5.2: 401 for a failed client authentication.
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let mut res = (status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        // RFC 6749 §5.1: token responses and their errors must not be cached.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self.code {
            // RFC 6749 §5.2: a 401 for invalid_client carries WWW-Authenticate.
            ErrorCode::InvalidClient => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"lobby\""),
                );
            }
            // RFC 6750 §3: Bearer challenge with the error code.
            ErrorCode::InvalidToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"lobby\", error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked.\"",
                    ),
                );
            }
            _ => {}
        }
        res
    }
}

impl From<crate::storage::StorageError> for OAuthError {
    fn from(e: crate::storage::StorageError) -> Self {
        tracing::error!(error = %e, "storage error in a provider endpoint");
        // The database is down or restarting: temporary, so 503 + `Retry-After`, not 500.
        if e.is_unavailable() {
            Self::unavailable()
        } else {
            Self::server_error()
        }
    }
}

impl From<crate::state::StateError> for OAuthError {
    fn from(e: crate::state::StateError) -> Self {
        tracing::error!(error = %e, "state store error in a provider endpoint");
        Self::unavailable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_headers() {
        let r = OAuthError::invalid_client().into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = OAuthError::invalid_grant("x").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let r = OAuthError::invalid_token("x").into_response();
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }
}
