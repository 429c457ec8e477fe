//! Conformance cases for apps, roles and role groups (and the trivial ping).
//!
//! Owns: what `AppStore`, `RoleStore` and `Storage::ping` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

pub async fn ping_and_dialect(s: Arc<dyn Storage>) {
    s.ping().await.unwrap();
    assert!(matches!(s.dialect(), "sqlite" | "postgres"));
}

pub async fn apps_crud(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(
        s.get_app_by_client_id(&a.client_id).await.unwrap().as_ref(),
        Some(&a)
    );
    assert_eq!(s.get_app(&AppId::generate()).await.unwrap(), None);
    assert_eq!(
        s.get_app_by_client_id(&ClientId::generate()).await.unwrap(),
        None
    );

    let mut same_id = app();
    same_id.id = a.id.clone();
    assert_duplicate(s.create_app(&same_id).await, "app id");
    let mut same_client = app();
    same_client.client_id = a.client_id.clone();
    assert_duplicate(s.create_app(&same_client).await, "client_id");

    let mut public = app();
    public.client_type = ClientType::Public;
    public.client_secret_hash = None;
    public.signing_alg = SigningAlg::EdDSA;
    public.revoke_on = BTreeSet::new();
    public.admin_api.delegated = true;
    s.create_app(&public).await.unwrap();
    assert_eq!(s.get_app(&public.id).await.unwrap(), Some(public.clone()));

    let mut changed = a.clone();
    changed.name = "CRM 2".into();
    changed
        .redirect_uris
        .push("https://crm.example.com/cb2".into());
    changed.admin_api = AdminApiAccess {
        delegated: true,
        client_scopes: AdminClientScope::ALL.into_iter().collect(),
    };
    changed.updated_at = now() + Duration::seconds(5);
    let stored = s.update_app(&changed).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored,
        App {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(s.get_app(&a.id).await.unwrap(), Some(stored.clone()));
    assert_conflict(s.update_app(&changed).await);
    let mut taken = stored.clone();
    taken.client_id = public.client_id.clone();
    assert_duplicate(s.update_app(&taken).await, "client_id");
    assert_not_found(s.update_app(&app()).await);

    let page = s.list_apps(&PageRequest::first(10)).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|a| a.id.clone()).collect();
    let mut want = vec![a.id.clone(), public.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(page.next, None);

    s.delete_app(&a.id, false).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert_not_found(s.delete_app(&a.id, false).await);
    assert_not_found(s.delete_app(&a.id, true).await);
}

pub async fn roles_and_groups(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let (sales, finance) = (role(&a.id, "sales"), role(&a.id, "finance:read"));
    s.create_role(&sales).await.unwrap();
    s.create_role(&finance).await.unwrap();
    assert_duplicate(s.create_role(&sales).await, "role");
    assert_missing(s.create_role(&role(&AppId::generate(), "x")).await, "app");
    assert_eq!(
        s.get_role(&a.id, &sales.value).await.unwrap(),
        Some(sales.clone())
    );
    assert_eq!(s.get_role(&a.id, &rv("nope")).await.unwrap(), None);
    assert_eq!(
        s.list_roles(&a.id).await.unwrap(),
        vec![finance.clone(), sales.clone()]
    );
    let mut renamed = sales.clone();
    renamed.name = "Sales people".into();
    s.update_role(&renamed).await.unwrap();
    assert_eq!(
        s.get_role(&a.id, &sales.value).await.unwrap(),
        Some(renamed)
    );
    assert_not_found(s.update_role(&role(&a.id, "ghost")).await);

    let g = group(&a.id, &["sales", "finance:read"]);
    s.create_role_group(&g).await.unwrap();
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert_duplicate(s.create_role_group(&g).await, "role group");
    let empty = group(&a.id, &[]);
    s.create_role_group(&empty).await.unwrap();
    assert_eq!(
        s.get_role_group(&a.id, &empty.id).await.unwrap(),
        Some(empty.clone())
    );
    // A group can only hold existing roles of its app, and nothing is left of a failed create.
    let bad = group(&a.id, &["sales", "ghost"]);
    assert_missing(s.create_role_group(&bad).await, "role");
    assert_eq!(s.get_role_group(&a.id, &bad.id).await.unwrap(), None);
    assert_missing(
        s.create_role_group(&group(&AppId::generate(), &[])).await,
        "app",
    );
    // Scoped by app.
    assert_eq!(
        s.get_role_group(&AppId::generate(), &g.id).await.unwrap(),
        None
    );
    let mut listed = s.list_role_groups(&a.id).await.unwrap();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    let mut want = vec![g.clone(), empty.clone()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(listed, want);

    let mut narrowed = g.clone();
    narrowed.roles = [rv("sales")].into();
    narrowed.name = "Narrow".into();
    let stored = s.update_role_group(&narrowed).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.roles, narrowed.roles);
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_conflict(s.update_role_group(&narrowed).await);
    assert_not_found(s.update_role_group(&group(&a.id, &[])).await);
    let mut with_ghost = stored.clone();
    with_ghost.roles.insert(rv("ghost"));
    assert_missing(s.update_role_group(&with_ghost).await, "role");
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(stored.clone()),
        "a failed update leaves the group as it was"
    );

    // A role inside a group cannot go; one outside can.
    assert_in_use(s.delete_role(&a.id, &sales.value).await, "role groups");
    s.delete_role(&a.id, &finance.value).await.unwrap();
    assert_not_found(s.delete_role(&a.id, &finance.value).await);

    // A group allowed by a link cannot go.
    let o = org(None);
    s.create_org(&o).await.unwrap();
    s.create_link(&link(&o.id, &a.id, &[&g.id])).await.unwrap();
    assert_in_use(
        s.delete_role_group(&a.id, &g.id).await,
        "organization links",
    );
    s.delete_role_group(&a.id, &empty.id).await.unwrap();
    assert_not_found(s.delete_role_group(&a.id, &empty.id).await);

    // The app is in use by its link, groups and roles; cascade removes all of them.
    assert_in_use(s.delete_app(&a.id, false).await, "organization links");
    s.delete_link(&o.id, &a.id).await.unwrap();
    assert_in_use(s.delete_app(&a.id, false).await, "role groups");
    s.delete_role_group(&a.id, &g.id).await.unwrap();
    assert_in_use(s.delete_app(&a.id, false).await, "roles");
    s.create_role_group(&group(&a.id, &["sales"]))
        .await
        .unwrap();
    s.create_link(&link(&o.id, &a.id, &[])).await.unwrap();
    s.delete_app(&a.id, true).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert!(s.list_roles(&a.id).await.unwrap().is_empty());
    assert!(s.list_role_groups(&a.id).await.unwrap().is_empty());
    assert!(s.list_links_for_org(&o.id).await.unwrap().is_empty());
    assert!(s.get_org(&o.id).await.unwrap().is_some(), "orgs stay");
}
