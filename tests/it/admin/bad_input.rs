//! Bad input: a precise 4xx and nothing changed (malformed bodies, invalid slugs, domains,
//! URLs and ids, references across orgs, role rules).

use super::*;

#[tokio::test]
async fn malformed_bodies_are_refused_precisely() {
    let t = TestApp::start_with(|c| c.max_body_bytes = 4096).await;
    seed(&t).await;
    let before = t.snapshot().await;

    let (s, v) = t
        .post_raw(
            "/orgs",
            "application/json",
            br#"{"id": "x", "slug": "#.to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json")),
        "{v}"
    );

    let (s, v) = t
        .post_raw(
            "/orgs",
            "text/plain",
            br#"{"id": "x", "slug": "x1", "name": "X"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        ),
        "{v}"
    );

    let big = format!(r#"{{"slug": "big", "name": "{}"}}"#, "x".repeat(10_000));
    let (s, v) = t
        .post_raw("/orgs", "application/json", big.into_bytes())
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{v}"
    );
    assert_eq!(t.snapshot().await, before);

    let v = refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "x1", "name": "X", "colour": "red"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{v}"
    );
    let v = refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "x1", "name": 42})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    assert_eq!(v["field"], "name");
    assert!(
        v["message"].as_str().unwrap().contains("invalid type"),
        "{v}"
    );
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"status": "sleeping"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    refused(
        &t,
        Method::PATCH,
        "/apps/app_crm",
        Some(json!({"revoke_on": ["sometimes"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
}

#[tokio::test]
async fn invalid_slugs_domains_urls_and_ids_are_refused() {
    let t = TestApp::start().await;
    seed(&t).await;
    let v = refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "Not A Slug", "name": "X"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    assert_eq!(v["field"], "slug");
    assert!(
        !v["message"].as_str().unwrap().contains("slug: slug:"),
        "{v}"
    );
    refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"id": "Bad Id", "slug": "ok-slug", "name": "X"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "acme", "name": "Another Acme"})),
        StatusCode::CONFLICT,
        "duplicate",
    )
    .await;
    for bad in ["not a domain", "localhost", "1.2.3.4", "exa_mple.com"] {
        let v = refused(
            &t,
            Method::POST,
            "/orgs/acme/domains",
            Some(json!({"domain": bad})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(v["field"], "domain");
    }
    for (bad, field) in [
        ("javascript:alert(1)", "redirect_uris[0]"),
        ("http://crm.example.com/cb", "redirect_uris[0]"),
        ("https://crm.example.com/cb#x", "redirect_uris[0]"),
    ] {
        let v = refused(
            &t,
            Method::POST,
            "/apps",
            Some(json!({"name": "X", "redirect_uris": [bad]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(v["field"], field, "{bad}");
    }
    let v = refused(
        &t,
        Method::PATCH,
        "/apps/app_crm",
        Some(json!({"redirect_uris": ["https://ok.example.com/cb", "/relative"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "redirect_uris[1]");
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"branding": {"logo_url": "ftp://x.example/logo.png"}})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "branding.logo_url");
    let v = refused(
        &t,
        Method::POST,
        "/apps",
        Some(json!({"name": "X", "redirect_uris": ["https://x.example.com/cb"], "client_secret": "short"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "client_secret");
    refused(
        &t,
        Method::POST,
        "/orgs/acme/connections",
        Some(json!({"name": "x", "config": {"kind": "oidc", "issuer": "not a url", "client_id": "c", "client_secret": "s"}})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    refused(
        &t,
        Method::POST,
        "/orgs/acme/connections",
        Some(
            json!({"name": "x", "config": {"kind": "oidc", "issuer": "https://idp.example",
            "client_id": "c", "client_secret": "s", "allowed_algs": ["HS256"]}}),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Malformed ids in the path cannot name anything.
    let (s, v) = t.get("/orgs/NOT%20AN%20ID").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn references_to_another_orgs_objects_are_not_found() {
    let t = TestApp::start().await;
    seed(&t).await;
    t.create(
        "/orgs/acme/connections",
        json!({"id": "conn_acme", "name": "Acme", "config": {"kind": "password"}}),
    )
    .await;
    t.create("/orgs/acme/domains", json!({"domain": "acme.example"}))
        .await;
    // Direct lookups through another org.
    for path in [
        "/orgs/globex/connections/conn_acme",
        "/orgs/globex/domains/acme.example",
        "/orgs/globex/members/usr_bob",
        "/orgs/acme-eu/members/usr_alice",
    ] {
        let (s, v) = t.get(path).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    refused(
        &t,
        Method::PATCH,
        "/orgs/globex/connections/conn_acme",
        Some(json!({"name": "Stolen"})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    refused(
        &t,
        Method::DELETE,
        "/orgs/globex/connections/conn_acme",
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // References inside a body.
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/globex/apps/app_crm",
        Some(json!({"auth_policy": {"mode": "connections", "connection_ids": ["conn_acme"]}})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(v["field"], "auth_policy.connection_ids[0]");
    let v = refused(
        &t,
        Method::POST,
        "/orgs/globex/members",
        Some(json!({"user_id": "usr_nobody"})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(v["field"], "user_id");
    let v = refused(
        &t,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "orphan", "name": "Orphan", "parent_id": "no-such-org"})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(v["field"], "parent_id");
    let v = refused(
        &t,
        Method::POST,
        "/orgs/globex/apps",
        Some(json!({"app_id": "app_nope"})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(v["field"], "app_id");
    // Another org's verified domain.
    t.patch("/orgs/acme/domains/acme.example", json!({"verified": true}))
        .await;
    refused(
        &t,
        Method::POST,
        "/orgs/globex/domains",
        Some(json!({"domain": "ACME.example", "verified": true})),
        StatusCode::CONFLICT,
        "domain_taken",
    )
    .await;
    let d = t
        .create("/orgs/globex/domains", json!({"domain": "acme.example"}))
        .await;
    t.dns.set(
        "_lobby-challenge.acme.example",
        vec![d["txt_record_value"].as_str().unwrap().to_owned()],
    );
    refused(
        &t,
        Method::POST,
        "/orgs/globex/domains/acme.example/verify",
        None,
        StatusCode::CONFLICT,
        "domain_taken",
    )
    .await;
}

#[tokio::test]
async fn role_rules_are_enforced() {
    let t = TestApp::start().await;
    seed(&t).await;
    t.create(
        "/apps",
        json!({"id": "app_erp", "name": "ERP", "redirect_uris": ["https://erp.example.com/cb"]}),
    )
    .await;
    t.create(
        "/apps/app_erp/roles",
        json!({"value": "ledger", "name": "Ledger"}),
    )
    .await;
    t.create(
        "/apps/app_erp/role-groups",
        json!({"id": "erp_all", "name": "All", "roles": ["ledger"]}),
    )
    .await;
    // A role group mixing apps.
    let v = refused(
        &t,
        Method::POST,
        "/apps/app_crm/role-groups",
        Some(json!({"name": "Mixed", "roles": ["sales", "ledger"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "roles");
    assert!(v["message"].as_str().unwrap().contains("ledger"));
    refused(
        &t,
        Method::PATCH,
        "/apps/app_crm/role-groups/narrow",
        Some(json!({"roles": ["ledger"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // A link given another app's role group.
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/acme/apps/app_crm",
        Some(json!({"allowed_role_groups": ["broad", "narrow", "erp_all"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "allowed_role_groups");
    assert!(v["message"].as_str().unwrap().contains("erp_all"));
    // Member roles outside the org's role groups, or for an unlinked app.
    let v = refused(
        &t,
        Method::POST,
        "/orgs/globex/members",
        Some(json!({"user_id": "usr_bob", "roles": {"app_crm": ["finance"]}})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "roles.app_crm");
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/acme/members/usr_alice",
        Some(json!({"roles": {"app_erp": ["ledger"]}})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "roles.app_erp");
    // A child org gets only role groups its parent has.
    t.create(
        "/orgs",
        json!({"id": "acme-eu-fr", "slug": "acme-eu-fr", "name": "Acme FR", "parent_id": "acme-eu"}),
    )
    .await;
    let v = refused(
        &t,
        Method::POST,
        "/orgs/acme-eu-fr/apps",
        Some(json!({"app_id": "app_crm", "allowed_role_groups": ["broad"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "allowed_role_groups");
    // A parent cannot drop a group its child still uses, nor one its members' roles need.
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme/apps/app_crm",
        Some(json!({"allowed_role_groups": ["broad"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/acme/apps/app_crm",
        Some(json!({"allowed_role_groups": ["narrow"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("usr_alice"));
    // Default roles inside the groups.
    refused(
        &t,
        Method::PATCH,
        "/orgs/globex/apps/app_crm",
        Some(json!({"default_roles": ["finance"]})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Parent cycles.
    let v = refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"parent_id": "acme-eu-fr"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(v["field"], "parent_id");
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"parent_id": "acme"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Moving an org under a parent that lacks its role groups.
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"parent_id": "globex"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}
