//! Token-signing keys: generation, sealed storage, the in-memory key ring, JWKS, rotation,
//! and JWT signing/verification with an explicit algorithm allow-list.
//!
//! Owns: private keys (generated with `aws-lc-rs` — RSA-2048 for RS256, P-256 for ES256,
//! Ed25519 for EdDSA — as PKCS#8, sealed with [`SealKey`] before they reach
//! `storage::KeyStore`), key ids (RFC 7638 JWK thumbprints, SHA-256, base64url), the public JWK
//! set, and the cache of parsed keys. Must not touch: token contents (claims are the caller's),
//! HTTP, any storage other than `KeyStore`. Never uses the `rsa` crate (RUSTSEC-2023-0071).
//!
//! Key life cycle per algorithm: `Next` (published in JWKS, not signing) → `Active` (signs;
//! one per algorithm) → `Retired` (published until `retire_until`, then deleted).
//!
//! Rotation is two calls of [`KeyRing::rotate`], because relying parties cache the JWKS:
//! 1. The first call creates a `Next` key. It is published at `/jwks` at once but signs nothing.
//! 2. Wait until every relying party has refreshed its JWKS cache (at least the `/jwks`
//!    cache lifetime plus the ring reload interval of the other instances), then call again: the
//!    `Next` key becomes `Active`, the old active key becomes `Retired` with
//!    `retire_until = now + max_token_lifetime` so tokens it signed still verify until they
//!    expire, and retired keys past their `retire_until` are deleted.
//!
//! Every instance caches the keys (decrypted and parsed once, not per request) and picks up
//! changes made by another instance through [`KeyRing::reload`] (see
//! [`KeyRing::spawn_reloader`]). If several `Active` keys exist for one algorithm (two
//! instances created one at the same first start, or a crash in the middle of a rotation), the
//! newest signs; all of them stay published.

use super::seal::SealKey;
use crate::domain::{Clock, SigningAlg, trunc_millis};
use crate::storage::{KeyStatus, KeyStore, SigningKeyRecord, StorageError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key storage: {0}")]
    Storage(#[from] StorageError),
    #[error("signing key {kid}: {reason}")]
    BadKey { kid: String, reason: String },
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("no active signing key for {0}")]
    NoActiveKey(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
    /// The token was rejected; the reason is for logs, never for the client.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
}

pub type Result<T> = std::result::Result<T, KeyError>;

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
fn lobby_alg(alg: Algorithm) -> Option<SigningAlg> {
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
fn encoding_key(alg: SigningAlg, pkcs8: &[u8]) -> std::result::Result<EncodingKey, String> {
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
fn public_jwk(alg: SigningAlg, key: &EncodingKey) -> std::result::Result<(Jwk, String), String> {
    let mut jwk = Jwk::from_encoding_key(key, jws_alg(alg)).map_err(|e| e.to_string())?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| e.to_string())?;
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_id = Some(kid.clone());
    Ok((jwk, kid))
}

/// A private key parsed once, signing without re-parsing (jsonwebtoken's `encode` re-parses the
/// DER of an `EncodingKey` on every call, which for RSA costs about a third of a signature).
enum CachedSigner {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
    Ed(aws_lc_rs::signature::Ed25519KeyPair),
}

impl CachedSigner {
    fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> std::result::Result<Self, String> {
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
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, String> {
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

/// One decrypted, parsed key of the ring.
pub struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    status: KeyStatus,
    created_at: OffsetDateTime,
    retire_until: Option<OffsetDateTime>,
    encoding: EncodingKey,
    signer: CachedSigner,
    decoding: DecodingKey,
    jwk: Value,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl LoadedKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
    pub fn status(&self) -> KeyStatus {
        self.status
    }
    /// For callers that sign with `jsonwebtoken` directly; [`KeyRing::sign`] is faster.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
    /// The public JWK as published.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// In JWKS (and accepted by `verify`) at `now`.
    fn published(&self, now: OffsetDateTime) -> bool {
        match self.status {
            KeyStatus::Next | KeyStatus::Active => true,
            KeyStatus::Retired => self.retire_until.is_some_and(|t| now < t),
        }
    }

    fn load(rec: &SigningKeyRecord, seal: &SealKey) -> Result<Self> {
        let bad = |reason: String| KeyError::BadKey {
            kid: rec.kid.clone(),
            reason,
        };
        let pkcs8 = seal
            .open(rec.private_key.expose())
            .map_err(|e| bad(e.to_string()))?;
        let encoding = encoding_key(rec.alg, &pkcs8).map_err(&bad)?;
        let signer = CachedSigner::from_pkcs8(rec.alg, &pkcs8).map_err(&bad)?;
        let (jwk, kid) = public_jwk(rec.alg, &encoding).map_err(&bad)?;
        if kid != rec.kid {
            return Err(bad(
                "the stored kid is not the thumbprint of the stored key".into(),
            ));
        }
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
        let jwk = serde_json::to_value(&jwk).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            kid: rec.kid.clone(),
            alg: rec.alg,
            status: rec.status,
            created_at: rec.created_at,
            retire_until: rec.retire_until,
            encoding,
            signer,
            decoding,
            jwk,
        })
    }
}

#[derive(Default)]
struct Snapshot {
    keys: Vec<Arc<LoadedKey>>,
    /// The signing key per algorithm: the newest `Active` one.
    signers: BTreeMap<SigningAlg, Arc<LoadedKey>>,
}

/// What a call to [`KeyRing::rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Step 1: a new `Next` key is published; call `rotate` again once caches have it.
    Published { next: String },
    /// Step 2: `active` now signs; `retired` stay published until `retire_until`.
    Promoted {
        active: String,
        retired: Vec<String>,
        retire_until: OffsetDateTime,
    },
}

/// Checks applied by [`KeyRing::verify`] beyond the signature, algorithm and key.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Required exact `iss`, when set.
    pub issuer: Option<&'a str>,
    /// Required member of `aud` (string or array), when set.
    pub audience: Option<&'a str>,
    /// Required `typ` header (compared case-insensitively, RFC 7515 §4.1.9), when set: e.g.
    /// `at+jwt` so an ID token is never accepted as an access token (RFC 8725 §3.11).
    pub typ: Option<&'a str>,
    /// Clock skew allowed on `exp`/`nbf`, seconds.
    pub leeway_secs: i64,
}

