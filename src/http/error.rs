//! The shared JSON error response of every JSON endpoint, and the extractors whose rejections
//! come out in that shape.
//!
//! Owns: `ApiError` (`{"error": "<code>", "message": "<fixed sentence>", "request_id": "…"}`),
//! the mapping of `DomainError` / `StorageError` / axum rejections to it, and the `Json` /
//! `Query` extractor wrappers. Must not touch: storage, business rules, HTML pages (a browser
//! error page is the hosted pages' job).
//!
//! Causes of 5xx errors are logged (inside the request's tracing span, which carries the
//! request id) and never put in the response body.

use crate::domain::DomainError;
use crate::storage::StorageError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

tokio::task_local! {
    /// The id of the request being served; set by the request-id layer for the duration of
    /// the request so that error bodies can carry it.
    pub(crate) static REQUEST_ID: String;
}

/// The request id of the request currently being served, when inside the request-id layer.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|s| s.clone()).ok()
}

/// The JSON error body (also the OpenAPI schema of every error response).
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`.
    pub error: String,
    /// A fixed, human-readable sentence.
    pub message: String,
    /// The input field at fault (validation errors only), e.g. `redirect_uris[0]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id (also in the `x-request-id` response header); quote it in bug reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error response. Build it with the constructors; `IntoResponse` renders it as JSON.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Logged, never sent.
    cause: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            cause: None,
            headers: Vec::new(),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 400: the request could not be understood.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 with a sentence naming what was not found.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("The {what} was not found."),
        )
    }

    /// 409 with a sentence.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 for a field that breaks a rule.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_field(field)
    }

    /// 500 with a generic body; `cause` is logged with the request id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Try again later, and quote the request id if it keeps happening.",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// 503 with a generic body (a backend is down; `http::layers` adds `Retry-After`);
    /// `cause` is logged with the request id.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable. Try again in a few seconds.",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// 413: the body is larger than the configured cap.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large.",
        )
    }

    /// The body as it is sent (request id filled in from the current request).
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.clone(),
            request_id: current_request_id(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(status = self.status.as_u16(), code = self.code, cause = %cause, "request failed");
        } else if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                "request failed"
            );
        } else {
            // Not the message: it may echo what the client sent.
            tracing::debug!(
                status = self.status.as_u16(),
                code = self.code,
                field = self.field.as_deref().unwrap_or(""),
                "request refused"
            );
        }
        let body = self.body();
        let mut res = (self.status, axum::Json(body)).into_response();
        for (k, v) in self.headers {
            res.headers_mut().insert(k, v);
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => ApiError::not_found("object"),
            StorageError::Conflict => ApiError::conflict(
                "version_conflict",
                "The object was changed by someone else; reload it and retry.",
            ),
            StorageError::Duplicate(what) => ApiError::conflict(
                "duplicate",
                format!("A {what} with this value already exists."),
            ),
            StorageError::InUse(what) => {
                ApiError::conflict("in_use", format!("The object is still in use by {what}."))
            }
            StorageError::MissingReference(what) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_reference",
                format!("The referenced {what} does not exist."),
            ),
            e @ StorageError::Backend(_) if e.is_unavailable() => ApiError::unavailable(e),
            StorageError::Backend(cause) => ApiError::internal(format!("{cause:#}")),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                // The serde message names the field path and what was expected, e.g.
                // "name: invalid type: integer `1`, expected a string at line 1 column 9".
                let text = e.body_text();
                let mut detail = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text)
                    .to_owned();
                // A domain newtype names its field itself: "slug: slug: must be…".
                if let Some((p, rest)) = detail.split_once(": ")
                    && let Some(tail) = rest.strip_prefix(&format!("{p}: "))
                {
                    detail = format!("{p}: {tail}");
                }
                let field = detail
                    .split_once(": ")
                    .map(|(p, _)| p.to_owned())
                    .filter(|p| !p.contains(' ') && p != ".");
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("The JSON body does not have the expected shape: {detail}"),
                );
                err.field = field;
                err
            }
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::bad_request("The request body is not valid JSON.")
                    .with_code("malformed_json")
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the request body as JSON with Content-Type: application/json.",
            ),
            JsonRejection::BytesRejection(b) => {
                if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large()
                } else {
                    ApiError::bad_request("The request body could not be read.")
                }
            }
            other => {
                if other.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large()
                } else {
                    ApiError::bad_request("The request body could not be read.")
                }
            }
        }
    }
}

impl ApiError {
    fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// `axum::Json` whose rejections are `ApiError`s. Also usable as a response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(r) => Err(r.into()),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are `ApiError`s (400 with the parser's message).
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_owned();
                Err(
                    ApiError::bad_request(format!("The query string is invalid: {detail}"))
                        .with_code("invalid_query"),
                )
            }
            Err(_) => {
                Err(ApiError::bad_request("The query string is invalid.")
                    .with_code("invalid_query"))
            }
        }
    }
}

/// `axum::extract::Path` whose rejections are `ApiError`s (400).
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => {
                Err(ApiError::bad_request("The URL path is invalid.").with_code("invalid_path"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn body_carries_the_request_id_in_scope() {
        let e = ApiError::not_found("organization");
        let b = REQUEST_ID
            .scope("req-1".to_owned(), async { e.body() })
            .await;
        assert_eq!(b.request_id.as_deref(), Some("req-1"));
        assert_eq!(b.error, "not_found");
        assert!(ApiError::not_found("x").body().request_id.is_none());
    }

    #[test]
    fn backend_errors_have_a_generic_body() {
        let e: ApiError = StorageError::Backend(anyhow::anyhow!("password=hunter2 at db")).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&e.body()).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(!body.contains("db"));
    }

    #[test]
    fn storage_error_statuses() {
        let cases: Vec<(StorageError, u16)> = vec![
            (StorageError::NotFound, 404),
            (StorageError::Conflict, 409),
            (StorageError::Duplicate("org slug".into()), 409),
            (StorageError::InUse("members".into()), 409),
            (StorageError::MissingReference("user".into()), 422),
        ];
        for (e, code) in cases {
            assert_eq!(ApiError::from(e).status.as_u16(), code);
        }
        let d: ApiError = DomainError::new("slug", "bad").into();
        assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(d.field.as_deref(), Some("slug"));
    }
}
