//! Password resets (self-service, for users of a password connection): a single-use emailed
//! link valid for [`RESET_TTL`]. Only the SHA-256 of the link's token is stored.
//!
//! Owns: the reset record and what its state means. Must not touch: storage, mail, pages.

use super::ids::{OrgId, UserId};
use super::secret::TokenHash;
use super::user::User;
use time::OffsetDateTime;

/// How long a reset link works.
pub const RESET_TTL: time::Duration = time::Duration::minutes(30);

/// One issued reset link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordReset {
    /// SHA-256 of the token in the link.
    pub token_hash: TokenHash,
    pub user_id: UserId,
    /// The org the request came through, when known (branding of the pages and the mail).
    pub org_id: Option<OrgId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// When it was used (or made void by another reset of the same user).
    pub used_at: Option<OffsetDateTime>,
}

/// What a presented reset token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetTokenState {
    Usable,
    Used,
    Expired,
}

impl PasswordReset {
    pub fn state(&self, now: OffsetDateTime) -> ResetTokenState {
        if self.used_at.is_some() {
            ResetTokenState::Used
        } else if now >= self.expires_at {
            ResetTokenState::Expired
        } else {
            ResetTokenState::Usable
        }
    }
}

/// The outcome of completing a reset (`PasswordResetStore::complete_password_reset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The password was set; the user as stored now.
    Done(User),
    Unknown,
    Used,
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_by_time_and_use() {
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mut r = PasswordReset {
            token_hash: TokenHash::of("t"),
            user_id: UserId::generate(),
            org_id: None,
            created_at: t,
            expires_at: t + RESET_TTL,
            used_at: None,
        };
        assert_eq!(r.state(t), ResetTokenState::Usable);
        assert_eq!(
            r.state(t + RESET_TTL - time::Duration::seconds(1)),
            ResetTokenState::Usable
        );
        assert_eq!(r.state(t + RESET_TTL), ResetTokenState::Expired);
        r.used_at = Some(t);
        assert_eq!(r.state(t), ResetTokenState::Used);
        assert_eq!(r.state(t + RESET_TTL), ResetTokenState::Used);
    }
}
