//! Refresh tokens: rotation, reuse detection, claims recomputed on refresh, membership and
//! org changes that invalidate a family, and revocation of refresh and access tokens.

use super::fixture::*;
use serde_json::Value;

#[tokio::test]
async fn refresh_rotates_recomputes_claims_and_reuse_revokes_the_family() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t1 = lobby.exchange(&code, &verifier).await;
    let r1 = t1["refresh_token"].as_str().unwrap().to_owned();

    // Roles change: the refresh carries the new ones (claims recomputed).
    let mut m = lobby
        .storage()
        .get_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap()
        .unwrap();
    m.roles.insert(app_id("crm"), [rv("sales")].into());
    lobby.storage().update_membership(&m).await.unwrap();

    let (s, t2) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!(s, 200, "{t2}");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "refresh tokens rotate");
    let id2 = jwt_claims(t2["id_token"].as_str().unwrap());
    assert_eq!(id2["roles"], serde_json::json!(["sales"]));
    assert!(
        id2.get("nonce").is_none(),
        "no nonce on refresh (OIDC Core §12.2)"
    );
    let id1 = jwt_claims(t1["id_token"].as_str().unwrap());
    assert_eq!(id2["auth_time"], id1["auth_time"]);
    assert_eq!(id2["sid"], id1["sid"]);

    // Reuse of r1 within the grace window: refused, family intact.
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // r2 still works.
    let (s, t3) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r2)])
        .await;
    assert_eq!(s, 200, "{t3}");
    let r3 = t3["refresh_token"].as_str().unwrap().to_owned();

    // Reuse of r1 after the grace window: the whole family is revoked, r3 dies too.
    lobby.clock.advance(time::Duration::seconds(11));
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r3)])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[tokio::test]
async fn refresh_after_member_removal_is_invalid_grant_and_revokes() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap();
    lobby
        .storage()
        .delete_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap();
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (_, fam) = lobby
        .storage()
        .find_refresh(&lobby::domain::TokenHash::of(rt))
        .await
        .unwrap()
        .unwrap();
    assert!(fam.revoked_at.is_some(), "the family is revoked");
    // And userinfo with the still-unexpired access token no longer answers for her.
    let (status, _) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refresh_after_org_suspension_or_unlink_is_invalid_grant() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let mut org = lobby
        .storage()
        .get_org(&org_id("globex"))
        .await
        .unwrap()
        .unwrap();
    org.status = lobby::domain::OrgStatus::Suspended;
    lobby.storage().update_org(&org).await.unwrap();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));

    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    lobby
        .storage()
        .delete_link(&org_id("acme"), &app_id("crm"))
        .await
        .unwrap();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn revoke_refresh_and_access_tokens() {
    let lobby = Lobby::start().await;
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let crm = Some(("crm", CRM_SECRET));
    // Another client cannot revoke crm's token (200, but nothing happens).
    let (s, _) = lobby
        .post_json("/revoke", &[("token", rt), ("client_id", "portal")], None)
        .await;
    assert_eq!(s, 200);
    let (s, i) = lobby.post_json("/introspect", &[("token", rt)], crm).await;
    assert_eq!((s, &i["active"]), (200, &Value::Bool(true)));
    // Unknown tokens: 200 (RFC 7009 §2.2).
    let (s, _) = lobby
        .post_json("/revoke", &[("token", "garbage")], crm)
        .await;
    assert_eq!(s, 200);
    // Missing client auth: 401.
    let (s, e) = lobby.post_json("/revoke", &[("token", rt)], None).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // Access token: deny-listed.
    let (s, _) = lobby
        .post_json(
            "/revoke",
            &[("token", at), ("token_type_hint", "access_token")],
            crm,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(lobby.userinfo(at).await.0, 401);
    let (_, i) = lobby.post_json("/introspect", &[("token", at)], crm).await;
    assert_eq!(i, serde_json::json!({"active": false}));
    // Refresh token: the family.
    let (s, _) = lobby.post_json("/revoke", &[("token", rt)], crm).await;
    assert_eq!(s, 200);
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}