/// The signing keys, loaded once and cached. Share it as `Arc<KeyRing>`.
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    seal: Arc<SealKey>,
    clock: Arc<dyn Clock>,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot();
        f.debug_struct("KeyRing")
            .field("keys", &snap.keys)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads every stored key (`seal` is shared with whatever else seals secrets at rest). Fails when a key cannot be opened (e.g. a different
    /// `LOBBY_SECRET_KEY`): Lobby must not silently replace its keys.
    pub async fn load(
        store: Arc<dyn KeyStore>,
        seal: Arc<SealKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let ring = Self {
            store,
            seal,
            clock,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
        };
        ring.reload().await?;
        Ok(ring)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the keys from storage (another instance may have rotated). On error the
    /// previous keys stay in use.
    pub async fn reload(&self) -> Result<()> {
        let records = self.store.list_keys().await?;
        let mut keys = Vec::with_capacity(records.len());
        for r in &records {
            keys.push(Arc::new(LoadedKey::load(r, &self.seal)?));
        }
        let mut signers: BTreeMap<SigningAlg, Arc<LoadedKey>> = BTreeMap::new();
        for k in keys.iter().filter(|k| k.status == KeyStatus::Active) {
            let newer = signers
                .get(&k.alg)
                .is_none_or(|cur| (k.created_at, &k.kid) > (cur.created_at, &cur.kid));
            if newer {
                signers.insert(k.alg, k.clone());
            }
        }
        keys.sort_by(|a, b| {
            (a.alg, status_rank(a.status), b.created_at).cmp(&(
                b.alg,
                status_rank(b.status),
                a.created_at,
            ))
        });
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Snapshot { keys, signers });
        Ok(())
    }

    /// Reloads every `every` in the background; stops once the ring is dropped.
    pub fn spawn_reloader(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(ring) = weak.upgrade() else { return };
                if let Err(e) = ring.reload().await {
                    tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
                }
            }
        })
    }

    /// Makes sure each algorithm in `algs` has an active key, creating one where missing (first
    /// start).
    pub async fn ensure_keys(&self, algs: &[SigningAlg]) -> Result<()> {
        self.reload().await?;
        let snap = self.snapshot();
        let mut created = false;
        for &alg in algs {
            if snap.signers.contains_key(&alg) {
                continue;
            }
            let rec = self.generate(alg, KeyStatus::Active).await?;
            match self.store.create_key(&rec).await {
                Ok(()) => {
                    tracing::info!(kid = %rec.kid, alg = alg.as_str(), "created a signing key");
                    created = true;
                }
                // Another instance got there first; its key is loaded below.
                Err(StorageError::Duplicate(_)) => created = true,
                Err(e) => return Err(e.into()),
            }
        }
        if created {
            self.reload().await?;
        }
        Ok(())
    }

    /// Key generation is CPU work (RSA in particular): off the async workers.
    async fn generate(&self, alg: SigningAlg, status: KeyStatus) -> Result<SigningKeyRecord> {
        let now = self.clock.now();
        let seal = &self.seal;
        // `SealKey` is not `Clone`; seal here after generating the DER on a blocking thread.
        let pkcs8 = tokio::task::spawn_blocking(move || generate_pkcs8(alg))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        let encoding = encoding_key(alg, &pkcs8).map_err(KeyError::Generate)?;
        let (jwk, kid) = public_jwk(alg, &encoding).map_err(KeyError::Generate)?;
        let sealed = seal
            .seal(&pkcs8)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Ok(SigningKeyRecord {
            kid,
            alg,
            status,
            private_key: crate::domain::Secret::new(sealed),
            public_jwk: serde_json::to_string(&jwk)
                .map_err(|e| KeyError::Generate(e.to_string()))?,
            created_at: trunc_millis(now),
            retire_until: None,
        })
    }

    /// The key that signs new tokens for `alg`.
    pub fn signer(&self, alg: SigningAlg) -> Result<Arc<LoadedKey>> {
        self.snapshot()
            .signers
            .get(&alg)
            .cloned()
            .ok_or(KeyError::NoActiveKey(alg.as_str()))
    }

    /// Every key currently in the ring (including retired keys past `retire_until` that have
    /// not been deleted yet).
    pub fn keys(&self) -> Vec<Arc<LoadedKey>> {
        self.snapshot().keys.clone()
    }

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

    /// One rotation step for `alg` (see the module comment): publish a `Next` key when there is
    /// none, otherwise promote it and retire the old active key until
    /// `now + max_token_lifetime`. Either way, retired keys past `retire_until` are deleted.
    pub async fn rotate(
        &self,
        alg: SigningAlg,
        now: OffsetDateTime,
        max_token_lifetime: time::Duration,
    ) -> Result<Rotation> {
        // Decide from storage, not the cache: another instance may have rotated.
        let records = self.store.list_keys().await?;
        for r in &records {
            let expired = r.status == KeyStatus::Retired && r.retire_until.is_none_or(|t| t <= now);
            if expired {
                match self.store.delete_key(&r.kid).await {
                    Ok(()) | Err(StorageError::NotFound) => {
                        tracing::info!(kid = %r.kid, "deleted a retired signing key");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let next = records
            .iter()
            .filter(|r| r.alg == alg && r.status == KeyStatus::Next)
            .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        let outcome = match next {
            None => {
                let rec = self.generate(alg, KeyStatus::Next).await?;
                self.store.create_key(&rec).await?;
                tracing::info!(kid = %rec.kid, alg = alg.as_str(), "published the next signing key");
                Rotation::Published { next: rec.kid }
            }
            Some(next) => {
                let retire_until = trunc_millis(now + max_token_lifetime);
                let old: Vec<&SigningKeyRecord> = records
                    .iter()
                    .filter(|r| r.alg == alg && r.status == KeyStatus::Active)
                    .collect();
                // Promote first so there is never a moment without an active key; a storage
                // that allows only one active key per algorithm gets the other order.
                match self
                    .store
                    .set_key_status(&next.kid, KeyStatus::Active, None)
                    .await
                {
                    Ok(()) => {
                        for o in &old {
                            self.store
                                .set_key_status(&o.kid, KeyStatus::Retired, Some(retire_until))
                                .await?;
                        }
                    }
                    Err(StorageError::Duplicate(_)) | Err(StorageError::Conflict) => {
                        for o in &old {
                            self.store
                                .set_key_status(&o.kid, KeyStatus::Retired, Some(retire_until))
                                .await?;
                        }
                        self.store
                            .set_key_status(&next.kid, KeyStatus::Active, None)
                            .await?;
                    }
                    Err(e) => return Err(e.into()),
                }
                tracing::info!(kid = %next.kid, alg = alg.as_str(), "rotated the signing key");
                Rotation::Promoted {
                    active: next.kid.clone(),
                    retired: old.iter().map(|o| o.kid.clone()).collect(),
                    retire_until,
                }
            }
        };
        self.reload().await?;
        Ok(outcome)
    }

    /// A JWT (`typ: JWT`) over `claims`, signed by the active key for `alg`, `kid` in the header.
    pub fn sign<T: Serialize>(&self, claims: &T, alg: SigningAlg) -> Result<String> {
        self.sign_typed(claims, alg, "JWT")
    }

    /// Like [`KeyRing::sign`] with another `typ` (e.g. `at+jwt`, RFC 9068 §2.1).
    pub fn sign_typed<T: Serialize>(
        &self,
        claims: &T,
        alg: SigningAlg,
        typ: &str,
    ) -> Result<String> {
        let key = self.signer(alg)?;
        let mut header = Header::new(jws_alg(alg));
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_owned());
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let h = serde_json::to_vec(&header).map_err(|e| KeyError::Sign(e.to_string()))?;
        let c = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        // RFC 7515 §7.1: BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature).
        let mut out = format!("{}.{}", enc(&h), enc(&c));
        let sig = key.signer.sign(out.as_bytes()).map_err(KeyError::Sign)?;
        out.push('.');
        out.push_str(&enc(&sig));
        Ok(out)
    }

    /// Verifies a JWT issued by this ring and returns its claims.
    ///
    /// RFC 8725 §3.1 / §2.1: the algorithm is checked against the caller's allow-list, which can
    /// only name RS256, ES256 or EdDSA — `none` and HMAC are rejected before any key is used.
    /// RFC 7515 §4.1.4: `kid` is required and must name a published key of that algorithm, so
    /// a token is never checked against a key chosen by the token beyond that. Then the
    /// signature, `exp` (required), `nbf`, and optionally `iss`/`aud` (RFC 7519 §4.1).
    pub fn verify(
        &self,
        token: &str,
        algs: &[SigningAlg],
        opts: &VerifyOptions<'_>,
    ) -> Result<Value> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| KeyError::InvalidToken("malformed"))?;
        let alg = lobby_alg(header.alg)
            .filter(|a| algs.contains(a))
            .ok_or(KeyError::InvalidToken("algorithm not allowed"))?;
        // RFC 7515 §4.1.11: Lobby understands no header extensions.
        if header.crit.is_some() {
            return Err(KeyError::InvalidToken("unsupported crit header"));
        }
        if let Some(typ) = opts.typ
            && !header
                .typ
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(KeyError::InvalidToken("wrong typ"));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or(KeyError::InvalidToken("no kid"))?;
        let now = self.clock.now();
        let snap = self.snapshot();
        let key = snap
            .keys
            .iter()
            .find(|k| k.kid == kid && k.alg == alg && k.published(now))
            .ok_or(KeyError::InvalidToken("unknown key"))?;

        let mut v = Validation::new(jws_alg(alg));
        v.algorithms = vec![jws_alg(alg)];
        v.required_spec_claims.clear();
        v.validate_exp = false; // checked below against the injected clock
        v.validate_nbf = false;
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(token, &key.decoding, &v)
            .map_err(|_| KeyError::InvalidToken("bad signature"))?;
        let claims = data.claims;

        let now_s = now.unix_timestamp();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(KeyError::InvalidToken("no exp"))?;
        if now_s >= exp.saturating_add(opts.leeway_secs) {
            return Err(KeyError::InvalidToken("expired"));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(KeyError::InvalidToken("bad nbf"))?;
            if now_s.saturating_add(opts.leeway_secs) < nbf {
                return Err(KeyError::InvalidToken("not yet valid"));
            }
        }
        if let Some(iss) = opts.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(iss)
        {
            return Err(KeyError::InvalidToken("wrong issuer"));
        }
        if let Some(aud) = opts.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(s)) => s == aud,
                Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(aud)),
                _ => false,
            };
            if !ok {
                return Err(KeyError::InvalidToken("wrong audience"));
            }
        }
        Ok(claims)
    }
}

