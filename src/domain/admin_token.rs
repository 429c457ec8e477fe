//! The contract between the OIDC provider (which issues access tokens for Lobby's own admin
//! API) and the admin API (which accepts them): audience, scopes and the claims it reads.
//!
//! Owns: the admin audience, the admin scopes, and the claim shape of an admin access token.
//! Must not touch: signing or verifying (keys), deciding rights (admin).
//!
//! Two kinds of token carry the admin audience:
//! - **delegated** (authorization code, scope `lobby:admin` or RFC 8707 `resource` = the admin
//!   audience): `sub` is the signed-in user, `org_id` the org they signed into. The admin API
//!   reads that user's *current* membership of `org_id` on every request; the token alone
//!   grants nothing.
//! - **client** (`client_credentials`, RFC 6749 §4.4, for apps marked as admin clients):
//!   `sub` = `client_id`, no `org_id`, `scope` holds `lobby:admin:read` and/or
//!   `lobby:admin:write`.

use serde::{Deserialize, Serialize};

/// Scope an app asks for (authorization code flow) to get a delegated admin token.
pub const SCOPE_ADMIN: &str = "lobby:admin";
/// Client-credentials scope: read the admin API.
pub const SCOPE_ADMIN_READ: &str = "lobby:admin:read";
/// Client-credentials scope: read and write the admin API.
pub const SCOPE_ADMIN_WRITE: &str = "lobby:admin:write";

/// The `aud` of an admin access token, and the RFC 8707 `resource` value naming the admin API:
/// the issuer followed by `/api/v1`.
pub fn admin_audience(issuer: &str) -> String {
    format!("{}/api/v1", issuer.trim_end_matches('/'))
}

/// What the admin API reads from a verified admin access token (a JWT with header
/// `typ: at+jwt`, RFC 9068, signed by Lobby's key ring).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenClaims {
    pub iss: String,
    /// [`admin_audience`] (a string, not an array).
    pub aud: String,
    /// The user id (delegated) or the client id (client credentials).
    pub sub: String,
    /// The app the token was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Delegated tokens only: the org the user signed into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl AdminTokenClaims {
    /// Whether `scope` lists `s`.
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split(' ').any(|x| x == s)
    }

    /// A client-credentials token (no signed-in user).
    pub fn is_client(&self) -> bool {
        self.org_id.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_and_scopes() {
        assert_eq!(
            admin_audience("https://id.example/"),
            "https://id.example/api/v1"
        );
        let c = AdminTokenClaims {
            iss: "i".into(),
            aud: admin_audience("i"),
            sub: "u".into(),
            client_id: "c".into(),
            scope: "openid lobby:admin".into(),
            org_id: Some("org_1".into()),
            iat: 0,
            exp: 1,
            jti: "j".into(),
        };
        assert!(c.has_scope(SCOPE_ADMIN));
        assert!(!c.has_scope("lobby"));
        assert!(!c.is_client());
    }
}
