//! What an upstream IdP said about the person, as both connectors (OIDC, SAML) hand it to
//! [`super::resolve`]. Kept alone so it can move next to the connectors.
//!
//! Owns: the type. Must not touch: validation (the connectors do it) or what it resolves to.

use crate::domain::Secret;

/// What an upstream IdP said about the person, after the connector validated the response.
#[derive(Clone, Debug)]
pub struct UpstreamIdentity {
    /// The connection the response arrived on (must be the one passed to [`super::resolve`]).
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
