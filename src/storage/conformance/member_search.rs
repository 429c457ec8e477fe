//! Conformance cases for the member search (`MembershipStore::search_members` and
//! `count_members`): search, filters and paging in the database, and never another org's rows.
//!
//! Owns: what the member search promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeMap;
use std::sync::Arc;

async fn ids(s: &Arc<dyn Storage>, org: &OrgId, f: MemberFilter) -> Vec<UserId> {
    let page = s
        .search_members(org, &f, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(page.next.is_none());
    let count = s.count_members(org, &f).await.unwrap();
    assert_eq!(count as usize, page.items.len(), "count of {f:?}");
    page.items
        .into_iter()
        .map(|r| {
            assert_eq!(&r.membership.org_id, org);
            assert_eq!(r.membership.user_id, r.user.id);
            r.user.id
        })
        .collect()
}

fn sorted(mut v: Vec<UserId>) -> Vec<UserId> {
    v.sort();
    v
}

pub async fn member_search(s: Arc<dyn Storage>) {
    let (a, b) = (app(), app());
    s.create_app(&a).await.unwrap();
    s.create_app(&b).await.unwrap();
    let (o1, o2) = (org(None), org(None));
    s.create_org(&o1).await.unwrap();
    s.create_org(&o2).await.unwrap();
    let tag = fresh("s");

    let mut alice = user(&format!("alice.{tag}@acme.example"));
    alice.name = Some("Alice SMITH".into());
    let mut bob = user(&format!("bob.{tag}@acme.example"));
    bob.name = Some("Bob_B".into());
    let mut carol = user(&format!("carol.{tag}@other.example"));
    carol.name = Some("100% Carol".into());
    let mut stranger = user(&format!("alice2.{tag}@acme.example"));
    stranger.name = None;
    for u in [&alice, &bob, &carol, &stranger] {
        s.create_user(u).await.unwrap();
    }

    let mut ma = membership(&o1.id, &alice.id);
    ma.roles = [(a.id.clone(), [rv("sales")].into())].into();
    ma.org_roles = [OrgRole::OrgAdmin].into();
    let mut mb = membership(&o1.id, &bob.id);
    mb.status = MemberStatus::Suspended;
    mb.roles = [(b.id.clone(), [rv("staff")].into())].into();
    mb.org_roles = [].into();
    let mut mc = membership(&o1.id, &carol.id);
    mc.status = MemberStatus::Invited;
    mc.roles = [
        (a.id.clone(), [].into()),
        (b.id.clone(), [rv("staff"), rv("admin")].into()),
    ]
    .into();
    mc.org_roles = [OrgRole::Viewer].into();
    // Members of the other org only: never in o1's answers.
    let mut ms = membership(&o2.id, &stranger.id);
    ms.roles = [(a.id.clone(), [rv("sales")].into())].into();
    ms.org_roles = [OrgRole::OrgAdmin].into();
    let mut ma2 = membership(&o2.id, &alice.id);
    ma2.status = MemberStatus::Suspended;
    ma2.roles = BTreeMap::new();
    for m in [&ma, &mb, &mc, &ms, &ma2] {
        s.create_membership(m).await.unwrap();
    }
    let (al, bo, ca, st) = (
        alice.id.clone(),
        bob.id.clone(),
        carol.id.clone(),
        stranger.id.clone(),
    );
    let all = sorted(vec![al.clone(), bo.clone(), ca.clone()]);

    // No filter: every member of the org, by user id, each with its user.
    let page = s
        .search_members(&o1.id, &MemberFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().find(|r| r.user.id == al).unwrap(),
        &MemberRow {
            membership: ma.clone(),
            user: alice.clone()
        }
    );
    assert_eq!(ids(&s, &o1.id, MemberFilter::default()).await, all);
    assert_eq!(
        ids(&s, &o2.id, MemberFilter::default()).await,
        sorted(vec![al.clone(), st.clone()])
    );

    // Search: email or name, case-insensitive, wildcards literal.
    let search = |q: &str| MemberFilter {
        search: Some(q.into()),
        ..MemberFilter::default()
    };
    assert_eq!(ids(&s, &o1.id, search("ALICE")).await, vec![al.clone()]);
    assert_eq!(ids(&s, &o1.id, search("smith")).await, vec![al.clone()]);
    assert_eq!(
        ids(&s, &o1.id, search("acme.example")).await,
        sorted(vec![al.clone(), bo.clone()])
    );
    assert_eq!(ids(&s, &o1.id, search("%")).await, vec![ca.clone()]);
    assert_eq!(ids(&s, &o1.id, search("_")).await, vec![bo.clone()]);
    assert_eq!(ids(&s, &o1.id, search(&tag)).await, all);
    assert!(ids(&s, &o1.id, search("nobody-here")).await.is_empty());
    // The other org's member matches the text but is not in this org.
    assert_eq!(
        ids(&s, &o2.id, search(&format!("alice2.{tag}"))).await,
        vec![st.clone()]
    );

    // Filters.
    let f = |status: Option<MemberStatus>,
             org_role: Option<OrgRole>,
             app: Option<&AppId>,
             app_role: Option<(&AppId, &str)>| MemberFilter {
        search: None,
        status,
        org_role,
        app: app.cloned(),
        app_role: app_role.map(|(a, r)| (a.clone(), rv(r))),
    };
    assert_eq!(
        ids(
            &s,
            &o1.id,
            f(Some(MemberStatus::Suspended), None, None, None)
        )
        .await,
        vec![bo.clone()]
    );
    assert_eq!(
        ids(&s, &o1.id, f(Some(MemberStatus::Active), None, None, None)).await,
        vec![al.clone()]
    );
    assert_eq!(
        ids(&s, &o1.id, f(None, Some(OrgRole::OrgAdmin), None, None)).await,
        vec![al.clone()]
    );
    assert_eq!(
        ids(&s, &o1.id, f(None, Some(OrgRole::Viewer), None, None)).await,
        vec![ca.clone()]
    );
    assert!(
        ids(&s, &o1.id, f(None, Some(OrgRole::MemberAdmin), None, None))
            .await
            .is_empty()
    );
    // An app counts only with at least one role in it (carol's empty list for `a` does not).
    assert_eq!(
        ids(&s, &o1.id, f(None, None, Some(&a.id), None)).await,
        vec![al.clone()]
    );
    assert_eq!(
        ids(&s, &o1.id, f(None, None, Some(&b.id), None)).await,
        sorted(vec![bo.clone(), ca.clone()])
    );
    assert_eq!(
        ids(&s, &o1.id, f(None, None, None, Some((&b.id, "admin")))).await,
        vec![ca.clone()]
    );
    assert_eq!(
        ids(&s, &o1.id, f(None, None, None, Some((&b.id, "staff")))).await,
        sorted(vec![bo.clone(), ca.clone()])
    );
    // The role must be in that app: `sales` is held in `a` only.
    assert!(
        ids(&s, &o1.id, f(None, None, None, Some((&b.id, "sales"))))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(
            &s,
            &o1.id,
            f(Some(MemberStatus::Invited), None, Some(&b.id), None)
        )
        .await,
        vec![ca.clone()]
    );
    assert!(
        ids(
            &s,
            &o1.id,
            f(Some(MemberStatus::Active), None, Some(&b.id), None)
        )
        .await
        .is_empty()
    );
    assert_eq!(
        ids(
            &s,
            &o2.id,
            f(
                None,
                Some(OrgRole::OrgAdmin),
                Some(&a.id),
                Some((&a.id, "sales"))
            )
        )
        .await,
        vec![st.clone()]
    );

    // Paging: one at a time, through the filter, cursor = the last user id.
    let by_app_b = f(None, None, Some(&b.id), None);
    let mut req = PageRequest::first(1);
    let mut seen = Vec::new();
    loop {
        let p = s.search_members(&o1.id, &by_app_b, &req).await.unwrap();
        assert!(p.items.len() <= 1);
        seen.extend(p.items.iter().map(|r| r.user.id.clone()));
        match p.next {
            Some(n) => {
                assert_eq!(Some(&n), seen.last().map(|u| u.to_string()).as_ref());
                req.after = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(seen, sorted(vec![bo.clone(), ca.clone()]));
    let p = s
        .search_members(&o1.id, &MemberFilter::default(), &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 2);
    assert!(p.next.is_some());

    // An org nobody belongs to, and an unknown org: empty, not an error.
    let empty = org(None);
    s.create_org(&empty).await.unwrap();
    assert!(ids(&s, &empty.id, MemberFilter::default()).await.is_empty());
    assert!(
        ids(&s, &OrgId::generate(), search("alice"))
            .await
            .is_empty()
    );
}
