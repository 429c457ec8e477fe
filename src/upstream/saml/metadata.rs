//! SAML metadata (SAML metadata spec, "saml-metadata-2.0-os"): reading an IdP's
//! `EntityDescriptor` and writing our SP `EntityDescriptor`.
//!
//! Owns: what Lobby pins from IdP metadata — entity id, signing certificates (several allowed,
//! for rollover), SSO endpoints per binding — and the SP metadata document. Must not touch:
//! fetching (that is `GuardedHttp` in `service`), storage.
//!
//! Rules: exactly one `EntityDescriptor` is used. A bare `EntityDescriptor` must match
//! `idp_entity_id` when one is configured; an `EntitiesDescriptor` (aggregate) needs
//! `idp_entity_id` to pick one. The descriptor needs an `IDPSSODescriptor` supporting the SAML
//! 2.0 protocol, at least one signing certificate (`KeyDescriptor use="signing"` or without
//! `use`) — without one a connection is never activated nor used — and an SSO endpoint with
//! the HTTP-Redirect or HTTP-POST binding. Metadata signatures are not checked: trust comes
//! from the admin who configured the URL (https) or pasted the XML.

use super::xml::{self, Element, NS_DSIG, NS_METADATA};
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// Largest metadata document accepted (fetched or pasted).
pub const MAX_METADATA: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("the metadata is not valid XML: {0}")]
    Xml(String),
    #[error("the metadata is larger than 1 MB")]
    TooLarge,
    #[error("the metadata has no EntityDescriptor")]
    NoEntity,
    #[error("the metadata holds several entities; set idp_entity_id to pick one")]
    Ambiguous,
    #[error("the metadata has no entity with the configured idp_entity_id")]
    EntityNotFound,
    #[error("the entity has no IDPSSODescriptor for SAML 2.0")]
    NotAnIdp,
    #[error("the IdP metadata has no signing certificate; Lobby never accepts unsigned SAML")]
    NoSigningCert,
    #[error("a signing certificate in the metadata is not valid: {0}")]
    BadCert(String),
    #[error("the IdP has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")]
    NoSsoEndpoint,
    #[error("the SSO URL is not an absolute http(s) URL")]
    BadSsoUrl,
}

/// A pinned IdP signing certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedCert {
    /// Base64 DER.
    pub der: String,
    /// Hex SHA-256 of the DER (shown to admins, compared on refresh).
    pub sha256: String,
    /// Certificate validity end (unix seconds), when readable.
    pub not_after: Option<i64>,
    pub subject: Option<String>,
}

impl PinnedCert {
    pub fn from_der(der: &[u8]) -> Result<Self, MetadataError> {
        use sha2::Digest;
        let x = openssl::x509::X509::from_der(der)
            .map_err(|e| MetadataError::BadCert(e.to_string()))?;
        let not_after = asn1_unix(x.not_after());
        let subject = x
            .subject_name()
            .entries()
            .filter_map(|e| e.data().to_string().ok())
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            der: base64::engine::general_purpose::STANDARD.encode(der),
            sha256: hex::encode(sha2::Sha256::digest(der)),
            not_after,
            subject: (!subject.is_empty()).then_some(subject),
        })
    }

    pub fn der_bytes(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.der)
            .ok()
    }
}

/// Unix seconds of an ASN.1 time.
pub fn asn1_unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

/// What Lobby keeps from an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub signing_certs: Vec<PinnedCert>,
    pub sso_redirect: Option<String>,
    pub sso_post: Option<String>,
    /// The IdP asks for signed AuthnRequests (`WantAuthnRequestsSigned`).
    pub want_authn_requests_signed: bool,
}

fn xml_err(e: xml::XmlError) -> MetadataError {
    MetadataError::Xml(e.to_string())
}

