//! OIDC Discovery (§3, §4): the configuration URL of an issuer and the validation of the
//! document found there.
//!
//! Owns: what Lobby accepts from a discovery document — `issuer` exactly the configured one
//! (§4.3), authorization, token and JWKS endpoints present, http(s) without fragment, https
//! throughout for an https issuer — and what it keeps ([`Discovered`]). Must not touch: fetching
//! and caching (`cache`), the connection test's wording (`check`).

use super::OidcError;
use openidconnect::core::CoreProviderMetadata;
use serde_json::Value;

/// What Lobby needs from a validated discovery document.
#[derive(Debug)]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: url::Url,
    pub token_endpoint: url::Url,
    pub userinfo_endpoint: Option<url::Url>,
    pub jwks_uri: url::Url,
    /// RFC 9207 §3: the IdP puts `iss` in every authorization response.
    pub iss_parameter_supported: bool,
    pub supports_code_flow: bool,
    pub id_token_algs: Vec<String>,
    pub token_auth_methods: Option<Vec<String>>,
}

/// OIDC Discovery §4: the configuration URL of an issuer.
pub fn discovery_url(issuer: &str) -> Result<url::Url, OidcError> {
    url::Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|_| OidcError::DiscoveryInvalid("the issuer is not a valid URL".into()))
}

/// Parse and validate a discovery document (OIDC Discovery §3, §4.3).
pub fn parse_discovery(configured_issuer: &str, body: &[u8]) -> Result<Discovered, OidcError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|_| OidcError::DiscoveryInvalid("not a JSON document".into()))?;
    let obj = raw
        .as_object()
        .ok_or_else(|| OidcError::DiscoveryInvalid("not a JSON object".into()))?;
    let found = obj
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| OidcError::DiscoveryInvalid("no issuer".into()))?;
    // §4.3: exactly the issuer used to build the URL; no normalization.
    if found != configured_issuer {
        return Err(OidcError::IssuerMismatch {
            expected: configured_issuer.to_owned(),
            found: found.chars().take(300).collect(),
        });
    }
    let md: CoreProviderMetadata = serde_json::from_value(raw.clone())
        .map_err(|e| OidcError::DiscoveryInvalid(format!("not valid provider metadata: {e}")))?;
    let token_endpoint = md
        .token_endpoint()
        .map(|t| t.url().clone())
        .ok_or_else(|| OidcError::DiscoveryInvalid("no token_endpoint".into()))?;
    let authorization_endpoint = md.authorization_endpoint().url().clone();
    let jwks_uri = md.jwks_uri().url().clone();
    let userinfo_endpoint = md.userinfo_endpoint().map(|u| u.url().clone());
    if configured_issuer.starts_with("https:") {
        let mut all = vec![&authorization_endpoint, &token_endpoint, &jwks_uri];
        all.extend(userinfo_endpoint.iter());
        if all.iter().any(|u| u.scheme() != "https") {
            return Err(OidcError::DiscoveryInvalid(
                "an endpoint of an https issuer is not https".into(),
            ));
        }
    }
    for u in [&authorization_endpoint, &token_endpoint, &jwks_uri] {
        if !matches!(u.scheme(), "https" | "http") || u.fragment().is_some() {
            return Err(OidcError::DiscoveryInvalid(format!(
                "endpoint {u} is not an http(s) URL without fragment"
            )));
        }
    }
    let strings = |k: &str| -> Option<Vec<String>> {
        obj.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    };
    Ok(Discovered {
        issuer: found.to_owned(),
        supports_code_flow: strings("response_types_supported")
            .is_some_and(|v| v.iter().any(|t| t == "code")),
        id_token_algs: strings("id_token_signing_alg_values_supported").unwrap_or_default(),
        token_auth_methods: strings("token_endpoint_auth_methods_supported"),
        iss_parameter_supported: obj
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::oidc::testkit::{ISS, doc};

    #[test]
    fn discovery_issuer_must_match_exactly() {
        assert!(parse_discovery(ISS, &doc(ISS, ISS)).is_ok());
        for other in [
            "https://idp.example.com/",
            "https://IDP.example.com",
            "http://idp.example.com",
            "https://idp.example.com/tenant",
        ] {
            assert!(
                matches!(
                    parse_discovery(ISS, &doc(other, ISS)),
                    Err(OidcError::IssuerMismatch { .. })
                ),
                "{other}"
            );
        }
        assert_eq!(
            discovery_url("https://idp.example.com/tenant/")
                .unwrap()
                .as_str(),
            "https://idp.example.com/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn an_https_issuer_cannot_hand_out_http_endpoints() {
        let e = parse_discovery(ISS, &doc(ISS, "http://idp.example.com")).unwrap_err();
        assert!(matches!(e, OidcError::DiscoveryInvalid(_)), "{e}");
        assert_eq!(e.reason(), "discovery_invalid");
        assert!(matches!(
            parse_discovery(ISS, b"<html>"),
            Err(OidcError::DiscoveryInvalid(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&doc(ISS, ISS)).unwrap();
        v.as_object_mut().unwrap().remove("token_endpoint");
        assert!(parse_discovery(ISS, &serde_json::to_vec(&v).unwrap()).is_err());
    }
}
