//! Shapes of memberships and invitations (roles per app, org roles): create, patch, response,
//! and an invitation with its single-use token shown once.
//!
//! Owns: these wire shapes and the roles-per-app conversions. Must not touch: validation
//! (`service`).

use super::{InvitationStatus, MemberStatus, OrgRole, ts};
use crate::domain as d;
use crate::domain::{AppId, Email, InvitationId, RoleValue, Secret, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

list_type!(MemberList, MemberResponse);
list_type!(InvitationList, InvitationResponse);

/// Member roles per app: `{"app_crm": ["sales"]}`.
pub type RolesByApp = BTreeMap<AppId, Vec<RoleValue>>;

fn roles_to_domain(r: RolesByApp) -> d::AppRoles {
    r.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(a, v)| (a, v.into_iter().collect()))
        .collect()
}

pub fn roles_from_domain(r: &d::AppRoles) -> BTreeMap<String, Vec<String>> {
    r.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(a, v)| (a.to_string(), v.iter().map(|x| x.to_string()).collect()))
        .collect()
}

/// The request-shape of stored roles (export).
pub fn roles_by_app(r: &d::AppRoles) -> RolesByApp {
    r.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(a, v)| (a.clone(), v.iter().cloned().collect()))
        .collect()
}

pub fn into_app_roles(r: RolesByApp) -> d::AppRoles {
    roles_to_domain(r)
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberCreate {
    #[schema(value_type = String)]
    pub user_id: UserId,
    /// Default `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
    /// Member roles per app; only roles inside the role groups allowed on the org's link.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub roles: RolesByApp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub org_roles: Vec<OrgRole>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub version: Option<i64>,
    pub status: Option<MemberStatus>,
    /// Replaces all member roles.
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub roles: Option<RolesByApp>,
    pub org_roles: Option<Vec<OrgRole>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberResponse {
    pub org_id: String,
    pub user_id: String,
    pub status: MemberStatus,
    pub roles: BTreeMap<String, Vec<String>>,
    pub org_roles: Vec<OrgRole>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::Membership> for MemberResponse {
    fn from(m: &d::Membership) -> Self {
        Self {
            org_id: m.org_id.to_string(),
            user_id: m.user_id.to_string(),
            status: m.status.into(),
            roles: roles_from_domain(&m.roles),
            org_roles: m.org_roles.iter().map(|r| (*r).into()).collect(),
            version: m.version,
            created_at: ts(m.created_at),
            updated_at: ts(m.updated_at),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<InvitationId>,
    #[schema(value_type = String)]
    pub email: Email,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub roles: RolesByApp,
    #[serde(default)]
    pub org_roles: Vec<OrgRole>,
    /// Validity; default: the shortest `invite_ttl_secs` of the apps in `roles` (7 days when
    /// none). 300 s to 90 days.
    #[serde(default)]
    pub expires_in_secs: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationPatch {
    pub version: Option<i64>,
    /// Only `revoked` may be set.
    pub status: Option<InvitationStatus>,
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub roles: Option<RolesByApp>,
    pub org_roles: Option<Vec<OrgRole>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationResponse {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub roles: BTreeMap<String, Vec<String>>,
    pub org_roles: Vec<OrgRole>,
    pub status: InvitationStatus,
    pub expires_at: String,
    pub invited_by: String,
    pub version: i64,
    pub created_at: String,
}

impl From<&d::Invitation> for InvitationResponse {
    fn from(i: &d::Invitation) -> Self {
        Self {
            id: i.id.to_string(),
            org_id: i.org_id.to_string(),
            email: i.email.to_string(),
            roles: roles_from_domain(&i.roles),
            org_roles: i.org_roles.iter().map(|r| (*r).into()).collect(),
            status: i.status.into(),
            expires_at: ts(i.expires_at),
            invited_by: i.invited_by.clone(),
            version: i.version,
            created_at: ts(i.created_at),
        }
    }
}

/// An invitation and its single-use token (shown this once; only its hash is stored).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationWithToken {
    #[serde(flatten)]
    pub invitation: InvitationResponse,
    #[schema(value_type = String)]
    pub token: Secret,
}
