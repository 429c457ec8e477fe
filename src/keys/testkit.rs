//! Test fixtures shared by the key ring's tests: an in-memory `KeyStore`, a ring on it (or on
//! SQLite in memory) with keys for every algorithm, a manual clock and sample claims.
//!
//! Owns: nothing outside tests. Must not touch: production code paths.

use super::KeyRing;
use super::seal::SealKey;
use crate::domain::{Clock, KeyId, ManualClock, SigningAlg};
use crate::storage::{KeyStatus, KeyStore, SigningKeyRecord, StorageError};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// A small in-memory `KeyStore` for these tests.
#[derive(Default)]
pub(super) struct MemKeys(pub(super) Mutex<Vec<SigningKeyRecord>>);

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
        kid: &KeyId,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> crate::storage::Result<()> {
        let mut v = self.0.lock().unwrap();
        let k = v
            .iter_mut()
            .find(|x| &x.kid == kid)
            .ok_or(StorageError::NotFound)?;
        k.status = status;
        k.retire_until = retire_until;
        Ok(())
    }
    async fn delete_key(&self, kid: &KeyId) -> crate::storage::Result<()> {
        let mut v = self.0.lock().unwrap();
        let before = v.len();
        v.retain(|x| &x.kid != kid);
        if v.len() == before {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}

pub(super) const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

pub(super) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(OffsetDateTime::now_utc()))
}

pub(super) async fn ring_on(store: Arc<dyn KeyStore>, clock: Arc<ManualClock>) -> KeyRing {
    let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
    let ring = KeyRing::load(store, seal, clock).await.unwrap();
    ring.ensure_keys(&ALL).await.unwrap();
    ring
}

pub(super) async fn ring(clock: Arc<ManualClock>) -> (KeyRing, Arc<MemKeys>) {
    let store = Arc::new(MemKeys::default());
    (ring_on(store.clone(), clock).await, store)
}

pub(super) fn claims(clock: &ManualClock) -> Value {
    let now = clock.now().unix_timestamp();
    serde_json::json!({
        "iss": "https://login.example.com",
        "sub": "user-1",
        "aud": ["app-1", "app-2"],
        "iat": now,
        "exp": now + 300,
    })
}

pub(super) fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

pub(super) fn jwks_kids(ring: &KeyRing) -> Vec<KeyId> {
    ring.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| KeyId::parse(k["kid"].as_str().unwrap()).unwrap())
        .collect()
}

pub(super) async fn stored_kids(store: &Arc<dyn KeyStore>) -> Vec<KeyId> {
    store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kid)
        .collect()
}

/// The SQL backend (SQLite in memory), for the cases that run on real storage too.
pub(super) async fn sqlite_store() -> Arc<dyn KeyStore> {
    crate::storage::open("sqlite::memory:").await.unwrap()
}
