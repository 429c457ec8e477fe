//! CRUD of apps, their roles and role groups.

use super::*;

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

/// `lobby-portal` is the built-in portal client's: no app may take it as id or client_id
/// (it would be shadowed by the portal at sign-in).
#[tokio::test]
async fn the_portal_client_id_is_reserved() {
    let t = TestApp::start().await;
    for body in [
        json!({"id": "lobby-portal", "name": "Portal", "redirect_uris": ["https://x.example.com/cb"]}),
        json!({"client_id": "lobby-portal", "name": "Portal", "redirect_uris": ["https://x.example.com/cb"]}),
    ] {
        let res = t
            .api(Method::POST, "/apps")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert!(v.to_string().contains("reserved"), "{v}");
    }
    let v = t
        .create(
            "/apps",
            json!({"name": "Billing", "redirect_uris": ["https://b.example.com/cb"]}),
        )
        .await;
    let id = v["id"].as_str().unwrap();
    let res = t
        .api(Method::PATCH, &format!("/apps/{id}"))
        .json(&json!({"client_id": "lobby-portal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
