//! The admin REST API over HTTP: CRUD of every resource, authentication, every bad-input case
//! (each asserting status, error code and that nothing changed), audit events, pagination,
//! optimistic concurrency, cascade deletes, member-event revocation.
//!
//! This file owns the shared fixture (the seeded tenant, refusal and id helpers, refresh
//! families); each other file owns one feature area or aggregate.

use crate::harness::TestApp;
use lobby::domain::{AppId, OrgId, RefreshFamilyId, TokenHash, UserId};
use lobby::storage::RefreshFamily;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod apps;
mod auth;
mod bad_input;
mod consistency;
mod member_events;
mod org_admins;
mod orgs;
mod users;

/// app_crm (sales, after-sales, finance; narrow = sales, broad = all), acme → acme-eu,
/// globex; alice in acme and globex, bob without membership.
async fn seed(t: &TestApp) {
    t.create(
        "/apps",
        json!({"id": "app_crm", "name": "CRM", "client_id": "crm",
               "redirect_uris": ["https://crm.example.com/cb"]}),
    )
    .await;
    for r in ["sales", "after-sales", "finance"] {
        t.create("/apps/app_crm/roles", json!({"value": r, "name": r}))
            .await;
    }
    t.create(
        "/apps/app_crm/role-groups",
        json!({"id": "narrow", "name": "Narrow", "roles": ["sales"]}),
    )
    .await;
    t.create(
        "/apps/app_crm/role-groups",
        json!({"id": "broad", "name": "Broad", "roles": ["sales", "after-sales", "finance"]}),
    )
    .await;
    t.create(
        "/orgs",
        json!({"id": "acme", "slug": "acme", "name": "Acme"}),
    )
    .await;
    t.create(
        "/orgs",
        json!({"id": "acme-eu", "slug": "acme-eu", "name": "Acme EU", "parent_id": "acme"}),
    )
    .await;
    t.create(
        "/orgs",
        json!({"id": "globex", "slug": "globex", "name": "Globex"}),
    )
    .await;
    t.create(
        "/orgs/acme/apps",
        json!({"app_id": "app_crm", "allowed_role_groups": ["broad", "narrow"]}),
    )
    .await;
    t.create(
        "/orgs/acme-eu/apps",
        json!({"app_id": "app_crm", "allowed_role_groups": ["narrow"]}),
    )
    .await;
    t.create(
        "/orgs/globex/apps",
        json!({"app_id": "app_crm", "allowed_role_groups": ["narrow"]}),
    )
    .await;
    t.create(
        "/users",
        json!({"id": "usr_alice", "email": "alice@acme.example", "name": "Alice"}),
    )
    .await;
    t.create(
        "/users",
        json!({"id": "usr_bob", "email": "bob@acme.example"}),
    )
    .await;
    t.create(
        "/orgs/acme/members",
        json!({"user_id": "usr_alice", "roles": {"app_crm": ["finance", "sales"]}}),
    )
    .await;
    t.create(
        "/orgs/globex/members",
        json!({"user_id": "usr_alice", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
}

/// Send a request that must be refused with `status` and `code`, and change nothing.
async fn refused(
    t: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: StatusCode,
    code: &str,
) -> Value {
    let before = t.snapshot().await;
    let mut rb = t.api(method.clone(), path);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let s = res.status();
    let header_id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let v: Value = res.json().await.unwrap();
    assert_eq!(s, status, "{method} {path}: {v}");
    assert_eq!(v["error"], code, "{method} {path}: {v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["request_id"].as_str(), header_id.as_deref(), "{v}");
    assert_eq!(
        t.snapshot().await,
        before,
        "{method} {path} changed something"
    );
    v
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn seed_family(t: &TestApp, org: &str, user: &str, app: &str) -> RefreshFamilyId {
    let now = time::OffsetDateTime::now_utc();
    let id = RefreshFamilyId::parse(&format!(
        "fam-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    ))
    .unwrap();
    let fam = RefreshFamily {
        id: id.clone(),
        app_id: AppId::parse(app).unwrap(),
        user_id: UserId::parse(user).unwrap(),
        org_id: OrgId::parse(org).unwrap(),
        session_id: format!("sess-{id}"),
        auth_time: now,
        amr: vec!["pwd".into()],
        scope: "openid".into(),
        idp: None,
        created_at: now,
        expires_at: now + time::Duration::days(1),
        revoked_at: None,
    };
    let first = TokenHash::of(&lobby::domain::random_token());
    t.storage.create_family(&fam, &first).await.unwrap();
    id
}

async fn revoked(t: &TestApp, family: &RefreshFamilyId) -> bool {
    t.storage
        .get_family(family)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}
