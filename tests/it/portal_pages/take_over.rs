//! The operator's override of a domain another org has verified (the API's `?force=true`):
//! offered to operators only, behind a confirmation page, still checking the TXT record, and
//! moving the verification (the other org loses it). Everyone else gets 404 on its URLs.

use super::{Portal, post, start, text};
use crate::provider::fixture::org_id;
use lobby::domain::{EmailDomain, OrgDomain};

const D: &str = "shop.example";

fn as_operator(c: &mut lobby::config::Config) {
    c.operator_org = Some("acme".into());
}

async fn domain_of(p: &Portal, org: &str) -> Option<OrgDomain> {
    p.lobby
        .storage()
        .get_domain(&org_id(org), &EmailDomain::parse(D).unwrap())
        .await
        .unwrap()
}

/// Add `D` to `org` on its Domains page and publish its TXT record.
async fn add_and_publish(p: &Portal, b: &crate::provider::fixture::Browser, org: &str) {
    let page = format!("/portal/orgs/{org}/domains");
    let r = post(b, &page, &page, &[("domain", D)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let d = domain_of(p, org).await.unwrap();
    p.dns
        .set_txt(&d.txt_record_name(), &[&d.txt_record_value()]);
}

#[tokio::test]
async fn operators_take_over_a_domain_verified_elsewhere_after_confirming() {
    let p = start(Some(as_operator)).await;
    // globex verifies the domain first.
    let gus = p.signed_in("gus@globex.test").await;
    add_and_publish(&p, &gus, "globex").await;
    let gd = "/portal/orgs/globex/domains";
    let r = post(&gus, gd, &format!("{gd}/{D}/verify"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(domain_of(&p, "globex").await.unwrap().verified);

    // acme's admin bob is the operator (LOBBY_OPERATOR_ORG=acme).
    let bob = p.signed_in("bob@acme.test").await;
    let ad = "/portal/orgs/acme/domains";
    add_and_publish(&p, &bob, "acme").await;
    let mine = domain_of(&p, "acme").await.unwrap();
    let verify = format!("{ad}/{D}/verify");
    let take = format!("{ad}/{D}/take-over");
    // Refused as taken, with the way to override it (operators only).
    let r = post(&bob, ad, &verify, &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(text(&r).contains("Another organization has already verified this domain"));
    assert!(
        r.body.contains(&format!("href=\"{take}\"")),
        "an operator is offered the take-over: {}",
        r.body
    );
    // The confirmation page says what happens; the GET changes nothing.
    let confirm = bob.get(&take).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let words = text(&confirm);
    assert!(
        words.contains("Globex") && words.contains(&format!("has verified {D}")),
        "{words}"
    );
    assert!(words.contains("loses"), "{words}");
    assert!(words.contains(&format!("action=\"{take}\"")), "{words}");
    assert!(domain_of(&p, "globex").await.unwrap().verified);
    // Without acme's TXT record the override moves nothing.
    p.dns.remove(&mine.txt_record_name());
    let r = post(&bob, ad, &take, &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(text(&r).contains("The TXT record was not found yet."));
    assert!(domain_of(&p, "globex").await.unwrap().verified);
    assert!(!domain_of(&p, "acme").await.unwrap().verified);
    // With it: moved, said in words, audited in the other org.
    p.dns
        .set_txt(&mine.txt_record_name(), &[&mine.txt_record_value()]);
    let r = post(&bob, ad, &take, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(domain_of(&p, "acme").await.unwrap().verified);
    assert!(!domain_of(&p, "globex").await.unwrap().verified);
    let page = bob.get(ad).await;
    assert!(
        text(&page).contains(&format!("{D} is verified for this organization now")),
        "{}",
        page.body
    );
    let ev = p
        .lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                org_id: Some(org_id("globex")),
                action: Some("domain.override".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(5),
        )
        .await
        .unwrap();
    assert_eq!(ev.items.len(), 1);
    // Nothing left to take over: the confirmation page sends back to the list.
    let r = bob.get(&take).await;
    assert_eq!(r.status, 303);
}

#[tokio::test]
async fn org_admins_are_not_offered_the_take_over_and_get_404() {
    // Without LOBBY_OPERATOR_ORG nobody is an operator.
    let p = start(None).await;
    let gus = p.signed_in("gus@globex.test").await;
    add_and_publish(&p, &gus, "globex").await;
    let gd = "/portal/orgs/globex/domains";
    let r = post(&gus, gd, &format!("{gd}/{D}/verify"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);

    let bob = p.signed_in("bob@acme.test").await;
    let ad = "/portal/orgs/acme/domains";
    add_and_publish(&p, &bob, "acme").await;
    let r = post(&bob, ad, &format!("{ad}/{D}/verify"), &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(!r.body.contains("take-over"), "{}", r.body);
    let take = format!("{ad}/{D}/take-over");
    assert_eq!(bob.get(&take).await.status, 404);
    let r = post(&bob, ad, &take, &[]).await;
    assert_eq!(r.status, 404);
    assert!(domain_of(&p, "globex").await.unwrap().verified);
    assert!(!domain_of(&p, "acme").await.unwrap().verified);
}
