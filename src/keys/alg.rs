//! Signing algorithms and key material: the JWS algorithm of each Lobby algorithm, private key
//! generation (PKCS#8), the public JWK and its RFC 7638 thumbprint, and the parsed signer.
//!
//! Owns: the cryptography of one key. Must not touch: the ring (which keys exist, their
//! status), storage, sealing, token contents.

use super::{KeyError, Result};
use crate::domain::{KeyId, SigningAlg};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};

/// The JWS algorithm for a Lobby signing algorithm.
pub fn jws_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// Only the three algorithms Lobby signs with map back; everything else (HS*, `none`, PS*,
/// ES384 …) is `None`.
pub(super) fn lobby_alg(alg: Algorithm) -> Option<SigningAlg> {
    match alg {
        Algorithm::RS256 => Some(SigningAlg::RS256),
        Algorithm::ES256 => Some(SigningAlg::ES256),
        Algorithm::EdDSA => Some(SigningAlg::EdDSA),
        _ => None,
    }
}

/// A new private key for `alg`, PKCS#8 DER (v1).
pub fn generate_pkcs8(alg: SigningAlg) -> Result<Vec<u8>> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let err = |e: aws_lc_rs::error::Unspecified| KeyError::Generate(e.to_string());
    Ok(match alg {
        SigningAlg::RS256 => {
            let kp =
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(err)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = kp.as_der().map_err(err)?;
            der.as_ref().to_vec()
        }
        SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(err)?
            .to_pkcs8v1()
            .map_err(err)?
            .as_ref()
            .to_vec(),
        SigningAlg::EdDSA => Ed25519KeyPair::generate()
            .map_err(err)?
            .to_pkcs8v1()
            .map_err(err)?
            .as_ref()
            .to_vec(),
    })
}

/// PKCS#8 DER in PEM armour (jsonwebtoken reads RSA PKCS#8 only as PEM).
fn pkcs8_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    s.push_str("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(line));
        s.push('\n');
    }
    s.push_str("-----END PRIVATE KEY-----\n");
    s
}

/// The jsonwebtoken signing key for a PKCS#8 private key.
pub(super) fn encoding_key(
    alg: SigningAlg,
    pkcs8: &[u8],
) -> std::result::Result<EncodingKey, String> {
    match alg {
        SigningAlg::RS256 => {
            EncodingKey::from_rsa_pem(pkcs8_pem(pkcs8).as_bytes()).map_err(|e| e.to_string())
        }
        SigningAlg::ES256 => Ok(EncodingKey::from_ec_der(pkcs8)),
        SigningAlg::EdDSA => Ok(EncodingKey::from_ed_der(pkcs8)),
    }
}

/// The public JWK (`kty`, `alg`, `use: sig`, `kid` and the public parameters) and its RFC 7638
/// thumbprint, computed from the private key.
pub(super) fn public_jwk(
    alg: SigningAlg,
    key: &EncodingKey,
) -> std::result::Result<(Jwk, KeyId), String> {
    let mut jwk = Jwk::from_encoding_key(key, jws_alg(alg)).map_err(|e| e.to_string())?;
    let thumbprint = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| e.to_string())?;
    let kid = KeyId::parse(&thumbprint).map_err(|e| e.to_string())?;
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_id = Some(thumbprint);
    Ok((jwk, kid))
}

/// A private key parsed once, signing without re-parsing (jsonwebtoken's `encode` re-parses the
/// DER of an `EncodingKey` on every call, which for RSA costs about a third of a signature).
pub(super) enum CachedSigner {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
    Ed(aws_lc_rs::signature::Ed25519KeyPair),
}

impl CachedSigner {
    pub(super) fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> std::result::Result<Self, String> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
        let e = |e: aws_lc_rs::error::KeyRejected| e.to_string();
        Ok(match alg {
            SigningAlg::RS256 => Self::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8).map_err(e)?),
            SigningAlg::ES256 => Self::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(e)?,
            ),
            SigningAlg::EdDSA => Self::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(e)?),
        })
    }

    /// RFC 7518 §3.3 (RSASSA-PKCS1-v1_5 SHA-256), §3.4 (ECDSA P-256 SHA-256, R ‖ S fixed
    /// width), RFC 8037 §3.1 (Ed25519).
    pub(super) fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(kp) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|e| e.to_string())?;
                Ok(sig)
            }
            Self::Ec(kp) => Ok(kp
                .sign(&rng, msg)
                .map_err(|e| e.to_string())?
                .as_ref()
                .to_vec()),
            Self::Ed(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
