//! Conformance cases for keys: pinned SAML IdP state, SAML SP keys and token-signing keys.
//!
//! Owns: what `SamlStore` and `KeyStore` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;
use time::Duration;

/// The durable replay cache: a key is fresh once until its record expires; of many concurrent
/// calls with one key exactly one is fresh.
pub async fn saml_replay_cache(s: Arc<dyn Storage>) {
    let t0 = now();
    let until = t0 + Duration::minutes(5);
    let key = format!("saml:seen:conf:{}", random_token());
    assert!(s.mark_assertion_used(&key, until, t0).await.unwrap());
    assert!(!s.mark_assertion_used(&key, until, t0).await.unwrap());
    assert!(
        !s.mark_assertion_used(&key, until, t0 + Duration::minutes(4))
            .await
            .unwrap()
    );
    // Expired: usable again (the assertion itself is no longer valid by then).
    let later = t0 + Duration::minutes(6);
    assert!(
        s.mark_assertion_used(&key, later + Duration::minutes(5), later)
            .await
            .unwrap()
    );
    // Concurrent: exactly one winner.
    let key2 = format!("saml:seen:conf:{}", random_token());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, k) = (s.clone(), key2.clone());
        tasks.push(tokio::spawn(async move {
            s.mark_assertion_used(&k, until, t0).await.unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

pub async fn saml_state(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), None);
    let mut r = SamlIdpRecord {
        connection_id: c.id.clone(),
        state: "{\"entity_id\":\"https://idp.example.com\"}".into(),
        updated_at: now(),
    };
    s.put_saml_idp(&r).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), Some(r.clone()));
    // Replacing keeps one row.
    r.state = "{\"entity_id\":\"https://idp2.example.com\"}".into();
    r.updated_at = now() + Duration::seconds(5);
    s.put_saml_idp(&r).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), Some(r.clone()));
    assert!(s.list_saml_idps().await.unwrap().contains(&r));
    // Only for existing connections; gone with the connection.
    let ghost = SamlIdpRecord {
        connection_id: ConnectionId::generate(),
        ..r.clone()
    };
    assert_missing(s.put_saml_idp(&ghost).await, "connection");
    s.delete_connection(&o.id, &c.id).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), None);

    let t = now();
    let k1 = SamlSpKeyRecord {
        id: fresh("sp1"),
        status: KeyStatus::Active,
        private_key: Secret::new("sealed-1"),
        certificate: "MIIB".into(),
        created_at: t,
        retire_until: None,
    };
    let k2 = SamlSpKeyRecord {
        id: fresh("sp2"),
        status: KeyStatus::Next,
        created_at: t + Duration::seconds(1),
        ..k1.clone()
    };
    s.create_saml_sp_key(&k1).await.unwrap();
    s.create_saml_sp_key(&k2).await.unwrap();
    assert_duplicate(s.create_saml_sp_key(&k1).await, "SAML SP key");
    assert_eq!(
        s.list_saml_sp_keys().await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    let until = t + Duration::days(1);
    s.set_saml_sp_key_status(&k1.id, KeyStatus::Retired, Some(until))
        .await
        .unwrap();
    let keys = s.list_saml_sp_keys().await.unwrap();
    assert_eq!(keys[0].status, KeyStatus::Retired);
    assert_eq!(keys[0].retire_until, Some(until));
    assert!(matches!(
        s.set_saml_sp_key_status("nope", KeyStatus::Active, None)
            .await,
        Err(StorageError::NotFound)
    ));
    s.delete_saml_sp_key(&k1.id).await.unwrap();
    assert!(matches!(
        s.delete_saml_sp_key(&k1.id).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(s.list_saml_sp_keys().await.unwrap(), vec![k2]);
}

pub async fn keys_crud(s: Arc<dyn Storage>) {
    let t = now();
    let k1 = SigningKeyRecord {
        kid: KeyId::parse(&fresh("k1")).unwrap(),
        alg: SigningAlg::ES256,
        status: KeyStatus::Active,
        private_key: Secret::new("encrypted-pkcs8"),
        public_jwk: r#"{"kty":"EC","crv":"P-256","x":"a","y":"b"}"#.into(),
        created_at: t,
        retire_until: None,
    };
    let k2 = SigningKeyRecord {
        kid: KeyId::parse(&fresh("k2")).unwrap(),
        alg: SigningAlg::RS256,
        status: KeyStatus::Next,
        created_at: t + Duration::seconds(1),
        ..k1.clone()
    };
    s.create_key(&k1).await.unwrap();
    s.create_key(&k2).await.unwrap();
    assert_duplicate(s.create_key(&k1).await, "signing key");
    assert_eq!(s.list_keys().await.unwrap(), vec![k1.clone(), k2.clone()]);
    let until = t + Duration::days(2);
    s.set_key_status(&k1.kid, KeyStatus::Retired, Some(until))
        .await
        .unwrap();
    s.set_key_status(&k2.kid, KeyStatus::Active, None)
        .await
        .unwrap();
    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys[0].status, KeyStatus::Retired);
    assert_eq!(keys[0].retire_until, Some(until));
    assert_eq!(keys[1].status, KeyStatus::Active);
    assert_not_found(
        s.set_key_status(&KeyId::parse("nope").unwrap(), KeyStatus::Active, None)
            .await,
    );
    s.delete_key(&k1.kid).await.unwrap();
    assert_not_found(s.delete_key(&k1.kid).await);
    assert_eq!(s.list_keys().await.unwrap().len(), 1);
    assert!(
        !format!("{:?}", keys[1]).contains("encrypted-pkcs8"),
        "private keys never reach Debug output"
    );
}
