//! Memberships: a user in an org, with per-app member roles and org-level admin roles.

use super::error::{DomainError, DomainResult};
use super::ids::{AppId, OrgId, RoleValue, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Invited,
    #[default]
    Active,
    Suspended,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// Org-level administrative roles (for the portal and the org-scoped admin API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Everything in the org: IdP, domains, members, child orgs.
    OrgAdmin,
    /// Members and invitations only.
    MemberAdmin,
    /// Reads everything in the org; changes nothing.
    Viewer,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgAdmin => "org_admin",
            Self::MemberAdmin => "member_admin",
            Self::Viewer => "viewer",
        }
    }
}

/// Member roles per app.
pub type AppRoles = BTreeMap<AppId, BTreeSet<RoleValue>>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub status: MemberStatus,
    pub roles: AppRoles,
    pub org_roles: BTreeSet<OrgRole>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Membership {
    pub fn roles_for(&self, app: &AppId) -> impl Iterator<Item = &RoleValue> {
        self.roles.get(app).into_iter().flatten()
    }

    pub fn validate_shape(&self) -> DomainResult<()> {
        if self.roles.values().map(|r| r.len()).sum::<usize>() > 500 {
            return Err(DomainError::new("roles", "at most 500 roles per member"));
        }
        Ok(())
    }
}
