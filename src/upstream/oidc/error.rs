//! Everything that can go wrong talking to an upstream OpenID Provider, as the audit reason
//! and the kind of failure ([`UpstreamFailure`]) the person is told about.
//!
//! Owns: [`OidcError`]. Must not touch: deciding what is wrong (the other `oidc` modules do),
//! logging, pages (the sentences and statuses are `pages::upstream_failure`).

use crate::upstream::UpstreamFailure;
use crate::upstream::http::FetchError;

/// Everything that can go wrong talking to an upstream OP. [`OidcError::reason`] is the audit
/// reason; [`OidcError::failure`] the kind shown to the person; `Display` adds detail for the
/// log (never secrets).
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

    /// What kind of failure this is for the person: the IdP unusable (unreachable,
    /// misconfigured) or its answer refused.
    pub fn failure(&self) -> UpstreamFailure {
        match self {
            Self::DiscoveryFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::JwksFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::TokenFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::UserinfoFetch(FetchError::Blocked(_) | FetchError::BadScheme)
            | Self::DiscoveryInvalid(_)
            | Self::IssuerMismatch { .. }
            | Self::JwksInvalid(_)
            | Self::ClientSecret => UpstreamFailure::Misconfigured,
            Self::DiscoveryFetch(_)
            | Self::JwksFetch(_)
            | Self::TokenFetch(_)
            | Self::UserinfoFetch(_) => UpstreamFailure::Unreachable,
            Self::TokenError { .. }
            | Self::TokenResponseInvalid(_)
            | Self::IdToken { .. }
            | Self::UserinfoInvalid(_)
            | Self::UserinfoSubMismatch => UpstreamFailure::Rejected,
        }
    }

    pub(super) fn id_token(reason: &'static str, detail: impl Into<String>) -> Self {
        Self::IdToken {
            reason,
            detail: detail.into(),
        }
    }
}
