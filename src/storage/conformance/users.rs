//! Conformance cases for users and their external identities.
//!
//! Owns: what `UserStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn users_and_identities(s: Arc<dyn Storage>) {
    let email = format!("{}@acme.example", fresh("alice"));
    let u = user(&email);
    s.create_user(&u).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_user(&UserId::generate()).await.unwrap(), None);
    assert_duplicate(s.create_user(&u).await, "user id");
    // Email is not a key: a second user may have the same address (another connection), but
    // only one of them may hold a password.
    let mut twin = user(&email);
    assert_duplicate(s.create_user(&twin).await, "password for this email");
    twin.password_hash = None;
    s.create_user(&twin).await.unwrap();
    let mut bare = user(&format!("{}@acme.example", fresh("bare")));
    bare.name = None;
    bare.password_hash = None;
    bare.email_verified = false;
    s.create_user(&bare).await.unwrap();
    assert_eq!(s.get_user(&bare.id).await.unwrap(), Some(bare.clone()));

    let by_email = s
        .list_users(
            &UserFilter {
                email: Some(u.email.clone()),
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let ids: BTreeSet<_> = by_email.items.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids, [u.id.clone(), twin.id.clone()].into());

    let mut changed = u.clone();
    changed.name = None;
    changed.email = Email::parse("alice@new.example").unwrap();
    changed.password_hash = None;
    let stored = s.update_user(&changed).await.unwrap();
    assert_eq!(
        stored,
        User {
            version: 2,
            ..changed.clone()
        }
    );
    assert_conflict(s.update_user(&changed).await);
    assert_not_found(s.update_user(&user("x@y.example")).await);

    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    let id = ExternalIdentity {
        connection_id: c.id.clone(),
        issuer: "https://idp.example.com".into(),
        subject: "00u1".into(),
        user_id: u.id.clone(),
        created_at: now(),
    };
    s.create_identity(&id).await.unwrap();
    assert_eq!(
        identity_of(&s, &c.id, &id.issuer, &id.subject).await,
        Some(id.clone())
    );
    // The key is (connection, issuer, subject): any other part differing is another identity.
    assert_eq!(
        identity_of(&s, &c.id, "https://other.example.com", &id.subject).await,
        None
    );
    assert_eq!(identity_of(&s, &c.id, &id.issuer, "00U1").await, None);
    // With its user and membership, as the separate reads give them.
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, &id.subject, &o.id)
            .await
            .unwrap(),
        Some((id.clone(), s.get_user(&u.id).await.unwrap(), None))
    );
    let other_org = org(None);
    s.create_org(&other_org).await.unwrap();
    s.create_membership(&membership(&other_org.id, &u.id))
        .await
        .unwrap();
    let m = s.get_membership(&other_org.id, &u.id).await.unwrap();
    assert!(m.is_some());
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, &id.subject, &other_org.id)
            .await
            .unwrap(),
        Some((id.clone(), s.get_user(&u.id).await.unwrap(), m))
    );
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, "00U1", &o.id)
            .await
            .unwrap(),
        None
    );
    let mut dup = id.clone();
    dup.user_id = twin.id.clone();
    assert_duplicate(s.create_identity(&dup).await, "external identity");
    let mut no_conn = id.clone();
    no_conn.connection_id = ConnectionId::generate();
    assert_missing(s.create_identity(&no_conn).await, "connection");
    let mut no_user = id.clone();
    no_user.subject = "other".into();
    no_user.user_id = UserId::generate();
    assert_missing(s.create_identity(&no_user).await, "user");
    let mut second = id.clone();
    second.subject = "00u2".into();
    s.create_identity(&second).await.unwrap();
    assert_eq!(
        s.list_identities(&u.id).await.unwrap(),
        vec![id.clone(), second.clone()]
    );

    s.create_membership(&membership(&o.id, &u.id))
        .await
        .unwrap();
    s.delete_user(&u.id).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), None);
    assert!(s.list_identities(&u.id).await.unwrap().is_empty());
    assert_eq!(identity_of(&s, &c.id, &id.issuer, &id.subject).await, None);
    assert_eq!(s.get_membership(&o.id, &u.id).await.unwrap(), None);
    assert_not_found(s.delete_user(&u.id).await);
}
