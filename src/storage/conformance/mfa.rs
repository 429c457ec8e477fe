//! Conformance cases for second factors (`MfaStore`) and the MFA policy columns of apps and
//! links: enrolment replaces factor and codes at once, a TOTP step is accepted once (also
//! under concurrency), a recovery code burns once, remembered devices expire and belong to
//! their user, a reset removes everything of that user only, and deleting the user cascades.
//!
//! Owns: what `MfaStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::mfa::recovery_code_hash;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;
use time::Duration;

fn factor(u: &UserId, sealed: &str) -> TotpFactor {
    TotpFactor {
        user_id: u.clone(),
        secret: Secret::new(sealed),
        last_step: None,
        created_at: now(),
    }
}

pub async fn mfa_factors_and_codes(s: Arc<dyn Storage>) {
    let alice = user(&format!("{}@acme.example", fresh("alice")));
    let bob = user(&format!("{}@acme.example", fresh("bob")));
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    assert_eq!(s.get_totp(&alice.id).await.unwrap(), None);
    let codes: Vec<TokenHash> = (0..3)
        .map(|i| recovery_code_hash(&alice.id, &format!("code{i}")))
        .collect();
    s.enroll_totp(&factor(&alice.id, "v1.sealed-a"), &codes)
        .await
        .unwrap();
    let f = s.get_totp(&alice.id).await.unwrap().unwrap();
    assert_eq!(f.secret.expose(), "v1.sealed-a");
    assert_eq!(f.last_step, None);
    let mut listed = s.list_recovery_codes(&alice.id).await.unwrap();
    listed.sort_by(|a, b| a.as_hex().cmp(b.as_hex()));
    let mut want = codes.clone();
    want.sort_by(|a, b| a.as_hex().cmp(b.as_hex()));
    assert_eq!(listed, want);
    assert!(s.list_recovery_codes(&bob.id).await.unwrap().is_empty());

    // Steps: only later ones, each once.
    assert!(s.use_totp_step(&alice.id, 100).await.unwrap());
    assert!(!s.use_totp_step(&alice.id, 100).await.unwrap(), "replay");
    assert!(!s.use_totp_step(&alice.id, 99).await.unwrap(), "older");
    assert!(s.use_totp_step(&alice.id, 101).await.unwrap());
    assert_eq!(
        s.get_totp(&alice.id).await.unwrap().unwrap().last_step,
        Some(101)
    );
    assert!(!s.use_totp_step(&bob.id, 5).await.unwrap(), "no factor");
    // Concurrent uses of one step: exactly one wins.
    let tries = (0..8).map(|_| {
        let s = s.clone();
        let id = alice.id.clone();
        tokio::spawn(async move { s.use_totp_step(&id, 200).await.unwrap() })
    });
    let wins = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);

    // Recovery codes burn once; another user's hash is not theirs.
    assert!(s.burn_recovery_code(&alice.id, &codes[0]).await.unwrap());
    assert!(!s.burn_recovery_code(&alice.id, &codes[0]).await.unwrap());
    assert!(!s.burn_recovery_code(&bob.id, &codes[1]).await.unwrap());
    assert_eq!(s.list_recovery_codes(&alice.id).await.unwrap().len(), 2);

    // Enrolling again replaces the factor and every code.
    let fresh_codes = vec![recovery_code_hash(&alice.id, "new")];
    s.enroll_totp(&factor(&alice.id, "v1.sealed-b"), &fresh_codes)
        .await
        .unwrap();
    let f = s.get_totp(&alice.id).await.unwrap().unwrap();
    assert_eq!((f.secret.expose(), f.last_step), ("v1.sealed-b", None));
    assert_eq!(s.list_recovery_codes(&alice.id).await.unwrap(), fresh_codes);
    // A user that does not exist.
    let ghost = UserId::generate();
    assert_missing(s.enroll_totp(&factor(&ghost, "x"), &[]).await, "user");
}

