//! What every write keeps consistent: audit events with before/after, keyset pagination,
//! optimistic concurrency, cascade deletes.

use super::*;

#[tokio::test]
async fn every_write_is_audited_with_before_and_after() {
    let t = TestApp::start().await;
    seed(&t).await;
    let (_, all) = t.get("/audit-events?limit=500").await;
    // Seed: 1 app, 3 roles, 2 groups, 3 orgs, 3 links, 2 users, 2 members.
    assert_eq!(all["items"].as_array().unwrap().len(), 16);
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "operator" && e["outcome"] == "success")
    );

    let res = t
        .api(Method::PATCH, "/orgs/acme")
        .json(&json!({"name": "Acme Corp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (s, ev) = t.get("/audit-events?org_id=acme&action=org.update").await;
    assert_eq!(s, StatusCode::OK);
    let items = ev["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let e = &items[0];
    assert_eq!(e["action"], "org.update");
    assert_eq!(e["org_id"], "acme");
    assert_eq!(e["target_type"], "org");
    assert_eq!(e["target_id"], "acme");
    assert_eq!(e["details"]["before"]["name"], "Acme");
    assert_eq!(e["details"]["after"]["name"], "Acme Corp");
    assert_eq!(e["request_id"], rid.as_str());

    // Deletions record the before; app events have no org.
    t.delete("/orgs/globex/members/usr_alice").await;
    let (_, ev) = t
        .get("/audit-events?org_id=globex&action=member.delete")
        .await;
    let e = &ev["items"][0];
    assert_eq!(e["details"]["before"]["user_id"], "usr_alice");
    assert_eq!(e["details"]["after"], Value::Null);
    let (_, ev) = t.get("/audit-events?action=app.create").await;
    assert_eq!(ev["items"][0]["org_id"], Value::Null);
    // Secrets never reach the audit trail.
    let (_, secret_app) = t
        .post(
            "/apps",
            json!({"id": "app_s", "name": "S", "redirect_uris": ["https://s.example.com/cb"],
                   "client_secret": "a-client-secret-that-is-long-enough-1234"}),
        )
        .await;
    assert!(secret_app.get("client_secret").is_none());
    let (_, ev) = t.get("/audit-events?limit=500").await;
    let text = ev.to_string();
    assert!(!text.contains("a-client-secret-that-is-long-enough-1234"));
    assert!(!text.contains(TokenHash::of("a-client-secret-that-is-long-enough-1234").as_hex()));
    // The trail of an org outlives it.
    let (s, ev) = t.get("/audit-events?org_id=no-such-org").await;
    assert_eq!((s, &ev["items"]), (StatusCode::OK, &json!([])));
}

#[tokio::test]
async fn lists_are_keyset_paginated() {
    let t = TestApp::start().await;
    for i in 0..7 {
        t.create(
            "/orgs",
            json!({"id": format!("org-{i}"), "slug": format!("org-{i}"), "name": format!("Org {i}")}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/orgs?limit=3&after={a}"),
            None => "/orgs?limit=3".to_owned(),
        };
        let (s, v) = t.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let page = ids(&v);
        assert!(page.len() <= 3);
        seen.extend(page);
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10);
    }
    let expected: Vec<String> = (0..7).map(|i| format!("org-{i}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    // The same shape for lists the storage returns whole.
    t.create(
        "/apps",
        json!({"id": "app_a", "name": "A", "redirect_uris": ["https://a.example.com/cb"]}),
    )
    .await;
    for r in ["r1", "r2", "r3"] {
        t.create("/apps/app_a/roles", json!({"value": r, "name": r}))
            .await;
    }
    let (_, p1) = t.get("/apps/app_a/roles?limit=2").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    assert_eq!(p1["next_cursor"], "r2");
    let (_, p2) = t.get("/apps/app_a/roles?limit=2&after=r2").await;
    assert_eq!(p2["items"][0]["value"], "r3");
    assert_eq!(p2["next_cursor"], Value::Null);
    // Bad limits are 400.
    for bad in ["/orgs?limit=0", "/orgs?limit=501", "/orgs?limit=abc"] {
        let (s, v) = t.get(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"] == "invalid_request" || v["error"] == "invalid_query");
    }
}

#[tokio::test]
async fn patch_with_a_stale_version_is_refused() {
    let t = TestApp::start().await;
    seed(&t).await;
    let (_, o) = t.get("/orgs/acme").await;
    let v = o["version"].as_i64().unwrap();
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"version": v + 7, "name": "Nope"})),
        StatusCode::CONFLICT,
        "version_conflict",
    )
    .await;
    let (s, o2) = t
        .patch("/orgs/acme", json!({"version": v, "name": "Acme 2"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{o2}");
    assert!(o2["version"].as_i64().unwrap() > v);
    // The old version is now stale.
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme",
        Some(json!({"version": v, "name": "Acme 3"})),
        StatusCode::CONFLICT,
        "version_conflict",
    )
    .await;
    // The same for other versioned objects.
    let (_, m) = t.get("/orgs/acme/members/usr_alice").await;
    let mv = m["version"].as_i64().unwrap();
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme/members/usr_alice",
        Some(json!({"version": mv + 1, "status": "suspended"})),
        StatusCode::CONFLICT,
        "version_conflict",
    )
    .await;
    // Without a version, concurrent PATCHes all land (read-modify-write is retried).
    let mut tasks = Vec::new();
    for i in 0..4 {
        let req = t
            .api(Method::PATCH, "/orgs/globex")
            .json(&json!({"name": format!("Globex {i}")}));
        tasks.push(tokio::spawn(
            async move { req.send().await.unwrap().status() },
        ));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn deleting_an_org_with_children_or_members_needs_cascade() {
    let t = TestApp::start().await;
    seed(&t).await;
    t.create(
        "/orgs/acme-eu/members",
        json!({"user_id": "usr_bob", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
    let v = refused(
        &t,
        Method::DELETE,
        "/orgs/acme",
        None,
        StatusCode::CONFLICT,
        "in_use",
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("child"));
    let v = refused(
        &t,
        Method::DELETE,
        "/orgs/acme-eu",
        None,
        StatusCode::CONFLICT,
        "in_use",
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("members"));
    let (s, v) = t.delete("/orgs/acme?cascade=true").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(t.get("/orgs/acme").await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/orgs/acme-eu").await.0, StatusCode::NOT_FOUND);
    let (_, orgs) = t.get("/orgs").await;
    assert_eq!(ids(&orgs), ["globex"]);
    // Users stay; their other memberships too.
    assert_eq!(t.get("/users/usr_bob").await.0, StatusCode::OK);
    assert_eq!(
        t.get("/orgs/globex/members/usr_alice").await.0,
        StatusCode::OK
    );
    let (_, ev) = t.get("/audit-events?action=org.delete").await;
    assert_eq!(ev["items"][0]["details"]["before"]["cascade"], true);
    assert_eq!(
        ev["items"][0]["details"]["before"]["removed_orgs"],
        json!(["acme", "acme-eu"])
    );
    // Apps too: roles, groups and links keep them unless cascade.
    let f = seed_family(&t, "globex", "usr_alice", "app_crm").await;
    let v = refused(
        &t,
        Method::DELETE,
        "/apps/app_crm",
        None,
        StatusCode::CONFLICT,
        "in_use",
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("cascade"), "{v}");
    assert_eq!(
        t.delete("/apps/app_crm?cascade=true").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get("/orgs/globex/apps/app_crm").await.0,
        StatusCode::NOT_FOUND
    );
    // Its refresh-token families went with it.
    assert!(t.storage.get_family(&f).await.unwrap().is_none());
}
