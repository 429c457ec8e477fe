//! Conformance cases for org–app links and the role groups they allow.
//!
//! Owns: what `LinkStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn links_crud(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    s.create_role(&role(&a.id, "sales")).await.unwrap();
    let g1 = group(&a.id, &["sales"]);
    let g2 = group(&a.id, &[]);
    s.create_role_group(&g1).await.unwrap();
    s.create_role_group(&g2).await.unwrap();
    let o = org(None);
    s.create_org(&o).await.unwrap();

    let mut l = link(&o.id, &a.id, &[&g1.id, &g2.id]);
    l.default_roles = [rv("sales")].into();
    l.auth_policy = LinkAuthPolicy::Connections {
        connection_ids: vec![ConnectionId::generate()],
    };
    s.create_link(&l).await.unwrap();
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(l.clone()));
    assert_eq!(s.list_links_for_org(&o.id).await.unwrap(), vec![l.clone()]);
    assert_duplicate(s.create_link(&l).await, "organization link");
    assert_missing(
        s.create_link(&link(&OrgId::generate(), &a.id, &[])).await,
        "organization",
    );
    assert_missing(
        s.create_link(&link(&o.id, &AppId::generate(), &[])).await,
        "app",
    );
    let a2 = app();
    s.create_app(&a2).await.unwrap();
    assert_missing(
        s.create_link(&link(&o.id, &a2.id, &[&RoleGroupId::generate()]))
            .await,
        "role group",
    );
    assert_eq!(
        s.get_link(&o.id, &a2.id).await.unwrap(),
        None,
        "nothing left of a failed create"
    );
    // A group of another app cannot be allowed on this link.
    assert_missing(
        s.create_link(&link(&o.id, &a2.id, &[&g1.id])).await,
        "role group",
    );

    let mut changed = l.clone();
    changed.allowed_role_groups = [g2.id.clone()].into();
    changed.jit = false;
    changed.default_roles = BTreeSet::new();
    changed.auth_policy = LinkAuthPolicy::Inherit;
    let stored = s.update_link(&changed).await.unwrap();
    assert_eq!(
        stored,
        OrgAppLink {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(
        s.get_link(&o.id, &a.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_conflict(s.update_link(&changed).await);
    assert_not_found(s.update_link(&link(&o.id, &a2.id, &[])).await);
    let mut ghost = stored.clone();
    ghost.allowed_role_groups.insert(RoleGroupId::generate());
    assert_missing(s.update_link(&ghost).await, "role group");
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(stored));
    // g1 is no longer allowed by the link, so it may go now.
    s.delete_role_group(&a.id, &g1.id).await.unwrap();

    s.delete_link(&o.id, &a.id).await.unwrap();
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), None);
    assert_not_found(s.delete_link(&o.id, &a.id).await);
    s.delete_role_group(&a.id, &g2.id).await.unwrap();
}
