//! Request and response shapes of the admin API (and, element by element, of the declarative
//! file). Separate from the domain types so that the wire format is deliberate.
//!
//! Owns: the JSON shapes and their conversions from domain objects. Must not touch: storage,
//! validation beyond what the domain newtypes do while parsing (the rules are in `service`).
//!
//! Requests are `deny_unknown_fields`. Responses never carry client secret hashes, upstream
//! client secrets or password hashes: they say `client_secret_set` / `password_set` instead.

use crate::domain as d;
use crate::domain::Secret;
use crate::domain::{
    AppId, ClientId, ConnectionId, Email, InvitationId, OrgId, RoleGroupId, RoleValue, Slug, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 text of a timestamp (the storage keeps milliseconds).
pub fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// For PATCH fields that may be set to `null`: absent = `None`, `null` = `Some(None)`.
fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

macro_rules! mirror_enum {
    ($(#[$m:meta])* $dto:ident <=> $dom:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $dto {
            $(#[serde(rename = $s)] $v),+
        }
        impl From<$dto> for d::$dom {
            fn from(v: $dto) -> Self {
                match v { $($dto::$v => d::$dom::$v),+ }
            }
        }
        impl From<d::$dom> for $dto {
            fn from(v: d::$dom) -> Self {
                match v { $(d::$dom::$v => $dto::$v),+ }
            }
        }
    };
}

mirror_enum!(
    /// `confidential` (has a client secret) or `public` (PKCE only).
    ClientType <=> ClientType { Confidential = "confidential", Public = "public" });
mirror_enum!(
    /// Token signing algorithm.
    SigningAlg <=> SigningAlg { RS256 = "RS256", ES256 = "ES256", EdDSA = "EdDSA" });
mirror_enum!(
/// A member event that can revoke that member's refresh tokens.
MemberEvent <=> MemberEvent {
    MemberRemoved = "member_removed",
    MemberSuspended = "member_suspended",
    RolesChanged = "roles_changed",
    OrgSuspended = "org_suspended",
    OrgUnlinked = "org_unlinked",
});
mirror_enum!(
    /// Kind of connection.
    ConnectionKind <=> ConnectionKind { Oidc = "oidc", Saml = "saml", Password = "password" });
mirror_enum!(
    /// Lifecycle state of a connection.
    ConnectionState <=> ConnectionState { Draft = "draft", Active = "active", Disabled = "disabled" });
mirror_enum!(
    /// Status of an organization.
    OrgStatus <=> OrgStatus { Active = "active", Suspended = "suspended" });
mirror_enum!(
    /// Status of a membership.
    MemberStatus <=> MemberStatus { Invited = "invited", Active = "active", Suspended = "suspended" });
mirror_enum!(
    /// Org-level administrative role.
    OrgRole <=> OrgRole { OrgAdmin = "org_admin", MemberAdmin = "member_admin" });
mirror_enum!(
    /// Status of an invitation.
    InvitationStatus <=> InvitationStatus { Pending = "pending", Accepted = "accepted", Revoked = "revoked" });
mirror_enum!(
/// How Lobby authenticates to an upstream OIDC token endpoint.
TokenEndpointAuthMethod <=> TokenEndpointAuthMethod {
    ClientSecretBasic = "client_secret_basic",
    ClientSecretPost = "client_secret_post",
    None = "none",
});
mirror_enum!(
    /// Outcome of an audited action.
    Outcome <=> Outcome { Success = "success", Failure = "failure", Denied = "denied" });

// ---------------------------------------------------------------------------------------
// Lists

/// `?limit=&after=`: keyset pagination.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

macro_rules! list_type {
    ($name:ident, $item:ty) => {
        /// One page of results.
        #[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `after` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

list_type!(AppList, AppResponse);
list_type!(RoleList, RoleResponse);
list_type!(RoleGroupList, RoleGroupResponse);
list_type!(OrgList, OrgResponse);
list_type!(LinkList, LinkResponse);
list_type!(DomainList, DomainResponse);
list_type!(ConnectionList, ConnectionResponse);
list_type!(UserList, UserResponse);
list_type!(IdentityList, IdentityResponse);
list_type!(MemberList, MemberResponse);
list_type!(InvitationList, InvitationResponse);
list_type!(AuditEventList, AuditEventResponse);

/// `?cascade=true` on DELETE.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete everything that depends on the object (children, members, links…).
    pub cascade: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// Apps

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimes {
    pub access_token_secs: i64,
    pub id_token_secs: i64,
    pub refresh_token_secs: i64,
}

impl From<TokenLifetimes> for d::TokenLifetimes {
    fn from(t: TokenLifetimes) -> Self {
        Self {
            access_token_secs: t.access_token_secs,
            id_token_secs: t.id_token_secs,
            refresh_token_secs: t.refresh_token_secs,
        }
    }
}
impl From<d::TokenLifetimes> for TokenLifetimes {
    fn from(t: d::TokenLifetimes) -> Self {
        Self {
            access_token_secs: t.access_token_secs,
            id_token_secs: t.id_token_secs,
            refresh_token_secs: t.refresh_token_secs,
        }
    }
}

/// Which kinds of an org's active connections the app accepts by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppAuthPolicy {
    pub allowed_kinds: Vec<ConnectionKind>,
}

impl From<AppAuthPolicy> for d::AppAuthPolicy {
    fn from(p: AppAuthPolicy) -> Self {
        Self {
            allowed_kinds: p.allowed_kinds.into_iter().map(Into::into).collect(),
        }
    }
}
impl From<d::AppAuthPolicy> for AppAuthPolicy {
    fn from(p: d::AppAuthPolicy) -> Self {
        Self {
            allowed_kinds: p.allowed_kinds.into_iter().map(Into::into).collect(),
        }
    }
}

/// Create an app. Without `client_secret`/`client_secret_hash`, a confidential app gets a
/// generated secret, returned once in the response.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppCreate {
    /// Operator-chosen stable id; generated (`app_…`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<AppId>,
    pub name: String,
    /// Generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_id: Option<ClientId>,
    /// Default `confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<ClientType>,
    /// Plaintext client secret (at least 32 characters); stored hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    /// SHA-256 (hex) of the client secret, as written by `lobby export`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<SigningAlg>,
    /// Default 300 s access and ID tokens, 30 days refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetimes: Option<TokenLifetimes>,
    /// How long invitation links stay valid; default 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_ttl_secs: Option<i64>,
    /// Member events that revoke refresh tokens at once; default all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_on: Option<Vec<MemberEvent>>,
    /// Default: all kinds of connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<AppAuthPolicy>,
}

/// Partial update of an app; absent fields are left alone.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppPatch {
    /// Expected current version: a mismatch is refused with 409.
    pub version: Option<i64>,
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub client_id: Option<ClientId>,
    /// Switching to `confidential` without a secret generates one (returned once).
    pub client_type: Option<ClientType>,
    /// Replace the client secret with this value (at least 32 characters).
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    /// Generate a new client secret, returned once in the response.
    pub rotate_client_secret: Option<bool>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub signing_alg: Option<SigningAlg>,
    pub token_lifetimes: Option<TokenLifetimes>,
    pub invite_ttl_secs: Option<i64>,
    pub revoke_on: Option<Vec<MemberEvent>>,
    pub auth_policy: Option<AppAuthPolicy>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AppResponse {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_type: ClientType,
    /// Whether a client secret is stored (it is never returned).
    pub client_secret_set: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub signing_alg: SigningAlg,
    pub token_lifetimes: TokenLifetimes,
    pub invite_ttl_secs: i64,
    pub revoke_on: Vec<MemberEvent>,
    pub auth_policy: AppAuthPolicy,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::App> for AppResponse {
    fn from(a: &d::App) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            client_id: a.client_id.to_string(),
            client_type: a.client_type.into(),
            client_secret_set: a.client_secret_hash.is_some(),
            redirect_uris: a.redirect_uris.clone(),
            post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
            signing_alg: a.signing_alg.into(),
            token_lifetimes: a.token_lifetimes.clone().into(),
            invite_ttl_secs: a.invite_ttl_secs,
            revoke_on: a.revoke_on.iter().map(|e| (*e).into()).collect(),
            auth_policy: a.auth_policy.clone().into(),
            version: a.version,
            created_at: ts(a.created_at),
            updated_at: ts(a.updated_at),
        }
    }
}

/// An app, plus its client secret when it was just generated or set (shown this once).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AppWithSecret {
    #[serde(flatten)]
    pub app: AppResponse,
    /// Present only in the response that created or rotated the secret. Store it now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
}

