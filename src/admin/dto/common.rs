//! Shapes shared by every aggregate: RFC 3339 timestamps, the PATCH `null` helper, the enums
//! mirrored one-to-one from the domain, and the list and delete query parameters.
//!
//! Owns: the wire spelling of those enums. Must not touch: the aggregates' own shapes.

use crate::domain as d;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 text of a timestamp (the storage keeps milliseconds).
pub(super) fn is_default_authority(a: &EmailAuthority) -> bool {
    *a == EmailAuthority::OrgVerifiedDomains
}

#[allow(clippy::derivable_impls)] // the enum comes from `mirror_enum!`
impl Default for EmailAuthority {
    fn default() -> Self {
        Self::OrgVerifiedDomains
    }
}

pub fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// For PATCH fields that may be set to `null`: absent = `None`, `null` = `Some(None)`.
pub(super) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
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
    /// Which email domains a connection's IdP may vouch for: `org_verified_domains` (default)
    /// or `any_domain` (operator only).
    EmailAuthority <=> EmailAuthority { OrgVerifiedDomains = "org_verified_domains", AnyDomain = "any_domain" });
mirror_enum!(
    /// Second factor of password sign-ins: `required` (enrol on first sign-in, then always
    /// asked), `optional` (asked when enrolled; enrolment offered with "Skip"), `off`.
    MfaPolicy <=> MfaPolicy { Required = "required", Optional = "optional", Off = "off" });
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
    OrgRole <=> OrgRole { OrgAdmin = "org_admin", MemberAdmin = "member_admin", Viewer = "viewer" });
mirror_enum!(
    /// Status of an invitation.
    InvitationStatus <=> InvitationStatus { Pending = "pending", Accepted = "accepted", Revoked = "revoked" });
mirror_enum!(
    /// What an invitation is now: its status, with a pending one past `expires_at` as `expired`.
    InvitationState <=> InvitationState { Pending = "pending", Accepted = "accepted", Revoked = "revoked", Expired = "expired" });
mirror_enum!(
/// How Lobby authenticates to an upstream OIDC token endpoint.
TokenEndpointAuthMethod <=> TokenEndpointAuthMethod {
    ClientSecretBasic = "client_secret_basic",
    ClientSecretPost = "client_secret_post",
    None = "none",
});
mirror_enum!(
    /// A client-credentials scope of Lobby's admin API.
    AdminClientScope <=> AdminClientScope { Read = "lobby:admin:read", Write = "lobby:admin:write" });
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

/// `?cascade=true` on DELETE.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete everything that depends on the object (children, members, links…).
    pub cascade: Option<bool>,
}
