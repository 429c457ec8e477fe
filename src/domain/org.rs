//! Organizations, their branding, their email domains and their links to apps.

use super::EmailDomain;
use super::error::{DomainError, DomainResult};
use super::ids::{AppId, ConnectionId, OrgId, RoleGroupId, RoleValue, Slug};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    #[default]
    Active,
    Suspended,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
    pub fn parse(s: &str) -> DomainResult<Self> {
        match s {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(DomainError::new(
                "status",
                "must be \"active\" or \"suspended\"",
            )),
        }
    }
}

/// How the hosted pages look once the org is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An absolute https (or loopback http) URL of a logo image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
}

impl Branding {
    pub fn validate(&self) -> DomainResult<()> {
        if let Some(d) = &self.display_name {
            validate_name(d).map_err(|e| e.at("branding.display_name"))?;
        }
        if let Some(u) = &self.logo_url {
            super::app::validate_web_url(u, "branding.logo_url")?;
        }
        if let Some(c) = &self.primary_color {
            let b = c.as_bytes();
            if b.len() != 7 || b[0] != b'#' || !b[1..].iter().all(|x| x.is_ascii_hexdigit()) {
                return Err(DomainError::new(
                    "branding.primary_color",
                    "must be a color like #1a2b3c",
                ));
            }
        }
        Ok(())
    }
}

/// A human-readable name: 1-200 characters, no control characters.
pub fn validate_name(s: &str) -> DomainResult<()> {
    let n = s.chars().count();
    if n == 0 || n > 200 || s.trim().is_empty() || s.chars().any(|c| c.is_control()) {
        return Err(DomainError::new(
            "name",
            "must be 1-200 characters without control characters",
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: OrgId,
    pub slug: Slug,
    pub name: String,
    pub status: OrgStatus,
    pub parent_id: Option<OrgId>,
    pub branding: Branding,
    /// Optimistic-concurrency version; bumped by every update.
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Org {
    /// The name shown for an org: its branding display name, else its name.
    pub fn display_name(&self) -> &str {
        self.branding.display_name.as_deref().unwrap_or(&self.name)
    }

    pub fn validate(&self) -> DomainResult<()> {
        validate_name(&self.name)?;
        self.branding.validate()?;
        if self.parent_id.as_ref() == Some(&self.id) {
            return Err(DomainError::new(
                "parent_id",
                "an organization cannot be its own parent",
            ));
        }
        Ok(())
    }
}

/// An email domain claimed by an org. It routes logins only once `verified`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDomain {
    pub org_id: OrgId,
    pub domain: EmailDomain,
    pub verified: bool,
    /// The value expected in the DNS TXT record `_lobby-challenge.<domain>`.
    pub verification_token: String,
    pub verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// "Other organizations' members also use this domain" (a parent with subsidiaries, a
    /// consultancy): discovery does not route the verified domain straight to this org but
    /// treats it like a domain nobody verified (the emailed org chooser, `login::shared`).
    /// Meaningful only once verified; verification itself stays exclusive.
    #[serde(default)]
    pub shared: bool,
}

impl OrgDomain {
    /// Whether discovery routes this domain's emails straight to the org.
    pub fn routes_exclusively(&self) -> bool {
        self.verified && !self.shared
    }

    pub fn txt_record_name(&self) -> String {
        format!("_lobby-challenge.{}", self.domain.as_str())
    }
    pub fn txt_record_value(&self) -> String {
        format!("lobby-domain-verification={}", self.verification_token)
    }
}

/// Which connections an org uses for an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum LinkAuthPolicy {
    /// Use the app's default policy over the org's active connections.
    #[default]
    Inherit,
    /// Only these connections of the org, in this order of preference.
    Connections { connection_ids: Vec<ConnectionId> },
}

/// An org onboarded to an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAppLink {
    pub org_id: OrgId,
    pub app_id: AppId,
    pub allowed_role_groups: BTreeSet<RoleGroupId>,
    pub auth_policy: LinkAuthPolicy,
    /// Just-in-time provisioning of memberships on first sign-in through the org's IdP.
    pub jit: bool,
    /// Roles given to JIT-provisioned members (must lie inside the allowed role groups).
    pub default_roles: BTreeSet<RoleValue>,
    /// Second factor of password sign-ins into this org through this app; `None`: the app's
    /// (`App::mfa`).
    #[serde(default)]
    pub mfa: Option<super::MfaPolicy>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}
