//! The admin REST API over HTTP: CRUD of every resource, authentication, every bad-input case
//! of the issue (each asserting status, error code and that nothing changed), audit events,
//! pagination, optimistic concurrency, cascade deletes, member-event revocation.

use crate::harness::TestApp;
use lobby::domain::{AppId, OrgId, RefreshFamilyId, TokenHash, UserId};
use lobby::storage::RefreshFamily;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

// ---------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn operator_token_is_required_and_compared() {
    let t = TestApp::start().await;
    let res = t.client.get(t.url("/api/v1/orgs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "unauthorized");

    let res = t
        .client
        .get(t.url("/api/v1/orgs"))
        .bearer_auth("test-admin-token-0123456780")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let res = t
        .client
        .get(t.url("/api/v1/orgs"))
        .header("authorization", "Basic dGVzdA==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let (s, v) = t.get("/orgs").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"], json!([]));
    assert_eq!(v["next_cursor"], Value::Null);
}

#[tokio::test]
async fn no_token_configured_disables_the_admin_api() {
    let t = TestApp::start_with(|c| c.admin_token = None).await;
    let res = t
        .client
        .get(t.url("/api/v1/orgs"))
        .bearer_auth("anything-at-all-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "admin_api_disabled");
    assert!(v["message"].as_str().unwrap().contains("LOBBY_ADMIN_TOKEN"));
    // The document stays readable.
    let res = t
        .client
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_route_exists_and_requires_the_token() {
    let t = TestApp::start().await;
    let routes = lobby::admin::route_table();
    assert!(routes.len() >= 50);
    for r in routes {
        let path = r
            .path
            .replace("{app_id}", "app_x")
            .replace("{value}", "sales")
            .replace("{group_id}", "narrow")
            .replace("{org_id}", "acme")
            .replace("{domain}", "acme.example")
            .replace("{connection_id}", "conn_x")
            .replace("{user_id}", "usr_x")
            .replace("{invitation_id}", "inv_x");
        let res = t
            .client
            .request(r.method.clone(), t.url(&format!("/api/v1{path}")))
            .send()
            .await
            .unwrap();
        let expected = if r.path == "/openapi.json" {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(res.status(), expected, "{} {}", r.method, r.path);
    }
    // Unknown endpoints and methods are JSON errors too.
    let (s, v) = t.get("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
    let (s, v) = t.send_put("/orgs").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"], "method_not_allowed");
}

impl TestApp {
    async fn send_put(&self, path: &str) -> (StatusCode, Value) {
        let res = self.api(Method::PUT, path).send().await.unwrap();
        let s = res.status();
        (s, res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let t = TestApp::start().await;
    let res = t
        .client
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for r in lobby::admin::route_table() {
        let m = r.method.as_str().to_ascii_lowercase();
        let p = format!("/api/v1{}", r.path);
        assert!(doc["paths"][&p][&m].is_object(), "{m} {p} not documented");
    }
}

// ---------------------------------------------------------------------------------------
// CRUD

#[tokio::test]
async fn apps_roles_and_role_groups_crud() {
    let t = TestApp::start().await;
    // Generated id, client_id and secret; the secret is shown once.
    let v = t
        .create(
            "/apps",
            json!({"name": "Billing", "redirect_uris": ["https://billing.example.com/cb"]}),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("app_"));
    let secret = v["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43);
    assert_eq!(v["client_secret_set"], true);
    assert_eq!(v["signing_alg"], "RS256");
    let res = t
        .api(Method::GET, &format!("/apps/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(v["revoke_on"].as_array().unwrap().len(), 5);
    let hash = TokenHash::of(&secret);
    let (s, got) = t.get(&format!("/apps/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got.get("client_secret").is_none());
    assert!(!got.to_string().contains(hash.as_hex()));
    assert!(!got.to_string().contains(&secret));
    let stored = t
        .storage
        .get_app(&AppId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.client_secret_hash.unwrap().verify(&secret));

    // Rotation returns a new secret once.
    let (s, rot) = t
        .patch(
            &format!("/apps/{id}"),
            json!({"rotate_client_secret": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rot}");
    let secret2 = rot["client_secret"].as_str().unwrap();
    assert_ne!(secret2, secret);
    let (s, upd) = t
        .patch(&format!("/apps/{id}"), json!({"name": "Billing 2"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(upd["name"], "Billing 2");
    assert!(upd.get("client_secret").is_none());

    // A public client has no secret.
    let v = t
        .create(
            "/apps",
            json!({"id": "app_spa", "name": "SPA", "client_type": "public",
                   "redirect_uris": ["http://localhost:5173/cb"]}),
        )
        .await;
    assert!(v.get("client_secret").is_none());
    assert_eq!(v["client_secret_set"], false);

    // Roles.
    t.create(
        &format!("/apps/{id}/roles"),
        json!({"value": "payer", "name": "Payer", "description": "Pays"}),
    )
    .await;
    t.create(
        &format!("/apps/{id}/roles"),
        json!({"value": "viewer", "name": "Viewer"}),
    )
    .await;
    let (_, list) = t.get(&format!("/apps/{id}/roles")).await;
    let values: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["payer", "viewer"]);
    let (s, r) = t
        .patch(
            &format!("/apps/{id}/roles/payer"),
            json!({"name": "Payer!"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["name"], "Payer!");
    assert_eq!(r["description"], "Pays");
    let (s, r) = t.get(&format!("/apps/{id}/roles/payer")).await;
    assert_eq!((s, r["name"].as_str()), (StatusCode::OK, Some("Payer!")));

    // Role groups.
    let g = t
        .create(
            &format!("/apps/{id}/role-groups"),
            json!({"name": "All", "roles": ["payer", "viewer"]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();
    assert!(gid.starts_with("rg_"));
    assert_eq!(g["roles"], json!(["payer", "viewer"]));
    let (s, g2) = t
        .patch(
            &format!("/apps/{id}/role-groups/{gid}"),
            json!({"roles": ["viewer"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g2}");
    assert_eq!(g2["roles"], json!(["viewer"]));
    // A role still in a group cannot go.
    refused(
        &t,
        Method::DELETE,
        &format!("/apps/{id}/roles/viewer"),
        None,
        StatusCode::CONFLICT,
        "in_use",
    )
    .await;
    assert_eq!(
        t.delete(&format!("/apps/{id}/roles/payer")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete(&format!("/apps/{id}/role-groups/{gid}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/apps/{id}/role-groups/{gid}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.delete(&format!("/apps/{id}/roles/viewer")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete(&format!("/apps/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, v) = t.get(&format!("/apps/{id}")).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, apps) = t.get("/apps").await;
    assert_eq!(ids(&apps), ["app_spa"]);
}

#[tokio::test]
async fn orgs_links_domains_and_connections_crud() {
    let t = TestApp::start().await;
    seed(&t).await;
    let (s, o) = t.get("/orgs/acme-eu").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o["parent_id"], "acme");
    assert_eq!(o["status"], "active");
    let (_, children) = t.get("/orgs?parent_id=acme").await;
    assert_eq!(ids(&children), ["acme-eu"]);
    let (s, _) = t.get("/orgs?parent_id=nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, o) = t
        .patch(
            "/orgs/globex",
            json!({"name": "Globex Partners", "branding": {"primary_color": "#112233"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["branding"]["primary_color"], "#112233");
    // Detach and re-attach a child.
    let (s, o) = t.patch("/orgs/acme-eu", json!({"parent_id": null})).await;
    assert_eq!((s, &o["parent_id"]), (StatusCode::OK, &Value::Null));
    let (s, _) = t.patch("/orgs/acme-eu", json!({"parent_id": "acme"})).await;
    assert_eq!(s, StatusCode::OK);

    // Links.
    let (_, links) = t.get("/orgs/acme/apps").await;
    assert_eq!(links["items"][0]["app_id"], "app_crm");
    assert_eq!(links["items"][0]["auth_policy"], json!({"mode": "inherit"}));
    let (s, l) = t
        .patch(
            "/orgs/acme/apps/app_crm",
            json!({"jit": true, "default_roles": ["sales"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["jit"], true);

    // Connections: the upstream secret is write-only and survives updates without it.
    let c = t
        .create(
            "/orgs/acme/connections",
            json!({"id": "conn_acme_oidc", "name": "Acme Entra", "config": {
                "kind": "oidc", "issuer": "https://login.acme.example/v2.0",
                "client_id": "lobby", "client_secret": "upstream-secret-value"}}),
        )
        .await;
    assert_eq!(c["state"], "draft");
    assert_eq!(c["kind"], "oidc");
    assert_eq!(c["config"]["client_secret_set"], true);
    assert!(!c.to_string().contains("upstream-secret-value"));
    let (s, c) = t
        .patch(
            "/orgs/acme/connections/conn_acme_oidc",
            json!({"state": "active", "config": {"kind": "oidc",
                "issuer": "https://login.acme.example/v2.0", "client_id": "lobby2"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["config"]["client_id"], "lobby2");
    assert_eq!(c["config"]["client_secret_set"], true);
    let stored = t
        .storage
        .get_connection(
            &OrgId::parse("acme").unwrap(),
            &"conn_acme_oidc".parse().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    match stored.config {
        lobby::domain::ConnectionConfig::Oidc(o) => {
            // Stored sealed (the upstream client secret), never in clear.
            let sealed = o.client_secret.unwrap();
            assert!(!sealed.expose().contains("upstream-secret-value"));
            assert_eq!(
                t.state.seal.open(sealed.expose()).unwrap(),
                b"upstream-secret-value"
            )
        }
        other => panic!("{other:?}"),
    }
    t.create(
        "/orgs/acme/connections",
        json!({"id": "conn_acme_pw", "name": "Passwords", "state": "active",
               "config": {"kind": "password"}}),
    )
    .await;
    let (_, list) = t.get("/orgs/acme/connections").await;
    assert_eq!(ids(&list), ["conn_acme_oidc", "conn_acme_pw"]);
    // The link may name the org's own connections; a connection in use cannot go.
    let (s, l) = t
        .patch(
            "/orgs/acme/apps/app_crm",
            json!({"auth_policy": {"mode": "connections", "connection_ids": ["conn_acme_pw"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    refused(
        &t,
        Method::DELETE,
        "/orgs/acme/connections/conn_acme_pw",
        None,
        StatusCode::CONFLICT,
        "in_use",
    )
    .await;
    assert_eq!(
        t.delete("/orgs/acme/connections/conn_acme_oidc").await.0,
        StatusCode::NO_CONTENT
    );

    // Domains: IDNA-normalized, TXT-verified.
    let d = t
        .create("/orgs/globex/domains", json!({"domain": "Bücher.Example."}))
        .await;
    assert_eq!(d["domain"], "xn--bcher-kva.example");
    assert_eq!(d["domain_unicode"], "bücher.example");
    assert_eq!(d["verified"], false);
    assert_eq!(
        d["txt_record_name"],
        "_lobby-challenge.xn--bcher-kva.example"
    );
    let value = d["txt_record_value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("lobby-domain-verification="));
    let v = refused(
        &t,
        Method::POST,
        "/orgs/globex/domains/xn--bcher-kva.example/verify",
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "verification_failed",
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("_lobby-challenge"));
    t.dns.set(
        "_lobby-challenge.xn--bcher-kva.example",
        vec!["v=spf1 -all".into(), value.clone()],
    );
    let (s, d) = t
        .post("/orgs/globex/domains/bücher.example/verify", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    assert!(d["verified_at"].is_string());
    let (s, d) = t
        .patch(
            "/orgs/globex/domains/xn--bcher-kva.example",
            json!({"verified": false}),
        )
        .await;
    assert_eq!((s, &d["verified"]), (StatusCode::OK, &json!(false)));
    let (_, list) = t.get("/orgs/globex/domains").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.delete("/orgs/globex/domains/xn--bcher-kva.example")
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    // Unlink, then delete an org without children or members.
    assert_eq!(
        t.delete("/orgs/globex/members/usr_alice").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete("/orgs/globex/apps/app_crm").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get("/orgs/globex/apps/app_crm").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.delete("/orgs/globex").await.0, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/orgs/globex").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_members_and_invitations_crud() {
    let t = TestApp::start().await;
    seed(&t).await;
    let u = t
        .create(
            "/users",
            json!({"email": "Carol@Acme.Example", "name": "Carol", "password": "correct horse battery"}),
        )
        .await;
    let uid = u["id"].as_str().unwrap().to_owned();
    assert!(uid.starts_with("usr_"));
    assert_eq!(u["email"], "carol@acme.example");
    assert_eq!(u["password_set"], true);
    assert!(!u.to_string().contains("argon2"));
    let (_, list) = t.get("/users?email=carol@acme.example").await;
    assert_eq!(ids(&list), vec![uid.clone()]);
    let (s, idents) = t.get(&format!("/users/{uid}/identities")).await;
    assert_eq!((s, &idents["items"]), (StatusCode::OK, &json!([])));
    let (s, u) = t
        .patch(
            &format!("/users/{uid}"),
            json!({"password": null, "name": null, "email_verified": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["password_set"], false);
    assert_eq!(u["name"], Value::Null);
    assert_eq!(u["email_verified"], true);
    refused(
        &t,
        Method::POST,
        "/users",
        Some(json!({"email": "carol@acme.example"})),
        StatusCode::CONFLICT,
        "duplicate",
    )
    .await;

    // Members.
    let m = t
        .create(
            "/orgs/acme-eu/members",
            json!({"user_id": uid, "roles": {"app_crm": ["sales"]}, "org_roles": ["member_admin"]}),
        )
        .await;
    assert_eq!(m["status"], "active");
    assert_eq!(m["roles"], json!({"app_crm": ["sales"]}));
    let (s, m) = t
        .patch(
            &format!("/orgs/acme-eu/members/{uid}"),
            json!({"roles": {}, "org_roles": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["roles"], json!({}));
    let (_, members) = t.get("/orgs/acme/members").await;
    assert_eq!(members["items"][0]["user_id"], "usr_alice");
    let (s, m) = t.get("/orgs/acme/members/usr_alice").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["roles"], json!({"app_crm": ["finance", "sales"]}));

    // Invitations: the token is shown once and only its hash is stored.
    let inv = t
        .create(
            "/orgs/acme/invitations",
            json!({"email": "dave@acme.example", "roles": {"app_crm": ["sales"]}}),
        )
        .await;
    let token = inv["token"].as_str().unwrap().to_owned();
    let iid = inv["id"].as_str().unwrap().to_owned();
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["invited_by"], "operator");
    let found = t
        .storage
        .find_invitation_by_token(&TokenHash::of(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id.as_str(), iid);
    let (s, got) = t.get(&format!("/orgs/acme/invitations/{iid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got.get("token").is_none());
    assert!(!got.to_string().contains(&token));
    let (_, list) = t.get("/orgs/acme/invitations").await;
    assert_eq!(ids(&list), vec![iid.clone()]);
    // Invitation roles follow the member rules; existing members are not invited again.
    refused(
        &t,
        Method::POST,
        "/orgs/acme-eu/invitations",
        Some(json!({"email": "eve@acme.example", "roles": {"app_crm": ["finance"]}})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    refused(
        &t,
        Method::POST,
        "/orgs/acme/invitations",
        Some(json!({"email": "alice@acme.example"})),
        StatusCode::CONFLICT,
        "already_member",
    )
    .await;
    let (s, inv) = t
        .patch(
            &format!("/orgs/acme/invitations/{iid}"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(
        (s, inv["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    refused(
        &t,
        Method::PATCH,
        &format!("/orgs/acme/invitations/{iid}"),
        Some(json!({"status": "revoked"})),
        StatusCode::CONFLICT,
        "invitation_closed",
    )
    .await;
    assert_eq!(
        t.delete(&format!("/orgs/acme/invitations/{iid}")).await.0,
        StatusCode::NO_CONTENT
    );

    // Deleting a user removes their memberships.
    assert_eq!(
        t.delete(&format!("/users/{uid}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/orgs/acme-eu/members/{uid}")).await.0,
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// Audit, pagination, concurrency, cascade

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

// ---------------------------------------------------------------------------------------
// Bad input: a precise 4xx and nothing changed

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

// ---------------------------------------------------------------------------------------
// Member events revoke refresh tokens (DESIGN §3)

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

#[tokio::test]
async fn member_events_revoke_refresh_tokens_at_once() {
    let t = TestApp::start().await;
    seed(&t).await;
    t.create(
        "/orgs/acme-eu/members",
        json!({"user_id": "usr_bob", "roles": {"app_crm": ["sales"]}}),
    )
    .await;

    // Suspension.
    let f_alice_acme = seed_family(&t, "acme", "usr_alice", "app_crm").await;
    let f_alice_globex = seed_family(&t, "globex", "usr_alice", "app_crm").await;
    let (s, _) = t
        .patch(
            "/orgs/acme/members/usr_alice",
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(revoked(&t, &f_alice_acme).await);
    assert!(
        !revoked(&t, &f_alice_globex).await,
        "other orgs are untouched"
    );

    // Role change.
    let f = seed_family(&t, "globex", "usr_alice", "app_crm").await;
    let (s, _) = t
        .patch(
            "/orgs/globex/members/usr_alice",
            json!({"org_roles": ["org_admin"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!revoked(&t, &f).await, "org roles are not app roles");
    let (s, _) = t
        .patch("/orgs/globex/members/usr_alice", json!({"roles": {}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(revoked(&t, &f).await);
    assert!(revoked(&t, &f_alice_globex).await);

    // Removal.
    let f = seed_family(&t, "acme-eu", "usr_bob", "app_crm").await;
    assert_eq!(
        t.delete("/orgs/acme-eu/members/usr_bob").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(revoked(&t, &f).await);

    // Org suspended: every member of it.
    t.create("/orgs/globex/members", json!({"user_id": "usr_bob"}))
        .await;
    let f1 = seed_family(&t, "globex", "usr_bob", "app_crm").await;
    let f2 = seed_family(&t, "globex", "usr_alice", "app_crm").await;
    let f_other = seed_family(&t, "acme-eu", "usr_alice", "app_crm").await;
    let (s, _) = t
        .patch("/orgs/globex", json!({"status": "suspended"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(revoked(&t, &f1).await && revoked(&t, &f2).await);
    assert!(!revoked(&t, &f_other).await);

    // Org unlinked from the app.
    let f = seed_family(&t, "acme-eu", "usr_alice", "app_crm").await;
    assert_eq!(
        t.delete("/orgs/acme-eu/apps/app_crm").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(revoked(&t, &f).await);
    assert!(revoked(&t, &f_other).await);
}

#[tokio::test]
async fn apps_choose_which_member_events_revoke() {
    let t = TestApp::start().await;
    seed(&t).await;
    let (s, v) = t
        .patch("/apps/app_crm", json!({"revoke_on": ["member_removed"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoke_on"], json!(["member_removed"]));
    let f = seed_family(&t, "acme", "usr_alice", "app_crm").await;
    t.patch(
        "/orgs/acme/members/usr_alice",
        json!({"roles": {"app_crm": ["sales"]}}),
    )
    .await;
    t.patch(
        "/orgs/acme/members/usr_alice",
        json!({"status": "suspended"}),
    )
    .await;
    t.patch("/orgs/acme", json!({"status": "suspended"})).await;
    assert!(
        !revoked(&t, &f).await,
        "the app did not subscribe to these events"
    );
    assert_eq!(
        t.delete("/orgs/acme/members/usr_alice").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(revoked(&t, &f).await);
}
