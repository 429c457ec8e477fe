//! Conformance cases for passkeys: a credential id is registered once across all users, a
//! user's list is theirs alone, an authentication's update lands on the user's own row only,
//! and the second-factor reset removes every passkey of one user and nobody else's.
//!
//! Owns: what `PasskeyStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;
use time::Duration;

fn passkey_of(u: &User, id: &[u8], at: time::OffsetDateTime) -> PasskeyRecord {
    PasskeyRecord {
        credential_id: PasskeyCredentialId::from_bytes(id).unwrap(),
        user_id: u.id.clone(),
        name: "Passkey".into(),
        credential: format!("{{\"cred\":{{\"counter\":0,\"id\":{}}}}}", id[0]),
        created_at: at,
        last_used_at: None,
    }
}

pub async fn passkeys_per_user(s: Arc<dyn Storage>) {
    let alice = user(&format!("{}@acme.example", fresh("alice")));
    let bob = user(&format!("{}@acme.example", fresh("bob")));
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let t = now();
    // Fresh credential ids per run (the PostgreSQL case runs in its own database, but be safe).
    let seed = ulid::Ulid::new().to_bytes();
    let id = |n: u8| {
        let mut b = seed.to_vec();
        b.push(n);
        b
    };
    let a1 = passkey_of(&alice, &id(1), t);
    let a2 = passkey_of(&alice, &id(2), t + Duration::seconds(1));
    let b1 = passkey_of(&bob, &id(3), t);
    for p in [&a1, &a2, &b1] {
        s.create_passkey(p).await.unwrap();
    }
    assert_eq!(
        s.list_passkeys(&alice.id).await.unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    assert_eq!(s.list_passkeys(&bob.id).await.unwrap(), vec![b1.clone()]);

    // A credential id is registered once, whoever registers it again.
    let mut again = passkey_of(&bob, &id(1), t);
    assert_duplicate(s.create_passkey(&again).await, "passkey credential");
    again.user_id = alice.id.clone();
    assert_duplicate(s.create_passkey(&again).await, "passkey credential");
    // A user that does not exist.
    let mut ghost = passkey_of(&alice, &id(9), t);
    ghost.user_id = UserId::generate();
    assert_missing(s.create_passkey(&ghost).await, "user");

    // Lookups and updates are by (user, credential): another user's credential is not found.
    assert_eq!(
        s.get_passkey(&alice.id, &a1.credential_id).await.unwrap(),
        Some(a1.clone())
    );
    assert_eq!(
        s.get_passkey(&bob.id, &a1.credential_id).await.unwrap(),
        None
    );
    let used = t + Duration::minutes(5);
    assert_not_found(
        s.record_passkey_use(&bob.id, &a1.credential_id, "{\"x\":1}", used)
            .await,
    );
    s.record_passkey_use(&alice.id, &a1.credential_id, "{\"counter\":7}", used)
        .await
        .unwrap();
    let got = s
        .get_passkey(&alice.id, &a1.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.credential, "{\"counter\":7}");
    assert_eq!(got.last_used_at, Some(used));
    assert_eq!(got.created_at, a1.created_at);

    // Removing one, then the reset of everything of one user.
    assert_not_found(s.delete_passkey(&bob.id, &a2.credential_id).await);
    s.delete_passkey(&alice.id, &a2.credential_id)
        .await
        .unwrap();
    assert_not_found(s.delete_passkey(&alice.id, &a2.credential_id).await);
    s.create_passkey(&a2).await.unwrap();
    assert_eq!(s.delete_all_passkeys_for_user(&alice.id).await.unwrap(), 2);
    assert_eq!(s.delete_all_passkeys_for_user(&alice.id).await.unwrap(), 0);
    assert!(s.list_passkeys(&alice.id).await.unwrap().is_empty());
    assert_not_found(
        s.record_passkey_use(&alice.id, &a1.credential_id, "{}", used)
            .await,
    );
    assert_eq!(s.list_passkeys(&bob.id).await.unwrap(), vec![b1.clone()]);
    // A removed credential id may be registered again.
    s.create_passkey(&a1).await.unwrap();

    // Deleting the user takes their passkeys along.
    s.delete_user(&bob.id).await.unwrap();
    assert!(s.list_passkeys(&bob.id).await.unwrap().is_empty());
    s.create_user(&bob).await.unwrap();
    s.create_passkey(&b1).await.unwrap();
}
