//! Conformance cases that cut across aggregates: two orgs never see each other's rows, stale
//! versions conflict, concurrent read-modify-write writers lose nothing.
//!
//! Owns: isolation and optimistic concurrency as the traits promise them. Must not touch:
//! backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

/// Org A's view never contains org B's rows, and B's ids looked up through A are not found.
pub async fn two_org_isolation(s: Arc<dyn Storage>) {
    let app_ = app();
    s.create_app(&app_).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let o = org(None);
        s.create_org(&o).await.unwrap();
        let d = domain(&o.id, &unique_domain(), true);
        s.create_domain(&d).await.unwrap();
        let c = connection(&o.id);
        s.create_connection(&c).await.unwrap();
        let u = user(&format!("{}@shared.example", fresh("iso")));
        s.create_user(&u).await.unwrap();
        s.create_membership(&membership(&o.id, &u.id))
            .await
            .unwrap();
        let i = invitation(&o.id);
        s.create_invitation(&i).await.unwrap();
        s.create_link(&link(&o.id, &app_.id, &[])).await.unwrap();
        ids.push((o, d, c, u, i));
    }
    let (a, b) = (&ids[0], &ids[1]);
    let (ao, bo) = (&a.0.id, &b.0.id);

    assert_eq!(s.list_domains(ao).await.unwrap(), vec![a.1.clone()]);
    assert_eq!(s.get_domain(ao, &b.1.domain).await.unwrap(), None);
    assert_eq!(s.list_connections(ao).await.unwrap(), vec![a.2.clone()]);
    assert_eq!(s.get_connection(ao, &b.2.id).await.unwrap(), None);
    assert_not_found(s.delete_connection(ao, &b.2.id).await);
    let mut moved = b.2.clone();
    moved.org_id = ao.clone();
    assert_not_found(s.update_connection(&moved).await);
    assert_eq!(
        s.get_connection(bo, &b.2.id).await.unwrap(),
        Some(b.2.clone())
    );

    let members = s.list_members(ao, &PageRequest::first(50)).await.unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].user_id, a.3.id);
    assert_eq!(s.get_membership(ao, &b.3.id).await.unwrap(), None);
    assert_eq!(s.find_member_by_email(ao, &b.3.email).await.unwrap(), None);
    assert_not_found(s.delete_membership(ao, &b.3.id).await);

    let invs = s
        .list_invitations(ao, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(invs.items, vec![a.4.clone()]);
    assert_eq!(s.get_invitation(ao, &b.4.id).await.unwrap(), None);
    assert_not_found(s.delete_invitation(ao, &b.4.id).await);
    let mut stolen = b.4.clone();
    stolen.org_id = ao.clone();
    assert_not_found(s.update_invitation(&stolen).await);

    let links = s.list_links_for_org(ao).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(&links[0].org_id, ao);
    assert_not_found(s.delete_domain(ao, &b.1.domain).await);
    assert_eq!(
        s.find_verified_domain_org(&b.1.domain).await.unwrap(),
        Some(bo.clone())
    );
    // B's rows are all still there.
    assert_eq!(s.list_domains(bo).await.unwrap(), vec![b.1.clone()]);
    assert!(s.get_membership(bo, &b.3.id).await.unwrap().is_some());
    assert!(s.get_invitation(bo, &b.4.id).await.unwrap().is_some());
}

/// Every versioned update refuses a stale version.
pub async fn stale_versions_conflict(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    let g = group(&a.id, &[]);
    s.create_role_group(&g).await.unwrap();
    let l = link(&o.id, &a.id, &[]);
    s.create_link(&l).await.unwrap();
    let m = s.get_membership(&o.id, &u.id).await.unwrap().unwrap();

    let o2 = s.update_org(&o).await.unwrap();
    assert_eq!(o2.version, 2);
    assert_conflict(s.update_org(&o).await);
    assert_eq!(s.update_org(&o2).await.unwrap().version, 3);

    s.update_app(&a).await.unwrap();
    assert_conflict(s.update_app(&a).await);
    s.update_user(&u).await.unwrap();
    assert_conflict(s.update_user(&u).await);
    s.update_membership(&m).await.unwrap();
    assert_conflict(s.update_membership(&m).await);
    s.update_connection(&c).await.unwrap();
    assert_conflict(s.update_connection(&c).await);
    s.update_role_group(&g).await.unwrap();
    assert_conflict(s.update_role_group(&g).await);
    s.update_link(&l).await.unwrap();
    assert_conflict(s.update_link(&l).await);
}

const WRITES_PER_WRITER: usize = 25;

async fn bump_org_counter(s: Arc<dyn Storage>, id: OrgId) -> usize {
    let mut conflicts = 0;
    for _ in 0..WRITES_PER_WRITER {
        loop {
            let mut o = s.get_org(&id).await.unwrap().unwrap();
            let n: usize = o.name.strip_prefix("counter ").unwrap().parse().unwrap();
            o.name = format!("counter {}", n + 1);
            tokio::task::yield_now().await;
            match s.update_org(&o).await {
                Ok(stored) => {
                    assert_eq!(stored.version, o.version + 1);
                    break;
                }
                Err(StorageError::Conflict) => conflicts += 1,
                Err(e) => panic!("update_org: {e}"),
            }
        }
    }
    conflicts
}

async fn add_member_roles(s: Arc<dyn Storage>, org: OrgId, user: UserId, app: AppId, w: &str) {
    for i in 0..WRITES_PER_WRITER {
        loop {
            let mut m = s.get_membership(&org, &user).await.unwrap().unwrap();
            m.roles
                .entry(app.clone())
                .or_default()
                .insert(rv(&format!("{w}-{i}")));
            tokio::task::yield_now().await;
            match s.update_membership(&m).await {
                Ok(_) => break,
                Err(StorageError::Conflict) => {}
                Err(e) => panic!("update_membership: {e}"),
            }
        }
    }
}

/// Two writers doing read-modify-write with retry on `Conflict`: no update is lost.
pub async fn concurrent_writers_lose_nothing(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let mut counter = o.clone();
    counter.name = "counter 0".into();
    let counter = s.update_org(&counter).await.unwrap();
    let w1 = tokio::spawn(bump_org_counter(s.clone(), counter.id.clone()));
    let w2 = tokio::spawn(bump_org_counter(s.clone(), counter.id.clone()));
    let m1 = tokio::spawn(add_member_roles(
        s.clone(),
        o.id.clone(),
        u.id.clone(),
        a.id.clone(),
        "w1",
    ));
    let m2 = tokio::spawn(add_member_roles(
        s.clone(),
        o.id.clone(),
        u.id.clone(),
        a.id.clone(),
        "w2",
    ));
    let conflicts = w1.await.unwrap() + w2.await.unwrap();
    m1.await.unwrap();
    m2.await.unwrap();

    let total = 2 * WRITES_PER_WRITER;
    let final_org = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!(final_org.name, format!("counter {total}"));
    assert_eq!(final_org.version, counter.version + total as i64);
    let final_m = s.get_membership(&o.id, &u.id).await.unwrap().unwrap();
    assert_eq!(final_m.version, 1 + total as i64);
    assert_eq!(final_m.roles.get(&a.id).map(|r| r.len()), Some(total));
    eprintln!("concurrent writers: {conflicts} conflicts retried on the org counter");
}
