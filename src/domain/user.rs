//! Tenant-level users and their external identities.

use super::Email;
use super::error::{DomainError, DomainResult};
use super::ids::{ConnectionId, UserId};
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub email_verified: bool,
    pub name: Option<String>,
    /// argon2id PHC string for password connections; never exported.
    pub password_hash: Option<Secret>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn validate(&self) -> DomainResult<()> {
        if let Some(n) = &self.name {
            super::org::validate_name(n)?;
        }
        Ok(())
    }
}

/// Who the user is at an upstream IdP. The key is (connection, issuer, subject), never email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIdentity {
    pub connection_id: ConnectionId,
    pub issuer: String,
    pub subject: String,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
}

impl ExternalIdentity {
    pub fn validate(&self) -> DomainResult<()> {
        if self.issuer.is_empty() || self.issuer.len() > 1024 {
            return Err(DomainError::new("issuer", "must be 1-1024 characters"));
        }
        if self.subject.is_empty() || self.subject.len() > 1024 {
            return Err(DomainError::new("subject", "must be 1-1024 characters"));
        }
        Ok(())
    }
}

/// Hash a password with argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
pub fn hash_password(password: &str) -> anyhow::Result<Secret> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    let h = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(Secret::new(h.to_string()))
}

/// Verify a password against an argon2 PHC string. Malformed hashes verify as false.
pub fn verify_password(hash: &Secret, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(hash.expose()) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_roundtrip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password(&Secret::new("garbage"), "x"));
    }
}
