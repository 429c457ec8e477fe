//! The checks of the connection wizard's IdP step, in plain words tied to the form field they
//! are about: SAML metadata (pasted, by URL, or built from an SSO URL and a certificate typed
//! by hand) with the expiry of its signing certificates, and an OIDC issuer's discovery
//! document (fetched fresh; its issuer must be the one typed).
//!
//! Owns: those checks and their sentences. Must not touch: storing connections (the admin
//! service does that, and validates again), the sign-in path.

use crate::admin::scope::Tools;
use crate::domain::ConnectionId;
use crate::upstream::oidc::OidcError;
use crate::upstream::saml::SetupError;
use crate::upstream::saml::metadata::{
    BINDING_POST, BINDING_REDIRECT, IdpMetadata, MetadataError, PROTOCOL, PinnedCert, parse_idp,
};
use crate::upstream::saml::xml::escape;
use base64::Engine;

/// A problem with one form field, in words for the person who filled it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A date for people: `12 March 2024`.
pub fn date_words(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{} {} {}", t.day(), t.month(), t.year()),
        Err(_) => "an unreadable date".into(),
    }
}

/// Where the IdP's metadata comes from, as the admin chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Xml,
    Url,
    Manual,
}

impl Source {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "xml" => Some(Self::Xml),
            "url" => Some(Self::Url),
            "manual" => Some(Self::Manual),
            _ => None,
        }
    }
}

/// The SAML IdP step as submitted.
#[derive(Clone, Debug, Default)]
pub struct SamlInput {
    pub source: String,
    pub metadata_xml: String,
    pub metadata_url: String,
    pub entity_id: String,
    pub sso_url: String,
    pub certificate: String,
}

/// What the SAML IdP step yields: the connection's metadata source and what it pins.
#[derive(Clone, Debug)]
pub struct SamlSource {
    pub url: Option<String>,
    pub xml: Option<String>,
    pub entity_id: Option<String>,
    pub metadata: IdpMetadata,
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Metadata errors in the wizard's words.
fn metadata_words(e: &MetadataError) -> String {
    match e {
        MetadataError::Ambiguous => "This metadata describes several identity providers: enter the entity ID of yours below.".into(),
        MetadataError::EntityNotFound => "This metadata has no identity provider with the entity ID you entered.".into(),
        MetadataError::NoEntity => "This is not SAML metadata: it has no EntityDescriptor.".into(),
        MetadataError::NotAnIdp => "This metadata describes no SAML 2.0 identity provider (no IDPSSODescriptor); is it your service provider's metadata?".into(),
        MetadataError::NoSigningCert => "This metadata has no signing certificate. Lobby never accepts unsigned SAML, so it needs one.".into(),
        other => format!("{}.", sentence(&other.to_string())),
    }
}

/// Refuse metadata whose every signing certificate has expired, naming when.
pub fn check_cert_expiry(
    md: &IdpMetadata,
    now: i64,
    field: &'static str,
) -> Result<(), FieldError> {
    let live = md
        .signing_certs
        .iter()
        .any(|c| c.not_after.is_none_or(|t| t > now));
    if live {
        return Ok(());
    }
    let last = md.signing_certs.iter().filter_map(|c| c.not_after).max();
    let subject = md
        .signing_certs
        .iter()
        .max_by_key(|c| c.not_after)
        .and_then(|c| c.subject.clone())
        .map(|s| format!(" (issued to {s})"))
        .unwrap_or_default();
    Err(FieldError::new(
        field,
        format!(
            "The certificate in this metadata expired on {}{subject}. Responses signed with it would be refused: ask your IdP administrator for current metadata.",
            last.map(date_words)
                .unwrap_or_else(|| "an unknown date".into())
        ),
    ))
}

/// A certificate typed or pasted by hand: PEM, or the bare base64 of the DER.
fn parse_certificate(text: &str) -> Result<PinnedCert, FieldError> {
    let bad = || {
        FieldError::new(
            "certificate",
            "This is not a certificate. Paste the IdP's signing certificate in PEM form (the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----).",
        )
    };
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if body.is_empty() {
        return Err(FieldError::new(
            "certificate",
            "Paste the IdP's signing certificate.",
        ));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| bad())?;
    PinnedCert::from_der(&der).map_err(|_| bad())
}

/// IdP metadata for an IdP entered by hand: its entity ID, SSO URL (HTTP-Redirect, or HTTP-POST)
/// and signing certificate.
pub fn manual_metadata(
    entity_id: &str,
    sso_url: &str,
    binding_post: bool,
    certificate: &str,
    now: i64,
) -> Result<String, FieldError> {
    let entity_id = entity_id.trim();
    if entity_id.is_empty() || entity_id.len() > 1024 {
        return Err(FieldError::new(
            "entity_id",
            "Enter the IdP's entity ID (its issuer; often a URL), at most 1024 characters.",
        ));
    }
    let sso = sso_url.trim();
    let ok = url::Url::parse(sso)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none());
    if ok.is_none() {
        return Err(FieldError::new(
            "sso_url",
            "Enter the IdP's single sign-on URL: a full https:// address.",
        ));
    }
    let cert = parse_certificate(certificate)?;
    if let Some(t) = cert.not_after
        && t <= now
    {
        return Err(FieldError::new(
            "certificate",
            format!(
                "This certificate expired on {}. Responses signed with it would be refused: ask your IdP administrator for the current signing certificate.",
                date_words(t)
            ),
        ));
    }
    let binding = if binding_post {
        BINDING_POST
    } else {
        BINDING_REDIRECT
    };
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{PROTOCOL}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="{binding}" Location="{}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
        escape(entity_id),
        cert.der,
        escape(sso)
    ))
}

