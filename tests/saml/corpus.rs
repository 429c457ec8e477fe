//! The hostile-response corpus generator: builds a validly signed SAML Response (keys made
//! here with OpenSSL, signatures made with xmlsec through samael — an independent signer from the
//! validator's point of view only in the sense that every *hostile* variant is derived from a
//! good one by the transformations below), and the attack shapes of the tests
//! (`tests/it/saml/`) and the benchmark (`benches/saml_acs.rs`).
//!
//! Included with `#[path]` by the integration tests, the unit tests and the benchmark.
//!
//! Owns: test data only. Must not touch: anything at run time.

#![allow(dead_code)]

use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use samael::crypto::{Crypto, CryptoProvider};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A key pair and self-signed certificate.
#[derive(Clone)]
pub struct Signer {
    pub key_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

impl Signer {
    pub fn new(cn: &str) -> Self {
        Self::valid_between(
            cn,
            Asn1Time::days_from_now(0).unwrap(),
            Asn1Time::days_from_now(30).unwrap(),
        )
    }

    /// A certificate whose validity ended yesterday (valid for 90 days before that).
    #[allow(dead_code)]
    pub fn expired(cn: &str) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Self::valid_between(
            cn,
            Asn1Time::from_unix(now - 91 * 86400).unwrap(),
            Asn1Time::from_unix(now - 86400).unwrap(),
        )
    }

    fn valid_between(cn: &str, nb: Asn1Time, na: Asn1Time) -> Self {
        let rsa = Rsa::generate(2048).unwrap();
        let pkey = PKey::from_rsa(rsa).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        let serial = serial.to_asn1_integer().unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&pkey).unwrap();
        b.set_not_before(&nb).unwrap();
        b.set_not_after(&na).unwrap();
        b.sign(&pkey, MessageDigest::sha256()).unwrap();
        Signer {
            key_der: pkey.private_key_to_der().unwrap(),
            cert_der: b.build().to_der().unwrap(),
        }
    }

    pub fn cert_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.cert_der)
    }
}

/// IdP metadata for these signers (HTTP-Redirect and HTTP-POST SSO endpoints).
pub fn idp_metadata(entity_id: &str, sso_url: &str, signers: &[&Signer]) -> String {
    let keys: String = signers
        .iter()
        .map(|s| {
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                s.cert_b64()
            )
        })
        .collect();
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{entity_id}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" WantAuthnRequestsSigned=\"true\">{keys}<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{sso_url}\"/><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{sso_url}\"/></md:IDPSSODescriptor></md:EntityDescriptor>"
    )
}

/// IdP metadata whose only key is for encryption (`use="encryption"`): nothing to pin.
#[allow(dead_code)]
pub fn idp_metadata_encryption_only(entity_id: &str, sso_url: &str, signer: &Signer) -> String {
    idp_metadata(entity_id, sso_url, &[signer]).replace("use=\"signing\"", "use=\"encryption\"")
}

/// Aggregate metadata (an `EntitiesDescriptor`) holding two IdPs.
#[allow(dead_code)]
pub fn aggregate_metadata(a: (&str, &Signer), b: (&str, &Signer), sso_url: &str) -> String {
    let one = |(id, s): (&str, &Signer)| strip_decl(&idp_metadata(id, sso_url, &[s]));
    format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</md:EntitiesDescriptor>",
        one(a),
        one(b)
    )
}

pub fn new_id() -> String {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b).unwrap();
    format!("_{}", hex::encode(b))
}

