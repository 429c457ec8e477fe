//! Invitations: pending memberships redeemed once with a secret token.

use super::Email;
use super::ids::{AppId, InvitationId, OrgId, UserId};
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
    /// The audit actor who created it (`operator`, `user:<id>`, …).
    pub invited_by: String,
    pub version: i64,
    pub created_at: OffsetDateTime,
    /// The app the invitation is for (named in the email and on `/invite/{token}`; the sign-in
    /// after accepting goes through it). `None` on invitations made before apps were named.
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// Who invited, as the email and the page show it (a person's name or email).
    #[serde(default)]
    pub inviter_name: Option<String>,
    /// The user profile made (or reused) with the invitation; its membership of the org is
    /// `invited` until the invitation is accepted.
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// What an invitation is now, as lists and pages show it: its stored status, with a pending
/// one past its expiry shown as expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

impl Invitation {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.status == InvitationStatus::Pending && now < self.expires_at
    }

    /// The status at `now`: a pending invitation at or past its expiry is expired.
    pub fn state(&self, now: OffsetDateTime) -> InvitationState {
        match self.status {
            InvitationStatus::Accepted => InvitationState::Accepted,
            InvitationStatus::Revoked => InvitationState::Revoked,
            InvitationStatus::Pending if now < self.expires_at => InvitationState::Pending,
            InvitationStatus::Pending => InvitationState::Expired,
        }
    }
}
