//! Conformance cases for refresh-token families: rotation, reuse, concurrent rotation and
//! revocation.
//!
//! Owns: what `RefreshStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

pub async fn refresh_rotation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let mut f = family(&a.id, &o.id, &u.id, "sess-1");
    f.idp = Some(ConnectionId::generate());
    let t1 = first_token(&f);
    s.create_family(&f, &t1.hash).await.unwrap();
    assert_eq!(s.get_family(&f.id).await.unwrap(), Some(f.clone()));
    assert_eq!(
        s.get_family(&RefreshFamilyId::parse("nope").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_refresh(&t1.hash).await.unwrap(),
        Some((t1.clone(), f.clone()))
    );
    // The same token with its member, as the separate reads give them.
    let member = s.get_member_context(&o.id, &u.id).await.unwrap();
    assert!(member.is_some());
    assert_eq!(
        s.find_refresh_in_context(&t1.hash).await.unwrap(),
        Some((t1.clone(), f.clone(), member))
    );
    assert_eq!(
        s.find_refresh_in_context(&TokenHash::of("unknown"))
            .await
            .unwrap(),
        None
    );
    assert_duplicate(
        s.create_family(&f, &token(&f.id).hash).await,
        "refresh token family",
    );
    let other = family(&a.id, &o.id, &u.id, "sess-x");
    assert_duplicate(s.create_family(&other, &t1.hash).await, "refresh token");
    assert_eq!(
        s.get_family(&other.id).await.unwrap(),
        None,
        "all or nothing"
    );
    assert_missing(
        s.create_family(
            &family(&AppId::generate(), &o.id, &u.id, "s"),
            &token(&RefreshFamilyId::parse("x").unwrap()).hash,
        )
        .await,
        "app",
    );

    // First use rotates.
    let at = now() + Duration::seconds(10);
    // The successor is stored in the presented token's family, created at the rotation time.
    let t2 = RefreshToken {
        created_at: at,
        ..token(&f.id)
    };
    assert_eq!(
        s.rotate_refresh(&t1.hash, &t2.hash, at).await.unwrap(),
        RotateOutcome::Rotated
    );
    let (used, _) = s.find_refresh(&t1.hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(at));
    assert_eq!(
        s.find_refresh(&t2.hash).await.unwrap(),
        Some((t2.clone(), f.clone()))
    );
    // Second use of the same token: reuse, reported with when it was used; nothing stored.
    let t3 = token(&f.id);
    assert_eq!(
        s.rotate_refresh(&t1.hash, &t3.hash, at + Duration::seconds(1))
            .await
            .unwrap(),
        RotateOutcome::AlreadyUsed {
            family: Box::new(f.clone()),
            used_at: at
        }
    );
    assert_eq!(s.find_refresh(&t3.hash).await.unwrap(), None);
    // Unknown tokens are invalid.
    assert_eq!(
        s.rotate_refresh(&TokenHash::of("unknown"), &token(&f.id).hash, at)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    // The successor rotates; then the family is revoked and nothing rotates any more.
    let t4 = token(&f.id);
    assert!(matches!(
        s.rotate_refresh(&t2.hash, &t4.hash, at + Duration::seconds(2))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    ));
    let revoked_at = at + Duration::seconds(3);
    s.revoke_family(&f.id, revoked_at).await.unwrap();
    s.revoke_family(&f.id, revoked_at + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        s.get_family(&f.id).await.unwrap().unwrap().revoked_at,
        Some(revoked_at),
        "revoking twice keeps the first time"
    );
    assert_not_found(
        s.revoke_family(
            &RefreshFamilyId::parse("no-such-family").unwrap(),
            revoked_at,
        )
        .await,
    );
    assert_eq!(
        s.rotate_refresh(
            &t4.hash,
            &token(&f.id).hash,
            revoked_at + Duration::seconds(1)
        )
        .await
        .unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        s.rotate_refresh(
            &t1.hash,
            &token(&f.id).hash,
            revoked_at + Duration::seconds(1)
        )
        .await
        .unwrap(),
        RotateOutcome::Invalid,
        "reuse in a revoked family is just invalid"
    );
    let (t4_after, _) = s.find_refresh(&t4.hash).await.unwrap().unwrap();
    assert_eq!(t4_after.used_at, None, "an invalid rotation marks nothing");

    // Once the membership is gone the token is still found, without a member.
    s.delete_membership(&o.id, &u.id).await.unwrap();
    let (t4_found, f_found, member) = s.find_refresh_in_context(&t4.hash).await.unwrap().unwrap();
    assert_eq!((t4_found.hash, f_found.id), (t4.hash.clone(), f.id.clone()));
    assert_eq!(member, None);

    // An expired family does not rotate either.
    let mut old = family(&a.id, &o.id, &u.id, "sess-2");
    old.expires_at = now() - Duration::seconds(1);
    let ot = first_token(&old);
    s.create_family(&old, &ot.hash).await.unwrap();
    assert_eq!(
        s.rotate_refresh(&ot.hash, &token(&old.id).hash, now())
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
}

/// The one-step rotation and read: it rotates exactly what `rotate_refresh` would (for the
/// named app only) and reads what `find_refresh_in_context` reads; when it does not rotate it
/// writes nothing. Of concurrent calls with one token, exactly one rotates.
pub async fn refresh_rotation_in_one_step(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let f = family(&a.id, &o.id, &u.id, "sess-one-step");
    let t1 = first_token(&f);
    s.create_family(&f, &t1.hash).await.unwrap();
    let member = s.get_member_context(&o.id, &u.id).await.unwrap();
    assert!(member.is_some());
    let at = now() + Duration::seconds(10);

    assert_eq!(
        s.rotate_refresh_in_context(&TokenHash::of("unknown"), &token(&f.id).hash, &a.id, at)
            .await
            .unwrap(),
        None
    );
    // Another app's token: read, not rotated, nothing stored.
    let t2 = RefreshToken {
        created_at: at,
        ..token(&f.id)
    };
    assert_eq!(
        s.rotate_refresh_in_context(&t1.hash, &t2.hash, &AppId::generate(), at)
            .await
            .unwrap(),
        Some((false, (t1.clone(), f.clone(), member.clone())))
    );
    assert_eq!(s.find_refresh(&t2.hash).await.unwrap(), None);
    // Rotated: the token reads as used now, its successor is in the family.
    let used = RefreshToken {
        used_at: Some(at),
        ..t1.clone()
    };
    assert_eq!(
        s.rotate_refresh_in_context(&t1.hash, &t2.hash, &a.id, at)
            .await
            .unwrap(),
        Some((true, (used.clone(), f.clone(), member.clone())))
    );
    assert_eq!(
        s.find_refresh(&t1.hash).await.unwrap(),
        Some((used.clone(), f.clone()))
    );
    assert_eq!(
        s.find_refresh(&t2.hash).await.unwrap(),
        Some((t2.clone(), f.clone()))
    );
    // Used already: read as used, nothing stored.
    let t3 = token(&f.id);
    assert_eq!(
        s.rotate_refresh_in_context(&t1.hash, &t3.hash, &a.id, at + Duration::seconds(1))
            .await
            .unwrap(),
        Some((false, (used, f.clone(), member.clone())))
    );
    assert_eq!(s.find_refresh(&t3.hash).await.unwrap(), None);
    // A revoked family rotates nothing; without a membership the member part is `None`.
    s.revoke_family(&f.id, at + Duration::seconds(2))
        .await
        .unwrap();
    s.delete_membership(&o.id, &u.id).await.unwrap();
    let (rotated, (t2_found, f_found, m)) = s
        .rotate_refresh_in_context(&t2.hash, &t3.hash, &a.id, at + Duration::seconds(3))
        .await
        .unwrap()
        .unwrap();
    assert!(!rotated);
    assert_eq!(t2_found, t2);
    assert_eq!(f_found.revoked_at, Some(at + Duration::seconds(2)));
    assert_eq!(m, None);
    assert_eq!(s.find_refresh(&t3.hash).await.unwrap(), None);

    // Concurrent: exactly one rotation wins.
    let f = family(&a.id, &o.id, &u.id, "sess-one-step-race");
    let t = first_token(&f);
    s.create_family(&f, &t.hash).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, barrier, hash, next, app) = (
            s.clone(),
            barrier.clone(),
            t.hash.clone(),
            token(&f.id),
            a.id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let out = s
                .rotate_refresh_in_context(&hash, &next.hash, &app, now())
                .await;
            (out.unwrap().unwrap().0, next)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (rotated, next) = task.await.unwrap();
        let stored = s.find_refresh(&next.hash).await.unwrap().is_some();
        assert_eq!(
            rotated, stored,
            "a successor is stored exactly when rotated"
        );
        if rotated {
            winners.push(next);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
}

/// A family created together with the read of its member: the same writes and refusals as
/// `create_family`, and the member as `get_member_context` reads it (`None` without a
/// membership, the family stored all the same).
pub async fn refresh_family_created_in_one_step(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let f = family(&a.id, &o.id, &u.id, "sess-in-context");
    let t1 = first_token(&f);
    let member = s.get_member_context(&o.id, &u.id).await.unwrap();
    assert!(member.is_some());
    assert_eq!(
        s.create_family_in_context(&f, &t1.hash).await.unwrap(),
        member
    );
    assert_eq!(s.get_family(&f.id).await.unwrap(), Some(f.clone()));
    assert_eq!(
        s.find_refresh(&t1.hash).await.unwrap(),
        Some((t1.clone(), f.clone()))
    );
    assert_duplicate(
        s.create_family_in_context(&f, &token(&f.id).hash).await,
        "refresh token family",
    );
    let other = family(&a.id, &o.id, &u.id, "sess-in-context-x");
    assert_duplicate(
        s.create_family_in_context(&other, &t1.hash).await,
        "refresh token",
    );
    assert_eq!(
        s.get_family(&other.id).await.unwrap(),
        None,
        "all or nothing"
    );
    assert_missing(
        s.create_family_in_context(
            &family(&AppId::generate(), &o.id, &u.id, "s"),
            &token(&RefreshFamilyId::parse("x").unwrap()).hash,
        )
        .await,
        "app",
    );
    s.delete_membership(&o.id, &u.id).await.unwrap();
    let later = family(&a.id, &o.id, &u.id, "sess-in-context-2");
    let t2 = first_token(&later);
    assert_eq!(
        s.create_family_in_context(&later, &t2.hash).await.unwrap(),
        None
    );
    assert_eq!(s.get_family(&later.id).await.unwrap(), Some(later));
}

/// 20 concurrent rotations of one token: exactly one wins, the rest see reuse.
pub async fn refresh_concurrent_rotation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let f = family(&a.id, &o.id, &u.id, "sess-race");
    let t = first_token(&f);
    s.create_family(&f, &t.hash).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, barrier, hash, next) = (s.clone(), barrier.clone(), t.hash.clone(), token(&f.id));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let out = s.rotate_refresh(&hash, &next.hash, now()).await.unwrap();
            (out, next)
        }));
    }
    let mut rotated = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (RotateOutcome::Rotated, next) => rotated.push(next),
            (RotateOutcome::AlreadyUsed { .. }, next) => {
                reused += 1;
                assert_eq!(s.find_refresh(&next.hash).await.unwrap(), None);
            }
            (RotateOutcome::Invalid, _) => panic!("a live token was reported invalid"),
        }
    }
    assert_eq!(rotated.len(), 1, "exactly one rotation wins");
    assert_eq!(reused, 19);
    assert!(s.find_refresh(&rotated[0].hash).await.unwrap().is_some());
}

