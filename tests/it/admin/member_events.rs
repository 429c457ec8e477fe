//! Member events revoke refresh tokens at once (DESIGN §3), as each app chooses.

use super::*;

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
