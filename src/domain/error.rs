//! The one error type of the domain layer: a rule was broken, with a sentence saying which.

/// A broken domain rule. `field` names the input that is wrong (a JSON field or YAML key),
/// `message` is a fixed sentence safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub field: String,
    pub message: String,
}

impl DomainError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, reported under a more specific field path (`apps[2].redirect_uris`).
    pub fn at(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else if prefix.is_empty() {
            self.field
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
