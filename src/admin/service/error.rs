//! Errors of the service layer: [`ServiceError`] with its kind, code and field path, the
//! conversions from domain and storage errors, and the mapping of a kind to an HTTP status.
//!
//! Owns: which error kind maps to which status. Must not touch: the error body format (that
//! is `crate::http::ApiError`).

use crate::domain::DomainError;
use crate::storage::StorageError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 422: a field breaks a rule.
    Invalid,
    /// 404: the object, or an object the request refers to, does not exist (in this org).
    NotFound,
    /// 409: duplicates, version mismatches, objects still in use.
    Conflict,
    /// 400: the request itself is malformed (bad query parameter…).
    BadRequest,
    /// 503: a dependency (DNS, the database) did not answer.
    Unavailable,
    /// 500: storage failure; `message` is the cause (logged, never sent to HTTP clients).
    Internal,
}

/// An error of the service layer. `field` is a path into the request (`roles.app_crm`);
/// the import prefixes it with the element's place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

pub type SResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            code: "validation_failed",
            message: message.into(),
            field: Some(field.into()),
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("The {what} was not found."),
            field: None,
        }
    }
    /// A referenced object (named by `field`) does not exist, or belongs to another org.
    pub fn ref_not_found(field: impl Into<String>, what: &str, id: &str) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("The {what} {id} was not found."),
            field: Some(field.into()),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Conflict,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadRequest,
            code: "invalid_request",
            message: message.into(),
            field: None,
        }
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            kind: ErrorKind::Internal,
            code: "internal_error",
            message: cause.to_string(),
            field: None,
        }
    }
    pub fn version_conflict() -> Self {
        Self::conflict(
            "version_conflict",
            "The object was changed by someone else (version mismatch); reload it and retry.",
        )
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// Report under a more specific path: `at("orgs[1].members[0]")`.
    pub fn at(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field.take() {
            Some(f) if !f.is_empty() => format!("{prefix}.{f}"),
            _ => prefix.to_owned(),
        });
        self
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        Self::invalid(e.field, e.message)
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::not_found("object"),
            StorageError::Conflict => Self::version_conflict(),
            StorageError::Duplicate(what) => Self::conflict(
                "duplicate",
                format!("A {what} with this value already exists."),
            ),
            StorageError::InUse(what) => Self::conflict(
                "in_use",
                format!(
                    "The object is still in use by {what}; remove those first or use ?cascade=true."
                ),
            ),
            StorageError::MissingReference(what) => Self {
                kind: ErrorKind::Invalid,
                code: "missing_reference",
                message: format!("The referenced {what} does not exist."),
                field: None,
            },
            e @ StorageError::Backend(_) if e.is_unavailable() => {
                tracing::error!(error = %e, "the database is unreachable");
                Self {
                    kind: ErrorKind::Unavailable,
                    code: "temporarily_unavailable",
                    message: "The service is temporarily unavailable. Try again in a few seconds."
                        .into(),
                    field: None,
                }
            }
            StorageError::Backend(cause) => Self::internal(format!("{cause:#}")),
        }
    }
}

impl From<ServiceError> for crate::http::ApiError {
    fn from(e: ServiceError) -> Self {
        use axum::http::StatusCode;
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => return crate::http::ApiError::internal(e.message),
        };
        let mut a = crate::http::ApiError::new(status, e.code, e.message);
        a.field = e.field;
        a
    }
}
