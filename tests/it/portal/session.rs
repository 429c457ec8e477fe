//! Signing in to the portal: through `/authorize` and the hosted login as `lobby-portal`, a new
//! session id at sign-in, who may finish (org roles only), sign-out, idle and absolute timeouts,
//! the security headers.

use super::{COOKIE, sign_in_at, signed_in};
use crate::provider::fixture::{Backends, Browser, CRM_CB, Lobby, code_from};
use tower_sessions::SessionStore;
use tower_sessions::session::Id;

/// Lobby's SSO cookie on plain http loopback.
const SSO_COOKIE: &str = "lobby_session";

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
        r.body
            .contains("You are not an administrator of this organization"),
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
    let res = lobby
        .http()
        .post(lobby.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "lobby-portal"),
            (
                "redirect_uri",
                format!("{}/portal/callback", lobby.base).as_str(),
            ),
            ("code_verifier", "x".repeat(43).as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_eq!(status, 401, "{body}");
    // A copy of the browser's pending sign-in (its `state` and PKCE verifier), taken before the
    // callback: a replay with it differs from the first redemption in nothing but the code
    // having been used.
    let store = &lobby.st.sessions;
    let pending_id: Id = b.cookie(COOKIE).unwrap().parse().unwrap();
    let mut copy = store
        .load(&pending_id)
        .await
        .unwrap()
        .expect("the pending sign-in");
    // The callback redeems it (PKCE from the session) …
    let done = b.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let signed_in_cookie = b.cookie(COOKIE).unwrap();
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);

    // … once: the same callback in another browser holding the very same pending sign-in is
    // refused, and that browser gets no portal session.
    copy.id = Id::default();
    store.create(&mut copy).await.unwrap();
    let b2 = Browser::new(&lobby.base);
    b2.jar
        .lock()
        .unwrap()
        .insert(COOKIE.into(), copy.id.to_string());
    let again = b2.get(&callback).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("could not be completed"),
        "{}",
        again.body
    );
    let r = b2.get("/portal/orgs/acme").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/portal/login"));
    // The refused replay left no signed-in record behind under any id it was given.
    if let Some(id) = b2.cookie(COOKIE) {
        let rec = store.load(&id.parse().unwrap()).await.unwrap();
        assert!(
            rec.is_none_or(|r| !r.data.contains_key("portal.user")),
            "a second portal session"
        );
    }
    // The first browser replaying its own callback: refused too, and its session (same id)
    // is the one it had.
    let again = b.get(&callback).await;
    assert_eq!(again.status, 400);
    assert_eq!(b.cookie(COOKIE).unwrap(), signed_in_cookie);
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
}

#[tokio::test]
async fn sign_out_ends_the_portal_session_and_the_lobby_sso_session() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    // Signed in to Lobby too: crm signs bob in without asking, and gets a refresh token.
    let (verifier, r) = b.authorize_crm(&[("organization", "acme")]).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let sso_before = b.cookie(SSO_COOKIE).expect("an SSO cookie");

    let csrf = super::csrf(&b, "/portal/orgs/acme").await;
    let r = b.post("/portal/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    // Through Lobby's public URL (the portal may have another host name), with a ticket.
    let hop = r.location();
    assert!(
        hop.starts_with(&format!("{}/portal/logout/lobby/", lobby.base)),
        "{hop}"
    );
    assert_eq!(
        b.get("/portal/orgs/acme").await.status,
        303,
        "portal session gone"
    );
    let r = b.get(&hop).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{}/portal/signed-out", lobby.base));
    assert!(b.cookie(SSO_COOKIE).is_none(), "the SSO cookie is removed");
    let page = b.get(&r.location()).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("You are also signed out of Lobby in this browser"),
        "{}",
        page.body
    );
    assert_eq!(b.get("/portal/orgs/acme").await.status, 303);

    // The portal's sign-in asks who you are again …
    let r = b.get("/portal/login").await;
    let r = b.get(&r.location()).await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
    // … so does another app, and prompt=none is refused.
    let (_, r) = b.authorize_crm(&[("organization", "acme")]).await;
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
    let (_, r) = b
        .authorize_crm(&[("organization", "acme"), ("prompt", "none")])
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
    // The session is gone on the server, not only its cookie.
    let stale = Browser::new(&lobby.base);
    stale
        .jar
        .lock()
        .unwrap()
        .insert(SSO_COOKIE.into(), sso_before);
    let (_, r) = stale
        .authorize_crm(&[("organization", "acme"), ("prompt", "none")])
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
    // The session's refresh tokens are revoked, as at /logout.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .await;
    assert_eq!(s, 400);
    // The logout is in the audit log, naming the portal.
    let events = lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                action: Some("logout".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.details["client_id"] == "lobby-portal"),
        "{:?}",
        events.items
    );
}

/// A portal sign-out in a browser without an SSO session (it ended elsewhere) still works.
#[tokio::test]
async fn sign_out_without_an_sso_session() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    b.jar.lock().unwrap().remove(SSO_COOKIE);
    let csrf = super::csrf(&b, "/portal/orgs/acme").await;
    let r = b.post("/portal/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    let r = b.get(&r.location()).await;
    assert_eq!(r.location(), format!("{}/portal/signed-out", lobby.base));
    assert_eq!(b.get("/portal/orgs/acme").await.status, 303);
}

/// The ticket ends only the SSO session of the person who signed out of the portal, once: a
/// ticket replayed, forged, or taken to a browser where someone else is signed in ends nothing.
#[tokio::test]
async fn the_sign_out_ticket_signs_out_only_its_own_person_once() {
    let lobby = Lobby::start().await;
    let bob = signed_in(&lobby, "bob@acme.test").await;
    let csrf = super::csrf(&bob, "/portal/orgs/acme").await;
    let hop = bob
        .post("/portal/logout", &[("_csrf", &csrf)])
        .await
        .location();
    // Alice, signed in to Lobby in another browser, is sent bob's ticket.
    let alice = lobby.browser();
    let _ = crate::provider::fixture::crm_login(&lobby, &alice, "alice@acme.test", None).await;
    let r = alice.get(&hop).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location(),
        format!("{}/portal/signed-out?lobby=other", lobby.base)
    );
    let page = alice.get(&r.location()).await;
    assert!(
        page.body.contains("Someone else is signed in to Lobby"),
        "{}",
        page.body
    );
    let (_, r) = alice
        .authorize_crm(&[("organization", "acme"), ("prompt", "none")])
        .await;
    assert!(
        r.location().starts_with(CRM_CB),
        "alice is still signed in: {}",
        r.location()
    );
    // Used up: bob's own browser, replaying it, keeps its SSO session.
    let r = bob.get(&hop).await;
    assert_eq!(r.location(), format!("{}/portal/signed-out", lobby.base));
    let (_, r) = bob
        .authorize_crm(&[("organization", "acme"), ("prompt", "none")])
        .await;
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
    // A made-up ticket ends nothing either.
    let r = bob.get("/portal/logout/lobby/made-up").await;
    assert_eq!(r.status, 303);
    let (_, r) = bob
        .authorize_crm(&[("organization", "acme"), ("prompt", "none")])
        .await;
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
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
