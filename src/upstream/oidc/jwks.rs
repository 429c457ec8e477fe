//! An IdP's JSON Web Key Set (RFC 7517 §5): parsed once per fetch into `jsonwebtoken` keys,
//! each with the members that decide which tokens it may verify (RFC 7517 §4).
//!
//! Owns: which keys of a set Lobby can use and which algorithm each key fits. Must not touch:
//! fetching and caching (`cache`), choosing the key for a token and checking its signature
//! (`id_token`).

use super::OidcError;
use crate::domain::JwsAlg;
use serde_json::Value;

/// An IdP's JWKS (RFC 7517 §5), each key prepared once for signature checks (not per token).
pub struct Jwks {
    pub(super) keys: Vec<VerifyKey>,
}

/// One public key of a JWKS: the members that decide which tokens it may verify (RFC 7517 §4),
/// and the key itself, decoded.
pub(super) struct VerifyKey {
    pub(super) kid: Option<String>,
    kty: String,
    crv: Option<String>,
    use_: Option<String>,
    alg: Option<String>,
    pub(super) key: jsonwebtoken::DecodingKey,
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

fn prepare_key(k: Value) -> Option<VerifyKey> {
    let s = |n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
    let kty = s("kty").filter(|t| matches!(t.as_str(), "RSA" | "EC" | "OKP"))?;
    let (kid, crv, use_, alg) = (s("kid"), s("crv"), s("use"), s("alg"));
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k).ok()?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerifyKey {
        kid,
        kty,
        crv,
        use_,
        alg,
        key,
    })
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
}
