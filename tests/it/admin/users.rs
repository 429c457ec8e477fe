//! CRUD of users, memberships and invitations.

use super::*;

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

/// `GET …/members` searches and filters in the database: `q` (email or name), `status`,
/// `org_role`, `app`, `app` + `role`; paging keeps working through a filter; bad values are
/// field errors.
#[tokio::test]
async fn the_member_list_searches_and_filters() {
    let t = TestApp::start().await;
    seed(&t).await;
    t.create(
        "/orgs/acme/members",
        json!({"user_id": "usr_bob", "status": "suspended", "org_roles": ["viewer"]}),
    )
    .await;
    let users = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let get = |q: &'static str| {
        let t = &t;
        async move {
            let (s, v) = t.get(&format!("/orgs/acme/members{q}")).await;
            assert_eq!(s, StatusCode::OK, "{q}: {v}");
            users(&v)
        }
    };
    assert_eq!(get("").await, ["usr_alice", "usr_bob"]);
    assert_eq!(get("?q=ALICE").await, ["usr_alice"]);
    assert_eq!(get("?q=bob%40").await, ["usr_bob"]);
    assert_eq!(get("?status=suspended").await, ["usr_bob"]);
    assert_eq!(get("?org_role=viewer").await, ["usr_bob"]);
    assert_eq!(get("?app=app_crm").await, ["usr_alice"]);
    assert_eq!(get("?app=app_crm&role=finance").await, ["usr_alice"]);
    assert!(get("?app=app_crm&role=after-sales").await.is_empty());
    assert!(get("?q=alice&status=suspended").await.is_empty());
    // Paging through a filter.
    let (_, p1) = t.get("/orgs/acme/members?q=acme.example&limit=1").await;
    assert_eq!(users(&p1), ["usr_alice"]);
    let next = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = t
        .get(&format!(
            "/orgs/acme/members?q=acme.example&limit=1&after={next}"
        ))
        .await;
    assert_eq!(users(&p2), ["usr_bob"]);
    assert!(p2["next_cursor"].is_null());
    // Bad values: field errors, not 500s.
    for (q, field) in [
        ("?role=sales", "role"),
        ("?app=Not%20an%20id", "app"),
        ("?app=app_crm&role=%20", "role"),
    ] {
        let (s, v) = t.get(&format!("/orgs/acme/members{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert_eq!(v["field"], field, "{q}: {v}");
    }
    let (s, _) = t.get("/orgs/acme/members?status=gone").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
