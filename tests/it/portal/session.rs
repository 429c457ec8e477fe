//! Signing in to the portal: through `/authorize` and the hosted login as `lobby-portal`, a new
//! session id at sign-in, who may finish (org roles only), sign-out, idle and absolute timeouts,
//! the security headers.

use super::{COOKIE, sign_in_at, signed_in};
use crate::provider::fixture::{Backends, Browser, Lobby};

#[tokio::test]
async fn signs_in_through_lobby_and_the_session_id_changes() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // Signed out: a GET goes to the portal's sign-in, remembering where it was.
    let r = b.get("/portal/orgs/acme/members?status=active").await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location(),
        "/portal/login?return=%2Fportal%2Forgs%2Facme%2Fmembers%3Fstatus%3Dactive"
    );
    // The sign-in goes to Lobby's own /authorize as the built-in client, with PKCE.
    let r = b.get(&r.location()).await;
    assert_eq!(r.status, 303);
    let to = r.location();
    assert!(
        to.starts_with(&format!("{}/authorize?", lobby.base)),
        "{to}"
    );
    let p = r.redirect_params();
    assert_eq!(p["client_id"], "lobby-portal");
    assert_eq!(p["redirect_uri"], format!("{}/portal/callback", lobby.base));
    assert_eq!(p["code_challenge_method"], "S256");
    let before = b.cookie(COOKIE).expect("a session cookie before sign-in");
    let done = sign_in_at(&b, &to, "bob@acme.test").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/portal/orgs/acme/members?status=active");
    let set = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{COOKIE}=")))
        .expect("the callback sets the portal cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
    let after = b.cookie(COOKIE).unwrap();
    assert_ne!(before, after, "the session id must change at sign-in");

    let page = b.get("/portal/orgs/acme/members?status=active").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<title>Members · Acme Inc. · Lobby portal</title>")
    );
    assert!(page.body.contains("alice@acme.test"));
    let h = &page.headers;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-content-type-options"], "nosniff");

    // The id from before sign-in is worth nothing (no fixation).
    let fixated = Browser::new(&lobby.base);
    fixated
        .jar
        .lock()
        .unwrap()
        .insert(COOKIE.into(), before.clone());
    let r = fixated.get("/portal/orgs/acme/members").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/portal/login"));
}

#[tokio::test]
async fn only_people_with_an_org_role_finish_the_sign_in() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let r = sign_in_at(&b, "/portal/login", "alice@acme.test").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("You are not an administrator of Acme Inc."),
        "{}",
        r.body
    );
    assert!(b.get("/portal").await.status == 303, "no portal session");
}

#[tokio::test]
async fn the_code_is_redeemed_once_and_only_in_process() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let r = b.get("/portal/login").await;
    let mut r = b.get(&r.location()).await;
    let mut callback = String::new();
    for _ in 0..6 {
        let loc = r.location();
        if let Some(flow) = loc.strip_prefix("/login?flow=") {
            r = b
                .sign_in(flow, "bob@acme.test", crate::provider::fixture::PASSWORD)
                .await;
            continue;
        }
        if loc.contains("/portal/callback") {
            callback = loc;
            break;
        }
        r = b.get(&loc).await;
    }
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // /token does not know the built-in client: its codes give no tokens.
    let (status, body) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "lobby-portal"),
            ("redirect_uri", &format!("{}/portal/callback", lobby.base)),
            ("code_verifier", "x".repeat(43).as_str()),
        ])
        .await;
    assert_eq!(status, 401, "{body}");
    // The callback redeems it (PKCE from the session) …
    let done = b.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    // … once.
    let b2 = lobby.browser();
    let again = b2.get(&callback).await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn sign_out_ends_the_portal_session() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let csrf = super::csrf(&b, "/portal/orgs/acme").await;
    let r = b.post("/portal/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/portal/signed-out");
    assert_eq!(b.get("/portal/orgs/acme").await.status, 303);
}

#[tokio::test]
async fn idle_sessions_end() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    lobby.clock.advance(time::Duration::minutes(29));
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
    lobby.clock.advance(time::Duration::minutes(31));
    let r = b.get("/portal/orgs/acme").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/portal/login"));
    // A POST of a dead session is refused, not redirected.
    let r = b.post("/portal/logout", &[("_csrf", "x")]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn sessions_end_at_the_absolute_limit_even_when_busy() {
    let lobby = Lobby::boot(Backends {
        config: Some(|c| c.portal_idle_secs = 24 * 3600),
        ..Backends::default()
    })
    .await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    lobby.clock.advance(time::Duration::hours(11));
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
    lobby.clock.advance(time::Duration::minutes(61));
    let r = b.get("/portal/orgs/acme").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/portal/login"));
}

#[tokio::test]
async fn losing_the_org_role_ends_the_session_at_the_next_request() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
    super::set_org_roles(&lobby, "acme", "bob", &[]).await;
    assert_eq!(b.get("/portal/orgs/acme").await.status, 303);
}
