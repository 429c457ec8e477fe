//! The key ring: the token-signing keys decrypted and parsed once, the signing key per
//! algorithm, loading from `storage::KeyStore` (and reloading what other instances changed),
//! and creating the first keys.
//!
//! Owns: the in-memory snapshot of keys and which key signs. Must not touch: rotation steps
//! (`rotation`), what is published (`jwks`), JWT encoding (`jwt`), any storage other than
//! `KeyStore`.

use super::alg::{CachedSigner, encoding_key, generate_pkcs8, public_jwk};
use super::seal::SealKey;
use super::{KeyError, Result};
use crate::domain::{Clock, KeyId, SigningAlg, trunc_millis};
use crate::storage::{KeyStatus, KeyStore, SigningKeyRecord, StorageError};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;
use time::OffsetDateTime;

/// One decrypted, parsed key of the ring.
pub struct LoadedKey {
    pub(super) kid: KeyId,
    pub(super) alg: SigningAlg,
    pub(super) status: KeyStatus,
    pub(super) created_at: OffsetDateTime,
    pub(super) retire_until: Option<OffsetDateTime>,
    pub(super) encoding: EncodingKey,
    pub(super) signer: CachedSigner,
    pub(super) decoding: DecodingKey,
    pub(super) jwk: Value,
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
    pub fn kid(&self) -> &KeyId {
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
pub(super) struct Snapshot {
    pub(super) keys: Vec<Arc<LoadedKey>>,
    /// The signing key per algorithm: the newest `Active` one.
    pub(super) signers: BTreeMap<SigningAlg, Arc<LoadedKey>>,
}

/// The signing keys, loaded once and cached. Share it as `Arc<KeyRing>`.
pub struct KeyRing {
    pub(super) store: Arc<dyn KeyStore>,
    seal: Arc<SealKey>,
    pub(super) clock: Arc<dyn Clock>,
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

    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
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
    pub(super) async fn generate(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> Result<SigningKeyRecord> {
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
    use crate::keys::testkit::*;

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
            v[0].kid = KeyId::parse("not-the-thumbprint").unwrap();
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
        assert_eq!(r1.signer(SigningAlg::ES256).unwrap().kid(), &late.kid);
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

    /// The same cases on the real SQL backend (SQLite in memory).
    mod sqlite {
        use super::*;

        #[tokio::test]
        async fn a_different_seal_key_refuses_to_load() {
            different_seal_key_on(sqlite_store().await).await;
        }

        #[tokio::test]
        async fn stored_records_round_trip_sealed() {
            let store = sqlite_store().await;
            let c = clock();
            let ring = ring_on(store.clone(), c.clone()).await;
            let recs = store.list_keys().await.unwrap();
            assert_eq!(recs.len(), 3);
            for r in &recs {
                assert!(r.private_key.expose().starts_with("v1."));
                assert_eq!(r.status, KeyStatus::Active);
                let jwk: Value = serde_json::from_str(&r.public_jwk).unwrap();
                assert_eq!(jwk["kid"], r.kid.as_str());
                assert_eq!(ring.signer(r.alg).unwrap().kid(), &r.kid);
            }
        }
    }
}
