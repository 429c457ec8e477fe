//! Outgoing `<AuthnRequest>`s (SAML core §3.4.1) and their bindings: HTTP-Redirect, signed per
//! SAML bindings §3.4.4.1 (SigAlg + Signature over the query string), or HTTP-POST (enveloped
//! XML signature), sent by our own auto-POST page (askama, escaped, a CSP nonce for its one
//! line of script and a button for browsers without script).
//!
//! Owns: request ids, request XML, binding encodings. Must not touch: flows, storage.
//!
//! Request ids are `_` + 160 random bits in hex (samael's `id-<u32>` has 32 bits: footgun 3),
//! kept server-side with the flow; an NCName so XML signatures can reference them.

use super::dsig::{self, XmlDsig};
use super::xml::escape;
use base64::Engine;
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use rand::RngCore;
use std::io::Write;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A fresh AuthnRequest id: `_` + 40 hex digits (160 bits, thread CSPRNG seeded by the OS).
pub fn new_request_id() -> String {
    let mut b = [0u8; 20];
    rand::rng().fill_bytes(&mut b);
    format!("_{}", hex::encode(b))
}

/// Whether a string looks like one of our request ids (checked before use as a key).
pub fn valid_request_id(s: &str) -> bool {
    s.len() == 41 && s.starts_with('_') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Clone)]
pub struct AuthnRequestParams<'a> {
    pub id: &'a str,
    pub issue_instant: OffsetDateTime,
    pub destination: &'a str,
    pub acs_url: &'a str,
    pub sp_entity_id: &'a str,
    pub name_id_format: Option<&'a str>,
    pub force_authn: bool,
}

/// The request XML; with `signature_template`, a `ds:Signature` template after the Issuer.
pub fn authn_request_xml(p: &AuthnRequestParams<'_>, signature_template: bool) -> String {
    let instant = p
        .issue_instant
        .replace_nanosecond(0)
        .unwrap_or(p.issue_instant)
        .format(&Rfc3339)
        .unwrap_or_default();
    let sig = if signature_template {
        dsig::signature_template(p.id)
    } else {
        String::new()
    };
    let policy = match p.name_id_format {
        Some(f) => format!(
            "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
            escape(f)
        ),
        None => "<samlp:NameIDPolicy AllowCreate=\"true\"/>".into(),
    };
    format!(
        concat!(
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{instant}\" Destination=\"{dest}\" ",
            "AssertionConsumerServiceURL=\"{acs}\" ",
            "ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"{force}>",
            "<saml:Issuer>{issuer}</saml:Issuer>{sig}{policy}</samlp:AuthnRequest>"
        ),
        id = escape(p.id),
        instant = instant,
        dest = escape(p.destination),
        acs = escape(p.acs_url),
        force = if p.force_authn {
            " ForceAuthn=\"true\""
        } else {
            ""
        },
        issuer = escape(p.sp_entity_id),
        sig = sig,
        policy = policy,
    )
}

#[derive(Debug, thiserror::Error)]
#[error("cannot encode the SAML request: {0}")]
pub struct EncodeError(pub String);

fn enc_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError(e.to_string())
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// HTTP-Redirect binding (SAML bindings §3.4.4): DEFLATE, base64, URL-encode; when `key` is
/// given, `SigAlg` (rsa-sha256) and `Signature` over `SAMLRequest=…&RelayState=…&SigAlg=…`
/// exactly as sent (§3.4.4.1). The query is appended to the SSO URL's own query, if any.
pub fn redirect_url(
    sso_url: &str,
    xml: &str,
    relay_state: &str,
    key: Option<&Rsa<Private>>,
) -> Result<String, EncodeError> {
    let mut deflater =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater.write_all(xml.as_bytes()).map_err(enc_err)?;
    let deflated = deflater.finish().map_err(enc_err)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut query = format!(
        "SAMLRequest={}&RelayState={}",
        form_encode(&b64),
        form_encode(relay_state)
    );
    if let Some(key) = key {
        query.push_str("&SigAlg=");
        query.push_str(&form_encode(dsig::RSA_SHA256));
        let sig = rsa_sha256(key, query.as_bytes()).map_err(enc_err)?;
        query.push_str("&Signature=");
        query.push_str(&form_encode(
            &base64::engine::general_purpose::STANDARD.encode(sig),
        ));
    }
    let sep = if sso_url.contains('?') { '&' } else { '?' };
    Ok(format!("{sso_url}{sep}{query}"))
}

