//! Conformance cases for memberships and invitations.
//!
//! Owns: what `MembershipStore` and `InvitationStore` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub async fn memberships(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let (o1, o2) = (org(None), org(None));
    s.create_org(&o1).await.unwrap();
    s.create_org(&o2).await.unwrap();
    let u = user(&format!("{}@acme.example", fresh("m")));
    s.create_user(&u).await.unwrap();

    let mut m1 = membership(&o1.id, &u.id);
    m1.roles = [(a.id.clone(), [rv("sales"), rv("finance:read")].into())].into();
    m1.org_roles = [OrgRole::OrgAdmin, OrgRole::MemberAdmin].into();
    s.create_membership(&m1).await.unwrap();
    let mut m2 = membership(&o2.id, &u.id);
    m2.status = MemberStatus::Invited;
    s.create_membership(&m2).await.unwrap();
    assert_duplicate(s.create_membership(&m1).await, "membership");
    assert_missing(
        s.create_membership(&membership(&o1.id, &UserId::generate()))
            .await,
        "user",
    );
    assert_missing(
        s.create_membership(&membership(&OrgId::generate(), &u.id))
            .await,
        "organization",
    );

    assert_eq!(
        s.get_membership(&o1.id, &u.id).await.unwrap(),
        Some(m1.clone())
    );
    let mut want = vec![m1.clone(), m2.clone()];
    want.sort_by(|x, y| x.org_id.cmp(&y.org_id));
    assert_eq!(s.list_memberships_for_user(&u.id).await.unwrap(), want);
    assert!(
        s.list_memberships_for_user(&UserId::generate())
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        s.find_member_by_email(&o1.id, &u.email).await.unwrap(),
        Some((u.clone(), m1.clone()))
    );
    let stranger_org = org(None);
    s.create_org(&stranger_org).await.unwrap();
    assert_eq!(
        s.find_member_by_email(&stranger_org.id, &u.email)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_member_by_email(&o1.id, &Email::parse("nobody@acme.example").unwrap())
            .await
            .unwrap(),
        None
    );

    // The joined read gives exactly what the three separate reads give, and nothing for a
    // non-member (the org exists, the user exists, but not together).
    assert_eq!(
        s.get_member_context(&o1.id, &u.id).await.unwrap(),
        Some((u.clone(), m1.clone(), o1.clone()))
    );
    assert_eq!(
        s.get_member_context(&o2.id, &u.id).await.unwrap(),
        Some((u.clone(), m2.clone(), o2.clone()))
    );
    assert_eq!(
        s.get_member_context(&stranger_org.id, &u.id).await.unwrap(),
        None
    );
    assert_eq!(
        s.get_member_context(&o1.id, &UserId::generate())
            .await
            .unwrap(),
        None
    );

    let mut changed = m1.clone();
    changed.status = MemberStatus::Suspended;
    changed.roles = BTreeMap::new();
    changed.org_roles = BTreeSet::new();
    let stored = s.update_membership(&changed).await.unwrap();
    assert_eq!(
        stored,
        Membership {
            version: 2,
            ..changed.clone()
        }
    );
    assert_conflict(s.update_membership(&changed).await);
    assert_not_found(
        s.update_membership(&membership(&stranger_org.id, &u.id))
            .await,
    );

    s.delete_membership(&o1.id, &u.id).await.unwrap();
    assert_eq!(s.get_membership(&o1.id, &u.id).await.unwrap(), None);
    assert_not_found(s.delete_membership(&o1.id, &u.id).await);
    assert_eq!(
        s.list_memberships_for_user(&u.id).await.unwrap(),
        vec![m2.clone()]
    );
}

pub async fn invitations(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let a = app();
    s.create_app(&a).await.unwrap();
    let mut i = invitation(&o.id);
    i.roles = [(a.id.clone(), [rv("sales")].into())].into();
    i.org_roles = [OrgRole::MemberAdmin].into();
    s.create_invitation(&i).await.unwrap();
    assert_eq!(
        s.get_invitation(&o.id, &i.id).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        s.find_invitation_by_token(&i.token_hash).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        s.find_invitation_by_token(&TokenHash::of("wrong"))
            .await
            .unwrap(),
        None
    );
    let mut same_id = invitation(&o.id);
    same_id.id = i.id.clone();
    assert_duplicate(s.create_invitation(&same_id).await, "invitation id");
    let mut same_token = invitation(&o.id);
    same_token.token_hash = i.token_hash.clone();
    assert_duplicate(s.create_invitation(&same_token).await, "invitation token");
    assert_missing(
        s.create_invitation(&invitation(&OrgId::generate())).await,
        "organization",
    );

    // Accepting happens once: the second writer with the same version loses.
    let mut accepted = i.clone();
    accepted.status = InvitationStatus::Accepted;
    let stored = s.update_invitation(&accepted).await.unwrap();
    assert_eq!(
        stored,
        Invitation {
            version: 2,
            ..accepted.clone()
        }
    );
    let mut revoked = i.clone();
    revoked.status = InvitationStatus::Revoked;
    assert_conflict(s.update_invitation(&revoked).await);
    assert_not_found(s.update_invitation(&invitation(&o.id)).await);

    s.delete_invitation(&o.id, &i.id).await.unwrap();
    assert_eq!(s.get_invitation(&o.id, &i.id).await.unwrap(), None);
    assert_not_found(s.delete_invitation(&o.id, &i.id).await);
}