fn status_rank(s: KeyStatus) -> u8 {
    match s {
        KeyStatus::Active => 0,
        KeyStatus::Next => 1,
        KeyStatus::Retired => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ManualClock;
    use async_trait::async_trait;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::Mutex;

    /// A small in-memory `KeyStore` for these tests.
    #[derive(Default)]
    struct MemKeys(Mutex<Vec<SigningKeyRecord>>);

    #[async_trait]
    impl KeyStore for MemKeys {
        async fn create_key(&self, k: &SigningKeyRecord) -> crate::storage::Result<()> {
            let mut v = self.0.lock().unwrap();
            if v.iter().any(|x| x.kid == k.kid) {
                return Err(StorageError::Duplicate("signing key".into()));
            }
            v.push(k.clone());
            Ok(())
        }
        async fn list_keys(&self) -> crate::storage::Result<Vec<SigningKeyRecord>> {
            Ok(self.0.lock().unwrap().clone())
        }
        async fn set_key_status(
            &self,
            kid: &str,
            status: KeyStatus,
            retire_until: Option<OffsetDateTime>,
        ) -> crate::storage::Result<()> {
            let mut v = self.0.lock().unwrap();
            let k = v
                .iter_mut()
                .find(|x| x.kid == kid)
                .ok_or(StorageError::NotFound)?;
            k.status = status;
            k.retire_until = retire_until;
            Ok(())
        }
        async fn delete_key(&self, kid: &str) -> crate::storage::Result<()> {
            let mut v = self.0.lock().unwrap();
            let before = v.len();
            v.retain(|x| x.kid != kid);
            if v.len() == before {
                return Err(StorageError::NotFound);
            }
            Ok(())
        }
    }

    const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(OffsetDateTime::now_utc()))
    }

    async fn ring_on(store: Arc<dyn KeyStore>, clock: Arc<ManualClock>) -> KeyRing {
        let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
        let ring = KeyRing::load(store, seal, clock).await.unwrap();
        ring.ensure_keys(&ALL).await.unwrap();
        ring
    }

    async fn ring(clock: Arc<ManualClock>) -> (KeyRing, Arc<MemKeys>) {
        let store = Arc::new(MemKeys::default());
        (ring_on(store.clone(), clock).await, store)
    }

    fn claims(clock: &ManualClock) -> Value {
        let now = clock.now().unix_timestamp();
        serde_json::json!({
            "iss": "https://login.example.com",
            "sub": "user-1",
            "aud": ["app-1", "app-2"],
            "iat": now,
            "exp": now + 300,
        })
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// Runs the algorithm-independent key tests on a given store (memory here; SQL when the
    /// storage backend exists).
    async fn each_alg_signs_and_verifies_on(store: Arc<dyn KeyStore>) {
        let c = clock();
        let ring = ring_on(store, c.clone()).await;
        for alg in ALL {
            let t = ring.sign(&claims(&c), alg).unwrap();
            let h = jsonwebtoken::decode_header(&t).unwrap();
            assert_eq!(h.alg, jws_alg(alg));
            assert_eq!(h.kid.as_deref(), Some(ring.signer(alg).unwrap().kid()));
            let got = ring
                .verify(
                    &t,
                    &[alg],
                    &VerifyOptions {
                        issuer: Some("https://login.example.com"),
                        audience: Some("app-2"),
                        typ: Some("jwt"),
                        leeway_secs: 0,
                    },
                )
                .unwrap();
            assert_eq!(got["sub"], "user-1");
            // Independent check: plain jsonwebtoken with the published JWK accepts our token.
            let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(ring.jwks()).unwrap();
            let jwk = jwks.find(h.kid.as_deref().unwrap()).unwrap();
            let mut v = Validation::new(jws_alg(alg));
            v.set_audience(&["app-1"]);
            let plain = jsonwebtoken::decode::<Value>(&t, &DecodingKey::from_jwk(jwk).unwrap(), &v)
                .unwrap();
            assert_eq!(plain.claims["sub"], "user-1");
            // And a token made by jsonwebtoken with the exposed EncodingKey verifies with us.
            let mut jh = Header::new(jws_alg(alg));
            jh.kid = h.kid.clone();
            let jt =
                jsonwebtoken::encode(&jh, &claims(&c), ring.signer(alg).unwrap().encoding_key())
                    .unwrap();
            ring.verify(&jt, &[alg], &VerifyOptions::default()).unwrap();
            // Not in the caller's allow-list: rejected even though the key is ours.
            let others: Vec<SigningAlg> = ALL.into_iter().filter(|a| *a != alg).collect();
            assert!(matches!(
                ring.verify(&t, &others, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("algorithm not allowed"))
            ));
        }
        // A second ring on the same store (a restart, or another instance) loads the same keys
        // and verifies tokens of the first.
        let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
        let again = KeyRing::load(ring.store.clone(), seal, c.clone())
            .await
            .unwrap();
        again.ensure_keys(&ALL).await.unwrap();
        for alg in ALL {
            assert_eq!(
                again.signer(alg).unwrap().kid(),
                ring.signer(alg).unwrap().kid()
            );
            let t = ring.sign(&claims(&c), alg).unwrap();
            again.verify(&t, &[alg], &VerifyOptions::default()).unwrap();
        }
    }

    #[tokio::test]
    async fn each_alg_signs_and_verifies() {
        each_alg_signs_and_verifies_on(Arc::new(MemKeys::default())).await;
    }

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
        // Stored private keys are sealed, not PKCS#8 in the clear.
        for r in store.0.lock().unwrap().iter() {
            assert!(r.private_key.expose().starts_with("v1."));
            assert!(!r.private_key.expose().contains("MII"));
            assert!(!format!("{r:?}").contains(r.private_key.expose()));
        }
    }

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

    #[tokio::test]
    async fn verify_rejects_alg_none() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let kid = ring.signer(SigningAlg::RS256).unwrap().kid().to_owned();
        let body = b64(&claims(&c));
        for alg in ["none", "None", "NONE"] {
            let h = b64(&serde_json::json!({"alg": alg, "kid": kid, "typ": "JWT"}));
            for sig in ["", "AAAA"] {
                let t = format!("{h}.{body}.{sig}");
                assert!(
                    ring.verify(&t, &ALL, &VerifyOptions::default()).is_err(),
                    "alg {alg} accepted"
                );
            }
        }
    }

    #[tokio::test]
    async fn verify_rejects_hs256_signed_with_the_public_key() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let signer = ring.signer(SigningAlg::RS256).unwrap();
        let jwk = signer.jwk().clone();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        // Every plausible "public key bytes" an attacker might use as the HMAC secret.
        let secrets: Vec<Vec<u8>> = vec![
            serde_json::to_vec(&jwk).unwrap(),
            n,
            jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        ];
        for secret in secrets {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some(signer.kid().to_owned());
            let t =
                jsonwebtoken::encode(&h, &claims(&c), &EncodingKey::from_secret(&secret)).unwrap();
            assert!(matches!(
                ring.verify(&t, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("algorithm not allowed"))
            ));
        }
    }

    #[tokio::test]
    async fn verify_rejects_foreign_keys_and_tampering() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let (other, _) = ring_on_fresh(c.clone()).await;
        for alg in ALL {
            // A key that is not in the ring.
            let foreign = other.sign(&claims(&c), alg).unwrap();
            assert!(matches!(
                ring.verify(&foreign, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("unknown key"))
            ));
            // A foreign signature under our kid.
            let mut h = Header::new(jws_alg(alg));
            h.kid = Some(ring.signer(alg).unwrap().kid().to_owned());
            let forged =
                jsonwebtoken::encode(&h, &claims(&c), other.signer(alg).unwrap().encoding_key())
                    .unwrap();
            assert!(matches!(
                ring.verify(&forged, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("bad signature"))
            ));
            // A tampered payload.
            let good = ring.sign(&claims(&c), alg).unwrap();
            let parts: Vec<&str> = good.split('.').collect();
            let mut evil = claims(&c);
            evil["sub"] = "admin".into();
            let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
            assert!(matches!(
                ring.verify(&tampered, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("bad signature"))
            ));
            // No kid.
            let t = jsonwebtoken::encode(
                &Header::new(jws_alg(alg)),
                &claims(&c),
                ring.signer(alg).unwrap().encoding_key(),
            )
            .unwrap();
            assert!(matches!(
                ring.verify(&t, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("no kid"))
            ));
        }
        // Garbage never panics.
        for junk in [
            "",
            ".",
            "..",
            "a.b.c",
            "x.y",
            "eyJhbGciOiJSUzI1NiJ9..",
            "\u{0}",
        ] {
            assert!(ring.verify(junk, &ALL, &VerifyOptions::default()).is_err());
        }
    }

    async fn ring_on_fresh(c: Arc<ManualClock>) -> (KeyRing, Arc<MemKeys>) {
        let store = Arc::new(MemKeys::default());
        let seal = Arc::new(SealKey::generate().unwrap());
        let ring = KeyRing::load(store.clone(), seal, c).await.unwrap();
        ring.ensure_keys(&ALL).await.unwrap();
        (ring, store)
    }

    #[tokio::test]
    async fn verify_checks_exp_nbf_iss_aud() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let now = c.now().unix_timestamp();
        let alg = SigningAlg::ES256;
        let opts = VerifyOptions::default();
        let mut cl = claims(&c);
        cl.as_object_mut().unwrap().remove("exp");
        let t = ring.sign(&cl, alg).unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("no exp"))
        ));
        let t = ring.sign(&claims(&c), alg).unwrap();
        c.advance(time::Duration::seconds(301));
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("expired"))
        ));
        let lenient = VerifyOptions {
            leeway_secs: 60,
            ..opts
        };
        ring.verify(&t, &[alg], &lenient).unwrap();

        let mut cl = claims(&c);
        cl["nbf"] = (now + 10_000).into();
        let t = ring.sign(&cl, alg).unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("not yet valid"))
        ));

        let t = ring.sign(&claims(&c), alg).unwrap();
        let wrong_iss = VerifyOptions {
            issuer: Some("https://evil.example"),
            ..opts
        };
        assert!(ring.verify(&t, &[alg], &wrong_iss).is_err());
        let wrong_aud = VerifyOptions {
            audience: Some("app-3"),
            ..opts
        };
        assert!(ring.verify(&t, &[alg], &wrong_aud).is_err());

        // typ: an ID token (typ JWT) is not an access token (typ at+jwt).
        let at_only = VerifyOptions {
            typ: Some("at+jwt"),
            ..opts
        };
        assert!(matches!(
            ring.verify(&t, &[alg], &at_only),
            Err(KeyError::InvalidToken("wrong typ"))
        ));
        let at = ring.sign_typed(&claims(&c), alg, "at+jwt").unwrap();
        ring.verify(&at, &[alg], &at_only).unwrap();

        // crit: no extension is understood, so a token naming one is refused.
        let kid = ring.signer(alg).unwrap().kid().to_owned();
        let mut h = Header::new(jws_alg(alg));
        h.kid = Some(kid);
        h.crit = Some(vec!["exp".into()]);
        let t = jsonwebtoken::encode(&h, &claims(&c), ring.signer(alg).unwrap().encoding_key())
            .unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("unsupported crit header"))
        ));
    }

    fn jwks_kids(ring: &KeyRing) -> Vec<String> {
        ring.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn stored_kids(store: &Arc<dyn KeyStore>) -> Vec<String> {
        store
            .list_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.kid)
            .collect()
    }

    #[tokio::test]
    async fn rotation_is_two_steps_and_retired_keys_leave_jwks() {
        rotation_on(Arc::new(MemKeys::default())).await;
    }

    async fn rotation_on(store: Arc<dyn KeyStore>) {
        let c = clock();
        let ring = ring_on(store.clone(), c.clone()).await;
        let alg = SigningAlg::RS256;
        let life = time::Duration::minutes(10);
        let a = ring.signer(alg).unwrap().kid().to_owned();
        let old_token = ring.sign(&claims(&c), alg).unwrap();

        // Step 1: publish B; A still signs.
        let Rotation::Published { next: b } = ring.rotate(alg, c.now(), life).await.unwrap() else {
            panic!("first rotate publishes");
        };
        assert_ne!(a, b);
        assert_eq!(ring.signer(alg).unwrap().kid(), a);
        let kids = jwks_kids(&ring);
        assert!(kids.contains(&a) && kids.contains(&b));

        // Step 2: B signs, A retired until now + life.
        c.advance(time::Duration::hours(1));
        let r = ring.rotate(alg, c.now(), life).await.unwrap();
        let Rotation::Promoted {
            active,
            retired,
            retire_until,
        } = r
        else {
            panic!("second rotate promotes");
        };
        assert_eq!(active, b);
        assert_eq!(retired, vec![a.clone()]);
        assert_eq!(retire_until, trunc_millis(c.now() + life));
        assert_eq!(ring.signer(alg).unwrap().kid(), b);
        let kids = jwks_kids(&ring);
        assert!(kids.contains(&a) && kids.contains(&b), "A stays published");
        let new_token = ring.sign(&claims(&c), alg).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .unwrap()
                .kid
                .as_deref(),
            Some(b.as_str())
        );
        // Tokens of A still verify while A is published (leeway for the hour we skipped).
        let lenient = VerifyOptions {
            leeway_secs: 7200,
            ..Default::default()
        };
        ring.verify(&old_token, &[alg], &lenient).unwrap();
        // The other algorithms are untouched.
        assert_eq!(ring.keys().iter().filter(|k| k.alg() != alg).count(), 2);

        // Past retire_until, A leaves JWKS and verification at once (before any cleanup)…
        c.advance(life + time::Duration::seconds(1));
        assert!(!jwks_kids(&ring).contains(&a));
        assert!(matches!(
            ring.verify(&old_token, &[alg], &lenient),
            Err(KeyError::InvalidToken("unknown key"))
        ));
        assert!(stored_kids(&store).await.contains(&a));
        // …and the next rotation deletes it from storage.
        let Rotation::Published { next: cc } = ring.rotate(alg, c.now(), life).await.unwrap()
        else {
            panic!("publishes again");
        };
        assert!(!stored_kids(&store).await.contains(&a));
        let kids = jwks_kids(&ring);
        assert!(kids.contains(&b) && kids.contains(&cc) && !kids.contains(&a));
    }

    #[tokio::test]
    async fn a_different_seal_key_refuses_to_load() {
        let (_ring, store) = ring(clock()).await;
        different_seal_key_on(store).await;
    }

    async fn different_seal_key_on(store: Arc<dyn KeyStore>) {
        let c = clock();
        let _ring = ring_on(store.clone(), c.clone()).await;
        let wrong = Arc::new(SealKey::generate().unwrap());
        let e = KeyRing::load(store, wrong, c).await.unwrap_err();
        assert!(matches!(e, KeyError::BadKey { .. }));
        assert!(e.to_string().contains("different secret key"), "{e}");
    }

    #[tokio::test]
    async fn a_swapped_kid_is_refused() {
        let c = clock();
        let (_ring, store) = ring(c.clone()).await;
        {
            let mut v = store.0.lock().unwrap();
            v[0].kid = "not-the-thumbprint".into();
        }
        let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
        assert!(matches!(
            KeyRing::load(store, seal, c).await,
            Err(KeyError::BadKey { .. })
        ));
    }

    #[tokio::test]
    async fn two_actives_after_a_race_pick_the_newest_deterministically() {
        let c = clock();
        let store = Arc::new(MemKeys::default());
        let r1 = ring_on(store.clone(), c.clone()).await;
        c.advance(time::Duration::seconds(1));
        // A second instance that started at the same moment created its own active key.
        let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
        let empty = Arc::new(MemKeys::default());
        let r2 = KeyRing::load(empty.clone(), seal, c.clone()).await.unwrap();
        r2.ensure_keys(&[SigningAlg::ES256]).await.unwrap();
        let late = empty.0.lock().unwrap()[0].clone();
        store.create_key(&late).await.unwrap();
        r1.reload().await.unwrap();
        assert_eq!(r1.signer(SigningAlg::ES256).unwrap().kid(), late.kid);
        assert_eq!(jwks_kids(&r1).len(), 4, "both ES256 keys stay published");
    }

    #[tokio::test]
    async fn debug_output_has_no_key_material() {
        let (ring, store) = ring(clock()).await;
        let d = format!("{ring:?}");
        for r in store.0.lock().unwrap().iter() {
            assert!(!d.contains(r.private_key.expose()));
        }
        assert!(!d.contains("BEGIN"));
    }

    /// The same cases on the real SQL backend (SQLite in memory).
    mod sqlite {
        use super::*;

        async fn store() -> Arc<dyn KeyStore> {
            crate::storage::open("sqlite::memory:").await.unwrap()
        }

        #[tokio::test]
        async fn each_alg_signs_and_verifies() {
            each_alg_signs_and_verifies_on(store().await).await;
        }

        #[tokio::test]
        async fn rotation_is_two_steps_and_retired_keys_leave_jwks() {
            rotation_on(store().await).await;
        }

        #[tokio::test]
        async fn a_different_seal_key_refuses_to_load() {
            different_seal_key_on(store().await).await;
        }

        #[tokio::test]
        async fn stored_records_round_trip_sealed() {
            let store = store().await;
            let c = clock();
            let ring = ring_on(store.clone(), c.clone()).await;
            let recs = store.list_keys().await.unwrap();
            assert_eq!(recs.len(), 3);
            for r in &recs {
                assert!(r.private_key.expose().starts_with("v1."));
                assert_eq!(r.status, KeyStatus::Active);
                let jwk: Value = serde_json::from_str(&r.public_jwk).unwrap();
                assert_eq!(jwk["kid"], r.kid.as_str());
                assert_eq!(ring.signer(r.alg).unwrap().kid(), r.kid);
            }
        }
    }

    #[tokio::test]
    async fn reloader_stops_when_the_ring_is_dropped() {
        let (ring, _) = ring(clock()).await;
        let ring = Arc::new(ring);
        let task = ring.spawn_reloader(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(ring);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("reloader ended")
            .unwrap();
    }
}
