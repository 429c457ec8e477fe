//! Shapes of connections: the per-kind configuration (OIDC, SAML, password) as written and as
//! shown (upstream secrets only as `client_secret_set`), create, patch and response.
//!
//! Owns: these wire shapes and their conversion to the domain configuration. Must not touch:
//! validation (`service`), talking to upstreams.

use super::common::is_default_authority;
use super::{ConnectionKind, ConnectionState, EmailAuthority, TokenEndpointAuthMethod, ts};
use crate::domain as d;
use crate::domain::{AppId, ConnectionId, RoleValue, Secret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

list_type!(ConnectionList, ConnectionResponse);

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
    /// Which email domains this IdP may vouch for; only the operator may set `any_domain`.
    #[serde(default, skip_serializing_if = "is_default_authority")]
    pub email_authority: EmailAuthority,
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
    /// Which email domains this IdP may vouch for; only the operator may set `any_domain`.
    #[serde(default, skip_serializing_if = "is_default_authority")]
    pub email_authority: EmailAuthority,
    /// Accept signatures by pinned certificates past their notAfter (default: refused).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_expired_certs: bool,
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
                email_authority: c.email_authority.into(),
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
                email_authority: c.email_authority.into(),
                accept_expired_certs: c.accept_expired_certs,
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
                email_authority: c.email_authority.into(),
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
                email_authority: c.email_authority.into(),
                accept_expired_certs: c.accept_expired_certs,
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
    pub email_authority: EmailAuthority,
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
                    email_authority: o.email_authority,
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
                email_authority: o.email_authority,
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
