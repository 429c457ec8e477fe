//! Shapes of organizations, their app links and their email domains: create, patch, response,
//! and the org list query.
//!
//! Owns: these wire shapes. Must not touch: validation (`service`).

use super::{MfaPolicy, OrgStatus, double_option, ts};
use crate::domain as d;
use crate::domain::{AppId, ConnectionId, OrgId, RoleGroupId, RoleValue, Slug};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

list_type!(OrgList, OrgResponse);
list_type!(LinkList, LinkResponse);
list_type!(DomainList, DomainResponse);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Absolute https URL of a logo image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
}

impl From<Branding> for d::Branding {
    fn from(b: Branding) -> Self {
        Self {
            display_name: b.display_name,
            logo_url: b.logo_url,
            primary_color: b.primary_color,
        }
    }
}
impl From<d::Branding> for Branding {
    fn from(b: d::Branding) -> Self {
        Self {
            display_name: b.display_name,
            logo_url: b.logo_url,
            primary_color: b.primary_color,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<OrgId>,
    #[schema(value_type = String)]
    pub slug: Slug,
    pub name: String,
    /// Default `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrgStatus>,
    /// The managing (parent) organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<OrgId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    pub version: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub slug: Option<Slug>,
    pub name: Option<String>,
    pub status: Option<OrgStatus>,
    /// `null` detaches the org from its parent.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub parent_id: Option<Option<OrgId>>,
    /// Replaces the whole branding.
    pub branding: Option<Branding>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrgResponse {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: OrgStatus,
    pub parent_id: Option<String>,
    pub branding: Branding,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::Org> for OrgResponse {
    fn from(o: &d::Org) -> Self {
        Self {
            id: o.id.to_string(),
            slug: o.slug.to_string(),
            name: o.name.clone(),
            status: o.status.into(),
            parent_id: o.parent_id.as_ref().map(|p| p.to_string()),
            branding: o.branding.clone().into(),
            version: o.version,
            created_at: ts(o.created_at),
            updated_at: ts(o.updated_at),
        }
    }
}

/// `GET /orgs?parent_id=&limit=&after=`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgListQuery {
    /// Only the direct children of this org.
    pub parent_id: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Org ↔ app links

/// Which connections the org uses for the app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum LinkAuthPolicy {
    /// The app's default policy over the org's active connections.
    #[default]
    Inherit,
    /// Only these connections of the org, in order of preference.
    Connections {
        #[schema(value_type = Vec<String>)]
        connection_ids: Vec<ConnectionId>,
    },
}

impl From<LinkAuthPolicy> for d::LinkAuthPolicy {
    fn from(p: LinkAuthPolicy) -> Self {
        match p {
            LinkAuthPolicy::Inherit => Self::Inherit,
            LinkAuthPolicy::Connections { connection_ids } => Self::Connections { connection_ids },
        }
    }
}
impl From<d::LinkAuthPolicy> for LinkAuthPolicy {
    fn from(p: d::LinkAuthPolicy) -> Self {
        match p {
            d::LinkAuthPolicy::Inherit => Self::Inherit,
            d::LinkAuthPolicy::Connections { connection_ids } => {
                Self::Connections { connection_ids }
            }
        }
    }
}

/// Onboard an org to an app.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCreate {
    #[schema(value_type = String)]
    pub app_id: AppId,
    /// Role groups of the app whose roles members of this org may be given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub allowed_role_groups: Vec<RoleGroupId>,
    /// Default `{"mode": "inherit"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<LinkAuthPolicy>,
    /// Just-in-time membership on first sign-in through the org's IdP; default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<bool>,
    /// Roles of JIT-provisioned members (inside the allowed role groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub default_roles: Vec<RoleValue>,
    /// Second factor of password sign-ins into this org through this app; absent: the app's
    /// `mfa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaPolicy>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    pub version: Option<i64>,
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_role_groups: Option<Vec<RoleGroupId>>,
    pub auth_policy: Option<LinkAuthPolicy>,
    pub jit: Option<bool>,
    #[schema(value_type = Option<Vec<String>>)]
    pub default_roles: Option<Vec<RoleValue>>,
    /// Second factor of password sign-ins; `null` follows the app's `mfa` again.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<MfaPolicy>, nullable)]
    pub mfa: Option<Option<MfaPolicy>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkResponse {
    pub org_id: String,
    pub app_id: String,
    pub allowed_role_groups: Vec<String>,
    pub auth_policy: LinkAuthPolicy,
    pub jit: bool,
    pub default_roles: Vec<String>,
    /// The link's own second-factor policy; absent: the app's `mfa` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaPolicy>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::OrgAppLink> for LinkResponse {
    fn from(l: &d::OrgAppLink) -> Self {
        Self {
            org_id: l.org_id.to_string(),
            app_id: l.app_id.to_string(),
            allowed_role_groups: l
                .allowed_role_groups
                .iter()
                .map(|g| g.to_string())
                .collect(),
            auth_policy: l.auth_policy.clone().into(),
            jit: l.jit,
            default_roles: l.default_roles.iter().map(|r| r.to_string()).collect(),
            mfa: l.mfa.map(Into::into),
            version: l.version,
            created_at: ts(l.created_at),
            updated_at: ts(l.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Domains

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainCreate {
    /// An email domain; IDNA-normalized (stored in its ASCII form).
    pub domain: String,
    /// The operator may mark a domain verified directly; otherwise prove it with the DNS TXT
    /// record and `POST …/verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// "Other organizations' members also use this domain": once verified, sign-ins with this
    /// domain are not sent straight to this organization; the person gets an emailed link to
    /// the organizations they can sign in to (default false: the domain routes here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    pub verified: Option<bool>,
    /// See `DomainCreate::shared`. The organization's admins may change it.
    pub shared: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DomainResponse {
    pub org_id: String,
    /// Normalized ASCII form.
    pub domain: String,
    /// Unicode form, for display.
    pub domain_unicode: String,
    pub verified: bool,
    pub verified_at: Option<String>,
    /// Whether other organizations' members also use this domain (discovery does not route
    /// it straight to this organization).
    pub shared: bool,
    /// Publish a TXT record with this name…
    pub txt_record_name: String,
    /// …and this value, then call `POST …/verify`.
    pub txt_record_value: String,
    pub created_at: String,
    /// Only in the answer of `POST …/verify`: whether the TXT record holds the value at this
    /// check. A verified domain stays verified when the record is gone (see the audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txt_record_found: Option<bool>,
}

/// `?force=true`: the operator moves a domain another organization has verified to this one
/// (that org's copy becomes unverified; both changes are audited as an override).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DomainForceQuery {
    /// Operator only. Without it, a domain verified by another organization is a 409.
    pub force: Option<bool>,
}

impl From<&d::OrgDomain> for DomainResponse {
    fn from(x: &d::OrgDomain) -> Self {
        Self {
            org_id: x.org_id.to_string(),
            domain: x.domain.to_string(),
            domain_unicode: x.domain.to_unicode(),
            verified: x.verified,
            verified_at: x.verified_at.map(ts),
            shared: x.shared,
            txt_record_name: x.txt_record_name(),
            txt_record_value: x.txt_record_value(),
            created_at: ts(x.created_at),
            txt_record_found: None,
        }
    }
}