pub async fn refresh_revocation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let b = app();
    s.create_app(&b).await.unwrap();
    let u2 = user("carol@acme.example");
    s.create_user(&u2).await.unwrap();
    s.create_membership(&membership(&o.id, &u2.id))
        .await
        .unwrap();
    let o2 = org(None);
    s.create_org(&o2).await.unwrap();
    s.create_membership(&membership(&o2.id, &u.id))
        .await
        .unwrap();

    let mk = |app: &AppId, org: &OrgId, user: &UserId, sess: &str| family(app, org, user, sess);
    let fams = [
        mk(&a.id, &o.id, &u.id, "s1"),  // 0: member u, app a
        mk(&b.id, &o.id, &u.id, "s1"),  // 1: member u, app b
        mk(&a.id, &o.id, &u2.id, "s2"), // 2: other member
        mk(&a.id, &o2.id, &u.id, "s3"), // 3: same user, other org
        mk(&b.id, &o2.id, &u.id, "s3"), // 4
    ];
    for f in &fams {
        s.create_family(f, &token(&f.id).hash).await.unwrap();
    }
    let t = now();
    let only_a: BTreeSet<AppId> = [a.id.clone()].into();
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, Some(&BTreeSet::new()), t)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, Some(&only_a), t)
            .await
            .unwrap(),
        1
    );
    assert!(
        s.get_family(&fams[0].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.get_family(&fams[1].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, None, t)
            .await
            .unwrap(),
        1,
        "already revoked families are not counted again"
    );
    assert!(
        s.get_family(&fams[2].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(
        s.get_family(&fams[3].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    assert_eq!(s.revoke_session_families("s3", t).await.unwrap(), 2);
    assert_eq!(s.revoke_session_families("s3", t).await.unwrap(), 0);
    assert_eq!(s.revoke_session_families("nope", t).await.unwrap(), 0);

    assert_eq!(
        s.revoke_org_families(&o.id, Some(&[b.id.clone()].into()), t)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.revoke_org_families(&o.id, None, t).await.unwrap(), 1);
    for f in &fams {
        let got = s.get_family(&f.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(t), "{}", f.session_id);
    }
}
