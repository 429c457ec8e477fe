//! Vendor apps (OIDC clients), their roles and role groups.

use super::ConnectionKind;
use super::error::{DomainError, DomainResult};
use super::ids::{AppId, ClientId, RoleGroupId, RoleValue};
use super::org::validate_name;
use super::secret::TokenHash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The client id (and app id) of Lobby's own built-in portal client (`login::builtin`): never
/// stored, so no app may take it.
pub const BUILTIN_PORTAL_CLIENT_ID: &str = "lobby-portal";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Has a client secret (server-side app).
    #[default]
    Confidential,
    /// No secret; PKCE alone protects the code (SPA, native app).
    Public,
}

/// JWS algorithm used for this app's ID and access tokens.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
pub enum SigningAlg {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> DomainResult<Self> {
        match s {
            "RS256" => Ok(Self::RS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(DomainError::new(
                "signing_alg",
                "must be RS256, ES256 or EdDSA",
            )),
        }
    }
}

/// Member events an app can choose to revoke a member's refresh tokens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberEvent {
    MemberRemoved,
    MemberSuspended,
    RolesChanged,
    OrgSuspended,
    OrgUnlinked,
}

impl MemberEvent {
    pub const ALL: [MemberEvent; 5] = [
        Self::MemberRemoved,
        Self::MemberSuspended,
        Self::RolesChanged,
        Self::OrgSuspended,
        Self::OrgUnlinked,
    ];

    /// The snake_case name (as serialized), e.g. for a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemberRemoved => "member_removed",
            Self::MemberSuspended => "member_suspended",
            Self::RolesChanged => "roles_changed",
            Self::OrgSuspended => "org_suspended",
            Self::OrgUnlinked => "org_unlinked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimes {
    pub access_token_secs: i64,
    pub id_token_secs: i64,
    /// Absolute lifetime of a refresh-token family.
    pub refresh_token_secs: i64,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token_secs: 300,
            id_token_secs: 300,
            refresh_token_secs: 30 * 24 * 3600,
        }
    }
}

impl TokenLifetimes {
    pub fn validate(&self) -> DomainResult<()> {
        let check = |v: i64, field: &str, max: i64| {
            if v < 30 || v > max {
                Err(DomainError::new(
                    field,
                    format!("must be between 30 and {max} seconds"),
                ))
            } else {
                Ok(())
            }
        };
        check(
            self.access_token_secs,
            "token_lifetimes.access_token_secs",
            24 * 3600,
        )?;
        check(
            self.id_token_secs,
            "token_lifetimes.id_token_secs",
            24 * 3600,
        )?;
        check(
            self.refresh_token_secs,
            "token_lifetimes.refresh_token_secs",
            365 * 24 * 3600,
        )
    }
}

/// The app's default auth policy: which kinds of an org's active connections may be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppAuthPolicy {
    pub allowed_kinds: BTreeSet<ConnectionKind>,
}

impl Default for AppAuthPolicy {
    fn default() -> Self {
        Self {
            allowed_kinds: [
                ConnectionKind::Oidc,
                ConnectionKind::Saml,
                ConnectionKind::Password,
            ]
            .into_iter()
            .collect(),
        }
    }
}

/// A client-credentials scope of Lobby's admin API (`lobby:admin:read`, `lobby:admin:write`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AdminClientScope {
    #[serde(rename = "lobby:admin:read")]
    Read,
    #[serde(rename = "lobby:admin:write")]
    Write,
}

impl AdminClientScope {
    pub const ALL: [AdminClientScope; 2] = [Self::Read, Self::Write];

    /// The scope value ([`super::admin_token::SCOPE_ADMIN_READ`] / `…_WRITE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => super::admin_token::SCOPE_ADMIN_READ,
            Self::Write => super::admin_token::SCOPE_ADMIN_WRITE,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which access to Lobby's own admin API (`/api/v1`) an app may obtain from `/token`.
/// Default: none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminApiAccess {
    /// The app may ask, in the authorization code flow, for scope `lobby:admin` (or RFC 8707
    /// `resource` = the admin audience): its access token then acts for the signed-in user in
    /// the org they signed into, with that user's current org roles (read by the admin API).
    #[serde(default)]
    pub delegated: bool,
    /// Scopes the app may get with `grant_type=client_credentials` (RFC 6749 §4.4), acting as
    /// itself: confidential apps only.
    #[serde(default)]
    pub client_scopes: BTreeSet<AdminClientScope>,
}

