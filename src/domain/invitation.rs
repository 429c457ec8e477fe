//! Invitations: pending memberships redeemed once with a secret token.

use super::Email;
use super::ids::{InvitationId, OrgId};
use super::membership::{AppRoles, OrgRole};
use super::secret::TokenHash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: Email,
    pub roles: AppRoles,
    pub org_roles: BTreeSet<OrgRole>,
    /// SHA-256 of the single-use token; the token itself is shown once at creation.
    pub token_hash: TokenHash,
    pub status: InvitationStatus,
    pub expires_at: OffsetDateTime,
    pub invited_by: String,
    pub version: i64,
    pub created_at: OffsetDateTime,
}

impl Invitation {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.status == InvitationStatus::Pending && now < self.expires_at
    }
}
