//! IdP metadata by URL: activation needs a pinned cert, and refreshing the metadata rolls the
//! certs over.

use super::*;

/// A metadata server for URL-configured connections: serves whatever `body` holds (`None`:
/// HTTP 500).
struct MetadataServer {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetadataServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn metadata_server(initial: String) -> MetadataServer {
    use axum::response::IntoResponse;
    let body = std::sync::Arc::new(std::sync::Mutex::new(Some(initial)));
    let b = body.clone();
    let app = axum::Router::new().route(
        "/md",
        axum::routing::get(move || {
            let b = b.clone();
            async move {
                match b.lock().unwrap().clone() {
                    Some(x) => x.into_response(),
                    None => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    MetadataServer {
        url: format!("http://{addr}/md"),
        body,
        task,
    }
}

pub(super) async fn api(
    lobby: &Lobby,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut rb = lobby
        .http()
        .request(method, lobby.url(&format!("/api/v1{path}")))
        .bearer_auth("test-admin-token-0123456789");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    let v = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, v)
}

#[tokio::test]
async fn activation_needs_a_pinned_cert_and_metadata_refresh_rolls_certs_over() {
    let e = env(false).await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    // Metadata without a signing certificate: never active.
    let no_cert = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[]);
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "no-cert", "name": "No cert", "state": "active",
            "config": {"kind": "saml", "idp_metadata_xml": no_cert}
        })),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("signing certificate"),
        "{v}"
    );
    // Metadata whose only key is for encryption: nothing to pin either.
    let enc_only = corpus::idp_metadata_encryption_only(IDP_ENTITY, IDP_SSO, &Signer::new("Enc"));
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "enc-only", "name": "Encryption key only", "state": "active",
            "config": {"kind": "saml", "idp_metadata_xml": enc_only}
        })),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("signing certificate"),
        "{v}"
    );
    // Aggregate metadata without `idp_entity_id`: which IdP is meant is unknown.
    let (a, b) = (Signer::new("A"), Signer::new("B"));
    let agg = corpus::aggregate_metadata(
        ("https://a.example/idp", &a),
        ("https://b.example/idp", &b),
        IDP_SSO,
    );
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "agg", "name": "Aggregate", "state": "active",
            "config": {"kind": "saml", "idp_metadata_xml": agg}
        })),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("idp_entity_id"),
        "{v}"
    );
    // …and with it, the named entity is used.
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "agg", "name": "Aggregate", "state": "active",
            "config": {"kind": "saml", "idp_metadata_xml": agg, "idp_entity_id": "https://b.example/idp"}
        })),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // As a draft it may be stored; activating it is refused.
    let (s, _) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "no-cert", "name": "No cert",
            "config": {"kind": "saml", "idp_metadata_xml": no_cert}
        })),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = api(
        &e.lobby,
        reqwest::Method::PATCH,
        "/orgs/umbrella/connections/no-cert",
        Some(serde_json::json!({"state": "active"})),
    )
    .await;
    assert_eq!(s, 422);

    // By URL, cert A; then the IdP rolls over to cert B.
    let cert_a = Signer::new("IdP A");
    let cert_b = Signer::new("IdP B");
    let md = metadata_server(corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&cert_a])).await;
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "by-url", "name": "By URL", "state": "active",
            "config": {"kind": "saml", "idp_metadata_url": md.url}
        })),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api(
        &e.lobby,
        get.clone(),
        "/orgs/umbrella/connections/by-url/test",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["kind"], "saml");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "signing_certificate"
                && c["message"].as_str().unwrap().contains("more days"))
    );

    *md.body.lock().unwrap() = Some(corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&cert_b]));
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections/by-url/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["added_certs"].as_array().unwrap().len(), 1);
    assert_eq!(v["removed_certs"].as_array().unwrap().len(), 1);

    // Both the new cert and (during the overlap) the old one verify.
    let by_url = ConnectionId::parse("by-url").unwrap();
    let conn = e
        .lobby
        .storage()
        .get_connection_for_callback(&by_url)
        .await
        .unwrap()
        .unwrap();
    let state = e.lobby.st.saml.idp_state(&conn).await.unwrap();
    let pinned = state.pinned_der(e.now(), false);
    assert!(pinned.contains(&cert_a.cert_der) && pinned.contains(&cert_b.cert_der));
    e.lobby.clock.advance(time::Duration::hours(25));
    let pinned = state.pinned_der(e.lobby.clock.now(), false);
    assert!(!pinned.contains(&cert_a.cert_der) && pinned.contains(&cert_b.cert_der));

    // A failing fetch keeps the last good copy, and is audited as a failure.
    *md.body.lock().unwrap() = None;
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections/by-url/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("500"), "{v}");
    let kept = e.lobby.st.saml.idp_state(&conn).await.unwrap();
    assert!(
        kept.pinned_der(e.lobby.clock.now(), false)
            .contains(&cert_b.cert_der)
    );
    assert!(kept.last_error.is_some());
    let events = e
        .lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("connection.saml_metadata_refresh".into()),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 2);
    assert_eq!(events.items[0].outcome, Outcome::Failure);
    assert_eq!(events.items[1].outcome, Outcome::Success);
    let (s, _) = api(
        &e.lobby,
        post,
        "/orgs/umbrella/connections/umbrella-saml/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "pasted XML re-parses");
    let (s, _) = api(
        &e.lobby,
        reqwest::Method::POST,
        "/orgs/acme/connections/acme-pw/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 400);
}
