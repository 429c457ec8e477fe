//! Conformance cases for the audit log and for declarative imports (all or nothing).
//!
//! Owns: what `AuditStore` and `Storage::apply_changes` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

pub async fn audit_newest_first(s: Arc<dyn Storage>) {
    let (a, b) = (org(None), org(None));
    s.create_org(&a).await.unwrap();
    s.create_org(&b).await.unwrap();
    let mut a_ids = Vec::new();
    for i in 0..7 {
        let id = format!("evt_{i:03}");
        let (o, action) = if i % 3 == 2 {
            (Some(&b.id), "login.success")
        } else {
            (Some(&a.id), "org.update")
        };
        s.append_audit(&audit(&id, o, action)).await.unwrap();
        if o == Some(&a.id) {
            a_ids.push(id);
        }
    }
    let none = audit("evt_100", None, "system.start");
    s.append_audit(&none).await.unwrap();
    assert_duplicate(s.append_audit(&none).await, "audit event id");

    let all = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 8);
    assert_eq!(all.items[0], none, "newest first");
    assert!(all.items.windows(2).all(|w| w[0].id > w[1].id));

    // A's events, newest first, 2 per page.
    let filter = AuditFilter {
        org_id: Some(a.id.clone()),
        action: None,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = s.list_audit(&filter, &page).await.unwrap();
        assert!(p.items.len() <= 2);
        for e in &p.items {
            assert_eq!(e.org_id.as_ref(), Some(&a.id));
        }
        seen.extend(p.items.iter().map(|e| e.id.to_string()));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    a_ids.reverse();
    assert_eq!(seen, a_ids);

    let logins = s
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("login.success".into()),
                ..Default::default()
            },
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(logins.items.len(), 2);
    assert!(
        logins
            .items
            .iter()
            .all(|e| e.org_id.as_ref() == Some(&b.id))
    );
    // Actor and time range narrow the list; `from` is inclusive, `until` exclusive.
    let t0 = now() - Duration::days(3);
    let mut old = audit("evt_060", Some(&b.id), "org.update");
    old.time = t0;
    old.actor = "user:usr_someone".into();
    let mut older = audit("evt_061", Some(&b.id), "org.update");
    older.time = t0 - Duration::days(1);
    s.append_audits(&[old.clone(), older.clone()])
        .await
        .unwrap();
    let by = |actor: Option<&str>, from, until| AuditFilter {
        org_id: Some(b.id.clone()),
        actor: actor.map(str::to_owned),
        from,
        until,
        ..Default::default()
    };
    let ids = |f: AuditFilter| {
        let s = s.clone();
        async move {
            s.list_audit(&f, &PageRequest::first(50))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(by(Some("user:usr_someone"), None, None)).await,
        ["evt_060"]
    );
    assert_eq!(
        ids(by(None, Some(t0), Some(t0 + Duration::seconds(1)))).await,
        ["evt_060"]
    );
    assert_eq!(ids(by(None, None, Some(t0))).await, ["evt_061"]);
    assert_eq!(ids(by(Some("operator"), None, Some(t0))).await, ["evt_061"]);
    assert!(ids(by(Some("nobody"), None, None)).await.is_empty());
    // Several in one write, all or nothing.
    let before = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .len();
    let pair = [
        audit("evt_050", None, "x.one"),
        audit("evt_051", None, "x.two"),
    ];
    s.append_audits(&pair).await.unwrap();
    assert_duplicate(
        s.append_audits(&[audit("evt_052", None, "x.three"), none.clone()])
            .await,
        "audit event id",
    );
    s.append_audits(&[]).await.unwrap();
    let xs = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        xs.len(),
        before + 2,
        "the pair, not the failed batch's first event"
    );
    assert!(xs.contains(&pair[0]) && xs.contains(&pair[1]));
}

