//! Keys: sealing secrets at rest and the keys Lobby signs with.
//!
//! Owns: the seal key and sealed format (`seal`), the token-signing key ring — algorithms and
//! key material (`alg`), the cached ring and its loading (`ring`), two-step rotation
//! (`rotation`), the published JWK set (`jwks`), JWT signing and verification (`jwt`) — and
//! the SAML SP signing key pair (`saml_sp`). Must not touch: HTTP, token contents (claims are
//! the caller's), anything but `domain`, `config` and the storage traits — never the provider,
//! login, admin, upstream or app modules.
//!
//! Token-signing keys are generated with `aws-lc-rs` — RSA-2048 for RS256, P-256 for ES256,
//! Ed25519 for EdDSA — as PKCS#8, sealed with [`seal::SealKey`] before they reach
//! `storage::KeyStore`. Key ids are RFC 7638 JWK thumbprints (SHA-256, base64url). Never uses
//! the `rsa` crate (RUSTSEC-2023-0071).
//!
//! Key life cycle per algorithm: `Next` (published in JWKS, not signing) → `Active` (signs;
//! one per algorithm) → `Retired` (published until `retire_until`, then deleted).
//!
//! Rotation is two calls of [`KeyRing::rotate`], because relying parties cache the JWKS:
//! 1. The first call creates a `Next` key. It is published at `/jwks` at once but signs nothing.
//! 2. Wait until every relying party has refreshed its JWKS cache (at least the `/jwks`
//!    cache lifetime plus the ring reload interval of the other instances), then call again: the
//!    `Next` key becomes `Active`, the old active key becomes `Retired` with
//!    `retire_until = now + max_token_lifetime` so tokens it signed still verify until they
//!    expire, and retired keys past their `retire_until` are deleted.
//!
//! Every instance caches the keys (decrypted and parsed once, not per request) and picks up
//! changes made by another instance through [`KeyRing::reload`] (see
//! [`KeyRing::spawn_reloader`]). If several `Active` keys exist for one algorithm (two
//! instances created one at the same first start, or a crash in the middle of a rotation), the
//! newest signs; all of them stay published.

mod alg;
mod jwks;
mod jwt;
mod ring;
mod rotation;
pub mod saml_sp;
pub mod seal;
#[cfg(test)]
mod testkit;

pub use alg::{generate_pkcs8, jws_alg};
pub use jwt::VerifyOptions;
pub use ring::{KeyRing, LoadedKey};
pub use rotation::Rotation;

use crate::domain::KeyId;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key storage: {0}")]
    Storage(#[from] StorageError),
    #[error("signing key {kid}: {reason}")]
    BadKey { kid: KeyId, reason: String },
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("no active signing key for {0}")]
    NoActiveKey(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
    /// The token was rejected; the reason is for logs, never for the client.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
}

pub type Result<T> = std::result::Result<T, KeyError>;
