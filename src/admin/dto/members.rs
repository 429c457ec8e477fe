//! Shapes of memberships and invitations (roles per app, org roles): create, patch, response,
//! and an invitation with its single-use token shown once.
//!
//! Owns: these wire shapes and the roles-per-app conversions. Must not touch: validation
//! (`service`).

use super::{InvitationState, InvitationStatus, MemberStatus, OrgRole, ts};
use crate::domain as d;
use crate::domain::{AppId, Email, InvitationId, RoleValue, Secret, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

list_type!(MemberList, MemberResponse);

/// `GET …/members`: keyset pagination plus search and filters (all run in the database).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// A substring of the member's email or name (case-insensitive for ASCII letters).
    pub q: Option<String>,
    #[param(value_type = Option<String>)]
    pub status: Option<MemberStatus>,
    /// Holds this org role.
    #[param(value_type = Option<String>)]
    pub org_role: Option<OrgRole>,
    /// Holds at least one role in this app (app id).
    pub app: Option<String>,
    /// With `app`: holds this role in that app.
    pub role: Option<String>,
}
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
    /// Validity; default: the `invite_ttl_secs` of the invitation's app (the shortest of the
    /// apps in `roles`; 7 days when none). 300 s to 90 days.
    #[serde(default)]
    pub expires_in_secs: Option<i64>,
    /// The app the invitation is for (named in the email and on the invitation page; the
    /// invitee signs in to it). Default: the one app in `roles`, else the org's one linked app.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub app_id: Option<AppId>,
    /// Who invited, as the email shows it ("Ana Lima"); default: none (the email then says
    /// an administrator of the organization invited them). At most 200 characters.
    #[serde(default)]
    pub inviter_name: Option<String>,
    /// The language of the invitation email, a BCP 47 tag (`ui_locales_supported` of the
    /// discovery document: `en`, `de`; `de-AT` counts as `de`). Default and anything else:
    /// English. The invitation page itself follows the invitee's browser.
    #[serde(default)]
    pub locale: Option<String>,
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
    /// `pending`, `accepted`, `revoked`, or `expired` (pending and past `expires_at`).
    pub status: InvitationState,
    pub expires_at: String,
    pub invited_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The invitee's user profile (its membership is `invited` until accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub version: i64,
    pub created_at: String,
}

impl InvitationResponse {
    /// The invitation as it is at `now` (a pending one past its expiry is `expired`).
    pub fn at(i: &d::Invitation, now: time::OffsetDateTime) -> Self {
        Self {
            status: i.state(now).into(),
            ..Self::from(i)
        }
    }
}

impl From<&d::Invitation> for InvitationResponse {
    /// The stored status (audit summaries); lists and reads use [`InvitationResponse::at`].
    fn from(i: &d::Invitation) -> Self {
        let status = match i.status {
            d::InvitationStatus::Pending => InvitationState::Pending,
            d::InvitationStatus::Accepted => InvitationState::Accepted,
            d::InvitationStatus::Revoked => InvitationState::Revoked,
        };
        Self {
            id: i.id.to_string(),
            org_id: i.org_id.to_string(),
            email: i.email.to_string(),
            roles: roles_from_domain(&i.roles),
            org_roles: i.org_roles.iter().map(|r| (*r).into()).collect(),
            status,
            expires_at: ts(i.expires_at),
            invited_by: i.invited_by.clone(),
            inviter_name: i.inviter_name.clone(),
            app_id: i.app_id.as_ref().map(|a| a.to_string()),
            user_id: i.user_id.as_ref().map(|u| u.to_string()),
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
    /// The invitation link (`<public URL>/invite/<token>`), as emailed.
    pub link: String,
    /// Whether the email was handed to the mail server (or written to the outbox); when
    /// `false` the invitation stands: send the link yourself or `POST …/resend` later.
    pub email_sent: bool,
}

/// What resetting a member's second factors removed (`DELETE …/members/{user_id}/mfa`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaResetResponse {
    /// The authenticator-app (TOTP) factor was removed.
    pub totp: bool,
    /// Unused recovery codes removed.
    pub recovery_codes: u64,
    /// Remembered devices forgotten.
    pub remembered_devices: u64,
    /// Passkeys removed.
    pub passkeys: u64,
}

impl From<crate::domain::mfa::MfaRemoved> for MfaResetResponse {
    fn from(r: crate::domain::mfa::MfaRemoved) -> Self {
        Self {
            totp: r.totp,
            recovery_codes: r.recovery_codes,
            remembered_devices: r.remembered_devices,
            passkeys: r.passkeys,
        }
    }
}
