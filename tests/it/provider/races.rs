//! The token endpoint under concurrency and with a failing state store, through HTTP:
//! parallel redemptions of one code, parallel refreshes of one refresh token, a refresh token
//! presented by another client, and a state store whose atomic operations fail (fail closed).

use super::fixture::*;
use lobby::domain::Clock;
use lobby::state::MemoryState;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How many live refresh families alice has in acme (counted by revoking them: call last).
async fn live_families_of_alice(lobby: &Lobby) -> u64 {
    lobby
        .storage()
        .revoke_member_families(&org_id("acme"), &user_id("alice"), None, lobby.clock.now())
        .await
        .unwrap()
}

#[tokio::test]
async fn fifty_parallel_redemptions_of_one_code_issue_at_most_one_live_set_of_tokens() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CRM_CB),
        ("code_verifier", verifier.as_str()),
    ];
    let results = futures::future::join_all((0..50).map(|_| lobby.token(&form))).await;
    let ok: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert!(ok.len() <= 1, "{} redemptions succeeded", ok.len());
    for (s, v) in &results {
        if *s != 200 {
            assert_eq!(
                (*s, v["error"].as_str()),
                (400, Some("invalid_grant")),
                "{v}"
            );
        }
    }
    // Whatever was issued from the code is revoked: the refresh token is dead, the access
    // token inactive, and no refresh family of alice is live.
    if let Some(t) = ok.first() {
        let (s, e) = lobby
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ])
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_grant")),
            "{e}"
        );
        let (_, i) = lobby
            .post_json(
                "/introspect",
                &[("token", t["access_token"].as_str().unwrap())],
                Some(("crm", CRM_SECRET)),
            )
            .await;
        assert_eq!(i["active"], false, "{i}");
        let (s, _) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
        assert_eq!(s, 401);
    }
    assert_eq!(live_families_of_alice(&lobby).await, 0);
    eprintln!("50 parallel redemptions: {} succeeded", ok.len());
}

#[tokio::test]
async fn twenty_parallel_refreshes_have_at_most_one_winner_and_one_family() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    let results = futures::future::join_all((0..20).map(|_| lobby.token(&form))).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert!(winners.len() <= 1, "{} refreshes succeeded", winners.len());
    for (s, v) in &results {
        if *s != 200 {
            assert_eq!(
                (*s, v["error"].as_str()),
                (400, Some("invalid_grant")),
                "{v}"
            );
        }
    }
    // The winner's new refresh token is the one live token: it refreshes once more.
    if let Some(w) = winners.first() {
        let next = w["refresh_token"].as_str().unwrap();
        assert_ne!(next, rt);
        let (s, v) = lobby
            .token(&[("grant_type", "refresh_token"), ("refresh_token", next)])
            .await;
        assert_eq!(s, 200, "{v}");
    }
    // One family, never a second live one.
    assert_eq!(live_families_of_alice(&lobby).await, 1);
}

#[tokio::test]
async fn a_refresh_token_of_another_client_is_invalid_grant() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap();
    // portal (public, authenticated by client_id) presents crm's refresh token.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", "portal"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(e.get("access_token").is_none());
    // The refused attempt used nothing up: crm's own refresh still works.
    let (s, v) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn code_redemption_fails_closed_when_the_state_store_fails() {
    // take alone, put_if_absent alone, then all three: never tokens, always an OAuth error.
    for (take, pia, incr) in [
        (true, false, false),
        (false, true, false),
        (true, true, true),
    ] {
        let clock: Arc<dyn Clock> = Arc::new(lobby::domain::SystemClock);
        let store = Arc::new(FailingState::new(MemoryState::new(clock)));
        let lobby = Lobby::boot(Backends {
            state: Some(store.clone()),
            ..Backends::default()
        })
        .await;
        let b = lobby.browser();
        let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
        store.take.store(take, Ordering::SeqCst);
        store.put_if_absent.store(pia, Ordering::SeqCst);
        store.incr.store(incr, Ordering::SeqCst);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CRM_CB),
            ("code_verifier", verifier.as_str()),
        ];
        let (s, v) = lobby.token(&form).await;
        let case = format!("take {take}, put_if_absent {pia}, incr {incr}");
        assert!(v.get("access_token").is_none(), "{case}: {v}");
        assert!(v.get("refresh_token").is_none(), "{case}: {v}");
        assert!(
            s >= 500
                && ["server_error", "temporarily_unavailable"]
                    .contains(&v["error"].as_str().unwrap_or("")),
            "{case}: {s} {v}"
        );
        assert_eq!(live_families_of_alice(&lobby).await, 0, "{case}");
        // Once the store is back, the code is not redeemable twice either way: what the
        // failed attempt claimed or took stays claimed or taken.
        store.take.store(false, Ordering::SeqCst);
        store.put_if_absent.store(false, Ordering::SeqCst);
        store.incr.store(false, Ordering::SeqCst);
        let (s, v) = lobby.token(&form).await;
        if s == 200 {
            // Only when neither the claim nor the take happened (put_if_absent failed first).
            assert!(pia, "{case}: {v}");
        }
    }
}