/// A batch whose last change violates a constraint leaves nothing behind.
pub async fn apply_changes_all_or_nothing(s: Arc<dyn Storage>) {
    let taken = org(None);
    s.create_org(&taken).await.unwrap();
    let taken_domain = unique_domain();
    s.create_domain(&domain(&taken.id, &taken_domain, true))
        .await
        .unwrap();

    let a = app();
    let r = role(&a.id, "sales");
    let g = group(&a.id, &["sales"]);
    let o = org(None);
    let child = org(Some(&o.id));
    let l = link(&o.id, &a.id, &[&g.id]);
    let c = connection(&o.id);
    let u = user("dave@acme.example");
    let m = membership(&o.id, &u.id);
    let d_ok = domain(&o.id, &unique_domain(), true);
    let ev = audit("evt_import_1", Some(&o.id), "import.apply");
    let mut batch = vec![
        Change::UpsertApp(a.clone()),
        Change::UpsertRole(r.clone()),
        Change::UpsertRoleGroup(g.clone()),
        Change::UpsertOrg(o.clone()),
        Change::UpsertOrg(child.clone()),
        Change::UpsertLink(l.clone()),
        Change::UpsertDomain(d_ok.clone()),
        Change::UpsertConnection(c.clone()),
        Change::UpsertUser(u.clone()),
        Change::UpsertMembership(m.clone()),
        Change::Audit(ev.clone()),
    ];
    let mut failing = batch.clone();
    failing.push(Change::UpsertDomain(domain(&o.id, &taken_domain, true)));
    assert_duplicate(s.apply_changes(&failing).await, "verified domain");
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert_eq!(s.get_role(&a.id, &r.value).await.unwrap(), None);
    assert_eq!(s.get_role_group(&a.id, &g.id).await.unwrap(), None);
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);
    assert_eq!(s.get_org(&child.id).await.unwrap(), None);
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), None);
    assert_eq!(
        s.find_verified_domain_org(&d_ok.domain).await.unwrap(),
        None
    );
    assert_eq!(s.get_connection_for_callback(&c.id).await.unwrap(), None);
    assert_eq!(s.get_user(&u.id).await.unwrap(), None);
    assert_eq!(
        s.list_audit(&AuditFilter::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    // A dangling reference fails the batch the same way.
    let mut dangling = batch.clone();
    dangling.push(Change::UpsertMembership(membership(
        &o.id,
        &UserId::generate(),
    )));
    assert!(matches!(
        s.apply_changes(&dangling).await,
        Err(StorageError::MissingReference(_))
    ));
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);

    // The valid batch applies, in order.
    s.apply_changes(&batch).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert_eq!(s.get_org(&child.id).await.unwrap(), Some(child.clone()));
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(l.clone()));
    assert_eq!(
        s.find_verified_domain_org(&d_ok.domain).await.unwrap(),
        Some(o.id.clone())
    );
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        s.get_membership(&o.id, &u.id).await.unwrap(),
        Some(m.clone())
    );

    // Upserts overwrite what is stored (bumping the version) and keep created_at.
    let mut renamed = o.clone();
    renamed.name = "Acme (imported)".into();
    renamed.created_at = now() + Duration::days(1);
    renamed.version = 1;
    let mut narrower = g.clone();
    narrower.roles = BTreeSet::new();
    let mut admin_client = a.clone();
    admin_client.admin_api.client_scopes = [AdminClientScope::Read].into_iter().collect();
    batch = vec![
        Change::UpsertOrg(renamed.clone()),
        Change::UpsertRoleGroup(narrower.clone()),
        Change::UpsertApp(admin_client.clone()),
    ];
    s.apply_changes(&batch).await.unwrap();
    assert_eq!(
        s.get_app(&a.id).await.unwrap().unwrap().admin_api,
        admin_client.admin_api
    );
    let got = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!(got.name, "Acme (imported)");
    assert_eq!(got.version, 2);
    assert_eq!(got.created_at, o.created_at);
    let got = s.get_role_group(&a.id, &g.id).await.unwrap().unwrap();
    assert!(got.roles.is_empty());
    assert_eq!(got.version, 2);

    // An upsert never moves a connection into another org.
    let mut hijack = c.clone();
    hijack.org_id = taken.id.clone();
    assert_duplicate(
        s.apply_changes(&[Change::UpsertConnection(hijack)]).await,
        "connection id",
    );
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
}
