//! Connectors to organizations' own identity providers (OIDC, SAML) and the SSRF-guarded HTTP
//! client every outbound fetch goes through.
//!
//! The connector interface, the same for every protocol: a connector *begins* a sign-in
//! ([`Begin`]: where the browser goes, and the [`Pending`] state the flow keeps until the IdP
//! answers), then validates the answer into an [`identity::UpstreamIdentity`]. The browser steps
//! around it (flow records, callbacks, pages) live in `login`. Adding a protocol means a new
//! module here, a [`Pending`] variant, and one match arm in `login::upstream`.
//!
//! Owns: talking to upstream IdPs. Must not touch: the browser flow and pages (`login`,
//! `pages`), token issuing (`provider`), the composition root.

pub mod dns;
pub mod http;
pub mod identity;
pub mod oidc;
pub mod saml;

use crate::domain::Secret;
use serde::{Deserialize, Serialize};

/// Why an upstream IdP could not sign someone in, as the person is told (the sentences and
/// statuses are in `pages::upstream_failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The IdP could not be reached or did not answer in time.
    Unreachable,
    /// The connection or the IdP is set up wrongly (bad metadata, blocked URL, unusable secret).
    Misconfigured,
    /// The IdP answered, and the answer failed our checks.
    Rejected,
}

impl UpstreamFailure {
    /// The IdP could not be used at all (not: its answer was refused).
    pub fn idp_unusable(self) -> bool {
        matches!(self, Self::Unreachable | Self::Misconfigured)
    }
}

/// How the browser is sent to the IdP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// A `303` to this URL (OIDC authorization request, SAML HTTP-Redirect binding).
    Redirect(String),
    /// An auto-submitting form (SAML HTTP-POST binding): `field` carries `message`.
    AutoPost {
        action: String,
        field: &'static str,
        message: String,
        relay_state: String,
    },
}

/// What a sign-in sent to the IdP must remember until the answer comes back, per protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum Pending {
    /// OIDC: the `nonce` sent (compared with the ID token's) and the PKCE `code_verifier`
    /// (RFC 7636).
    Oidc { nonce: Secret, verifier: Secret },
    /// SAML: the AuthnRequest `ID` (checked against `InResponseTo`).
    Saml { request_id: String },
}
