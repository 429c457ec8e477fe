//! Org admins on the admin API with Lobby's own access tokens: the IDOR matrix (`idor`), the
//! escalation cases (`escalation`), member events from org admins (`events`).
//!
//! This file owns the shared world: orgs `par` → `own` → `kid` and `oth` (unrelated); in `own`
//! the callers `usr_oa` (org_admin), `usr_ma` (member_admin), `usr_vw` (viewer), `usr_pm` (no
//! org role); `usr_xa` is org_admin of `oth`. Every org has a member `usr_m_<org>`, a domain
//! `<org>.example`, a password connection `conn_<org>` and an invitation `inv_<org>`. App
//! `app_crm` (client `crm`) is linked everywhere (role group `narrow` = sales; `par` and
//! `oth` also `broad`); `app_backend` (client `backend`) is the admin client.

use crate::harness::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod escalation;
mod events;
mod idor;

/// The orgs of the world, top-down (parents before children).
pub const ORGS: [(&str, Option<&str>); 4] = [
    ("par", None),
    ("own", Some("par")),
    ("kid", Some("own")),
    ("oth", None),
];

pub async fn world(t: &TestApp) {
    t.create(
        "/apps",
        json!({"id": "app_crm", "name": "CRM", "client_id": "crm",
               "redirect_uris": ["https://crm.example.com/cb"],
               "admin_api": {"delegated": true}}),
    )
    .await;
    t.create(
        "/apps",
        json!({"id": "app_backend", "name": "Backend", "client_id": "backend",
               "redirect_uris": ["https://backend.example.com/cb"],
               "admin_api": {"client_scopes": ["lobby:admin:read", "lobby:admin:write"]}}),
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
    for (org, parent) in ORGS {
        t.create(
            "/orgs",
            json!({"id": org, "slug": org, "name": org.to_uppercase(), "parent_id": parent}),
        )
        .await;
        let groups = if matches!(org, "par" | "oth") {
            json!(["broad", "narrow"])
        } else {
            json!(["narrow"])
        };
        t.create(
            &format!("/orgs/{org}/apps"),
            json!({"app_id": "app_crm", "allowed_role_groups": groups}),
        )
        .await;
        let m = format!("usr_m_{org}");
        t.create(
            "/users",
            json!({"id": m, "email": format!("m@{org}.example")}),
        )
        .await;
        t.create(
            &format!("/orgs/{org}/members"),
            json!({"user_id": m, "roles": {"app_crm": ["sales"]}}),
        )
        .await;
        t.create(
            &format!("/orgs/{org}/domains"),
            json!({"domain": format!("{org}.example")}),
        )
        .await;
        t.create(
            &format!("/orgs/{org}/connections"),
            json!({"id": format!("conn_{org}"), "name": "Passwords", "state": "active",
                   "config": {"kind": "password"}}),
        )
        .await;
        t.create(
            &format!("/orgs/{org}/invitations"),
            json!({"id": format!("inv_{org}"), "email": format!("new@{org}.example"),
                   "roles": {"app_crm": ["sales"]}}),
        )
        .await;
    }
    for (user, org, roles) in [
        ("usr_oa", "own", json!(["org_admin"])),
        ("usr_ma", "own", json!(["member_admin"])),
        ("usr_vw", "own", json!(["viewer"])),
        ("usr_pm", "own", json!([])),
        ("usr_xa", "oth", json!(["org_admin"])),
    ] {
        t.create(
            "/users",
            json!({"id": user, "email": format!("{user}@{org}.example")}),
        )
        .await;
        t.create(
            &format!("/orgs/{org}/members"),
            json!({"user_id": user, "org_roles": roles}),
        )
        .await;
    }
}

/// A delegated admin token of `user` signed into `org`, issued to `crm`.
pub fn token(t: &TestApp, user: &str, org: &str) -> String {
    t.mint().delegated(user, org, "crm")
}

/// Send as `bearer`; assert the status and, for refusals, the RFC 6750 answer and that
/// nothing changed. Returns the body.
pub async fn expect(
    t: &TestApp,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let check_unchanged = !status.is_success() && method != Method::GET;
    let before = if check_unchanged {
        Some(t.snapshot().await)
    } else {
        None
    };
    let v = send_expecting(t, bearer, method.clone(), path, body, status).await;
    if let Some(before) = before {
        assert_eq!(
            t.snapshot().await,
            before,
            "{method} {path} changed something"
        );
    }
    v
}

/// [`expect`] without the before/after comparison (the caller compares around a group).
pub async fn send_expecting(
    t: &TestApp,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let (s, www, v) = t.send_as(bearer, method.clone(), path, body.as_ref()).await;
    assert_eq!(s, status, "{method} {path}: {v}");
    check_refusal(
        s,
        www.as_deref(),
        &v,
        bearer.is_some(),
        &format!("{method} {path}"),
    );
    v
}

/// The shape of a refusal: RFC 6750 §3.1 for 401/403, the API's JSON error for all.
pub fn check_refusal(s: StatusCode, www: Option<&str>, v: &Value, sent_token: bool, what: &str) {
    match s {
        StatusCode::UNAUTHORIZED => {
            let www = www.unwrap_or_else(|| panic!("{what}: 401 without WWW-Authenticate"));
            assert!(www.starts_with("Bearer realm="), "{what}: {www}");
            assert_eq!(
                www.contains("error=\"invalid_token\""),
                sent_token,
                "{what}: {www}"
            );
            assert_eq!(v["error"], "unauthorized", "{what}: {v}");
        }
        StatusCode::FORBIDDEN => {
            assert_eq!(v["error"], "insufficient_scope", "{what}: {v}");
            assert!(
                www.is_some_and(|w| w.contains("error=\"insufficient_scope\"")),
                "{what}: {www:?}"
            );
        }
        StatusCode::NOT_FOUND => assert_eq!(v["error"], "not_found", "{what}: {v}"),
        _ => {}
    }
}