impl AdminApiAccess {
    pub fn is_none(&self) -> bool {
        !self.delegated && self.client_scopes.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub client_id: ClientId,
    pub client_type: ClientType,
    /// SHA-256 of the client secret (secrets are ≥ 32 random characters, so no slow hash is
    /// needed); `None` for public clients.
    pub client_secret_hash: Option<TokenHash>,
    /// Exact-match redirect URIs (DESIGN §6.5).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub signing_alg: SigningAlg,
    pub token_lifetimes: TokenLifetimes,
    /// How long an invitation link stays valid.
    pub invite_ttl_secs: i64,
    /// Member events that revoke that member's refresh tokens for this app.
    pub revoke_on: BTreeSet<MemberEvent>,
    pub auth_policy: AppAuthPolicy,
    /// Access to Lobby's own admin API (delegated and/or client credentials); default none.
    pub admin_api: AdminApiAccess,
    /// OIDC Back-Channel Logout registration (`domain::backchannel`); `None`: not sent.
    pub backchannel_logout: Option<super::BackchannelLogout>,
    /// Second factor of password sign-ins (`domain::mfa`); a link may override it.
    #[serde(default)]
    pub mfa: super::MfaPolicy,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Minimum length of an operator-chosen client secret.
pub const MIN_CLIENT_SECRET_LEN: usize = 32;

impl App {
    pub fn validate(&self) -> DomainResult<()> {
        validate_name(&self.name)?;
        if self.redirect_uris.is_empty() {
            return Err(DomainError::new(
                "redirect_uris",
                "at least one redirect URI is required",
            ));
        }
        for (i, u) in self.redirect_uris.iter().enumerate() {
            validate_redirect_uri(u)
                .map_err(|e| DomainError::new(format!("redirect_uris[{i}]"), e.message))?;
        }
        for (i, u) in self.post_logout_redirect_uris.iter().enumerate() {
            validate_redirect_uri(u).map_err(|e| {
                DomainError::new(format!("post_logout_redirect_uris[{i}]"), e.message)
            })?;
        }
        match (self.client_type, &self.client_secret_hash) {
            (ClientType::Confidential, None) => {
                return Err(DomainError::new(
                    "client_secret",
                    "a confidential client needs a client secret",
                ));
            }
            (ClientType::Public, Some(_)) => {
                return Err(DomainError::new(
                    "client_secret",
                    "a public client must not have a client secret",
                ));
            }
            _ => {}
        }
        self.token_lifetimes.validate()?;
        if !(300..=90 * 24 * 3600).contains(&self.invite_ttl_secs) {
            return Err(DomainError::new(
                "invite_ttl_secs",
                "must be between 300 seconds and 90 days",
            ));
        }
        if self.auth_policy.allowed_kinds.is_empty() {
            return Err(DomainError::new(
                "auth_policy.allowed_kinds",
                "must allow at least one kind of connection",
            ));
        }
        if let Some(b) = &self.backchannel_logout {
            b.validate()?;
        }
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        if !self.admin_api.client_scopes.is_empty() && self.client_type != ClientType::Confidential
        {
            return Err(DomainError::new(
                "admin_api.client_scopes",
                "only a confidential client can use client credentials",
            ));
        }
        Ok(())
    }
}

pub(crate) fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    }
}

/// A redirect URI: absolute https URL (http only for loopback hosts), no fragment, no
/// userinfo, no dot segments or backslashes (RFC 6749 §3.1.2, OAuth 2.0 Security BCP §4.1).
/// It is stored and later compared byte for byte.
pub fn validate_redirect_uri(s: &str) -> DomainResult<()> {
    let err = |m: &str| Err(DomainError::new("redirect_uri", m.to_owned()));
    if s.len() > 2000 {
        return err("must be at most 2000 characters");
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return err("must not contain spaces, control characters or backslashes");
    }
    let u = match url::Url::parse(s) {
        Ok(u) => u,
        Err(_) => return err("must be an absolute URL"),
    };
    if u.fragment().is_some() || s.contains('#') {
        return err("must not contain a fragment");
    }
    if !u.username().is_empty() || u.password().is_some() || s.contains('@') {
        return err("must not contain user information");
    }
    if s.contains("/./")
        || s.contains("/../")
        || s.ends_with("/..")
        || s.ends_with("/.")
        || s.contains(";/")
    {
        return err("must not contain dot segments");
    }
    let host = match u.host() {
        Some(h) => h,
        None => return err("must have a host"),
    };
    match u.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            return err(
                "must use https (http is allowed only for localhost and loopback addresses)",
            );
        }
        _ => return err("must be an https URL"),
    }
    // The URL must already be in the form a browser would send, or exact matching is fragile.
    if u.as_str() != s && u.as_str().trim_end_matches('/') != s {
        return err(
            "must be written in normalized form (lowercase scheme and host, no default port)",
        );
    }
    Ok(())
}

/// An absolute https (or loopback http) URL such as a logo.
pub fn validate_web_url(s: &str, field: &str) -> DomainResult<()> {
    let bad = || DomainError::new(field, "must be an absolute https URL");
    let u = url::Url::parse(s).map_err(|_| bad())?;
    let host = u.host().ok_or_else(bad)?;
    match u.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        _ => Err(bad()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub app_id: AppId,
    pub value: RoleValue,
    pub name: String,
    pub description: String,
}

impl Role {
    pub fn validate(&self) -> DomainResult<()> {
        validate_name(&self.name)?;
        if self.description.chars().count() > 1000 {
            return Err(DomainError::new(
                "description",
                "must be at most 1000 characters",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGroup {
    pub id: RoleGroupId,
    pub app_id: AppId,
    pub name: String,
    pub roles: BTreeSet<RoleValue>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example.com/callback",
            "http://127.0.0.1:3000/cb",
            "http://localhost:8080/cb",
            "http://[::1]:9/cb",
            "https://app.example.com/cb?x=1",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "javascript:alert(1)",
            "https://app.example.com/cb#frag",
            "https://user@app.example.com/cb",
            "https://app.example.com@evil.com/cb",
            "http://app.example.com/cb",
            "https://app.example.com/a/../cb",
            "https://app.example.com/a/..;/cb",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/c b",
            "ftp://app.example.com/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
