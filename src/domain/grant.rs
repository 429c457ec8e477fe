//! What an authorization grants, and the authorization code that carries it to `/token`.
//!
//! Codes (RFC 6749 §4.1.2, §10.5; DESIGN §6.5): 256 random bits, stored only as
//! `code:<sha256>` in the short-lived state store for at most 60 s, bound to the client, the
//! redirect_uri, the PKCE challenge and the nonce; the token endpoint *takes* the record so a
//! code redeems once.
//!
//! Owns: the `Grant` (carried by the code, the refresh family and the tokens) and the code
//! record and its key. Must not touch: I/O (the login issues codes, the provider redeems them).

use super::{ClientId, ConnectionId, OrgId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The browser SSO session id, the tokens' `sid` claim: random (`random_token`) when a
/// session starts; stored and serialized as the plain string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A new random session id (256 bits).
    pub fn generate() -> Self {
        Self(super::random_token())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SessionId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SessionId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<SessionId> for String {
    fn from(s: SessionId) -> String {
        s.0
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one authorization granted; carried by the code, the refresh family and the tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub user_id: UserId,
    pub org_id: OrgId,
    /// The browser SSO session id (`sid`).
    pub sid: SessionId,
    /// Unix seconds of the authentication.
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The connection the user authenticated with.
    pub idp: Option<ConnectionId>,
    /// Granted scope values, space-separated.
    pub scope: String,
}

/// A code is valid this long (DESIGN §6.5: ≤ 60 s).
pub const CODE_TTL_SECS: i64 = 60;

/// What a code stands for, stored under `code:<sha256(code)>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub grant: Grant,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// The state-store key of a code.
/// The short-lived-state key under which `/revoke` deny-lists an access token by its `jti`
/// (RFC 7009 §2): written by the provider, read by the provider and the admin API.
pub fn deny_key(jti: &str) -> String {
    format!("deny:{jti}")
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", hex::encode(Sha256::digest(code.as_bytes())))
}
