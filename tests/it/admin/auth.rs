//! Authentication of the admin API (the operator token), the route table and the OpenAPI
//! document.

use super::*;

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