pub async fn mfa_remembered_devices_and_reset(s: Arc<dyn Storage>) {
    let alice = user(&format!("{}@acme.example", fresh("alice")));
    let bob = user(&format!("{}@acme.example", fresh("bob")));
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let t = now();
    let device = |u: &UserId, token: &str| RememberedDevice {
        token_hash: TokenHash::of(token),
        user_id: u.clone(),
        created_at: t,
        expires_at: t + Duration::days(30),
    };
    s.remember_device(&device(&alice.id, "tok-a"))
        .await
        .unwrap();
    s.remember_device(&device(&alice.id, "tok-a2"))
        .await
        .unwrap();
    s.remember_device(&device(&bob.id, "tok-b")).await.unwrap();
    assert_duplicate(
        s.remember_device(&device(&bob.id, "tok-b")).await,
        "remembered device",
    );
    let found = s
        .find_remembered_device(&alice.id, &TokenHash::of("tok-a"), t)
        .await
        .unwrap();
    assert_eq!(found, Some(device(&alice.id, "tok-a")));
    // Another user's token, and an expired memory, are not found.
    assert_eq!(
        s.find_remembered_device(&alice.id, &TokenHash::of("tok-b"), t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_remembered_device(&alice.id, &TokenHash::of("tok-a"), t + Duration::days(31))
            .await
            .unwrap(),
        None
    );

    // The reset removes alice's factor, codes and devices, not bob's.
    let codes = vec![
        recovery_code_hash(&alice.id, "one"),
        recovery_code_hash(&alice.id, "two"),
    ];
    s.enroll_totp(&factor(&alice.id, "v1.a"), &codes)
        .await
        .unwrap();
    s.enroll_totp(&factor(&bob.id, "v1.b"), &[]).await.unwrap();
    let removed = s.delete_mfa_for_user(&alice.id).await.unwrap();
    assert_eq!(
        removed,
        crate::domain::mfa::MfaRemoved {
            totp: true,
            recovery_codes: 2,
            remembered_devices: 2,
            passkeys: 0,
        }
    );
    assert_eq!(s.get_totp(&alice.id).await.unwrap(), None);
    assert!(s.list_recovery_codes(&alice.id).await.unwrap().is_empty());
    assert_eq!(
        s.find_remembered_device(&alice.id, &TokenHash::of("tok-a2"), t)
            .await
            .unwrap(),
        None
    );
    assert!(s.get_totp(&bob.id).await.unwrap().is_some());
    assert_eq!(
        s.delete_mfa_for_user(&alice.id).await.unwrap(),
        Default::default()
    );
    // Deleting the user takes their factors along.
    s.delete_user(&bob.id).await.unwrap();
    assert_eq!(s.get_totp(&bob.id).await.unwrap(), None);
    assert_eq!(
        s.find_remembered_device(&bob.id, &TokenHash::of("tok-b"), t)
            .await
            .unwrap(),
        None
    );
}

/// The policy columns: the app's default `off`, a link's own policy or none.
pub async fn mfa_policy_round_trips(s: Arc<dyn Storage>) {
    let mut a = app();
    a.mfa = MfaPolicy::Required;
    s.create_app(&a).await.unwrap();
    assert_eq!(
        s.get_app(&a.id).await.unwrap().unwrap().mfa,
        MfaPolicy::Required
    );
    let mut a2 = s.get_app(&a.id).await.unwrap().unwrap();
    a2.mfa = MfaPolicy::Optional;
    assert_eq!(s.update_app(&a2).await.unwrap().mfa, MfaPolicy::Optional);
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let mut l = link(&o.id, &a.id, &[]);
    assert_eq!(l.mfa, None);
    s.create_link(&l).await.unwrap();
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap().unwrap().mfa, None);
    l.mfa = Some(MfaPolicy::Off);
    let stored = s.update_link(&l).await.unwrap();
    assert_eq!(stored.mfa, Some(MfaPolicy::Off));
    assert_eq!(
        s.list_links_for_org(&o.id).await.unwrap()[0].mfa,
        Some(MfaPolicy::Off)
    );
    let mut back = stored.clone();
    back.mfa = None;
    assert_eq!(s.update_link(&back).await.unwrap().mfa, None);
}
