//! Conformance cases for passwords: the unique password credential per email (issue 13 item
//! 9), reset links consumed once, and revoking every refresh family of a user.
//!
//! Owns: what `PasswordResetStore`, `UserStore::find_password_user` and
//! `RefreshStore::revoke_user_families` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// 25 users share an email; only the last one created has a password. The old lookup (the
/// first 20 users with that email) never saw it.
pub async fn password_user_is_found_among_many_with_its_email(s: Arc<dyn Storage>) {
    let email = format!("{}@acme.example", fresh("shared"));
    let mut others = Vec::new();
    for _ in 0..24 {
        let mut u = user(&email);
        u.password_hash = None;
        s.create_user(&u).await.unwrap();
        others.push(u);
    }
    let e = Email::parse(&email).unwrap();
    assert_eq!(s.find_password_user(&e).await.unwrap(), None);
    let pw = user(&email);
    s.create_user(&pw).await.unwrap();
    assert!(
        others.iter().all(|o| o.id < pw.id),
        "created last, sorts last"
    );
    assert_eq!(s.find_password_user(&e).await.unwrap(), Some(pw.clone()));
    assert_eq!(
        s.find_password_user(&Email::parse("nobody@acme.example").unwrap())
            .await
            .unwrap(),
        None
    );

    // At most one password per email: creating or updating another is refused.
    assert_duplicate(
        s.create_user(&user(&email)).await,
        "password for this email",
    );
    let mut other = others[0].clone();
    other.password_hash = Some(Secret::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    assert_duplicate(s.update_user(&other).await, "password for this email");
    // Once the password user lets go of it, another may take it.
    let mut released = pw.clone();
    released.password_hash = None;
    s.update_user(&released).await.unwrap();
    assert_eq!(s.find_password_user(&e).await.unwrap(), None);
    let taken = s.update_user(&other).await.unwrap();
    assert_eq!(s.find_password_user(&e).await.unwrap(), Some(taken));
}

fn reset_of(u: &User, token: &str, at: OffsetDateTime) -> PasswordReset {
    PasswordReset {
        token_hash: TokenHash::of(token),
        user_id: u.id.clone(),
        org_id: None,
        created_at: at,
        expires_at: at + RESET_TTL,
        used_at: None,
    }
}

pub async fn password_reset_is_single_use(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let u = user(&format!("{}@acme.example", fresh("reset")));
    s.create_user(&u).await.unwrap();
    let t = now();
    let mut r1 = reset_of(&u, "token-one", t);
    r1.org_id = Some(o.id.clone());
    let r2 = reset_of(&u, "token-two", t);
    let old = reset_of(&u, "token-old", t - RESET_TTL - Duration::seconds(1));
    for r in [&r1, &r2, &old] {
        s.create_password_reset(r).await.unwrap();
    }
    assert_eq!(
        s.get_password_reset(&r1.token_hash).await.unwrap(),
        Some(r1.clone())
    );
    assert_eq!(
        s.get_password_reset(&TokenHash::of("nope")).await.unwrap(),
        None
    );
    assert_duplicate(s.create_password_reset(&r1).await, "password reset token");
    let ghost = User {
        id: UserId::generate(),
        ..u.clone()
    };
    assert_missing(
        s.create_password_reset(&reset_of(&ghost, "ghost", t)).await,
        "user",
    );

    let new_hash = Secret::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA");
    let done = |o: ResetOutcome| match o {
        ResetOutcome::Done(u) => u,
        other => panic!("expected Done, got {other:?}"),
    };
    assert_eq!(
        s.complete_password_reset(&TokenHash::of("nope"), &new_hash, t)
            .await
            .unwrap(),
        ResetOutcome::Unknown
    );
    assert_eq!(
        s.complete_password_reset(&old.token_hash, &new_hash, t)
            .await
            .unwrap(),
        ResetOutcome::Expired
    );
    // Expiry is exclusive: at expires_at the link is dead.
    assert_eq!(
        s.complete_password_reset(&r1.token_hash, &new_hash, r1.expires_at)
            .await
            .unwrap(),
        ResetOutcome::Expired
    );
    let stored = done(
        s.complete_password_reset(&r1.token_hash, &new_hash, t)
            .await
            .unwrap(),
    );
    assert_eq!(stored.password_hash, Some(new_hash.clone()));
    assert_eq!(stored.version, u.version + 1);
    assert_eq!(s.get_user(&u.id).await.unwrap(), Some(stored));
    assert_eq!(
        s.complete_password_reset(&r1.token_hash, &new_hash, t)
            .await
            .unwrap(),
        ResetOutcome::Used
    );
    // The user's other link died with the reset; the org is kept for branding.
    assert_eq!(
        s.complete_password_reset(&r2.token_hash, &new_hash, t)
            .await
            .unwrap(),
        ResetOutcome::Used
    );
    let r1_now = s.get_password_reset(&r1.token_hash).await.unwrap().unwrap();
    assert_eq!(r1_now.used_at, Some(t));
    assert_eq!(r1_now.org_id, Some(o.id.clone()));

    // Concurrent completions of one token: exactly one wins.
    let r3 = reset_of(&u, "token-three", t);
    s.create_password_reset(&r3).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let h = r3.token_hash.clone();
            let n = new_hash.clone();
            tokio::spawn(async move { s.complete_password_reset(&h, &n, t).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            ResetOutcome::Done(_) => wins += 1,
            ResetOutcome::Used => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);

    // Resets go with their user.
    s.delete_user(&u.id).await.unwrap();
    assert_eq!(s.get_password_reset(&r3.token_hash).await.unwrap(), None);
}

pub async fn revoke_every_family_of_a_user(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let o2 = org(None);
    s.create_org(&o2).await.unwrap();
    s.create_membership(&membership(&o2.id, &u.id))
        .await
        .unwrap();
    let u2 = user(&format!("{}@acme.example", fresh("other")));
    s.create_user(&u2).await.unwrap();
    s.create_membership(&membership(&o.id, &u2.id))
        .await
        .unwrap();
    let fams = [
        family(&a.id, &o.id, &u.id, "s1"),
        family(&a.id, &o2.id, &u.id, "s2"),
        family(&a.id, &o.id, &u2.id, "s3"),
    ];
    for f in &fams {
        s.create_family(f, &token(&f.id).hash).await.unwrap();
    }
    let t = now();
    assert_eq!(s.revoke_user_families(&u.id, t).await.unwrap(), 2);
    assert_eq!(s.revoke_user_families(&u.id, t).await.unwrap(), 0);
    for (f, revoked) in fams.iter().zip([true, true, false]) {
        let got = s.get_family(&f.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at.is_some(), revoked, "{}", f.session_id);
    }
}
