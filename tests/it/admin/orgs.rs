//! CRUD of orgs and what hangs off them: app links, domains, connections.

use super::*;

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
            // Stored sealed (OIDC federation secrets), never in clear.
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
        "txt_record_missing",
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