/// The DER `DigestInfo` prefix of a SHA-256 digest (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.1; XML-DSig's `rsa-sha256`, RFC 6931 §2.3.2)
/// over `data`: the `DigestInfo` of the SHA-256 digest, padded (EMSA-PKCS1-v1_5) and
/// exponentiated by OpenSSL's `RSA_private_encrypt` with blinding — what OpenSSL's own
/// `RSA_sign` does — without the EVP layer, whose algorithm fetch on every `EVP_DigestSignInit`
/// cost about a sixth of the signature with OpenSSL 3.0 (docs/perf-issue17.md, session 4). The
/// result is byte for byte the EVP signature (PKCS#1 v1.5 is deterministic; tested).
pub fn rsa_sha256(key: &Rsa<Private>, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut digest_info = Vec::with_capacity(SHA256_DIGEST_INFO.len() + 32);
    digest_info.extend_from_slice(&SHA256_DIGEST_INFO);
    digest_info.extend_from_slice(&openssl::sha::sha256(data));
    let mut sig = vec![0; key.size() as usize];
    let n = key.private_encrypt(&digest_info, &mut sig, Padding::PKCS1)?;
    sig.truncate(n);
    Ok(sig)
}

/// HTTP-POST binding (SAML bindings §3.5.4): the (signed, when a key is given) XML, base64.
pub fn post_message(
    dsig: &dyn XmlDsig,
    p: &AuthnRequestParams<'_>,
    key_der: Option<&[u8]>,
) -> Result<String, EncodeError> {
    let xml = match key_der {
        Some(k) => dsig
            .sign_template(&authn_request_xml(p, true), k)
            .map_err(enc_err)?,
        None => authn_request_xml(p, false),
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(xml))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;

    #[test]
    fn request_ids_have_160_bits_and_are_ncnames() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert!(valid_request_id(&a));
        assert!(!valid_request_id("id-12345"));
        assert!(!valid_request_id(&format!("{}g", &a[..40])));
    }

    #[test]
    fn request_xml_escapes_and_parses() {
        let p = AuthnRequestParams {
            id: "_abc",
            issue_instant: OffsetDateTime::UNIX_EPOCH,
            destination: "https://idp.example.com/sso?a=1&b=\"2\"",
            acs_url: "https://lobby.example.com/sso/saml/c/acs",
            sp_entity_id: "https://lobby.example.com/sso/saml/c/metadata",
            name_id_format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"),
            force_authn: true,
        };
        let x = authn_request_xml(&p, true);
        let e = super::super::xml::parse(&x).unwrap();
        assert_eq!(e.attr("Destination"), Some(p.destination));
        assert_eq!(e.attr("ForceAuthn"), Some("true"));
        assert_eq!(e.attr("IssueInstant"), Some("1970-01-01T00:00:00Z"));
        assert!(x.contains("URI=\"#_abc\""));
    }

    #[test]
    fn redirect_signature_covers_the_exact_query() {
        let (der, cert) = crate::keys::saml_sp::generate("t").unwrap();
        let key = PKey::private_key_from_der(&der).unwrap().rsa().unwrap();
        let u = redirect_url(
            "https://idp.example.com/sso?x=1",
            "<a/>",
            "relay",
            Some(&key),
        )
        .unwrap();
        let (_, q) = u.split_once("?x=1&").unwrap();
        let (signed, sig) = q.split_once("&Signature=").unwrap();
        let sig: String = url::form_urlencoded::parse(format!("s={sig}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        let x509 = openssl::x509::X509::from_der(&cert).unwrap();
        let pk = x509.public_key().unwrap();
        let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &pk).unwrap();
        v.update(signed.as_bytes()).unwrap();
        assert!(v.verify(&sig).unwrap());
        assert!(signed.starts_with("SAMLRequest="));
        assert!(signed.contains("&RelayState=relay&SigAlg="));
    }

    /// The signature without EVP is the one OpenSSL's EVP signer makes, byte for byte, for
    /// empty, short and long inputs.
    #[test]
    fn rsa_sha256_is_the_evp_signature() {
        let (der, _) = crate::keys::saml_sp::generate("t").unwrap();
        let pkey = PKey::private_key_from_der(&der).unwrap();
        let rsa = pkey.rsa().unwrap();
        for data in [&b""[..], b"SAMLRequest=abc&RelayState=r", &[7u8; 5000][..]] {
            let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &pkey).unwrap();
            s.update(data).unwrap();
            let evp = s.sign_to_vec().unwrap();
            assert_eq!(rsa_sha256(&rsa, data).unwrap(), evp);
        }
    }
}