/// Check the SAML IdP step: load the metadata the way the admin gave it, and refuse it in plain
/// words when it cannot be used (not metadata, no signing certificate, every certificate
/// expired, URL unreachable).
pub async fn saml_source(
    tools: &Tools<'_>,
    id: &ConnectionId,
    input: &SamlInput,
) -> Result<SamlSource, FieldError> {
    let now = tools.clock.now().unix_timestamp();
    let entity = Some(input.entity_id.trim().to_owned()).filter(|s| !s.is_empty());
    let (field, url, xml) = match Source::parse(&input.source) {
        Some(Source::Xml) => {
            let x = input.metadata_xml.trim();
            if x.is_empty() {
                return Err(FieldError::new(
                    "metadata_xml",
                    "Paste your IdP's metadata XML.",
                ));
            }
            ("metadata_xml", None, Some(x.to_owned()))
        }
        Some(Source::Url) => {
            let u = input.metadata_url.trim();
            let ok = url::Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            if ok.is_none() {
                return Err(FieldError::new(
                    "metadata_url",
                    "Enter the address of your IdP's metadata: a full https:// URL.",
                ));
            }
            ("metadata_url", Some(u.to_owned()), None)
        }
        Some(Source::Manual) => {
            let x = manual_metadata(
                &input.entity_id,
                &input.sso_url,
                false,
                &input.certificate,
                now,
            )?;
            ("certificate", None, Some(x))
        }
        None => {
            return Err(FieldError::new(
                "source",
                "Choose how to give your IdP's details.",
            ));
        }
    };
    let md = match (&url, &xml) {
        (Some(_), _) => {
            let cfg = crate::domain::SamlConfig {
                idp_metadata_url: url.clone(),
                idp_metadata_xml: None,
                idp_entity_id: entity.clone(),
                name_id_format: None,
                attributes: Default::default(),
                role_mapping: vec![],
                sign_authn_requests: true,
                want_assertions_signed: true,
                allow_idp_initiated: false,
                idp_initiated_app_id: None,
                idp_initiated_redirect_uri: None,
                email_authority: Default::default(),
                accept_expired_certs: false,
            };
            tools.saml.load_metadata(id, &cfg).await.map_err(|e| match e {
                SetupError::Fetch(m) => FieldError::new(
                    field,
                    format!("Lobby could not fetch the metadata from this address: {m}. Check the URL, and that Lobby can reach it."),
                ),
                SetupError::Metadata(m) => FieldError::new(field, metadata_words(&m)),
                other => FieldError::new(field, format!("{}.", sentence(&other.to_string()))),
            })?
        }
        (None, Some(x)) => parse_idp(x, entity.as_deref())
            .map_err(|m| FieldError::new(field, metadata_words(&m)))?,
        (None, None) => {
            return Err(FieldError::new(
                "source",
                "Choose how to give your IdP's details.",
            ));
        }
    };
    check_cert_expiry(&md, now, field)?;
    let manual = Source::parse(&input.source) == Some(Source::Manual);
    Ok(SamlSource {
        url,
        xml,
        // A hand-made document holds one entity: no need to pick it.
        entity_id: if manual { None } else { entity },
        metadata: md,
    })
}

/// Check an OIDC issuer the admin typed: its discovery document must load and name exactly
/// this issuer.
pub async fn oidc_issuer(
    tools: &Tools<'_>,
    id: &ConnectionId,
    issuer: &str,
) -> Result<(), FieldError> {
    let words = |m: String| FieldError::new("issuer", m);
    match tools.oidc.probe_discovery(id, issuer).await {
        Ok(_) => Ok(()),
        Err(OidcError::IssuerMismatch { expected, found }) => Err(words(format!(
            "The issuer in the discovery document is \u{201c}{found}\u{201d} but you entered \u{201c}{expected}\u{201d}. They must be identical: copy the issuer from the document (mind the trailing slash and http/https)."
        ))),
        Err(OidcError::DiscoveryFetch(e)) => Err(words(format!(
            "Lobby could not fetch the discovery document of this issuer ({e}). Check the address: Lobby reads <issuer>/.well-known/openid-configuration."
        ))),
        Err(e) => Err(words(format!(
            "The discovery document of this issuer cannot be used: {e}."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_words() {
        assert_eq!(date_words(1_710_201_600), "12 March 2024");
    }

    #[test]
    fn a_bad_certificate_is_named_on_its_field() {
        let e = manual_metadata("https://idp", "https://idp/sso", false, "hello", 0).unwrap_err();
        assert_eq!(e.field, "certificate");
        let e = manual_metadata("https://idp", "ftp://idp", false, "x", 0).unwrap_err();
        assert_eq!(e.field, "sso_url");
        let e = manual_metadata(" ", "https://idp/sso", false, "x", 0).unwrap_err();
        assert_eq!(e.field, "entity_id");
    }
}
