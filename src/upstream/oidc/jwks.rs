//! An IdP's JSON Web Key Set (RFC 7517 §5): parsed once per fetch into aws-lc public keys, one
//! per algorithm the key may verify (RFC 7517 §4), so a signature check parses nothing (what
//! it costs is the public-key operation itself: docs/perf-issue17.md, session 6).
//!
//! Owns: which keys of a set Lobby can use and which algorithm each key fits. Must not touch:
//! fetching and caching (`cache`), choosing the key for a token and checking its signature
//! (`id_token`).

use super::OidcError;
use crate::domain::JwsAlg;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// An IdP's JWKS (RFC 7517 §5), each key prepared once for signature checks (not per token).
pub struct Jwks {
    pub(super) keys: Vec<VerifyKey>,
}

/// One public key of a JWKS: the members that decide which tokens it may verify (RFC 7517 §4),
/// and the key itself, parsed once for each algorithm it [fits](VerifyKey::fits).
pub(super) struct VerifyKey {
    pub(super) kid: Option<String>,
    kty: String,
    crv: Option<String>,
    use_: Option<String>,
    alg: Option<String>,
    parsed: Vec<(JwsAlg, ParsedPublicKey)>,
}

impl Jwks {
    /// How many keys of the set Lobby can use at all (never 0: [`parse_jwks`] refuses that).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// How many keys could verify a token signed with one of `algs`.
    pub fn usable_with(&self, algs: &[JwsAlg]) -> usize {
        self.keys
            .iter()
            .filter(|k| algs.iter().any(|&a| k.fits(a)))
            .count()
    }
}

impl VerifyKey {
    /// Whether this key can verify `alg`: its `kty` (and `crv`) belong to the algorithm, `use`
    /// is absent or `sig`, `alg` is absent or the same.
    pub(super) fn fits(&self, alg: JwsAlg) -> bool {
        if self.use_.as_deref().is_some_and(|u| u != "sig")
            || self.alg.as_deref().is_some_and(|a| a != alg.as_str())
        {
            return false;
        }
        let (kty, crv) = (self.kty.as_str(), self.crv.as_deref());
        match alg {
            JwsAlg::RS256
            | JwsAlg::RS384
            | JwsAlg::RS512
            | JwsAlg::PS256
            | JwsAlg::PS384
            | JwsAlg::PS512 => kty == "RSA",
            JwsAlg::ES256 => kty == "EC" && crv == Some("P-256"),
            JwsAlg::ES384 => kty == "EC" && crv == Some("P-384"),
            JwsAlg::EdDSA => kty == "OKP" && crv == Some("Ed25519"),
        }
    }

    /// Whether `signature` is this key's signature of `message` under `alg` (RFC 7515 §5.2).
    /// False for an algorithm the key does not fit. RSA keys must be 2,048–8,192 bits.
    pub(super) fn verifies(&self, alg: JwsAlg, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }
}

/// A JWK's key material, decoded from base64url (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
enum Material {
    /// `n` and `e`, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The uncompressed point `0x04 || x || y` (SEC 1 §2.3.3).
    Ec(Vec<u8>),
    /// The 32 bytes of an Ed25519 public key.
    Okp(Vec<u8>),
}

impl Material {
    fn decode(kty: &str, k: &Value) -> Option<Self> {
        let b64 = |n: &str| {
            let s = k.get(n)?.as_str()?;
            URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
        };
        match kty {
            "RSA" => Some(Self::Rsa {
                n: b64("n")?,
                e: b64("e")?,
            }),
            "EC" => {
                let (x, y) = (b64("x")?, b64("y")?);
                if x.len() != y.len() {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Some(Self::Ec(point))
            }
            "OKP" => b64("x").map(Self::Okp),
            _ => None,
        }
    }

    /// The key parsed for `alg` (the caller has checked that the key type fits it).
    fn parse(&self, alg: JwsAlg) -> Option<ParsedPublicKey> {
        let rsa = |params: &'static sig::RsaParameters| match self {
            Self::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(params)
                .ok(),
            _ => None,
        };
        let raw = |algorithm: &'static dyn sig::VerificationAlgorithm| match self {
            Self::Ec(bytes) | Self::Okp(bytes) => ParsedPublicKey::new(algorithm, bytes).ok(),
            Self::Rsa { .. } => None,
        };
        match alg {
            JwsAlg::RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
            JwsAlg::RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
            JwsAlg::RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
            JwsAlg::PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256),
            JwsAlg::PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384),
            JwsAlg::PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512),
            // JWS ECDSA signatures are the fixed-width R || S (RFC 7518 §3.4).
            JwsAlg::ES256 => raw(&sig::ECDSA_P256_SHA256_FIXED),
            JwsAlg::ES384 => raw(&sig::ECDSA_P384_SHA384_FIXED),
            JwsAlg::EdDSA => raw(&sig::ED25519),
        }
    }
}

