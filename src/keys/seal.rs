//! Sealing of secrets at rest (token-signing private keys, upstream client secrets): AES-256-GCM
//! from `aws-lc-rs` with a random 96-bit nonce per message.
//!
//! Owns: the seal key (from `LOBBY_SECRET_KEY`, or a generated `<data_dir>/secret.key`), and the
//! sealed format `v1.` + base64url(nonce ‖ ciphertext ‖ tag). Must not touch: what is sealed,
//! storage, logging of any key material (`Debug` is redacted).
//!
//! The version prefix leaves room for a later format or key rotation; `open` refuses anything
//! else. A message sealed under one key does not open under another: the GCM tag check fails
//! and `open` says that the key differs (or the value was altered), never returns garbage.

use crate::config::Config;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Length of the seal key in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Prefix of every sealed value in the current format.
pub const PREFIX_V1: &str = "v1.";
/// Name of the generated key file in the data dir.
pub const KEY_FILE: &str = "secret.key";
/// Authenticated but not encrypted: binds sealed values to this use and format.
const AAD_V1: &[u8] = b"lobby-seal-v1";
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is not in a known format (expected the prefix \"v1.\")")]
    UnknownFormat,
    #[error("sealed value is malformed (bad base64 or too short)")]
    Malformed,
    #[error(
        "cannot open sealed value: it was sealed with a different secret key (LOBBY_SECRET_KEY or <data_dir>/secret.key) or it was altered"
    )]
    WrongKeyOrTampered,
    #[error("encryption failed")]
    Crypto,
}

/// The AES-256-GCM key that seals secrets at rest.
pub struct SealKey {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Result<Self, SealError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Crypto)?;
        Ok(Self { key })
    }

    /// A fresh random key (tests, `keys` CLI).
    pub fn generate() -> Result<Self, SealError> {
        Self::from_bytes(&random_key()?)
    }

    /// `config.secret_key` (base64, 32 bytes) when set; otherwise `<data_dir>/secret.key`,
    /// created on first start (32 random bytes, stored base64, file mode 0600, parent dir
    /// created with mode 0700). Using the file logs a warning: every instance of a
    /// multi-instance deployment must share one key through `LOBBY_SECRET_KEY`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        if let Some(k) = &config.secret_key {
            let bytes = decode_key(k.expose()).ok_or_else(|| {
                anyhow::anyhow!("LOBBY_SECRET_KEY must be 32 bytes, base64-encoded")
            })?;
            return Ok(Self::from_bytes(&bytes)?);
        }
        let path = config.data_dir.join(KEY_FILE);
        let (bytes, created) = load_or_create_key_file(&path)?;
        if created {
            tracing::warn!(
                path = %path.display(),
                "generated a new secret key to seal signing keys at rest; for a multi-instance deployment set LOBBY_SECRET_KEY (the same on every instance) instead, and back this key up: without it the stored signing keys cannot be opened"
            );
        } else {
            tracing::warn!(
                path = %path.display(),
                "sealing secrets with the key file in the data dir; for a multi-instance deployment set LOBBY_SECRET_KEY (the same on every instance)"
            );
        }
        Ok(Self::from_bytes(&bytes)?)
    }

    /// Encrypts `plaintext`: `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(AAD_V1), &mut buf)
            .map_err(|_| SealError::Crypto)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX_V1}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Decrypts a value made by [`SealKey::seal`].
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let body = sealed
            .strip_prefix(PREFIX_V1)
            .ok_or(SealError::UnknownFormat)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD_V1), &mut buf)
            .map_err(|_| SealError::WrongKeyOrTampered)?;
        Ok(plain.to_vec())
    }
}

fn random_key() -> Result<[u8; KEY_LEN], SealError> {
    let mut b = [0u8; KEY_LEN];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| SealError::Crypto)?;
    Ok(b)
}

/// Base64 (standard, padding optional, surrounding whitespace ignored) of exactly 32 bytes.
fn decode_key(text: &str) -> Option<[u8; KEY_LEN]> {
    let t = text.trim();
    let v = STANDARD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .ok()?;
    v.try_into().ok()
}

