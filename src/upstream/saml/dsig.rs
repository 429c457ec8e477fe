//! XML Signature behind a small trait, so samael/xmlsec can be replaced later (e.g. by a
//! pure-Rust XML-DSig crate once one is audited).
//!
//! Owns: verifying XML signatures against pinned certificates and reducing a document to what
//! the signatures cover; signing an enveloped-signature template. Must not touch: SAML meaning
//! (`validate`), keys at rest (`keys::saml_sp`).
//!
//! samael footguns handled here (see CRATES.md):
//! - an empty certificate list would make samael skip verification: refused before calling it;
//! - `allowed_signature_algorithms` defaults to "anything" (SHA-1 included): we always pass
//!   [`ALLOWED_ALGORITHMS`] (rsa-sha256/384/512, ecdsa-sha256; digests of the same family);
//! - errors are `Box<dyn Error>` without `Send`: turned into [`DsigError`] right here, so no
//!   samael error ever crosses an `.await`;
//! - only the certificates we pass are used: xmlsec gets one preset key per attempt and no key
//!   manager, so a `KeyInfo` in the message (an attacker's certificate) is never trusted;
//! - samael loads each certificate into xmlsec again for every signature (a DER decode in
//!   OpenSSL, most of a verification's cost): [`SamaelDsig`] keeps the loaded public keys in a
//!   cache addressed by the certificate's exact DER bytes, through the patched samael in
//!   `vendor/samael` (`reduce_xml_to_signed_with_prepared_keys`). Only the keys of the
//!   certificates pinned *now* (the `pinned` argument) are looked up, so a certificate that
//!   left the metadata can never verify again, cached or not;
//! - libxmlsec1 prints its own errors to stderr (not through `tracing`): a refused signature
//!   leaves an `xmlSecOpenSSLEvpSignatureVerify … data do not match` line there. We log the
//!   refusal ourselves at debug level and audit it with a reason code.

use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, PreparedVerificationKey,
    ReduceMode,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// XML-DSig SignatureMethod allow-list (XMLDSIG-MORE, RFC 6931 §2.3): no SHA-1, no DSA, no HMAC.
pub const ALLOWED_ALGORITHMS: [AllowedSignatureAlgorithm; 4] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
];

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    #[error("no pinned signing certificate")]
    NoPinnedCert,
    #[error("signature verification failed")]
    Invalid,
    #[error("signing failed: {0}")]
    Sign(String),
}

/// XML Signature operations Lobby needs.
pub trait XmlDsig: Send + Sync {
    /// Verify every `ds:Signature` of `xml` against `pinned` (DER certificates) only, with the
    /// algorithm allow-list, and return a document holding only the signed content (the signed
    /// element becomes the root). Any signature that does not verify fails the whole document.
    fn verify_and_reduce(&self, xml: &str, pinned: &[Vec<u8>]) -> Result<String, DsigError>;

    /// Fill in the `ds:Signature` template of `xml` (enveloped, referenced by `ID`) with the
    /// private key (DER).
    fn sign_template(&self, xml: &str, private_key_der: &[u8]) -> Result<String, DsigError>;
}

/// Most verification keys [`SamaelDsig`] keeps; past it the cache starts over (a deployment has
/// a few certificates per SAML connection).
const MAX_CACHED_KEYS: usize = 512;

/// The samael 0.0.22 (patched, `vendor/samael`) + libxmlsec1 implementation. Clones share one
/// cache of verification keys.
#[derive(Debug, Default, Clone)]
pub struct SamaelDsig {
    /// Certificate DER → its public key loaded into xmlsec.
    keys: Arc<Mutex<HashMap<Vec<u8>, Arc<PreparedVerificationKey>>>>,
}

