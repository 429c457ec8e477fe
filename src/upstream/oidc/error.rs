//! Everything that can go wrong talking to an upstream OpenID Provider, as the audit reason,
//! the sentence shown to the person and the HTTP status.
//!
//! Owns: [`OidcError`] and the three sentences. Must not touch: deciding what is wrong (the
//! other `oidc` modules do), logging, pages.

use crate::upstream::http::FetchError;

/// Everything that can go wrong talking to an upstream OP. [`OidcError::reason`] is the audit
/// reason; [`OidcError::message`] the sentence shown to the person; `Display` adds detail for
/// the log (never secrets).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("discovery document: {0}")]
    DiscoveryFetch(FetchError),
    #[error("discovery document invalid: {0}")]
    DiscoveryInvalid(String),
    #[error("discovery issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("JWKS: {0}")]
    JwksFetch(FetchError),
    #[error("JWKS invalid: {0}")]
    JwksInvalid(String),
    #[error("the stored client secret cannot be opened (secret key changed?) or is missing")]
    ClientSecret,
    #[error("token endpoint: {0}")]
    TokenFetch(FetchError),
    #[error("token endpoint refused the code: {error}")]
    TokenError { error: String },
    #[error("token response invalid: {0}")]
    TokenResponseInvalid(&'static str),
    #[error("ID token rejected: {reason}: {detail}")]
    IdToken {
        reason: &'static str,
        detail: String,
    },
    #[error("userinfo: {0}")]
    UserinfoFetch(FetchError),
    #[error("userinfo invalid: {0}")]
    UserinfoInvalid(&'static str),
    #[error("userinfo sub does not match the ID token's")]
    UserinfoSubMismatch,
}

pub const SENTENCE_UNREACHABLE: &str = "Your organization's sign-in service could not be reached or did not answer in time. Try again in a few minutes; if this keeps happening, contact your IT administrator.";
pub const SENTENCE_MISCONFIGURED: &str = "Your organization's sign-in is not set up correctly, so you cannot be signed in. Contact your IT administrator.";
pub const SENTENCE_REJECTED: &str = "Your organization's sign-in sent a response that failed our security checks, so you have not been signed in. Go back to the application and try again; if this keeps happening, contact your IT administrator.";

fn fetch_reason(prefix: &'static str, e: &FetchError) -> &'static str {
    macro_rules! r {
        ($p:literal) => {
            match e {
                FetchError::Blocked(_) | FetchError::BadScheme | FetchError::BadUrl => {
                    concat!($p, "_blocked")
                }
                FetchError::Timeout => concat!($p, "_timeout"),
                FetchError::TooLarge(_) => concat!($p, "_too_large"),
                FetchError::Status(_) => concat!($p, "_http_status"),
                FetchError::Busy => concat!($p, "_busy"),
                FetchError::Network(_) => concat!($p, "_unreachable"),
            }
        };
    }
    match prefix {
        "discovery" => r!("discovery"),
        "jwks" => r!("jwks"),
        "token" => r!("token"),
        _ => r!("userinfo"),
    }
}

impl OidcError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DiscoveryFetch(e) => fetch_reason("discovery", e),
            Self::DiscoveryInvalid(_) => "discovery_invalid",
            Self::IssuerMismatch { .. } => "discovery_issuer_mismatch",
            Self::JwksFetch(e) => fetch_reason("jwks", e),
            Self::JwksInvalid(_) => "jwks_invalid",
            Self::ClientSecret => "client_secret_unusable",
            Self::TokenFetch(e) => fetch_reason("token", e),
            Self::TokenError { .. } => "token_error",
            Self::TokenResponseInvalid(_) => "token_response_invalid",
            Self::IdToken { reason, .. } => reason,
            Self::UserinfoFetch(e) => fetch_reason("userinfo", e),
            Self::UserinfoInvalid(_) => "userinfo_invalid",
            Self::UserinfoSubMismatch => "userinfo_sub_mismatch",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Self::DiscoveryFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::JwksFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::TokenFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::UserinfoFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::DiscoveryInvalid(_)
            | Self::IssuerMismatch { .. }
            | Self::JwksInvalid(_)
            | Self::ClientSecret => SENTENCE_MISCONFIGURED,
            Self::DiscoveryFetch(_)
            | Self::JwksFetch(_)
            | Self::TokenFetch(_)
            | Self::UserinfoFetch(_) => SENTENCE_UNREACHABLE,
            Self::TokenError { .. }
            | Self::TokenResponseInvalid(_)
            | Self::IdToken { .. }
            | Self::UserinfoInvalid(_)
            | Self::UserinfoSubMismatch => SENTENCE_REJECTED,
        }
    }

    /// 502 when the IdP could not be used, 400 when its answer was refused.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self.message() {
            SENTENCE_UNREACHABLE | SENTENCE_MISCONFIGURED => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(super) fn id_token(reason: &'static str, detail: impl Into<String>) -> Self {
        Self::IdToken {
            reason,
            detail: detail.into(),
        }
    }
}
