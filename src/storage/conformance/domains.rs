//! Conformance cases for org domains and discovery by verified domain.
//!
//! Owns: what `DomainStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

pub async fn domains_and_discovery(s: Arc<dyn Storage>) {
    let (a, b) = (org(None), org(None));
    s.create_org(&a).await.unwrap();
    s.create_org(&b).await.unwrap();
    let name = unique_domain();
    let dn = EmailDomain::parse(&name).unwrap();

    // Unverified claims of one domain by several orgs are fine; none routes logins.
    let da = domain(&a.id, &name, false);
    let db = domain(&b.id, &name, false);
    s.create_domain(&da).await.unwrap();
    s.create_domain(&db).await.unwrap();
    assert_eq!(s.find_verified_domain_org(&dn).await.unwrap(), None);
    assert_duplicate(s.create_domain(&da).await, "domain");
    assert_missing(
        s.create_domain(&domain(&OrgId::generate(), &unique_domain(), false))
            .await,
        "organization",
    );
    assert_eq!(s.get_domain(&a.id, &dn).await.unwrap(), Some(da.clone()));

    // A verifies: discovery finds A. B can then never verify it too.
    let mut va = da.clone();
    va.verified = true;
    va.verified_at = Some(now());
    s.update_domain(&va).await.unwrap();
    assert_eq!(s.get_domain(&a.id, &dn).await.unwrap(), Some(va.clone()));
    assert_eq!(
        s.find_verified_domain_org(&dn).await.unwrap(),
        Some(a.id.clone())
    );
    let mut vb = db.clone();
    vb.verified = true;
    vb.verified_at = Some(now());
    assert_duplicate(s.update_domain(&vb).await, "verified domain");
    assert_eq!(s.get_domain(&b.id, &dn).await.unwrap(), Some(db.clone()));
    let c = org(None);
    s.create_org(&c).await.unwrap();
    assert_duplicate(
        s.create_domain(&domain(&c.id, &name, true)).await,
        "verified domain",
    );
    assert_eq!(s.get_domain(&c.id, &dn).await.unwrap(), None);
    assert_not_found(
        s.update_domain(&domain(&c.id, &unique_domain(), true))
            .await,
    );

    // A lets go: B may verify.
    s.delete_domain(&a.id, &dn).await.unwrap();
    assert_not_found(s.delete_domain(&a.id, &dn).await);
    assert_eq!(s.find_verified_domain_org(&dn).await.unwrap(), None);
    s.update_domain(&vb).await.unwrap();
    assert_eq!(
        s.find_verified_domain_org(&dn).await.unwrap(),
        Some(b.id.clone())
    );

    // Normalized forms are what is stored: the Unicode and punycode spellings are one domain.
    let idn = format!("bücher-{}.example", fresh("x"));
    s.create_domain(&domain(&c.id, &idn, true)).await.unwrap();
    let puny = EmailDomain::parse(&idn).unwrap();
    assert!(puny.as_str().starts_with("xn--"));
    assert_eq!(
        s.find_verified_domain_org(&EmailDomain::parse(puny.as_str()).unwrap())
            .await
            .unwrap(),
        Some(c.id.clone())
    );

    let listed = s.list_domains(&b.id).await.unwrap();
    assert_eq!(listed, vec![vb.clone()]);
}