// ---------------------------------------------------------------------------------------
// Roles and role groups

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    /// Stable value put in tokens, e.g. `sales`.
    #[schema(value_type = String)]
    pub value: RoleValue,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleResponse {
    pub app_id: String,
    pub value: String,
    pub name: String,
    pub description: String,
}

impl From<&d::Role> for RoleResponse {
    fn from(r: &d::Role) -> Self {
        Self {
            app_id: r.app_id.to_string(),
            value: r.value.to_string(),
            name: r.name.clone(),
            description: r.description.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGroupCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<RoleGroupId>,
    pub name: String,
    /// Role values of this app (every one must exist in the app).
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<RoleValue>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGroupPatch {
    pub version: Option<i64>,
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub roles: Option<Vec<RoleValue>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleGroupResponse {
    pub id: String,
    pub app_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::RoleGroup> for RoleGroupResponse {
    fn from(g: &d::RoleGroup) -> Self {
        Self {
            id: g.id.to_string(),
            app_id: g.app_id.to_string(),
            name: g.name.clone(),
            roles: g.roles.iter().map(|r| r.to_string()).collect(),
            version: g.version,
            created_at: ts(g.created_at),
            updated_at: ts(g.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Organizations

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
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkResponse {
    pub org_id: String,
    pub app_id: String,
    pub allowed_role_groups: Vec<String>,
    pub auth_policy: LinkAuthPolicy,
    pub jit: bool,
    pub default_roles: Vec<String>,
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
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    pub verified: Option<bool>,
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
    /// Publish a TXT record with this name…
    pub txt_record_name: String,
    /// …and this value, then call `POST …/verify`.
    pub txt_record_value: String,
    pub created_at: String,
}

impl From<&d::OrgDomain> for DomainResponse {
    fn from(x: &d::OrgDomain) -> Self {
        Self {
            org_id: x.org_id.to_string(),
            domain: x.domain.to_string(),
            domain_unicode: x.domain.to_unicode(),
            verified: x.verified,
            verified_at: x.verified_at.map(ts),
            txt_record_name: x.txt_record_name(),
            txt_record_value: x.txt_record_value(),
            created_at: ts(x.created_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Connections

fn default_email() -> String {
    "email".into()
}
fn default_name() -> String {
    "name".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}
fn default_algs() -> Vec<String> {
    vec!["RS256".into(), "ES256".into(), "PS256".into()]
}
fn yes() -> bool {
    true
}
fn default_min_len() -> u32 {
    12
}

/// Which upstream claim or attribute carries what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default = "default_email")]
    pub email: String,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            email: default_email(),
            name: default_name(),
            groups: None,
        }
    }
}

impl From<ClaimMapping> for d::ClaimMapping {
    fn from(c: ClaimMapping) -> Self {
        Self {
            email: c.email,
            name: c.name,
            groups: c.groups,
        }
    }
}
impl From<d::ClaimMapping> for ClaimMapping {
    fn from(c: d::ClaimMapping) -> Self {
        Self {
            email: c.email,
            name: c.name,
            groups: c.groups,
        }
    }
}

/// Maps an upstream group to roles of one app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleMapping {
    pub group: String,
    #[schema(value_type = String)]
    pub app_id: AppId,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<RoleValue>,
}

impl From<GroupRoleMapping> for d::GroupRoleMapping {
    fn from(m: GroupRoleMapping) -> Self {
        Self {
            group: m.group,
            app_id: m.app_id,
            roles: m.roles,
        }
    }
}
impl From<d::GroupRoleMapping> for GroupRoleMapping {
    fn from(m: d::GroupRoleMapping) -> Self {
        Self {
            group: m.group,
            app_id: m.app_id,
            roles: m.roles,
        }
    }
}

/// An org's own OpenID Provider (request shape: the client secret is write-only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Must equal the `issuer` of the discovery document exactly.
    pub issuer: String,
    pub client_id: String,
    /// Write-only. On update, leaving it out keeps the stored secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Allowed ID token algorithms (asymmetric only).
    #[serde(default = "default_algs")]
    pub allowed_algs: Vec<String>,
    #[serde(default)]
    pub claims: ClaimMapping,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_mapping: Vec<GroupRoleMapping>,
    #[serde(default = "yes")]
    pub require_email_verified: bool,
}

fn default_auth_method() -> TokenEndpointAuthMethod {
    TokenEndpointAuthMethod::ClientSecretBasic
}

/// An org's own SAML 2.0 IdP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_metadata_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_metadata_xml: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    #[serde(default)]
    pub attributes: ClaimMapping,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_mapping: Vec<GroupRoleMapping>,
    #[serde(default = "yes")]
    pub sign_authn_requests: bool,
    #[serde(default = "yes")]
    pub want_assertions_signed: bool,
    #[serde(default)]
    pub allow_idp_initiated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub idp_initiated_app_id: Option<AppId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_initiated_redirect_uri: Option<String>,
}

/// Password sign-in with credentials kept by Lobby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    #[serde(default = "default_min_len")]
    pub min_length: u32,
}

/// Protocol configuration, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionConfig {
    Oidc(OidcConfig),
    Saml(SamlConfig),
    Password(PasswordConfig),
}

impl ConnectionConfig {
    /// The domain config. `keep_secret` is the stored upstream secret, used when the request
    /// leaves `client_secret` out.
    pub fn into_domain(self, keep_secret: Option<&d::Secret>) -> d::ConnectionConfig {
        match self {
            Self::Oidc(c) => d::ConnectionConfig::Oidc(d::OidcConfig {
                issuer: c.issuer,
                client_id: c.client_id,
                client_secret: c.client_secret.or_else(|| keep_secret.cloned()),
                scopes: c.scopes,
                token_endpoint_auth_method: c.token_endpoint_auth_method.into(),
                allowed_algs: c.allowed_algs,
                claims: c.claims.into(),
                role_mapping: c.role_mapping.into_iter().map(Into::into).collect(),
                require_email_verified: c.require_email_verified,
            }),
            Self::Saml(c) => d::ConnectionConfig::Saml(d::SamlConfig {
                idp_metadata_url: c.idp_metadata_url,
                idp_metadata_xml: c.idp_metadata_xml,
                idp_entity_id: c.idp_entity_id,
                name_id_format: c.name_id_format,
                attributes: c.attributes.into(),
                role_mapping: c.role_mapping.into_iter().map(Into::into).collect(),
                sign_authn_requests: c.sign_authn_requests,
                want_assertions_signed: c.want_assertions_signed,
                allow_idp_initiated: c.allow_idp_initiated,
                idp_initiated_app_id: c.idp_initiated_app_id,
                idp_initiated_redirect_uri: c.idp_initiated_redirect_uri,
            }),
            Self::Password(p) => d::ConnectionConfig::Password(d::PasswordConfig {
                min_length: p.min_length,
            }),
        }
    }

    /// The request shape of a stored config, without the upstream secret (export).
    pub fn from_domain(c: &d::ConnectionConfig) -> Self {
        match c {
            d::ConnectionConfig::Oidc(c) => Self::Oidc(OidcConfig {
                issuer: c.issuer.clone(),
                client_id: c.client_id.clone(),
                client_secret: None,
                scopes: c.scopes.clone(),
                token_endpoint_auth_method: c.token_endpoint_auth_method.into(),
                allowed_algs: c.allowed_algs.clone(),
                claims: c.claims.clone().into(),
                role_mapping: c.role_mapping.iter().cloned().map(Into::into).collect(),
                require_email_verified: c.require_email_verified,
            }),
            d::ConnectionConfig::Saml(c) => Self::Saml(SamlConfig {
                idp_metadata_url: c.idp_metadata_url.clone(),
                idp_metadata_xml: c.idp_metadata_xml.clone(),
                idp_entity_id: c.idp_entity_id.clone(),
                name_id_format: c.name_id_format.clone(),
                attributes: c.attributes.clone().into(),
                role_mapping: c.role_mapping.iter().cloned().map(Into::into).collect(),
                sign_authn_requests: c.sign_authn_requests,
                want_assertions_signed: c.want_assertions_signed,
                allow_idp_initiated: c.allow_idp_initiated,
                idp_initiated_app_id: c.idp_initiated_app_id.clone(),
                idp_initiated_redirect_uri: c.idp_initiated_redirect_uri.clone(),
            }),
            d::ConnectionConfig::Password(p) => Self::Password(PasswordConfig {
                min_length: p.min_length,
            }),
        }
    }

    pub fn kind(&self) -> ConnectionKind {
        match self {
            Self::Oidc(_) => ConnectionKind::Oidc,
            Self::Saml(_) => ConnectionKind::Saml,
            Self::Password(_) => ConnectionKind::Password,
        }
    }
}

/// The OIDC config as returned: the secret replaced by `client_secret_set`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OidcConfigView {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_set: bool,
    pub scopes: Vec<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub allowed_algs: Vec<String>,
    pub claims: ClaimMapping,
    pub role_mapping: Vec<GroupRoleMapping>,
    pub require_email_verified: bool,
}

/// Protocol configuration as returned, tagged by `kind`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionConfigView {
    Oidc(OidcConfigView),
    Saml(SamlConfig),
    Password(PasswordConfig),
}

impl From<&d::ConnectionConfig> for ConnectionConfigView {
    fn from(c: &d::ConnectionConfig) -> Self {
        match (c, ConnectionConfig::from_domain(c)) {
            (d::ConnectionConfig::Oidc(dc), ConnectionConfig::Oidc(o)) => {
                Self::Oidc(OidcConfigView {
                    issuer: o.issuer,
                    client_id: o.client_id,
                    client_secret_set: dc.client_secret.is_some(),
                    scopes: o.scopes,
                    token_endpoint_auth_method: o.token_endpoint_auth_method,
                    allowed_algs: o.allowed_algs,
                    claims: o.claims,
                    role_mapping: o.role_mapping,
                    require_email_verified: o.require_email_verified,
                })
            }
            (_, ConnectionConfig::Saml(s)) => Self::Saml(s),
            (_, ConnectionConfig::Password(p)) => Self::Password(p),
            // from_domain keeps the kind, so an OIDC config always takes the first arm.
            (_, ConnectionConfig::Oidc(o)) => Self::Oidc(OidcConfigView {
                issuer: o.issuer,
                client_id: o.client_id,
                client_secret_set: false,
                scopes: o.scopes,
                token_endpoint_auth_method: o.token_endpoint_auth_method,
                allowed_algs: o.allowed_algs,
                claims: o.claims,
                role_mapping: o.role_mapping,
                require_email_verified: o.require_email_verified,
            }),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<ConnectionId>,
    pub name: String,
    /// Default `draft`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ConnectionState>,
    pub config: ConnectionConfig,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    pub version: Option<i64>,
    pub name: Option<String>,
    pub state: Option<ConnectionState>,
    /// Replaces the whole config (the kind cannot change). Without `client_secret`, an OIDC
    /// connection keeps its stored secret.
    pub config: Option<ConnectionConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectionResponse {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: ConnectionKind,
    pub state: ConnectionState,
    pub config: ConnectionConfigView,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::Connection> for ConnectionResponse {
    fn from(c: &d::Connection) -> Self {
        Self {
            id: c.id.to_string(),
            org_id: c.org_id.to_string(),
            name: c.name.clone(),
            kind: c.kind().into(),
            state: c.state.into(),
            config: (&c.config).into(),
            version: c.version,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Users

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<UserId>,
    #[schema(value_type = String)]
    pub email: Email,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Plaintext password for password connections (8-1024 characters); stored with
    /// argon2id and never returned or exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub version: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    pub email_verified: Option<bool>,
    /// `null` clears the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub name: Option<Option<String>>,
    /// A new password; `null` removes the password.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub password: Option<Option<Secret>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Whether a password is stored (it is never returned).
    pub password_set: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::User> for UserResponse {
    fn from(u: &d::User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            password_set: u.password_hash.is_some(),
            version: u.version,
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
        }
    }
}

/// `GET /users?email=&limit=&after=`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Exact (normalized) email address.
    pub email: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityResponse {
    pub connection_id: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub created_at: String,
}

impl From<&d::ExternalIdentity> for IdentityResponse {
    fn from(i: &d::ExternalIdentity) -> Self {
        Self {
            connection_id: i.connection_id.to_string(),
            issuer: i.issuer.clone(),
            subject: i.subject.clone(),
            user_id: i.user_id.to_string(),
            created_at: ts(i.created_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Memberships and invitations

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

// ---------------------------------------------------------------------------------------
// Audit

/// `GET /audit-events?org_id=&action=&limit=&after=` (newest first).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub org_id: Option<String>,
    /// Exact action, e.g. `org.update`.
    pub action: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: String,
    pub time: String,
    pub actor: String,
    pub org_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub outcome: Outcome,
    /// `{"before": …, "after": …}` for changes (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub request_id: Option<String>,
}

impl From<&d::AuditEvent> for AuditEventResponse {
    fn from(e: &d::AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            time: ts(e.time),
            actor: e.actor.clone(),
            org_id: e.org_id.as_ref().map(|o| o.to_string()),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            outcome: e.outcome.into(),
            details: e.details.clone(),
            request_id: e.request_id.clone(),
        }
    }
}
