//! Shapes of apps, roles and role groups: create, patch, response, and an app with the client
//! secret shown once.
//!
//! Owns: these wire shapes. Must not touch: validation (`service`).

use super::double_option;
use super::{AdminClientScope, ClientType, ConnectionKind, MemberEvent, MfaPolicy, SigningAlg, ts};
use crate::domain as d;
use crate::domain::{AppId, ClientId, RoleGroupId, RoleValue, Secret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

list_type!(AppList, AppResponse);
list_type!(RoleList, RoleResponse);
list_type!(RoleGroupList, RoleGroupResponse);

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

/// Which access to Lobby's own admin API (`/api/v1`) the app may obtain from `/token`.
/// Default: none (`{"delegated": false, "client_scopes": []}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminApiAccess {
    /// The app may request scope `lobby:admin` (or `resource` = `<issuer>/api/v1`, RFC 8707)
    /// in the authorization code flow; its access token then has the admin audience and acts
    /// for the signed-in user in the org they signed into, with that user's org roles.
    #[serde(default)]
    pub delegated: bool,
    /// Scopes the app may get with `grant_type=client_credentials`, acting as itself:
    /// `lobby:admin:read` and/or `lobby:admin:write`. Confidential apps only.
    #[serde(default)]
    pub client_scopes: Vec<AdminClientScope>,
}

impl From<AdminApiAccess> for d::AdminApiAccess {
    fn from(a: AdminApiAccess) -> Self {
        Self {
            delegated: a.delegated,
            client_scopes: a.client_scopes.into_iter().map(Into::into).collect(),
        }
    }
}
impl From<d::AdminApiAccess> for AdminApiAccess {
    fn from(a: d::AdminApiAccess) -> Self {
        Self {
            delegated: a.delegated,
            client_scopes: a.client_scopes.into_iter().map(Into::into).collect(),
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
    /// Access to Lobby's admin API; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_api: Option<AdminApiAccess>,
    /// OIDC Back-Channel Logout 1.0 §2.2: where Lobby POSTs a `logout_token` when it ends
    /// this app's session of a member (https, or http to loopback). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// §2.2: the app requires `sid` in logout tokens (Lobby always sends it). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
    /// Second factor of sign-ins with Lobby's password connection; an org link may override
    /// it. Default `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaPolicy>,
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
    /// Replace the app's access to Lobby's admin API.
    pub admin_api: Option<AdminApiAccess>,
    /// Set the Back-Channel Logout URI; `null` stops back-channel logout for this app.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
    /// Second factor of password sign-ins (links without their own `mfa` follow it).
    pub mfa: Option<MfaPolicy>,
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
    pub admin_api: AdminApiAccess,
    /// OIDC Back-Channel Logout URI, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub mfa: MfaPolicy,
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
            admin_api: a.admin_api.clone().into(),
            backchannel_logout_uri: a.backchannel_logout.as_ref().map(|b| b.uri.clone()),
            backchannel_logout_session_required: a
                .backchannel_logout
                .as_ref()
                .is_some_and(|b| b.session_required),
            mfa: a.mfa.into(),
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
