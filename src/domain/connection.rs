//! Connections: how an org's members authenticate (their own OIDC or SAML IdP, or a password
//! kept by Lobby), with protocol configuration and claim/attribute mapping.

use super::error::{DomainError, DomainResult};
use super::ids::{AppId, ConnectionId, OrgId, RoleValue};
use super::org::validate_name;
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Oidc,
    Saml,
    Password,
}

impl ConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Saml => "saml",
            Self::Password => "password",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    #[default]
    Draft,
    Active,
    Disabled,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// Maps an upstream group to roles of one app (must lie inside the org's allowed role groups).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleMapping {
    pub group: String,
    pub app_id: AppId,
    pub roles: Vec<RoleValue>,
}

/// Which upstream claim/attribute carries what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default = "default_email")]
    pub email: String,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
}

fn default_email() -> String {
    "email".into()
}
fn default_name() -> String {
    "name".into()
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

/// A JWS algorithm (RFC 7518 §3.1) an org's own OpenID Provider may sign ID tokens with: the
/// asymmetric ones only — never `none`, never HMAC. Written as its JWS name (`"RS256"`) in JSON,
/// YAML and the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum JwsAlg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl JwsAlg {
    pub const ALL: [JwsAlg; 9] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The JWS name (`alg` header and JWK member).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The algorithm of a JWS name (exact, case-sensitive); `None` for `none`, HMAC and
    /// anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub fn parse(s: &str) -> DomainResult<Self> {
        Self::from_name(s).ok_or_else(|| DomainError::new("alg", ALG_RULE))
    }
}

const ALG_RULE: &str =
    "only asymmetric algorithms are allowed (RS*, PS*, ES256, ES384, EdDSA); never none or HS*";

impl TryFrom<String> for JwsAlg {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<JwsAlg> for String {
    fn from(a: JwsAlg) -> String {
        a.as_str().to_owned()
    }
}
impl std::fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// Which email addresses a connection's IdP may vouch for (DESIGN §6.2). An upstream email is
/// verified in Lobby's tokens only when the IdP says so *and* this allows its domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailAuthority {
    /// Only addresses in the domains the connection's org has verified (the safe default).
    #[default]
    OrgVerifiedDomains,
    /// Any domain no other org has verified: for IdPs that are authoritative for addresses
    /// outside the org's own domains (e.g. a consumer IdP). Only the operator may set it.
    AnyDomain,
}

impl EmailAuthority {
    pub fn is_default(&self) -> bool {
        *self == Self::OrgVerifiedDomains
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An org's own OpenID Provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Must equal the `issuer` of the discovery document exactly.
    pub issuer: String,
    pub client_id: String,
    /// Never returned by the API or export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Allowed ID token algorithms, as the operator wrote them (JWS names). `validate` admits
    /// only [`JwsAlg`]s — never `none`, never HMAC; read them as such with
    /// [`OidcConfig::jws_algs`]. (Kept as names so an invalid list is reported by `validate`,
    /// in its order of checks, like every other field.)
    #[serde(default = "default_algs")]
    pub allowed_algs: Vec<String>,
    #[serde(default)]
    pub claims: ClaimMapping,
    #[serde(default)]
    pub role_mapping: Vec<GroupRoleMapping>,
    /// Treat a missing `email_verified` as unverified (the safe default).
    #[serde(default = "yes")]
    pub require_email_verified: bool,
    /// Which email domains this IdP may vouch for.
    #[serde(default, skip_serializing_if = "EmailAuthority::is_default")]
    pub email_authority: EmailAuthority,
}

impl OidcConfig {
    /// The allowed ID token algorithms (`allowed_algs`), in order; a name that is not a
    /// [`JwsAlg`] (refused by `validate`) allows nothing.
    pub fn jws_algs(&self) -> Vec<JwsAlg> {
        self.allowed_algs
            .iter()
            .filter_map(|a| JwsAlg::from_name(a))
            .collect()
    }

    /// Whether ID tokens signed with `alg` are allowed.
    pub fn allows(&self, alg: JwsAlg) -> bool {
        self.allowed_algs.iter().any(|a| a == alg.as_str())
    }
}

/// An org's own SAML 2.0 IdP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_metadata_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_metadata_xml: Option<String>,
    /// Picks one EntityDescriptor out of aggregate metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    #[serde(default)]
    pub attributes: ClaimMapping,
    #[serde(default)]
    pub role_mapping: Vec<GroupRoleMapping>,
    #[serde(default = "yes")]
    pub sign_authn_requests: bool,
    #[serde(default = "yes")]
    pub want_assertions_signed: bool,
    #[serde(default)]
    pub allow_idp_initiated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_initiated_app_id: Option<AppId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_initiated_redirect_uri: Option<String>,
    /// Which email domains this IdP may vouch for (SAML has no `email_verified`: an asserted
    /// address counts as the IdP's word).
    #[serde(default, skip_serializing_if = "EmailAuthority::is_default")]
    pub email_authority: EmailAuthority,
    /// Accept signatures by pinned certificates past their `notAfter`. Off by default: an
    /// expired pinned certificate verifies nothing (see README "Security" for why).
    #[serde(default, skip_serializing_if = "is_false")]
    pub accept_expired_certs: bool,
}