/// Parse IdP metadata; `want_entity` picks an entity (required for aggregates).
pub fn parse_idp(text: &str, want_entity: Option<&str>) -> Result<IdpMetadata, MetadataError> {
    if text.len() > MAX_METADATA {
        return Err(MetadataError::TooLarge);
    }
    let root = xml::parse(text).map_err(xml_err)?;
    let entity = if root.is(NS_METADATA, "EntityDescriptor") {
        if let Some(w) = want_entity
            && root.attr("entityID") != Some(w)
        {
            return Err(MetadataError::EntityNotFound);
        }
        &root
    } else if root.is(NS_METADATA, "EntitiesDescriptor") {
        let all: Vec<&Element> = root
            .descendants()
            .into_iter()
            .filter(|e| e.is(NS_METADATA, "EntityDescriptor"))
            .collect();
        match want_entity {
            Some(w) => {
                let mut m = all.into_iter().filter(|e| e.attr("entityID") == Some(w));
                let first = m.next().ok_or(MetadataError::EntityNotFound)?;
                if m.next().is_some() {
                    return Err(MetadataError::Ambiguous);
                }
                first
            }
            None => match all.as_slice() {
                [] => return Err(MetadataError::NoEntity),
                [one] => *one,
                _ => return Err(MetadataError::Ambiguous),
            },
        }
    } else {
        return Err(MetadataError::NoEntity);
    };
    let entity_id = entity
        .attr("entityID")
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
        .ok_or(MetadataError::NoEntity)?
        .to_owned();
    let idp = entity
        .children_named(NS_METADATA, "IDPSSODescriptor")
        .find(|d| {
            d.attr("protocolSupportEnumeration")
                .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == PROTOCOL))
        })
        .ok_or(MetadataError::NotAnIdp)?;
    let mut signing_certs: Vec<PinnedCert> = Vec::new();
    for kd in idp.children_named(NS_METADATA, "KeyDescriptor") {
        match kd.attr("use") {
            None | Some("signing") => {}
            Some(_) => continue,
        }
        for ki in kd.children_named(NS_DSIG, "KeyInfo") {
            for xd in ki.children_named(NS_DSIG, "X509Data") {
                for c in xd.children_named(NS_DSIG, "X509Certificate") {
                    let b64: String = c
                        .text()
                        .unwrap_or_default()
                        .chars()
                        .filter(|c| !c.is_ascii_whitespace())
                        .collect();
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(b64.as_bytes())
                        .map_err(|_| MetadataError::BadCert("not base64".into()))?;
                    let pc = PinnedCert::from_der(&der)?;
                    if !signing_certs.iter().any(|p| p.sha256 == pc.sha256) {
                        signing_certs.push(pc);
                    }
                }
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(MetadataError::NoSigningCert);
    }
    let endpoint = |binding: &str| -> Result<Option<String>, MetadataError> {
        match idp
            .children_named(NS_METADATA, "SingleSignOnService")
            .find(|s| s.attr("Binding") == Some(binding))
            .and_then(|s| s.attr("Location"))
        {
            None => Ok(None),
            Some(loc) => {
                let u = url::Url::parse(loc.trim()).map_err(|_| MetadataError::BadSsoUrl)?;
                if !matches!(u.scheme(), "http" | "https") || u.fragment().is_some() {
                    return Err(MetadataError::BadSsoUrl);
                }
                Ok(Some(u.to_string()))
            }
        }
    };
    let sso_redirect = endpoint(BINDING_REDIRECT)?;
    let sso_post = endpoint(BINDING_POST)?;
    if sso_redirect.is_none() && sso_post.is_none() {
        return Err(MetadataError::NoSsoEndpoint);
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certs,
        sso_redirect,
        sso_post,
        want_authn_requests_signed: idp.attr("WantAuthnRequestsSigned") == Some("true"),
    })
}

/// Our SP metadata for one connection: entity id (= this document's URL), the ACS (HTTP-POST),
/// and every published SP signing certificate (several during a key rollover).
pub fn sp_metadata(
    entity_id: &str,
    acs_url: &str,
    certs_der: &[Vec<u8>],
    authn_requests_signed: bool,
    name_id_format: Option<&str>,
) -> String {
    let mut keys = String::new();
    for der in certs_der {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        keys.push_str(&format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        ));
    }
    let nif = name_id_format
        .map(|f| format!("<md:NameIDFormat>{}</md:NameIDFormat>", xml::escape(f)))
        .unwrap_or_default();
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ",
            "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{eid}\">",
            "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "AuthnRequestsSigned=\"{signed}\" WantAssertionsSigned=\"true\">",
            "{keys}{nif}",
            "<md:AssertionConsumerService Binding=\"{post}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>",
            "</md:SPSSODescriptor>",
            "</md:EntityDescriptor>\n"
        ),
        eid = xml::escape(entity_id),
        signed = authn_requests_signed,
        keys = keys,
        nif = nif,
        post = BINDING_POST,
        acs = xml::escape(acs_url),
    )
}
