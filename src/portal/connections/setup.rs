//! The checks of the connection wizard's IdP step, in plain words tied to the form field they
//! are about: SAML metadata (pasted, by URL, or built from an SSO URL and a certificate typed
//! by hand) with the expiry of its signing certificates, and an OIDC issuer's discovery
//! document (fetched fresh; its issuer must be the one typed).
//!
//! Owns: those checks and their sentences. Must not touch: storing connections (the admin
//! service does that, and validates again), the sign-in path.

use crate::admin::scope::Tools;
use crate::domain::ConnectionId;
use crate::portal::view::current_tr;
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

/// A date for people: `12 March 2024` (`12. März 2024`), in the request's language.
pub fn date_words(unix: i64) -> String {
    let tr = current_tr();
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => tr.t3(
            "portal-date",
            "day",
            t.day(),
            "month",
            tr.t(&format!("month-{}", u8::from(t.month()))),
            "year",
            t.year(),
        ),
        Err(_) => tr.t("portal-date-unreadable"),
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
    let tr = current_tr();
    match e {
        MetadataError::Ambiguous => tr.t("portal-wizard-md-ambiguous"),
        MetadataError::EntityNotFound => tr.t("portal-wizard-md-entity-not-found"),
        MetadataError::NoEntity => tr.t("portal-wizard-md-no-entity"),
        MetadataError::NotAnIdp => tr.t("portal-wizard-md-not-an-idp"),
        MetadataError::NoSigningCert => tr.t("portal-wizard-md-no-signing-cert"),
        other => tr.t1(
            "portal-wizard-md-unusable",
            "problem",
            sentence(&other.to_string()),
        ),
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
        .map(|s| current_tr().t1("portal-wizard-cert-issued-to", "subject", s))
        .unwrap_or_default();
    Err(FieldError::new(
        field,
        current_tr().t2(
            "portal-wizard-md-cert-expired",
            "date",
            last.map(date_words)
                .unwrap_or_else(|| current_tr().t("portal-date-unknown")),
            "subject",
            subject,
        ),
    ))
}

/// A certificate typed or pasted by hand: PEM, or the bare base64 of the DER.
fn parse_certificate(text: &str) -> Result<PinnedCert, FieldError> {
    let bad = || FieldError::new("certificate", current_tr().t("portal-wizard-not-a-cert"));
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
            current_tr().t("portal-wizard-cert-missing"),
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
            current_tr().t("portal-wizard-entity-id-invalid"),
        ));
    }
    let sso = sso_url.trim();
    let ok = url::Url::parse(sso)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none());
    if ok.is_none() {
        return Err(FieldError::new(
            "sso_url",
            current_tr().t("portal-wizard-sso-url-invalid"),
        ));
    }
    let cert = parse_certificate(certificate)?;
    if let Some(t) = cert.not_after
        && t <= now
    {
        return Err(FieldError::new(
            "certificate",
            current_tr().t1("portal-wizard-cert-expired", "date", date_words(t)),
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
                    current_tr().t("portal-wizard-xml-missing"),
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
                    current_tr().t("portal-wizard-url-invalid"),
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
                current_tr().t("portal-wizard-source-missing"),
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
            tools
                .saml
                .load_metadata(id, &cfg)
                .await
                .map_err(|e| match e {
                    SetupError::Fetch(m) => FieldError::new(
                        field,
                        current_tr().t1("portal-wizard-fetch-failed", "problem", m),
                    ),
                    SetupError::Metadata(m) => FieldError::new(field, metadata_words(&m)),
                    other => FieldError::new(
                        field,
                        current_tr().t1(
                            "portal-wizard-md-unusable",
                            "problem",
                            sentence(&other.to_string()),
                        ),
                    ),
                })?
        }
        (None, Some(x)) => parse_idp(x, entity.as_deref())
            .map_err(|m| FieldError::new(field, metadata_words(&m)))?,
        (None, None) => {
            return Err(FieldError::new(
                "source",
                current_tr().t("portal-wizard-source-missing"),
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
        Err(OidcError::IssuerMismatch { expected, found }) => Err(words(current_tr().t2(
            "portal-wizard-issuer-mismatch",
            "found",
            found,
            "expected",
            expected,
        ))),
        Err(OidcError::DiscoveryFetch(e)) => Err(words(current_tr().t2(
            "portal-wizard-discovery-fetch",
            "problem",
            e,
            "path",
            "<issuer>/.well-known/openid-configuration",
        ))),
        Err(e) => Err(words(current_tr().t1(
            "portal-wizard-discovery-unusable",
            "problem",
            e,
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
