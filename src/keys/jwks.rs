//! The public view of the key ring: which keys are published at a given moment, and the JWK
//! set served at `/jwks`.
//!
//! Owns: the publication rule (`Next` and `Active` keys, `Retired` ones until their
//! `retire_until`) that both `/jwks` and verification follow. Must not touch: private key
//! material (only the public JWK leaves), storage, the HTTP response (that is the provider's).

use super::ring::{KeyRing, LoadedKey};
use crate::storage::KeyStatus;
use serde_json::Value;
use time::OffsetDateTime;

impl LoadedKey {
    /// In JWKS (and accepted by `verify`) at `now`.
    pub(super) fn published(&self, now: OffsetDateTime) -> bool {
        match self.status {
            KeyStatus::Next | KeyStatus::Active => true,
            KeyStatus::Retired => self.retire_until.is_some_and(|t| now < t),
        }
    }
}

impl KeyRing {
    /// The public key set for `/jwks`: `Next`, `Active`, and `Retired` keys still before their
    /// `retire_until`. Public parameters only.
    pub fn jwks(&self) -> Value {
        let now = self.clock.now();
        let keys: Vec<Value> = self
            .snapshot()
            .keys
            .iter()
            .filter(|k| k.published(now))
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::SigningAlg;
    use crate::keys::testkit::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::{Jwk, ThumbprintHash};

    #[tokio::test]
    async fn jwks_has_public_parts_only() {
        let (ring, store) = ring(clock()).await;
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3);
        for k in keys {
            let o = k.as_object().unwrap();
            for f in ["kid", "kty", "alg", "use"] {
                assert!(o.contains_key(f), "{f} missing in {k}");
            }
            assert_eq!(k["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(!o.contains_key(private), "private member {private} in {k}");
            }
            let alg = SigningAlg::parse(k["alg"].as_str().unwrap()).unwrap();
            let expect: &[&str] = match alg {
                SigningAlg::RS256 => &["kty", "n", "e"],
                SigningAlg::ES256 => &["kty", "crv", "x", "y"],
                SigningAlg::EdDSA => &["kty", "crv", "x"],
            };
            for f in expect {
                assert!(o.contains_key(*f), "{f} missing in {k}");
            }
            match alg {
                SigningAlg::RS256 => {
                    assert_eq!(k["kty"], "RSA");
                    let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap();
                    assert_eq!(n.len(), 256, "RSA-2048");
                }
                SigningAlg::ES256 => {
                    assert_eq!(k["kty"], "EC");
                    assert_eq!(k["crv"], "P-256");
                }
                SigningAlg::EdDSA => {
                    assert_eq!(k["kty"], "OKP");
                    assert_eq!(k["crv"], "Ed25519");
                }
            }
        }
        // Stored private keys are sealed, not PKCS#8 in the clear: the stored value holds the
        // key in none of its encodings. (Not "no `MII` in it": that substring turns up in about
        // one random ciphertext in fifty.)
        let seal = crate::keys::seal::SealKey::from_bytes(&[42u8; 32]).unwrap();
        for r in store.0.lock().unwrap().iter() {
            let stored = r.private_key.expose();
            assert!(stored.starts_with("v1."));
            let der = seal.open(stored).expect("sealed with the testkit's key");
            assert_eq!(der.first(), Some(&0x30), "PKCS#8 DER inside");
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            for clear in [
                b64.as_str(),
                &URL_SAFE_NO_PAD.encode(&der),
                &hex::encode(&der),
            ] {
                assert!(!stored.contains(&clear[..32]), "the clear key is stored");
            }
            assert!(!format!("{r:?}").contains(stored));
        }
    }

    #[tokio::test]
    async fn kids_are_thumbprints_of_the_published_keys() {
        let (ring, _) = ring(clock()).await;
        for k in ring.jwks()["keys"].as_array().unwrap() {
            let jwk: Jwk = serde_json::from_value(k.clone()).unwrap();
            assert_eq!(
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
                k["kid"].as_str().unwrap()
            );
        }
    }
}