/// Password sign-in with credentials kept by Lobby (argon2id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    #[serde(default = "default_min_len")]
    pub min_length: u32,
}

fn default_min_len() -> u32 {
    12
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionConfig {
    Oidc(OidcConfig),
    Saml(SamlConfig),
    Password(PasswordConfig),
}

impl ConnectionConfig {
    /// Which email domains the connection's IdP may vouch for (password connections: the
    /// org's verified domains; Lobby itself checks nothing about ownership there).
    pub fn email_authority(&self) -> EmailAuthority {
        match self {
            Self::Oidc(c) => c.email_authority,
            Self::Saml(c) => c.email_authority,
            Self::Password(_) => EmailAuthority::OrgVerifiedDomains,
        }
    }

    pub fn kind(&self) -> ConnectionKind {
        match self {
            Self::Oidc(_) => ConnectionKind::Oidc,
            Self::Saml(_) => ConnectionKind::Saml,
            Self::Password(_) => ConnectionKind::Password,
        }
    }

    pub fn validate(&self) -> DomainResult<()> {
        match self {
            Self::Oidc(c) => {
                let u = url::Url::parse(&c.issuer)
                    .map_err(|_| DomainError::new("config.issuer", "must be an absolute URL"))?;
                if !matches!(u.scheme(), "https" | "http")
                    || u.query().is_some()
                    || u.fragment().is_some()
                {
                    return Err(DomainError::new(
                        "config.issuer",
                        "must be an http(s) URL without query or fragment",
                    ));
                }
                if c.client_id.is_empty() || c.client_id.len() > 255 {
                    return Err(DomainError::new(
                        "config.client_id",
                        "must be 1-255 characters",
                    ));
                }
                if !c.scopes.iter().any(|s| s == "openid") {
                    return Err(DomainError::new("config.scopes", "must include \"openid\""));
                }
                if c.allowed_algs.is_empty() {
                    return Err(DomainError::new(
                        "config.allowed_algs",
                        "must list at least one algorithm",
                    ));
                }
                if c.allowed_algs
                    .iter()
                    .any(|a| JwsAlg::from_name(a).is_none())
                {
                    return Err(DomainError::new("config.allowed_algs", ALG_RULE));
                }
                if c.token_endpoint_auth_method != TokenEndpointAuthMethod::None
                    && c.client_secret.is_none()
                {
                    return Err(DomainError::new(
                        "config.client_secret",
                        "a client secret is required unless token_endpoint_auth_method is \"none\"",
                    ));
                }
                Ok(())
            }
            Self::Saml(c) => {
                match (&c.idp_metadata_url, &c.idp_metadata_xml) {
                    (None, None) => {
                        return Err(DomainError::new(
                            "config.idp_metadata_url",
                            "give the IdP metadata either by URL (idp_metadata_url) or as XML (idp_metadata_xml)",
                        ));
                    }
                    (Some(u), _) => super::app::validate_web_url(u, "config.idp_metadata_url")?,
                    _ => {}
                }
                if let Some(x) = &c.idp_metadata_xml
                    && x.len() > 1_000_000
                {
                    return Err(DomainError::new(
                        "config.idp_metadata_xml",
                        "must be at most 1 MB",
                    ));
                }
                if c.allow_idp_initiated
                    && (c.idp_initiated_app_id.is_none() || c.idp_initiated_redirect_uri.is_none())
                {
                    return Err(DomainError::new(
                        "config.idp_initiated_app_id",
                        "IdP-initiated sign-in needs a default app and redirect URI",
                    ));
                }
                Ok(())
            }
            Self::Password(p) => {
                if !(8..=128).contains(&p.min_length) {
                    return Err(DomainError::new(
                        "config.min_length",
                        "must be between 8 and 128",
                    ));
                }
                Ok(())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub org_id: OrgId,
    pub name: String,
    pub state: ConnectionState,
    pub config: ConnectionConfig,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Connection {
    pub fn kind(&self) -> ConnectionKind {
        self.config.kind()
    }
    pub fn validate(&self) -> DomainResult<()> {
        validate_name(&self.name)?;
        self.config.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jws_algs_are_the_asymmetric_names_as_plain_strings() {
        for a in JwsAlg::ALL {
            assert_eq!(JwsAlg::from_name(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            assert_eq!(
                serde_json::from_value::<JwsAlg>(a.as_str().into()).unwrap(),
                a
            );
        }
        for bad in ["none", "HS256", "rs256", "ES512", ""] {
            assert!(JwsAlg::from_name(bad).is_none(), "{bad}");
        }
    }
}
