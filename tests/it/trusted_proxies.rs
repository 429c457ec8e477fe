//! `LOBBY_TRUSTED_PROXIES`: behind a trusted reverse proxy the per-IP password lockout counts
//! each client (by `X-Forwarded-For`) instead of the proxy; from an untrusted peer the header is
//! ignored, so a client cannot spread its failures over forged addresses.
//!
//! The test's own TCP connection (from 127.0.0.1) plays the proxy.

use crate::provider::fixture::*;

/// 30 wrong passwords from `b` (4 per account, below the per-account limit, as in
/// `login::lockout_per_ip_after_30_failures`); `before_each` may change the browser's headers
/// before every attempt. Returns the status of the 30th.
async fn thirty_failures(b: &Browser, before_each: impl Fn(usize)) -> u16 {
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let mut last = 0;
    for n in 0..30 {
        before_each(n);
        if n % 4 == 0 {
            let email = format!("user{}@spray.test", n / 4);
            b.post(
                "/login",
                &[("flow", &flow), ("csrf", &csrf), ("email", &email)],
            )
            .await;
        }
        last = b
            .post(
                "/login/password",
                &[
                    ("flow", &flow),
                    ("csrf", &csrf),
                    ("password", "wrong password!"),
                ],
            )
            .await
            .status;
    }
    last
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_client_is_locked_out_not_everyone() {
    let lobby = Lobby::boot(Backends {
        config: Some(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]),
        ..Backends::default()
    })
    .await;
    let attacker = lobby.browser();
    attacker.set_header("x-forwarded-for", "198.51.100.7");
    assert_eq!(thirty_failures(&attacker, |_| {}).await, 429);

    // The attacker's address is locked, even with the right password…
    let locked = lobby.browser();
    locked.set_header("x-forwarded-for", "6.6.6.6, 198.51.100.7");
    let (_, challenge) = pkce();
    let flow = locked
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    assert_eq!(
        locked
            .sign_in(&flow, "alice@acme.test", PASSWORD)
            .await
            .status,
        429,
        "the right-most untrusted address is the attacker's"
    );

    // …but another client behind the same proxy signs in.
    let other = lobby.browser();
    other.set_header("x-forwarded-for", "203.0.113.5");
    let (code, _) = crm_login(&lobby, &other, "alice@acme.test", None).await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn forged_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies: 127.0.0.1 is a client like any other.
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // A new forged address for every attempt: without the fix each would count separately.
    let status = thirty_failures(&b, |n| {
        b.set_header("x-forwarded-for", &format!("198.51.100.{n}"));
    })
    .await;
    assert_eq!(status, 429, "the failures were counted for the peer");
    let other = lobby.browser();
    other.set_header("x-forwarded-for", "203.0.113.5");
    other.set_header("forwarded", "for=203.0.113.5");
    let (_, challenge) = pkce();
    let flow = other
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    assert_eq!(
        other
            .sign_in(&flow, "alice@acme.test", PASSWORD)
            .await
            .status,
        429,
        "the peer 127.0.0.1 is locked whatever the headers say"
    );
}
