//! What an upstream IdP said about the person, in one shape for every protocol, and the two
//! mappings that build it: OIDC claims (the connection's `claims` mapping) and SAML attributes
//! (the connection's `attributes` mapping).
//!
//! Owns: [`UpstreamIdentity`] and claim/attribute mapping. Must not touch: linking or
//! provisioning (that is `login::identity`), storage, HTTP.

use crate::domain::{ConnectionId, Email, OidcConfig, SamlConfig, Secret};
use crate::upstream::oidc::Validated;
use serde_json::Value;
use std::collections::BTreeMap;

/// What an upstream IdP said about the person, after the connector validated the response.
#[derive(Clone, Debug)]
pub struct UpstreamIdentity {
    /// The connection the response arrived on (must be the one passed to [`resolve`]).
    pub connection_id: crate::domain::ConnectionId,
    /// OIDC `iss` / SAML Issuer, exactly as validated.
    pub issuer: String,
    /// OIDC `sub` / SAML NameID (persistent).
    pub subject: String,
    /// The email claim/attribute as sent (normalized and checked here).
    pub email: Option<String>,
    /// `true` only when the IdP vouched for the email (the connector applies the connection's
    /// policy for a missing claim).
    pub email_verified: bool,
    pub name: Option<String>,
    /// Group names from the configured groups claim/attribute (empty when none is configured).
    pub groups: Vec<String>,
    /// Authentication methods reported by the IdP (OIDC `amr`), passed on to the app's tokens;
    /// empty means `["fed"]`.
    pub amr: Vec<String>,
    /// The invitation token carried by the login flow, if any.
    pub invitation_token: Option<Secret>,
}

fn claim_str(claims: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl UpstreamIdentity {
    /// Map validated OIDC claims with the connection's claim mapping.
    /// `email_verified` is `true` only for a JSON `true` (or the string `"true"`, which some IdPs
    /// send); a missing claim counts as verified only when the connection does not require it.
    pub fn from_oidc(
        connection_id: &ConnectionId,
        cfg: &OidcConfig,
        v: Validated,
    ) -> UpstreamIdentity {
        let c = &v.claims;
        let email_verified = match c.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            None | Some(Value::Null) => !cfg.require_email_verified,
            Some(_) => false,
        };
        let mut name = claim_str(c, &cfg.claims.name);
        if name.is_none() && cfg.claims.name == "name" {
            let parts: Vec<String> = ["given_name", "family_name"]
                .iter()
                .filter_map(|k| claim_str(c, k))
                .collect();
            if !parts.is_empty() {
                name = Some(parts.join(" "));
            }
        }
        let groups = match cfg.claims.groups.as_deref().and_then(|g| c.get(g)) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .filter(|g| g.len() <= 256)
                .take(500)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) if s.len() <= 256 => vec![s.clone()],
            _ => vec![],
        };
        let amr = match c.get("amr") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => vec![],
        };
        UpstreamIdentity {
            connection_id: connection_id.clone(),
            issuer: v.issuer,
            subject: v.subject,
            email: claim_str(c, &cfg.claims.email),
            email_verified,
            name,
            groups,
            amr,
            invitation_token: None,
        }
    }
}

pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// The subject of the external identity: NameID Format and value (SAML core §2.2.2: two
/// NameIDs are equal only when both are).
pub fn saml_subject(name_id_format: &str, name_id: &str) -> String {
    format!("{name_id_format}|{name_id}")
}

/// Email, display name and groups from the assertion, per the connection's attribute mapping.
/// The email falls back to an emailAddress-format NameID.
pub fn saml_attributes(
    cfg: &SamlConfig,
    name_id_format: &str,
    name_id: &str,
    attributes: &BTreeMap<String, Vec<String>>,
) -> (Option<Email>, Option<String>, Vec<String>) {
    let first = |name: &str| attributes.get(name).and_then(|v| v.first()).cloned();
    let email = first(&cfg.attributes.email)
        .or_else(|| (name_id_format == NAMEID_EMAIL).then(|| name_id.to_owned()))
        .and_then(|e| Email::parse(&e).ok());
    let name = first(&cfg.attributes.name).filter(|n| !n.trim().is_empty());
    let groups = cfg
        .attributes
        .groups
        .as_ref()
        .and_then(|g| attributes.get(g))
        .cloned()
        .unwrap_or_default();
    (email, name, groups)
}