fn ts(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Everything a response says.
#[derive(Clone, Debug)]
pub struct Spec {
    pub response_id: String,
    pub assertion_id: String,
    pub issue_instant: OffsetDateTime,
    pub destination: Option<String>,
    pub response_issuer: Option<String>,
    pub assertion_issuer: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
    /// Raw XML text of the NameID (already escaped: tests inject comments here).
    pub name_id_raw: String,
    pub name_id_format: String,
    pub recipient: String,
    pub scd_not_on_or_after: OffsetDateTime,
    pub not_before: OffsetDateTime,
    pub not_on_or_after: OffsetDateTime,
    pub audience: Option<String>,
    pub one_time_use: bool,
    pub attributes: Vec<(String, Vec<String>)>,
}

impl Spec {
    pub fn new(sp_entity: &str, acs: &str, idp_entity: &str, now: OffsetDateTime) -> Self {
        Spec {
            response_id: new_id(),
            assertion_id: new_id(),
            issue_instant: now,
            destination: Some(acs.to_owned()),
            response_issuer: Some(idp_entity.to_owned()),
            assertion_issuer: Some(idp_entity.to_owned()),
            in_response_to: None,
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            name_id_raw: "alice@acme.test".into(),
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
            recipient: acs.to_owned(),
            scd_not_on_or_after: now + time::Duration::minutes(5),
            not_before: now - time::Duration::seconds(30),
            not_on_or_after: now + time::Duration::minutes(5),
            audience: Some(sp_entity.to_owned()),
            one_time_use: false,
            attributes: vec![
                ("email".into(), vec!["alice@acme.test".into()]),
                ("name".into(), vec!["Alice Example".into()]),
                ("groups".into(), vec!["admins".into(), "staff".into()]),
            ],
        }
    }
}

/// The enveloped signature template over `#id` (rsa-sha256, exc-c14n, sha256).
pub fn template(id: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#{id}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"
    )
}

/// The same template with rsa-sha1 / sha1 (must be refused by the allow-list).
pub fn template_sha1(id: &str) -> String {
    template(id)
        .replace(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        )
        .replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
}

/// Sign the first signature template of a document.
pub fn sign(xml: &str, signer: &Signer) -> String {
    let out = Crypto::sign_xml(xml, &signer.key_der).expect("xmlsec signs");
    strip_decl(&out)
}

pub fn strip_decl(s: &str) -> String {
    let s = s.trim_start();
    match s.strip_prefix("<?xml") {
        Some(rest) => match rest.find("?>") {
            Some(i) => rest[i + 2..].trim_start().to_owned(),
            None => s.to_owned(),
        },
        None => s.to_owned(),
    }
}

/// The assertion XML; `sig` is a template (or "") placed after its Issuer.
pub fn assertion_xml(s: &Spec, sig: &str) -> String {
    let issuer = s
        .assertion_issuer
        .as_ref()
        .map(|i| format!("<saml:Issuer>{}</saml:Issuer>", esc(i)))
        .unwrap_or_default();
    let irt = s
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{}\"", esc(i)))
        .unwrap_or_default();
    let audience = s
        .audience
        .as_ref()
        .map(|a| {
            format!(
                "<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>",
                esc(a)
            )
        })
        .unwrap_or_default();
    let otu = if s.one_time_use {
        "<saml:OneTimeUse/>"
    } else {
        ""
    };
    let attrs: String = s
        .attributes
        .iter()
        .map(|(n, vs)| {
            let values: String = vs
                .iter()
                .map(|v| {
                    format!(
                        "<saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue>",
                        esc(v)
                    )
                })
                .collect();
            format!(
                "<saml:Attribute Name=\"{}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\">{values}</saml:Attribute>",
                esc(n)
            )
        })
        .collect();
    format!(
        concat!(
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" ",
            "ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{ii}\">{issuer}{sig}",
            "<saml:Subject><saml:NameID Format=\"{nif}\">{nid}</saml:NameID>",
            "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"{scd}\" Recipient=\"{rcp}\"{irt}/>",
            "</saml:SubjectConfirmation></saml:Subject>",
            "<saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{na}\">{aud}{otu}</saml:Conditions>",
            "<saml:AuthnStatement AuthnInstant=\"{ii}\" SessionIndex=\"_s1\"><saml:AuthnContext>",
            "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>",
            "</saml:AuthnContext></saml:AuthnStatement>",
            "<saml:AttributeStatement>{attrs}</saml:AttributeStatement>",
            "</saml:Assertion>"
        ),
        aid = s.assertion_id,
        ii = ts(s.issue_instant),
        issuer = issuer,
        sig = sig,
        nif = esc(&s.name_id_format),
        nid = s.name_id_raw,
        scd = ts(s.scd_not_on_or_after),
        rcp = esc(&s.recipient),
        irt = irt,
        nb = ts(s.not_before),
        na = ts(s.not_on_or_after),
        aud = audience,
        otu = otu,
        attrs = attrs,
    )
}