/// Reads the key file, or creates it atomically when missing: the key is written to a private
/// temporary file which is then hard-linked into place, so a concurrent start never sees a
/// half-written key and never overwrites a key another process created. `(key, created)`.
fn load_or_create_key_file(path: &Path) -> anyhow::Result<([u8; KEY_LEN], bool)> {
    match read_key_file(path) {
        Ok(k) => return Ok((k, false)),
        Err(ReadKey::Missing) => {}
        Err(ReadKey::Other(e)) => return Err(e),
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let key = random_key()?;
    let tmp: PathBuf = dir.join(format!(".{KEY_FILE}.{}.tmp", crate::domain::random_token()));
    let written = (|| -> std::io::Result<()> {
        let mut f = private_file(&tmp)?;
        f.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("cannot write {}: {e}", tmp.display());
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok((key, true)),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_key_file(path) {
            Ok(k) => Ok((k, false)),
            Err(ReadKey::Missing) => anyhow::bail!("{} vanished while starting", path.display()),
            Err(ReadKey::Other(e)) => Err(e),
        },
        // A filesystem without hard links: create the file exclusively in place instead.
        Err(_) => {
            let direct = (|| -> std::io::Result<()> {
                let mut f = private_file(path)?;
                f.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())?;
                f.sync_all()
            })();
            match direct {
                Ok(()) => Ok((key, true)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match read_key_file(path) {
                        Ok(k) => Ok((k, false)),
                        Err(ReadKey::Missing) => {
                            anyhow::bail!("{} vanished while starting", path.display())
                        }
                        Err(ReadKey::Other(e)) => Err(e),
                    }
                }
                Err(e) => anyhow::bail!("cannot create {}: {e}", path.display()),
            }
        }
    }
}

enum ReadKey {
    Missing,
    Other(anyhow::Error),
}

fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], ReadKey> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadKey::Missing),
        Err(e) => {
            return Err(ReadKey::Other(anyhow::anyhow!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    warn_if_shared(path);
    // Accept the base64 text Lobby writes, or exactly 32 raw bytes.
    let key = std::str::from_utf8(&bytes)
        .ok()
        .and_then(decode_key)
        .or_else(|| bytes.as_slice().try_into().ok());
    key.ok_or_else(|| {
        ReadKey::Other(anyhow::anyhow!(
            "{} does not hold a 32-byte key (base64); restore it from backup or set LOBBY_SECRET_KEY",
            path.display()
        ))
    })
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the secret key file is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Secret;

    fn config(dir: &Path) -> Config {
        Config::for_tests("sqlite::memory:", dir)
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let k = SealKey::generate().unwrap();
        let a = k.seal(b"private key bytes").unwrap();
        let b = k.seal(b"private key bytes").unwrap();
        assert!(a.starts_with("v1."));
        assert_ne!(a, b, "a random nonce per message");
        assert!(!a.contains("private"));
        assert_eq!(k.open(&a).unwrap(), b"private key bytes");
        assert_eq!(k.open(&b).unwrap(), b"private key bytes");
        assert_eq!(k.open(&k.seal(b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn wrong_key_and_tampering_are_errors() {
        let k1 = SealKey::generate().unwrap();
        let k2 = SealKey::generate().unwrap();
        let s = k1.seal(b"secret").unwrap();
        let e = k2.open(&s).unwrap_err();
        assert!(matches!(e, SealError::WrongKeyOrTampered));
        assert!(e.to_string().contains("different secret key"));

        // Flip one bit of the ciphertext.
        let mut raw = URL_SAFE_NO_PAD.decode(&s[3..]).unwrap();
        raw[NONCE_LEN] ^= 1;
        let t = format!("v1.{}", URL_SAFE_NO_PAD.encode(raw));
        assert!(matches!(k1.open(&t), Err(SealError::WrongKeyOrTampered)));

        assert!(matches!(k1.open("v2.abc"), Err(SealError::UnknownFormat)));
        assert!(matches!(k1.open("plain"), Err(SealError::UnknownFormat)));
        assert!(matches!(k1.open("v1.!!!"), Err(SealError::Malformed)));
        assert!(matches!(k1.open("v1.AAAA"), Err(SealError::Malformed)));
        assert!(matches!(k1.open("v1."), Err(SealError::Malformed)));
    }

    #[test]
    fn debug_is_redacted() {
        let k = SealKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "SealKey(<redacted>)");
    }

    #[test]
    fn config_key_is_used_and_no_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.secret_key = Some(Secret::new(STANDARD.encode([9u8; 32])));
        let k = SealKey::from_config(&c).unwrap();
        let same = SealKey::from_bytes(&[9u8; 32]).unwrap();
        assert_eq!(same.open(&k.seal(b"x").unwrap()).unwrap(), b"x");
        assert!(!dir.path().join(KEY_FILE).exists());
        c.secret_key = Some(Secret::new("too-short"));
        assert!(SealKey::from_config(&c).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let c = config(&data);
        let k1 = SealKey::from_config(&c).unwrap();
        let path = data.join(KEY_FILE);
        assert!(path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "secret.key mode is {mode:o}");
            let dmode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
            assert_eq!(dmode, 0o700, "data dir mode is {dmode:o}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(STANDARD.decode(text.trim()).unwrap().len(), 32);
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A second start reuses the same key.
        let k2 = SealKey::from_config(&c).unwrap();
        assert_eq!(k2.open(&k1.seal(b"x").unwrap()).unwrap(), b"x");
    }

    #[test]
    fn corrupt_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let e = SealKey::from_config(&config(dir.path())).unwrap_err();
        assert!(e.to_string().contains("32-byte key"), "{e}");
    }
}
