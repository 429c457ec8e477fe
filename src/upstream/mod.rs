//! Connectors to organizations' own identity providers (OIDC, SAML) and the SSRF-guarded HTTP
//! client every outbound fetch goes through.
//!
//! Owns: talking to upstream IdPs. Must not touch: token issuing (provider), pages (login).

pub mod http;
pub mod oidc;
pub mod saml;
