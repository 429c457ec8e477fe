//! Secrets: values whose `Debug` never prints them, and the hashing of client secrets and
//! single-use tokens.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret string (client secret, password, encrypted key). `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a high-entropy secret (client secrets, invitation and refresh tokens), hex.
/// High-entropy values need no slow hash; passwords use argon2id instead (see `user`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }
    pub fn from_hex(hex_str: &str) -> Option<Self> {
        let ok = hex_str.len() == 64 && hex_str.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Self(hex_str.to_ascii_lowercase()))
    }
    pub fn as_hex(&self) -> &str {
        &self.0
    }
    /// Constant-time check of a presented secret against this hash.
    pub fn verify(&self, presented: &str) -> bool {
        let h = TokenHash::of(presented);
        h.0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// A fresh random token: 32 bytes (256 bits) from the OS RNG, base64url without padding.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn token_hash_verifies_only_the_same_secret() {
        let t = random_token();
        assert!(t.len() >= 43);
        let h = TokenHash::of(&t);
        assert!(h.verify(&t));
        assert!(!h.verify(&format!("{t}x")));
        assert!(TokenHash::from_hex(h.as_hex()).is_some());
        assert!(TokenHash::from_hex("zz").is_none());
    }
}
