//! Conformance cases for organizations and the org tree.
//!
//! Owns: what `OrgStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

pub async fn orgs_crud(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(s.get_org_by_slug(&o.slug).await.unwrap(), Some(o.clone()));
    assert_eq!(s.get_org(&OrgId::generate()).await.unwrap(), None);
    assert_eq!(
        s.get_org_by_slug(&Slug::parse("no-such-org").unwrap())
            .await
            .unwrap(),
        None
    );

    let mut same_slug = org(None);
    same_slug.slug = o.slug.clone();
    assert_duplicate(s.create_org(&same_slug).await, "org slug");
    let mut same_id = org(None);
    same_id.id = o.id.clone();
    assert_duplicate(s.create_org(&same_id).await, "org id");
    assert_missing(
        s.create_org(&org(Some(&OrgId::generate()))).await,
        "parent organization",
    );

    let other = org(None);
    s.create_org(&other).await.unwrap();
    let mut changed = o.clone();
    changed.name = "Acme Europe".into();
    changed.status = OrgStatus::Suspended;
    changed.branding = Branding::default();
    changed.parent_id = Some(other.id.clone());
    changed.updated_at = now() + Duration::milliseconds(1234);
    let stored = s.update_org(&changed).await.unwrap();
    assert_eq!(
        stored,
        Org {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(stored.clone()));
    assert_conflict(s.update_org(&changed).await);
    let mut taken = stored.clone();
    taken.slug = other.slug.clone();
    assert_duplicate(s.update_org(&taken).await, "org slug");
    let mut orphan = stored.clone();
    orphan.parent_id = Some(OrgId::generate());
    assert_missing(s.update_org(&orphan).await, "parent organization");
    assert_not_found(s.update_org(&org(None)).await);
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(stored));

    s.delete_org(&o.id, false).await.unwrap();
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);
    assert_not_found(s.delete_org(&o.id, false).await);
    assert_not_found(s.delete_org(&o.id, true).await);
}

pub async fn org_tree(s: Arc<dyn Storage>) {
    let root = org(None);
    s.create_org(&root).await.unwrap();
    let child = org(Some(&root.id));
    s.create_org(&child).await.unwrap();
    let sibling = org(Some(&root.id));
    s.create_org(&sibling).await.unwrap();
    let grandchild = org(Some(&child.id));
    s.create_org(&grandchild).await.unwrap();
    let unrelated = org(None);
    s.create_org(&unrelated).await.unwrap();

    assert_eq!(
        s.org_ancestors(&grandchild.id).await.unwrap(),
        vec![child.id.clone(), root.id.clone()]
    );
    assert!(s.org_ancestors(&root.id).await.unwrap().is_empty());
    assert!(
        s.org_ancestors(&OrgId::generate())
            .await
            .unwrap()
            .is_empty()
    );
    let desc: BTreeSet<_> = s
        .org_descendants(&root.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        desc,
        [child.id.clone(), sibling.id.clone(), grandchild.id.clone()].into()
    );
    assert_eq!(
        s.org_descendants(&child.id).await.unwrap(),
        vec![grandchild.id.clone()]
    );
    assert!(s.org_descendants(&grandchild.id).await.unwrap().is_empty());

    let children = s
        .list_orgs(Some(&root.id), &PageRequest::first(50))
        .await
        .unwrap();
    let ids: BTreeSet<_> = children.items.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, [child.id.clone(), sibling.id.clone()].into());
    assert_eq!(
        s.list_orgs(None, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .len(),
        5
    );

    // Refused while children or members exist.
    assert_in_use(s.delete_org(&root.id, false).await, "child organizations");
    assert_in_use(s.delete_org(&child.id, false).await, "child organizations");
    let u = user("bob@acme.example");
    s.create_user(&u).await.unwrap();
    s.create_membership(&membership(&grandchild.id, &u.id))
        .await
        .unwrap();
    assert_in_use(s.delete_org(&grandchild.id, false).await, "members");

    // Everything the subtree owns, so we can see it go.
    let a = app();
    s.create_app(&a).await.unwrap();
    let d = unique_domain();
    s.create_domain(&domain(&grandchild.id, &d, true))
        .await
        .unwrap();
    let c = connection(&child.id);
    s.create_connection(&c).await.unwrap();
    s.create_identity(&ExternalIdentity {
        connection_id: c.id.clone(),
        issuer: "https://idp.example.com".into(),
        subject: "bob".into(),
        user_id: u.id.clone(),
        created_at: now(),
    })
    .await
    .unwrap();
    s.create_link(&link(&child.id, &a.id, &[])).await.unwrap();
    let inv = invitation(&grandchild.id);
    s.create_invitation(&inv).await.unwrap();
    let f = family(&a.id, &grandchild.id, &u.id, "sess-tree");
    s.create_family(&f, &token(&f.id).hash).await.unwrap();
    s.create_membership(&membership(&unrelated.id, &u.id))
        .await
        .unwrap();

    s.delete_org(&child.id, true).await.unwrap();
    for gone in [&child.id, &grandchild.id] {
        assert_eq!(s.get_org(gone).await.unwrap(), None);
    }
    assert!(s.get_org(&root.id).await.unwrap().is_some());
    assert!(s.get_org(&sibling.id).await.unwrap().is_some());
    assert_eq!(
        s.find_verified_domain_org(&EmailDomain::parse(&d).unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_connection_for_callback(&c.id).await.unwrap(), None);
    assert_eq!(
        identity_of(&s, &c.id, "https://idp.example.com", "bob").await,
        None
    );
    assert_eq!(
        s.find_invitation_by_token(&inv.token_hash).await.unwrap(),
        None
    );
    assert_eq!(s.get_family(&f.id).await.unwrap(), None);
    let left: Vec<_> = s
        .list_memberships_for_user(&u.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.org_id)
        .collect();
    assert_eq!(left, vec![unrelated.id.clone()]);
    assert!(s.get_user(&u.id).await.unwrap().is_some(), "users stay");
    assert!(s.get_app(&a.id).await.unwrap().is_some(), "apps stay");
    assert_eq!(
        s.org_descendants(&root.id).await.unwrap(),
        vec![sibling.id.clone()]
    );

    s.delete_org(&root.id, true).await.unwrap();
    assert_eq!(s.get_org(&sibling.id).await.unwrap(), None);
    assert!(s.get_org(&unrelated.id).await.unwrap().is_some());
}