/// A signed assertion (its own enveloped signature).
pub fn signed_assertion(s: &Spec, signer: &Signer) -> String {
    sign(&assertion_xml(s, &template(&s.assertion_id)), signer)
}

/// The response around `assertion` (already serialized); `sig` is a template or "".
pub fn response_xml(s: &Spec, assertion: &str, sig: &str, extra: &str) -> String {
    let issuer = s
        .response_issuer
        .as_ref()
        .map(|i| {
            format!(
                "<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</saml:Issuer>",
                esc(i)
            )
        })
        .unwrap_or_default();
    let dest = s
        .destination
        .as_ref()
        .map(|d| format!(" Destination=\"{}\"", esc(d)))
        .unwrap_or_default();
    let irt = s
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{}\"", esc(i)))
        .unwrap_or_default();
    format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\"{dest}{irt}>{issuer}{sig}{extra}<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>{assertion}</samlp:Response>",
        s.response_id,
        ts(s.issue_instant),
        esc(&s.status),
    )
}

/// The standard good response: assertion signed, then the response signed.
pub fn good(s: &Spec, signer: &Signer) -> String {
    let a = signed_assertion(s, signer);
    sign(&response_xml(s, &a, &template(&s.response_id), ""), signer)
}

/// Response signed, assertion unsigned.
pub fn response_signed_only(s: &Spec, signer: &Signer) -> String {
    let a = assertion_xml(s, "");
    sign(&response_xml(s, &a, &template(&s.response_id), ""), signer)
}

/// Assertion signed, response unsigned (Entra/Okta default).
pub fn assertion_signed_only(s: &Spec, signer: &Signer) -> String {
    let a = signed_assertion(s, signer);
    response_xml(s, &a, "", "")
}

/// Nothing signed.
pub fn unsigned(s: &Spec) -> String {
    response_xml(s, &assertion_xml(s, ""), "", "")
}

pub fn b64(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml.as_bytes())
}

/// DEFLATE + base64 (HTTP-Redirect binding encoding).
pub fn deflate_b64(data: &[u8]) -> String {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap())
}

/// An evil copy of the spec: another subject and fresh ids.
pub fn evil(s: &Spec) -> Spec {
    let mut e = s.clone();
    e.assertion_id = new_id();
    e.response_id = new_id();
    e.name_id_raw = "mallory@acme.test".into();
    e.attributes = vec![("email".into(), vec!["mallory@acme.test".into()])];
    e
}

/// The assertion element of a serialized response.
pub fn extract_assertion(resp: &str) -> String {
    let start = resp.find("<saml:Assertion").unwrap();
    let end = resp.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    resp[start..end].to_owned()
}

