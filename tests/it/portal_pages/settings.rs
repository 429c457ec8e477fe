//! Domains, Branding, Audit log and Child organizations pages: what they do, the rights of
//! each org role on them, field errors, CSRF.

use super::{Portal, csrf, field_error, post, start, text};
use crate::provider::fixture::org_id;
use lobby::domain::{Clock, EmailDomain};

const DOMAINS: &str = "/portal/orgs/acme/domains";
const BRANDING: &str = "/portal/orgs/acme/branding";
const AUDIT: &str = "/portal/orgs/acme/audit";
const CHILDREN: &str = "/portal/orgs/acme/children";

async fn acme_domain(p: &Portal, d: &str) -> Option<lobby::domain::OrgDomain> {
    p.lobby
        .storage()
        .get_domain(&org_id("acme"), &EmailDomain::parse(d).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn domains_are_added_verified_in_plain_words_and_removed() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get(DOMAINS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<title>Domains · Acme Inc. · Lobby portal</title>")
    );
    assert!(page.body.contains("acme.test") && page.body.contains("Verified"));

    // Not a domain: the error sits next to the field, nothing is stored.
    let r = post(&b, DOMAINS, DOMAINS, &[("domain", "not a domain")]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(!field_error(&r, "domain").is_empty());
    assert!(
        r.body.contains("value=\"not a domain\""),
        "the typed value stays"
    );

    let r = post(
        &b,
        DOMAINS,
        DOMAINS,
        &[("domain", "Shop.Acme-Corp.Example")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let d = acme_domain(&p, "shop.acme-corp.example").await.unwrap();
    assert!(!d.verified);
    let page = b.get(DOMAINS).await;
    assert!(text(&page).contains("Domain added. Publish the TXT record"));
    // The record to publish, in read-only fields a person can select and copy.
    for v in [d.txt_record_name(), d.txt_record_value()] {
        assert!(
            page.body.contains(&format!("readonly value=\"{v}\"")),
            "{v}"
        );
    }
    // Adding it again: a sentence next to the field.
    let r = post(
        &b,
        DOMAINS,
        DOMAINS,
        &[("domain", "shop.acme-corp.example")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "domain").contains("already has this domain"));

    let verify = "/portal/orgs/acme/domains/shop.acme-corp.example/verify";
    // Nothing published yet.
    let r = post(&b, DOMAINS, verify, &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        text(&r).contains("The TXT record was not found yet."),
        "{}",
        r.body
    );
    // A record with another value.
    p.dns
        .set_txt(&d.txt_record_name(), &["lobby-domain-verification=wrong"]);
    let r = post(&b, DOMAINS, verify, &[]).await;
    assert_eq!(r.status, 422);
    assert!(
        text(&r).contains("does not hold the value shown below"),
        "{}",
        r.body
    );
    // DNS itself fails.
    p.dns.fail(&d.txt_record_name());
    let r = post(&b, DOMAINS, verify, &[]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(text(&r).contains("could not reach DNS"), "{}", r.body);
    p.dns.remove(&d.txt_record_name());
    // The right record: verified, said in words on the next page.
    p.dns
        .set_txt(&d.txt_record_name(), &[&d.txt_record_value()]);
    let r = post(&b, DOMAINS, verify, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        acme_domain(&p, "shop.acme-corp.example")
            .await
            .unwrap()
            .verified
    );
    let page = b.get(DOMAINS).await;
    assert!(text(&page).contains("shop.acme-corp.example is verified."));
    // Checking a verified domain again.
    let r = post(&b, DOMAINS, verify, &[]).await;
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("still published"));

    // Another org cannot verify it: claimed.
    let g = p.signed_in("gus@globex.test").await;
    let gd = "/portal/orgs/globex/domains";
    let r = post(&g, gd, gd, &[("domain", "shop.acme-corp.example")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let theirs = p
        .lobby
        .storage()
        .get_domain(
            &org_id("globex"),
            &EmailDomain::parse("shop.acme-corp.example").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    p.dns
        .set_txt(&theirs.txt_record_name(), &[&theirs.txt_record_value()]);
    let r = post(
        &g,
        gd,
        "/portal/orgs/globex/domains/shop.acme-corp.example/verify",
        &[],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(text(&r).contains("Another organization has already verified this domain"));

    // Removing: a confirmation page that says what happens, then the POST.
    let del = "/portal/orgs/acme/domains/shop.acme-corp.example/delete";
    let confirm = b.get(del).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(text(&confirm).contains("Remove the domain shop.acme-corp.example?"));
    assert!(text(&confirm).contains("stops sending people"));
    let r = post(&b, DOMAINS, del, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(acme_domain(&p, "shop.acme-corp.example").await.is_none());
    // Unknown domains are 404s.
    assert_eq!(
        b.get("/portal/orgs/acme/domains/nope.example/delete")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn branding_previews_without_saving_and_saves_for_the_sign_in_pages() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get(BRANDING).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The saved colour is previewed through the validated stylesheet (no inline style).
    assert!(
        page.body
            .contains("/static/brand.css?c=aa3300&amp;for=preview"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("style="));
    let before = p
        .lobby
        .storage()
        .get_org(&org_id("acme"))
        .await
        .unwrap()
        .unwrap();

    let form = |intent: &'static str, color: &'static str| {
        vec![
            ("display_name", "Acme Europe"),
            ("logo_url", "https://cdn.acme.test/logo.png"),
            ("primary_color", color),
            ("intent", intent),
        ]
    };
    let r = post(&b, BRANDING, BRANDING, &form("preview", "#1A7F5A")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("/static/brand.css?c=1a7f5a&amp;for=preview")
    );
    assert!(r.body.contains("src=\"https://cdn.acme.test/logo.png\""));
    assert!(r.body.contains("Acme Europe"));
    let same = p
        .lobby
        .storage()
        .get_org(&org_id("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same.version, before.version, "a preview saves nothing");

    // Invalid values: each error next to its field, nothing saved.
    let r = post(
        &b,
        BRANDING,
        BRANDING,
        &[
            ("display_name", "Acme"),
            ("logo_url", "javascript:alert(1)"),
            ("primary_color", "red"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(field_error(&r, "logo_url").starts_with("The logo URL must be"));
    assert!(field_error(&r, "primary_color").starts_with("The primary colour must be"));
    assert!(
        !r.body.contains("src=\"javascript"),
        "an invalid logo is never shown"
    );

    let r = post(&b, BRANDING, BRANDING, &form("save", "#1A7F5A")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let org = p
        .lobby
        .storage()
        .get_org(&org_id("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.branding.display_name.as_deref(), Some("Acme Europe"));
    assert_eq!(org.branding.primary_color.as_deref(), Some("#1a7f5a"));
    let page = b.get(BRANDING).await;
    assert!(text(&page).contains("Branding saved."));
    // The scoped stylesheet sets the colour inside the preview only.
    let css = p
        .lobby
        .http()
        .get(p.lobby.url("/static/brand.css?c=1a7f5a&for=preview"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(css.trim(), ".brand-preview { --brand: #1a7f5a; }");
    // The hosted sign-in page shows it once the org is known.
    let browser = p.lobby.browser();
    let (_, r) = browser.authorize_crm(&[]).await;
    let flow = r.location().trim_start_matches("/login?flow=").to_owned();
    browser.to_password_page(&flow, "alice@acme.test").await;
    let pw_page = browser
        .get(&format!("/login/password?flow={flow}"))
        .await
        .body;
    assert!(pw_page.contains("Acme Europe"), "{pw_page}");
    assert!(pw_page.contains("/static/brand.css?c=1a7f5a"), "{pw_page}");

    // A stale version: the change is refused in words, the form keeps the typed values.
    let token = csrf(&b, BRANDING).await;
    let r = b
        .post(
            BRANDING,
            &[
                ("_csrf", &token),
                ("display_name", "Old tab"),
                ("version", &before.version.to_string()),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(text(&r).contains("Someone else changed this organization"));
    assert!(r.body.contains("value=\"Old tab\""));
}

#[tokio::test]
async fn the_audit_log_filters_by_action_actor_and_date_and_pages() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    for d in ["a.example", "b.example", "c.example"] {
        let r = post(&b, DOMAINS, DOMAINS, &[("domain", d)]).await;
        assert_eq!(r.status, 303);
    }
    let page = b.get(&format!("{AUDIT}?action=domain.create")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body.matches("<code>domain.create</code>").count(), 3);
    assert!(page.body.contains("<code>user:bob</code>"));
    let none = b
        .get(&format!("{AUDIT}?actor=operator&action=domain.create"))
        .await;
    assert!(none.body.contains("No events match."), "{}", none.body);
    let mine = b.get(&format!("{AUDIT}?actor=user%3Abob")).await;
    assert!(mine.body.contains("<code>domain.create</code>"));
    // Dates: today includes them, a range in the past does not.
    let today = lobby::admin::dto::ts(p.lobby.clock.now())[..10].to_owned();
    let r = b
        .get(&format!(
            "{AUDIT}?action=domain.create&from={today}&to={today}"
        ))
        .await;
    assert_eq!(r.body.matches("<code>domain.create</code>").count(), 3);
    let r = b
        .get(&format!(
            "{AUDIT}?action=domain.create&from=2001-01-01&to=2001-01-31"
        ))
        .await;
    assert!(r.body.contains("No events match."));
    // Bad dates: the error next to the field.
    let r = b.get(&format!("{AUDIT}?from=yesterday")).await;
    assert_eq!(r.status, 400);
    assert_eq!(field_error(&r, "from"), "Enter a date like 2026-01-31.");
    let r = b
        .get(&format!("{AUDIT}?from=2026-02-01&to=2026-01-01"))
        .await;
    assert!(field_error(&r, "to").contains("must not be before"));
    // Paging keeps the filter: three pages of one.
    let mut path = format!("{AUDIT}?action=domain.create&limit=1");
    let mut seen = Vec::new();
    loop {
        let r = b.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body.matches("<code>domain.create</code>").count(),
            1,
            "{path}: {}",
            r.body
        );
        let target = r.body.split("domain ").nth(1).unwrap()[..9].to_owned();
        seen.push(target);
        match r
            .body
            .split("rel=\"next\"")
            .next()
            .and_then(|s| s.rsplit("href=\"").next())
        {
            Some(href) if r.body.contains("rel=\"next\"") => {
                path = href[..href.find('"').unwrap()].replace("&#38;", "&");
            }
            _ => break,
        }
    }
    assert_eq!(
        seen,
        ["c.example", "b.example", "a.example"],
        "newest first"
    );
}

#[tokio::test]
async fn child_orgs_are_listed_created_and_opened() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get(CHILDREN).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(text(&page).contains("has no child organizations yet"));
    let r = post(
        &b,
        CHILDREN,
        CHILDREN,
        &[("name", ""), ("slug", "Not A Slug")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(field_error(&r, "slug").starts_with("The short name must be"));
    assert!(field_error(&r, "name").starts_with("The name must be"));
    let r = post(
        &b,
        CHILDREN,
        CHILDREN,
        &[("name", "Acme Europe"), ("slug", "globex")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "slug").contains("already uses this short name"));
    let r = post(
        &b,
        CHILDREN,
        CHILDREN,
        &[("name", "Acme Europe"), ("slug", "acme-eu")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let child = r.location();
    assert!(child.starts_with("/portal/orgs/"), "{child}");
    let page = b.get(CHILDREN).await;
    assert!(page.body.contains("Acme Europe") && page.body.contains(&format!("href=\"{child}\"")));
    // The parent's org_admin opens the child and works there.
    assert_eq!(b.get(&child).await.status, 200);
    assert_eq!(b.get(&format!("{child}/domains")).await.status, 200);
    let stored = p
        .lobby
        .storage()
        .get_org_by_slug(&lobby::domain::Slug::parse("acme-eu").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.parent_id, Some(org_id("acme")));
}

/// Every GET page of this area for acme, and every POST with a harmless body.
fn pages() -> Vec<&'static str> {
    vec![DOMAINS, BRANDING, AUDIT, CHILDREN]
}

fn posts() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (DOMAINS, vec![("domain", "rights.example")]),
        ("/portal/orgs/acme/domains/acme.test/verify", vec![]),
        ("/portal/orgs/acme/domains/acme.test/delete", vec![]),
        (BRANDING, vec![("display_name", "X"), ("intent", "save")]),
        (CHILDREN, vec![("name", "X"), ("slug", "x-child")]),
    ]
}

#[tokio::test]
async fn a_viewer_reads_and_changes_nothing() {
    let p = start(None).await;
    let b = p.signed_in("vic@acme.test").await;
    for path in pages() {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        // No forms but the sign-out and the language choice (the audit filter is a GET form).
        assert_eq!(
            page.body.matches("method=\"post\"").count(),
            2,
            "{path} offers a change to a viewer: {}",
            page.body
        );
    }
    assert_eq!(
        b.get("/portal/orgs/acme/domains/acme.test/delete")
            .await
            .status,
        404
    );
    let before = p
        .lobby
        .storage()
        .get_org(&org_id("acme"))
        .await
        .unwrap()
        .unwrap();
    for (path, form) in posts() {
        let r = post(&b, DOMAINS, path, &form).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let after = p
        .lobby
        .storage()
        .get_org(&org_id("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after);
    assert!(acme_domain(&p, "acme.test").await.is_some());
}

#[tokio::test]
async fn a_member_admin_and_another_orgs_admin_get_404() {
    let p = start(None).await;
    let meg = p.signed_in("meg@acme.test").await;
    let gus = p.signed_in("gus@globex.test").await;
    for path in pages() {
        assert_eq!(meg.get(path).await.status, 404, "member_admin on {path}");
        assert_eq!(gus.get(path).await.status, 404, "globex admin on {path}");
    }
    // The navigation does not offer them either.
    let home = meg.get("/portal/orgs/acme").await;
    assert_eq!(home.status, 200, "{}", home.body);
    for id in ["nav-domains", "nav-branding", "nav-audit", "nav-children"] {
        assert!(!home.body.contains(id), "{id} shown to a member_admin");
    }
    for (path, form) in posts() {
        let r = post(&meg, "/portal/orgs/acme/members", path, &form).await;
        assert_eq!(r.status, 404, "member_admin POST {path}");
        let r = post(&gus, "/portal/orgs/globex/domains", path, &form).await;
        assert_eq!(r.status, 404, "globex admin POST {path}");
    }
    assert!(acme_domain(&p, "acme.test").await.is_some());
}

#[tokio::test]
async fn every_post_needs_the_sessions_csrf_token() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let other = p.signed_in("bob@acme.test").await;
    let theirs = csrf(&other, DOMAINS).await;
    for (path, form) in posts() {
        let r = b.post(path, &form).await;
        assert_eq!(r.status, 403, "{path} without a token");
        let mut with = vec![("_csrf", theirs.as_str())];
        with.extend_from_slice(&form);
        let r = b.post(path, &with).await;
        assert_eq!(r.status, 403, "{path} with another session's token");
        assert!(text(&r).contains("This form expired."));
    }
    assert!(acme_domain(&p, "rights.example").await.is_none());
}

#[tokio::test]
async fn a_verified_domain_is_marked_shared_and_back_by_an_org_admin_only() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let sharing = "/portal/orgs/acme/domains/acme.test/sharing";
    let page = b.get(DOMAINS).await;
    assert!(
        page.body.contains("id=\"d-acme.test-share\""),
        "{}",
        page.body
    );
    assert!(!acme_domain(&p, "acme.test").await.unwrap().shared);

    // A viewer reads the page but cannot change it.
    let v = p.signed_in("vic@acme.test").await;
    let page = v.get(DOMAINS).await;
    assert!(!page.body.contains("id=\"d-acme.test-share\""));
    let r = post(&v, DOMAINS, sharing, &[("shared", "true")]).await;
    assert_ne!(r.status, 303, "{}", r.body);
    assert!(!acme_domain(&p, "acme.test").await.unwrap().shared);

    let r = post(&b, DOMAINS, sharing, &[("shared", "true")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(acme_domain(&p, "acme.test").await.unwrap().shared);
    let page = b.get(DOMAINS).await;
    assert!(
        text(&page).contains("The domain is now shared"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"d-acme.test-exclusive\""));
    assert!(text(&page).contains("other organizations' members also use this domain"));

    let r = post(&b, DOMAINS, sharing, &[("shared", "false")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!acme_domain(&p, "acme.test").await.unwrap().shared);
    // Without the CSRF token: refused.
    let r = b.post(sharing, &[("shared", "true")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!acme_domain(&p, "acme.test").await.unwrap().shared);
}
