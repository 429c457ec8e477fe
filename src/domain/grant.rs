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

/// What one authorization granted; carried by the code, the refresh family and the tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub user_id: UserId,
    pub org_id: OrgId,
    /// The browser SSO session id (`sid`).
    pub sid: String,
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
pub fn code_key(code: &str) -> String {
    format!("code:{}", hex::encode(Sha256::digest(code.as_bytes())))
}
