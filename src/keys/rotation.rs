//! Key rotation: one step of the two-step rotation of the signing key of an algorithm (publish
//! a `Next` key; later promote it and retire the old one), and deleting retired keys whose
//! `retire_until` has passed. See the `keys` module comment for why it takes two steps.
//!
//! Owns: the status changes in `storage::KeyStore`. Must not touch: the cached snapshot (it
//! reloads the ring afterwards), when rotation happens (the `keys rotate` command decides).

use super::Result;
use super::ring::KeyRing;
use crate::domain::{KeyId, SigningAlg, trunc_millis};
use crate::storage::{KeyStatus, SigningKeyRecord, StorageError};
use time::OffsetDateTime;

/// What a call to [`KeyRing::rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Step 1: a new `Next` key is published; call `rotate` again once caches have it.
    Published { next: KeyId },
    /// Step 2: `active` now signs; `retired` stay published until `retire_until`.
    Promoted {
        active: KeyId,
        retired: Vec<KeyId>,
        retire_until: OffsetDateTime,
    },
}

impl KeyRing {
    /// One rotation step for `alg` (see the `keys` module comment): publish a `Next` key when there is
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Clock;
    use crate::keys::testkit::*;
    use crate::keys::{KeyError, VerifyOptions};
    use crate::storage::KeyStore;
    use std::sync::Arc;

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
        assert_eq!(ring.signer(alg).unwrap().kid(), &a);
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
        assert_eq!(ring.signer(alg).unwrap().kid(), &b);
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

    /// The same case on the real SQL backend (SQLite in memory).
    mod sqlite {
        use super::*;

        #[tokio::test]
        async fn rotation_is_two_steps_and_retired_keys_leave_jwks() {
            rotation_on(sqlite_store().await).await;
        }
    }
}