impl SamaelDsig {
    /// The loaded key of each certificate, in order: from the cache, or loaded now and kept.
    fn keys_for(&self, pinned: &[Vec<u8>]) -> Vec<Arc<PreparedVerificationKey>> {
        let mut out = Vec::with_capacity(pinned.len());
        for der in pinned {
            let cached = self
                .keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(der.as_slice())
                .cloned();
            let key = match cached {
                Some(k) => k,
                None => {
                    let cert = CertificateDer::from(der.clone());
                    let k = match PreparedVerificationKey::from_cert_der(&cert) {
                        Ok(k) => Arc::new(k),
                        // A certificate xmlsec cannot load verifies nothing (samael would fail
                        // on it too): the others may still verify. Not cached.
                        Err(e) => {
                            tracing::debug!(error = %e, "pinned certificate not loadable");
                            continue;
                        }
                    };
                    let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
                    if keys.len() >= MAX_CACHED_KEYS {
                        keys.clear();
                    }
                    keys.insert(der.clone(), k.clone());
                    k
                }
            };
            out.push(key);
        }
        out
    }

    /// How many verification keys are cached (tests).
    pub fn cached_keys(&self) -> usize {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl XmlDsig for SamaelDsig {
    fn verify_and_reduce(&self, xml: &str, pinned: &[Vec<u8>]) -> Result<String, DsigError> {
        // Footgun 1: never hand samael an empty certificate list.
        if pinned.is_empty() {
            return Err(DsigError::NoPinnedCert);
        }
        let keys = self.keys_for(pinned);
        let keys: Vec<&PreparedVerificationKey> = keys.iter().map(Arc::as_ref).collect();
        // What is returned is xmlsec's pre-digest buffer of the verified reference: the exact
        // bytes the digest was computed over (after the enveloped-signature transform and
        // exclusive C14N), so the caller reads what was signed and nothing else ("see what is
        // signed", XML-DSig §8.1.3). With both the response and its assertion signed, the
        // response's bytes are returned (they contain the assertion); any other mix fails.
        // Each signature signs its own parent with one reference (`validate::signs_itself`
        // checked that before), so a document has one or two of these. Unlike samael's default
        // mode, nothing is rebuilt inside the parsed document (no `build_keep_state` match, no
        // pruning, no serialization): the buffer is xmlsec's own, kept for the digest.
        Crypto::reduce_xml_to_signed_with_prepared_keys(
            xml,
            &keys,
            ReduceMode::PreDigest,
            Some(&ALLOWED_ALGORITHMS),
        )
        .map_err(|e| {
            tracing::debug!(error = %e, "XML signature verification failed");
            DsigError::Invalid
        })
    }

    fn sign_template(&self, xml: &str, private_key_der: &[u8]) -> Result<String, DsigError> {
        Crypto::sign_xml(xml, private_key_der).map_err(|e| DsigError::Sign(e.to_string()))
    }
}

/// An enveloped-signature template (rsa-sha256, exclusive C14N, SHA-256 digest) for the element
/// with this `ID`, to be placed right after its `Issuer` (SAML core §5.4.1 / schema order).
pub fn signature_template(ref_id: &str) -> String {
    format!(
        concat!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<ds:SignedInfo>",
            "<ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>",
            "<ds:SignatureMethod Algorithm=\"{alg}\"/>",
            "<ds:Reference URI=\"#{id}\">",
            "<ds:Transforms>",
            "<ds:Transform Algorithm=\"{env}\"/>",
            "<ds:Transform Algorithm=\"{c14n}\"/>",
            "</ds:Transforms>",
            "<ds:DigestMethod Algorithm=\"{sha}\"/>",
            "<ds:DigestValue></ds:DigestValue>",
            "</ds:Reference>",
            "</ds:SignedInfo>",
            "<ds:SignatureValue></ds:SignatureValue>",
            "</ds:Signature>"
        ),
        c14n = EXC_C14N,
        alg = RSA_SHA256,
        env = ENVELOPED,
        sha = SHA256,
        id = super::xml::escape(ref_id),
    )
}
