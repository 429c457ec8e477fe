//! Conformance cases for keyset pagination and exact timestamp round trips.
//!
//! Owns: what `PageRequest`/`Page` and the timestamp encoding promise. Must not touch:
//! backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

async fn collect_pages<T, F, Fut>(limit: u32, mut fetch: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut all = Vec::new();
    let mut pages = 0;
    let mut req = PageRequest::first(limit);
    loop {
        let p = fetch(req.clone()).await;
        pages += 1;
        assert!(p.items.len() <= limit as usize);
        let last_page = p.next.is_none();
        if !last_page {
            assert_eq!(p.items.len(), limit as usize, "only the last page is short");
        }
        all.extend(p.items);
        match p.next {
            Some(n) => req.after = Some(n),
            None => break,
        }
        assert!(pages < 100, "pagination does not terminate");
    }
    (all, pages)
}

/// Keyset pagination: 3 pages, no duplicates, no gaps, `next` only when more exist.
pub async fn pagination(s: Arc<dyn Storage>) {
    let parent = org(None);
    s.create_org(&parent).await.unwrap();
    let mut child_ids = BTreeSet::new();
    for _ in 0..7 {
        let o = org(Some(&parent.id));
        s.create_org(&o).await.unwrap();
        child_ids.insert(o.id.clone());
    }
    let (orgs, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_orgs(Some(&parent), &p).await.unwrap() }
    })
    .await;
    assert_eq!(pages, 3);
    let ids: Vec<_> = orgs.iter().map(|o| o.id.clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), child_ids);

    // An exact multiple of the page size ends without an empty extra page.
    let (all, pages) = collect_pages(4, |p| {
        let s = s.clone();
        async move { s.list_orgs(None, &p).await.unwrap() }
    })
    .await;
    assert_eq!(all.len(), 8);
    assert_eq!(pages, 2);

    let mut member_ids = BTreeSet::new();
    for i in 0..7 {
        let u = user(&format!("p{i}@page.example"));
        s.create_user(&u).await.unwrap();
        s.create_membership(&membership(&parent.id, &u.id))
            .await
            .unwrap();
        member_ids.insert(u.id.clone());
        s.create_invitation(&invitation(&parent.id)).await.unwrap();
        s.create_app(&app()).await.unwrap();
    }
    let (members, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_members(&parent, &p).await.unwrap() }
    })
    .await;
    assert_eq!(pages, 3);
    let got: Vec<_> = members.iter().map(|m| m.user_id.clone()).collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), member_ids);

    let (users, pages) = collect_pages(3, |p| {
        let s = s.clone();
        async move { s.list_users(&UserFilter::default(), &p).await.unwrap() }
    })
    .await;
    assert_eq!((users.len(), pages), (7, 3));
    let (invs, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_invitations(&parent, &p).await.unwrap() }
    })
    .await;
    assert_eq!((invs.len(), pages), (7, 3));
    let unique: HashSet<_> = invs.iter().map(|i| i.id.clone()).collect();
    assert_eq!(unique.len(), 7);
    let (apps, pages) = collect_pages(3, |p| {
        let s = s.clone();
        async move { s.list_apps(&p).await.unwrap() }
    })
    .await;
    assert_eq!((apps.len(), pages), (7, 3));

    // The default and maximum page sizes.
    assert_eq!(PageRequest::first(0).effective_limit(), 50);
    let big = s.list_apps(&PageRequest::first(10_000)).await.unwrap();
    assert_eq!(big.items.len(), 7);
    assert_eq!(big.next, None);
}

/// Every timestamp comes back exactly (millisecond precision), including odd milliseconds,
/// times before 1970 and far in the future.
pub async fn timestamps_round_trip(s: Arc<dyn Storage>) {
    let odd = from_millis(1_700_000_000_123);
    let old = from_millis(-86_400_000 * 365 + 7);
    let far = from_millis(4_102_444_800_999); // 2100-01-01T00:00:00.999Z
    let mut o = org(None);
    o.created_at = old;
    o.updated_at = far;
    s.create_org(&o).await.unwrap();
    let got = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!((got.created_at, got.updated_at), (old, far));

    let mut d = domain(&o.id, &unique_domain(), true);
    d.verified_at = Some(odd);
    d.created_at = far;
    s.create_domain(&d).await.unwrap();
    assert_eq!(s.get_domain(&o.id, &d.domain).await.unwrap(), Some(d));

    let mut i = invitation(&o.id);
    i.expires_at = odd;
    i.created_at = old;
    s.create_invitation(&i).await.unwrap();
    assert_eq!(s.get_invitation(&o.id, &i.id).await.unwrap(), Some(i));

    let (a, _, u) = seed_member(&s).await;
    s.create_membership(&membership(&o.id, &u.id))
        .await
        .unwrap();
    let mut f = family(&a.id, &o.id, &u.id, "sess-ts");
    f.auth_time = odd;
    f.created_at = old;
    f.expires_at = far;
    f.revoked_at = Some(odd);
    // The first token is created with its family (at `old`) and unused; rotation tests cover
    // `used_at`.
    let t = first_token(&f);
    s.create_family(&f, &t.hash).await.unwrap();
    assert_eq!(s.find_refresh(&t.hash).await.unwrap(), Some((t, f)));

    let mut e = audit("evt_ts", None, "x");
    e.time = odd;
    s.append_audit(&e).await.unwrap();
    let listed = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![e]);
}
