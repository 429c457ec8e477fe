//! The connection probe behind the admin API's connection test: discovery and JWKS fetched
//! fresh (not from the cache), each finding reported as a [`Check`] in plain words.
//!
//! Owns: the list of checks and their wording. Must not touch: the metadata/JWKS cache, the
//! sign-in path, the admin API's response shape beyond [`Check`].

use super::{OidcConnector, OidcError, discovery_url, parse_discovery, parse_jwks};
use crate::domain::{ConnectionId, OidcConfig, TokenEndpointAuthMethod};

/// One line of the connection test report.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub message: String,
}

impl OidcConnector {
    /// `GET …/connections/{id}/test`: discovery and JWKS, fetched fresh (not from the cache),
    /// with every finding in plain words.
    pub async fn test(&self, id: &ConnectionId, cfg: &OidcConfig) -> Vec<Check> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, ok: bool, message: String| {
            out.push(Check { name, ok, message });
        };
        let disc_url = match discovery_url(&cfg.issuer) {
            Ok(u) => u,
            Err(_) => {
                push(
                    "issuer",
                    false,
                    format!("The issuer {:?} is not a valid URL.", cfg.issuer),
                );
                return out;
            }
        };
        let body = match self
            .http
            .get(id.as_str(), &disc_url, "application/json")
            .await
        {
            Ok(r) => {
                push(
                    "discovery_fetch",
                    true,
                    format!("Fetched the discovery document from {disc_url}."),
                );
                r.body
            }
            Err(e) => {
                push(
                    "discovery_fetch",
                    false,
                    format!("Could not fetch the discovery document from {disc_url}: {e}."),
                );
                return out;
            }
        };
        let disc = match parse_discovery(&cfg.issuer, &body) {
            Ok(d) => {
                push(
                    "issuer_match",
                    true,
                    "The document's issuer is exactly the configured issuer.".into(),
                );
                d
            }
            Err(OidcError::IssuerMismatch { expected, found }) => {
                push(
                    "issuer_match",
                    false,
                    format!(
                        "The document says its issuer is {found:?}, but the connection is configured with {expected:?}. They must be identical (check the trailing slash and the scheme)."
                    ),
                );
                return out;
            }
            Err(e) => {
                push(
                    "discovery_valid",
                    false,
                    format!("The discovery document is not usable: {e}."),
                );
                return out;
            }
        };
        push(
            "endpoints",
            true,
            format!(
                "Authorization endpoint {}, token endpoint {}, JWKS {}{}.",
                disc.authorization_endpoint,
                disc.token_endpoint,
                disc.jwks_uri,
                disc.userinfo_endpoint
                    .as_ref()
                    .map(|u| format!(", userinfo endpoint {u}"))
                    .unwrap_or_default()
            ),
        );
        push(
            "code_flow",
            disc.supports_code_flow,
            if disc.supports_code_flow {
                "The identity provider supports the authorization code flow.".into()
            } else {
                "The identity provider does not list response type \"code\"; Lobby needs the authorization code flow.".into()
            },
        );
        let common: Vec<&String> = cfg
            .allowed_algs
            .iter()
            .filter(|a| disc.id_token_algs.contains(a))
            .collect();
        push(
            "algorithms",
            !common.is_empty(),
            if common.is_empty() {
                format!(
                    "The identity provider signs ID tokens with {:?}, none of which this connection allows ({:?}).",
                    disc.id_token_algs, cfg.allowed_algs
                )
            } else {
                format!("ID tokens can be signed with {common:?}.")
            },
        );
        let method = match cfg.token_endpoint_auth_method {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::None => "none",
        };
        match &disc.token_auth_methods {
            Some(m) if !m.iter().any(|x| x == method) => push(
                "token_auth_method",
                false,
                format!(
                    "The connection authenticates to the token endpoint with {method}, but the identity provider supports only {m:?}."
                ),
            ),
            _ => push(
                "token_auth_method",
                true,
                format!("Token endpoint authentication: {method}."),
            ),
        }
        if cfg.token_endpoint_auth_method != TokenEndpointAuthMethod::None {
            match self.client_secret(cfg) {
                Ok(_) => push("client_secret", true, "The client secret is stored and can be read.".into()),
                Err(_) => push(
                    "client_secret",
                    false,
                    "The stored client secret cannot be read (was the secret key changed?). Set the client secret again.".into(),
                ),
            }
        }
        match self
            .http
            .get(
                id.as_str(),
                &disc.jwks_uri,
                "application/jwk-set+json, application/json",
            )
            .await
        {
            Err(e) => push(
                "jwks",
                false,
                format!(
                    "Could not fetch the signing keys from {}: {e}.",
                    disc.jwks_uri
                ),
            ),
            Ok(r) => match parse_jwks(&r.body) {
                Ok(k) => {
                    let usable = k.usable_with(&cfg.jws_algs());
                    push(
                        "jwks",
                        usable > 0,
                        if usable > 0 {
                            format!(
                                "Fetched {} signing key(s), {usable} usable with the allowed algorithms.",
                                k.key_count()
                            )
                        } else {
                            "The key set has no key usable with the allowed algorithms.".into()
                        },
                    )
                }
                Err(e) => push(
                    "jwks",
                    false,
                    format!("The signing keys are not usable: {e}."),
                ),
            },
        }
        out
    }

    /// The discovery document of `issuer`, fetched fresh (not from the cache) and checked like
    /// at sign-in: the wizard's first look at an issuer an admin typed.
    pub async fn probe_discovery(
        &self,
        id: &ConnectionId,
        issuer: &str,
    ) -> Result<super::Discovered, OidcError> {
        let url = discovery_url(issuer)?;
        let got = self
            .http
            .get(id.as_str(), &url, "application/json")
            .await
            .map_err(OidcError::DiscoveryFetch)?;
        parse_discovery(issuer, &got.body)
    }
}