/// Parse a JWKS (RFC 7517 §5). Keys Lobby cannot use (symmetric or unknown key types, members
/// that do not decode) are skipped; a set left empty is refused.
pub fn parse_jwks(body: &[u8]) -> Result<Jwks, OidcError> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(body)
        .map_err(|_| OidcError::JwksInvalid("not a JSON Web Key Set".into()))?;
    let keys: Vec<VerifyKey> = set.keys.into_iter().filter_map(prepare_key).collect();
    if keys.is_empty() {
        return Err(OidcError::JwksInvalid(
            "the key set has no usable key".into(),
        ));
    }
    Ok(Jwks { keys })
}

/// One key of the set, parsed for every algorithm it fits; `None` (skipped) when its members do
/// not decode. A key whose material is not a key for an algorithm it claims to fit (P-256
/// coordinates labelled P-384, an RSA modulus with a leading zero) is kept and verifies nothing
/// under that algorithm, as before: the token is refused with `bad_signature`.
fn prepare_key(k: Value) -> Option<VerifyKey> {
    let s = |n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
    let kty = s("kty").filter(|t| matches!(t.as_str(), "RSA" | "EC" | "OKP"))?;
    let material = Material::decode(&kty, &k)?;
    let mut key = VerifyKey {
        kid: s("kid"),
        crv: s("crv"),
        use_: s("use"),
        alg: s("alg"),
        kty,
        parsed: Vec::new(),
    };
    key.parsed = JwsAlg::ALL
        .into_iter()
        .filter(|&a| key.fits(a))
        .filter_map(|a| Some((a, material.parse(a)?)))
        .collect();
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_foreign_key_sets_are_refused() {
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(br#"{"keys": [{"kty": "weird"}]}"#).is_err());
        assert!(parse_jwks(b"null").is_err());
    }

    fn one_key(jwk: Value) -> Jwks {
        parse_jwks(&serde_json::to_vec(&serde_json::json!({ "keys": [jwk] })).unwrap()).unwrap()
    }

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    /// An RSA key parsed once verifies PKCS#1 v1.5 and PSS signatures of its size, each only
    /// under its own algorithm (RFC 7518 §3.3, §3.5), and a key under 2,048 bits verifies
    /// nothing (RFC 7518 §3.3).
    #[test]
    fn rsa_keys_verify_their_own_algorithm_only() {
        use openssl::{hash::MessageDigest, pkey::PKey, rsa::Padding, rsa::Rsa, sign::Signer};
        let sign = |key: &PKey<openssl::pkey::Private>, pss: bool, msg: &[u8]| {
            let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
            if pss {
                s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                s.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                    .unwrap();
            }
            s.sign_oneshot_to_vec(msg).unwrap()
        };
        for bits in [2048, 1024] {
            let rsa = Rsa::generate(bits).unwrap();
            let jwk = serde_json::json!({"kty": "RSA", "n": b64(&rsa.n().to_vec()),
                "e": b64(&rsa.e().to_vec())});
            let key = PKey::from_rsa(rsa).unwrap();
            let set = one_key(jwk);
            let k = &set.keys[0];
            let (rs, ps) = (sign(&key, false, b"m"), sign(&key, true, b"m"));
            let big = bits >= 2048;
            for _ in 0..2 {
                assert_eq!(k.verifies(JwsAlg::RS256, b"m", &rs), big);
                assert_eq!(k.verifies(JwsAlg::PS256, b"m", &ps), big);
            }
            assert!(!k.verifies(JwsAlg::RS256, b"n", &rs), "another message");
            assert!(
                !k.verifies(JwsAlg::PS256, b"m", &rs),
                "v1.5 signature as PSS"
            );
            assert!(!k.verifies(JwsAlg::RS384, b"m", &rs), "another hash");
            assert!(!k.verifies(JwsAlg::ES256, b"m", &rs), "another key type");
        }
    }

    /// EC and Ed25519 keys: a point on the named curve verifies; coordinates of another curve
    /// keep the key in the set but verify nothing.
    #[test]
    fn ec_and_okp_keys_verify_on_their_curve() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
        };
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).unwrap();
        let p = ec.public_key().as_ref();
        let sig = ec.sign(&rng, b"m").unwrap();
        let jwk = |crv: &str| {
            serde_json::json!({"kty": "EC", "crv": crv, "x": b64(&p[1..33]),
                "y": b64(&p[33..65])})
        };
        let good = one_key(jwk("P-256"));
        assert!(good.keys[0].verifies(JwsAlg::ES256, b"m", sig.as_ref()));
        assert!(!good.keys[0].verifies(JwsAlg::ES256, b"n", sig.as_ref()));
        let mislabelled = one_key(jwk("P-384"));
        assert_eq!(mislabelled.key_count(), 1);
        assert!(!mislabelled.keys[0].verifies(JwsAlg::ES384, b"m", sig.as_ref()));
        assert!(!mislabelled.keys[0].verifies(JwsAlg::ES256, b"m", sig.as_ref()));

        let der = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap();
        let set = one_key(serde_json::json!({"kty": "OKP", "crv": "Ed25519",
            "x": b64(ed.public_key().as_ref())}));
        let sig = ed.sign(b"m");
        assert!(set.keys[0].verifies(JwsAlg::EdDSA, b"m", sig.as_ref()));
        assert!(!set.keys[0].verifies(JwsAlg::EdDSA, b"n", sig.as_ref()));
    }
}
