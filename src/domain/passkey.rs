//! Passkeys as a second factor (issue 16 item 4): a WebAuthn credential a user registered,
//! stored per user. The credential itself (public key, signature counter, backup flags) is
//! the WebAuthn library's serialized `Passkey`, kept here as opaque JSON so that storage and
//! the domain do not depend on the library (`login::mfa::passkey` reads and writes it).
//!
//! Owns: the stored passkey record, its credential id, and which passkeys count as hardware
//! keys (`amr` `hwk`).
//! Must not touch: WebAuthn ceremonies, storage, HTTP.

use super::error::{DomainError, DomainResult};
use super::ids::UserId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

/// The longest credential id WebAuthn allows (Level 3, §5.8.3: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;
/// How many passkeys one user may register.
pub const MAX_PASSKEYS_PER_USER: usize = 10;
/// The longest passkey name kept (characters).
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// A WebAuthn credential id, as unpadded base64url of its bytes (WebAuthn's own JSON form).
/// [`PasskeyCredentialId::parse`] and [`PasskeyCredentialId::from_bytes`] are the only ways in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PasskeyCredentialId(String);

impl PasskeyCredentialId {
    /// From the credential's raw bytes (1..=1023 of them).
    pub fn from_bytes(b: &[u8]) -> DomainResult<Self> {
        if b.is_empty() || b.len() > MAX_CREDENTIAL_ID_BYTES {
            return Err(DomainError::new("credential_id", "must be 1 to 1023 bytes"));
        }
        Ok(Self(URL_SAFE_NO_PAD.encode(b)))
    }

    /// From its base64url text (canonical: decoding and encoding again gives the same text).
    pub fn parse(s: &str) -> DomainResult<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| DomainError::new("credential_id", "must be unpadded base64url"))?;
        let id = Self::from_bytes(&bytes)?;
        if id.0 != s {
            return Err(DomainError::new(
                "credential_id",
                "must be canonical base64url",
            ));
        }
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PasskeyCredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One registered passkey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub credential_id: PasskeyCredentialId,
    pub user_id: UserId,
    /// What the person sees in lists ("Passkey", or what the browser called the authenticator).
    pub name: String,
    /// The WebAuthn library's serialized `Passkey` (JSON): public key, signature counter,
    /// backup eligibility and state. Rewritten after every authentication that changes it.
    pub credential: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Whether a passkey counts as a hardware-bound key: `amr` `hwk` ("proof-of-possession of a
/// hardware-secured key", RFC 8176 §2) when it does, else `swk` ("software-secured key";
/// `domain::MfaMethod::Passkey`).
///
/// Hardware-bound when the credential is not backup eligible: its private key cannot leave the
/// authenticator it was made in (a security key, a TPM, a secure enclave). A backup-eligible
/// credential is a synced passkey whose private key is copied between devices through a
/// password manager or a cloud account. The backup-eligibility flag (WebAuthn §6.1, flag BE) is
/// part of the authenticator data the authenticator signs; `authenticatorAttachment`
/// ("platform" / "cross-platform") is reported by the browser unsigned, is not read by the
/// WebAuthn library, and would call a TPM-bound Windows Hello key software.
pub fn passkey_hardware_bound(backup_eligible: bool) -> bool {
    !backup_eligible
}

/// A passkey's name as stored: trimmed, control characters removed, at most
/// [`MAX_PASSKEY_NAME_CHARS`] characters; `fallback` when nothing is left.
pub fn passkey_name(raw: Option<&str>, fallback: &str) -> String {
    let cleaned: String = raw
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_PASSKEY_NAME_CHARS)
        .collect();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ids_are_canonical_base64url_of_bounded_length() {
        let id = PasskeyCredentialId::from_bytes(&[0xfb, 0xff, 0x01]).unwrap();
        assert_eq!(id.as_str(), "-_8B");
        assert_eq!(PasskeyCredentialId::parse("-_8B").unwrap(), id);
        assert!(PasskeyCredentialId::parse("").is_err());
        assert!(PasskeyCredentialId::parse("-_8B=").is_err(), "padding");
        assert!(
            PasskeyCredentialId::parse("+/8B").is_err(),
            "standard alphabet"
        );
        assert!(
            PasskeyCredentialId::parse("AB").is_err(),
            "non-canonical trailing bits"
        );
        assert!(PasskeyCredentialId::parse("AA").is_ok());
        assert!(PasskeyCredentialId::from_bytes(&[7; MAX_CREDENTIAL_ID_BYTES]).is_ok());
        assert!(PasskeyCredentialId::from_bytes(&[7; MAX_CREDENTIAL_ID_BYTES + 1]).is_err());
        assert!(PasskeyCredentialId::from_bytes(&[]).is_err());
    }

    #[test]
    fn only_keys_that_cannot_be_synced_are_hardware_bound() {
        assert!(passkey_hardware_bound(false));
        assert!(!passkey_hardware_bound(true));
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        assert_eq!(passkey_name(None, "Passkey"), "Passkey");
        assert_eq!(passkey_name(Some("  \u{7}\n "), "Passkey"), "Passkey");
        assert_eq!(passkey_name(Some(" My\tKey "), "Passkey"), "MyKey");
        assert_eq!(passkey_name(Some(&"x".repeat(100)), "P").len(), 64);
    }
}
