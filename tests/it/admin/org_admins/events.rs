//! Member events from an org admin behave exactly as from the operator: refresh tokens revoked
//! per the app's `revoke_on`, the SSO session no longer good for that org, the audit event
//! names the acting user. Also: a token its client revoked (`/revoke`) is dead here too.
//! Runs on the provider fixture (real password sign-ins): bob is `org_admin` of acme, alice a
//! member of acme only.

use crate::harness::Minted;
use crate::provider::fixture::*;
use lobby::storage::{AuditFilter, PageRequest};
use serde_json::{Value, json};

async fn admin(
    lobby: &Lobby,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let res = lobby
        .http()
        .request(method, lobby.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// The seeded `crm` app gets delegated admin access (its admin tokens act for its users).
async fn crm_may_act_for_admins(lobby: &Lobby) {
    let s = lobby.storage();
    let mut app = s.get_app(&app_id("crm")).await.unwrap().unwrap();
    app.admin_api.delegated = true;
    s.update_app(&app).await.unwrap();
}

async fn refresh_ok(lobby: &Lobby, rt: &str) -> bool {
    let (s, _) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    s == 200
}

async fn last_audit(lobby: &Lobby, action: &str) -> lobby::domain::AuditEvent {
    let page = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some(action.into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    page.items.into_iter().next().expect("an audit event")
}

#[tokio::test]
async fn member_events_from_an_org_admin_revoke_end_sessions_and_audit_the_user() {
    let lobby = Lobby::start().await;
    crm_may_act_for_admins(&lobby).await;
    let bob = Minted { state: &lobby.st }.delegated("bob", "acme", "crm");
    let put = reqwest::Method::PATCH;

    // Role change: alice's refresh token dies (crm revokes on every event).
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, v) = admin(
        &lobby,
        &bob,
        put.clone(),
        "/orgs/acme/members/alice",
        json!({"roles": {"crm": ["sales"]}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(!refresh_ok(&lobby, &rt).await, "roles_changed revokes");
    let e = last_audit(&lobby, "member.update").await;
    assert_eq!(e.actor, "user:bob");

    // Suspension: the refresh token dies and the SSO session no longer gets a code for acme.
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"), "signed in before");
    let (s, v) = admin(
        &lobby,
        &bob,
        put.clone(),
        "/orgs/acme/members/alice",
        json!({"status": "suspended"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(!refresh_ok(&lobby, &rt).await, "member_suspended revokes");
    lobby.clock.advance(time::Duration::seconds(2)); // past the 1-second config cache
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let p = r.redirect_params();
    assert!(
        !p.contains_key("code") && p.contains_key("error"),
        "{}",
        r.location()
    );
    assert_eq!(last_audit(&lobby, "member.update").await.actor, "user:bob");

    // Removal.
    let (s, _) = admin(
        &lobby,
        &bob,
        put,
        "/orgs/acme/members/alice",
        json!({"status": "active"}),
    )
    .await;
    assert_eq!(s, 200);
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, _) = admin(
        &lobby,
        &bob,
        reqwest::Method::DELETE,
        "/orgs/acme/members/alice",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204);
    assert!(!refresh_ok(&lobby, &rt).await, "member_removed revokes");
    let e = last_audit(&lobby, "member.delete").await;
    assert_eq!(e.actor, "user:bob");
    assert_eq!(e.org_id.as_ref().map(|o| o.as_str()), Some("acme"));
}

#[tokio::test]
async fn a_token_revoked_by_its_client_is_refused() {
    let lobby = Lobby::start().await;
    crm_may_act_for_admins(&lobby).await;
    let bob = Minted { state: &lobby.st }.delegated("bob", "acme", "crm");
    let (s, _) = admin(
        &lobby,
        &bob,
        reqwest::Method::GET,
        "/orgs/acme",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = lobby
        .post_json(
            "/revoke",
            &[("token", &bob), ("token_type_hint", "access_token")],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = admin(
        &lobby,
        &bob,
        reqwest::Method::GET,
        "/orgs/acme",
        Value::Null,
    )
    .await;
    assert_eq!(s, 401, "{v}");
}