/// The eight signature-wrapping shapes of Somorovsky et al., "On Breaking SAML" (2012), built
/// from a good response of `s`: each moves the signed element somewhere and puts an evil
/// assertion where a naive consumer would read it.
pub fn xsw(n: u8, s: &Spec, signer: &Signer) -> String {
    let ev = evil(s);
    let evil_assertion = assertion_xml(&ev, "");
    match n {
        // XSW1: evil response (new ID), the original signed response inside its Signature.
        1 => {
            let orig = response_signed_only(s, signer);
            let sig_start = orig.find("<ds:Signature").unwrap();
            let sig_end = orig.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let sig = &orig[sig_start..sig_end];
            let wrapped = sig.replace(
                "</ds:Signature>",
                &format!("<ds:Object>{orig}</ds:Object></ds:Signature>"),
            );
            response_xml(&ev, &evil_assertion, &wrapped, "")
        }
        // XSW2: evil response, the original signed response as a detached sibling before it.
        2 => {
            let orig = response_signed_only(s, signer);
            let sig_start = orig.find("<ds:Signature").unwrap();
            let sig_end = orig.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let sig = orig[sig_start..sig_end].to_owned();
            response_xml(&ev, &evil_assertion, &format!("{orig}{sig}"), "")
        }
        // XSW3: evil assertion first, the original signed assertion after it.
        3 => {
            let a = signed_assertion(s, signer);
            let mut r = response_xml(s, &a, "", "");
            let at = r.find("<saml:Assertion").unwrap();
            r.insert_str(at, &evil_assertion);
            r
        }
        // XSW4: the original signed assertion inside the evil one.
        4 => {
            let a = signed_assertion(s, signer);
            let wrapped =
                evil_assertion.replace("</saml:Assertion>", &format!("{a}</saml:Assertion>"));
            response_xml(s, &wrapped, "", "")
        }
        // XSW5: the evil assertion carries the original's signature; the original (unsigned
        // copy) is appended at the end.
        5 => {
            let a = signed_assertion(s, signer);
            let sig_start = a.find("<ds:Signature").unwrap();
            let sig_end = a.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let sig = &a[sig_start..sig_end];
            let mut ev2 = ev.clone();
            ev2.assertion_id = s.assertion_id.clone();
            let evil_signed = assertion_xml(&ev2, sig);
            let copy = a.replace(sig, "").replace(&s.assertion_id, &new_id());
            response_xml(s, &format!("{evil_signed}{copy}"), "", "")
        }
        // XSW6: the evil assertion carries the signature, the original inside its Object.
        6 => {
            let a = signed_assertion(s, signer);
            let sig_start = a.find("<ds:Signature").unwrap();
            let sig_end = a.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let sig = &a[sig_start..sig_end];
            let wrapped_sig = sig.replace(
                "</ds:Signature>",
                &format!(
                    "<ds:Object>{}</ds:Object></ds:Signature>",
                    a.replace(sig, "")
                ),
            );
            let evil_signed = assertion_xml(&ev, &wrapped_sig);
            response_xml(s, &evil_signed, "", "")
        }
        // XSW7: the evil assertion inside Extensions, the original signed assertion in place.
        7 => {
            let a = signed_assertion(s, signer);
            let ext = format!("<samlp:Extensions>{evil_assertion}</samlp:Extensions>");
            response_xml(s, &a, "", &ext)
        }
        // XSW9: evil response; the original signed response hidden in its Extensions.
        9 => {
            let orig = response_signed_only(s, signer);
            let ext = format!("<samlp:Extensions>{}</samlp:Extensions>", strip_decl(&orig));
            response_xml(&ev, &evil_assertion, "", &ext)
        }
        // XSW10: the evil assertion in place, the original signed assertion hidden inside its
        // SubjectConfirmationData (whose schema admits any element).
        10 => {
            let a = signed_assertion(s, signer);
            let at = evil_assertion
                .find("<saml:SubjectConfirmationData")
                .unwrap();
            let end = at + evil_assertion[at..].find("/>").unwrap();
            let wrapped = format!(
                "{}>{}</saml:SubjectConfirmationData>{}",
                &evil_assertion[..end],
                strip_decl(&a),
                &evil_assertion[end + 2..]
            );
            response_xml(s, &wrapped, "", "")
        }
        // XSW8: the evil assertion's Signature holds the original assertion (signature
        // removed) in an Object.
        _ => {
            let a = signed_assertion(s, signer);
            let sig_start = a.find("<ds:Signature").unwrap();
            let sig_end = a.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let sig = &a[sig_start..sig_end];
            let stripped = a.replace(sig, "");
            let wrapped_sig = sig.replace(
                "</ds:Signature>",
                &format!("<ds:Object>{stripped}</ds:Object></ds:Signature>"),
            );
            let mut ev2 = ev.clone();
            ev2.assertion_id = new_id();
            response_xml(s, &assertion_xml(&ev2, &wrapped_sig), "", "")
        }
    }
}

/// A good response whose signatures carry a `KeyInfo` with `attacker`'s certificate, signed by
/// the attacker.
pub fn keyinfo_attacker(s: &Spec, attacker: &Signer) -> String {
    let with_ki = |id: &str| {
        template(id).replace(
            "</ds:SignatureValue>",
            &format!(
                "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                attacker.cert_b64()
            ),
        )
    };
    let a = sign(&assertion_xml(s, &with_ki(&s.assertion_id)), attacker);
    sign(&response_xml(s, &a, &with_ki(&s.response_id), ""), attacker)
}

/// Signed with rsa-sha1 (by the right key): refused by the algorithm allow-list.
pub fn sha1_signed(s: &Spec, signer: &Signer) -> String {
    let a = sign(&assertion_xml(s, &template_sha1(&s.assertion_id)), signer);
    sign(
        &response_xml(s, &a, &template_sha1(&s.response_id), ""),
        signer,
    )
}
