//! Conformance cases for shared domains (issue 16 item 3): the `shared` mark of a verified
//! domain, and the two by-email lookups of the emailed org chooser (memberships of the users
//! with an email, pending invitations for an email), each across orgs.
//!
//! Owns: what `DomainStore::find_verified_domain`, `list_memberships_for_email` and
//! `list_pending_invitations_for_email` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

pub async fn shared_domain_mark(s: Arc<dyn Storage>) {
    let a = org(None);
    s.create_org(&a).await.unwrap();
    let name = unique_domain();
    let dn = EmailDomain::parse(&name).unwrap();
    let mut d = domain(&a.id, &name, true);
    assert!(!d.shared, "exclusive by default");
    s.create_domain(&d).await.unwrap();
    let found = s.find_verified_domain(&dn).await.unwrap().unwrap();
    assert!(found.routes_exclusively());
    assert_eq!(found, d);

    d.shared = true;
    s.update_domain(&d).await.unwrap();
    assert_eq!(s.get_domain(&a.id, &dn).await.unwrap(), Some(d.clone()));
    let found = s.find_verified_domain(&dn).await.unwrap().unwrap();
    assert!(found.shared && !found.routes_exclusively());
    // Still the one org that verified it.
    assert_eq!(
        s.find_verified_domain_org(&dn).await.unwrap(),
        Some(a.id.clone())
    );
    assert_eq!(s.list_domains(&a.id).await.unwrap(), vec![d.clone()]);

    // Created shared and unverified: not found by discovery at all.
    let other = unique_domain();
    let mut u = domain(&a.id, &other, false);
    u.shared = true;
    s.create_domain(&u).await.unwrap();
    assert_eq!(
        s.find_verified_domain(&EmailDomain::parse(&other).unwrap())
            .await
            .unwrap(),
        None
    );
    assert!(
        s.get_domain(&a.id, &u.domain)
            .await
            .unwrap()
            .unwrap()
            .shared
    );
}

pub async fn lookups_by_email(s: Arc<dyn Storage>) {
    let (a, b, c) = (org(None), org(None), org(None));
    for o in [&a, &b, &c] {
        s.create_org(o).await.unwrap();
    }
    let addr = format!("{}@gmail.example", fresh("pat"));
    let email = Email::parse(&addr).unwrap();
    let pat = user(&addr);
    let mut pat_fed = user(&addr);
    // A second user with the same email (made by a federated sign-in, no password).
    pat_fed.password_hash = None;
    let other = user(&format!("{}@gmail.example", fresh("sam")));
    for u in [&pat, &pat_fed, &other] {
        s.create_user(u).await.unwrap();
    }
    s.create_membership(&membership(&b.id, &pat.id))
        .await
        .unwrap();
    let mut suspended = membership(&a.id, &pat_fed.id);
    suspended.status = MemberStatus::Suspended;
    s.create_membership(&suspended).await.unwrap();
    s.create_membership(&membership(&c.id, &other.id))
        .await
        .unwrap();

    // Every membership of both users (any status: the caller filters), each naming its org.
    let got = s.list_memberships_for_email(&email).await.unwrap();
    let pairs: Vec<_> = got
        .iter()
        .map(|m| (m.org_id.clone(), m.user_id.clone(), m.status))
        .collect();
    let mut want = vec![
        (a.id.clone(), pat_fed.id.clone(), MemberStatus::Suspended),
        (b.id.clone(), pat.id.clone(), MemberStatus::Active),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(pairs, want, "sorted by org");
    // The email is matched in its normalized form.
    let upper = Email::parse(&addr.to_uppercase()).unwrap();
    assert_eq!(s.list_memberships_for_email(&upper).await.unwrap(), got);
    assert!(
        s.list_memberships_for_email(&Email::parse("nobody@gmail.example").unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Pending, unexpired invitations for the email only.
    let t = now();
    let mut pending = invitation(&c.id);
    pending.email = email.clone();
    let mut pending_b = invitation(&b.id);
    pending_b.email = email.clone();
    let mut accepted = invitation(&a.id);
    accepted.email = email.clone();
    accepted.status = InvitationStatus::Accepted;
    let mut revoked = invitation(&a.id);
    revoked.email = email.clone();
    revoked.status = InvitationStatus::Revoked;
    let mut expired = invitation(&a.id);
    expired.email = email.clone();
    expired.expires_at = t - time::Duration::minutes(1);
    let someone_else = invitation(&a.id);
    for i in [
        &pending,
        &pending_b,
        &accepted,
        &revoked,
        &expired,
        &someone_else,
    ] {
        s.create_invitation(i).await.unwrap();
    }
    let got: Vec<_> = s
        .list_pending_invitations_for_email(&email, t)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut want = vec![
        (b.id.clone(), pending_b.id.clone()),
        (c.id.clone(), pending.id.clone()),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(got, want.into_iter().map(|(_, i)| i).collect::<Vec<_>>());
    // Past their expiry they are no longer listed.
    assert!(
        s.list_pending_invitations_for_email(&email, t + time::Duration::days(8))
            .await
            .unwrap()
            .is_empty()
    );
}
