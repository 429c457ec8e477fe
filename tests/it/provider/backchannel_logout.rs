//! OIDC Back-Channel Logout 1.0 end to end: an app registers `backchannel_logout_uri` through
//! the admin API; each trigger (member removed, suspended, roles changed, org suspended, org
//! unlinked, RP-initiated logout — which also reaches the session's other apps — and an admin
//! ending a user's sessions) makes the outbox worker POST a `logout_token` to a receiver on
//! 127.0.0.1. The token is verified like an RP would (signature by a key of `/jwks`, `typ`
//! `logout+jwt`, iss/aud/iat/exp/jti, the `events` claim, `sid` and `sub`, no `nonce`); a
//! failing receiver is retried and the admin API shows the attempts.

use super::fixture::*;
use axum::http::HeaderMap;
use lobby::domain::Clock;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const TOKEN: &str = "test-admin-token-0123456789";

/// (path, content type, body) of each POST.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

struct Receiver {
    base: String,
    seen: Seen,
    /// Answer 500 to this many requests first.
    fail: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let fail = Arc::new(Mutex::new(0usize));
    let (s, f) = (seen.clone(), fail.clone());
    let app = axum::Router::new().route(
        "/{app}/bcl",
        axum::routing::post(
            move |axum::extract::Path(app): axum::extract::Path<String>,
                  headers: HeaderMap,
                  body: String| {
                let (s, f) = (s.clone(), f.clone());
                async move {
                    let ct = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    s.lock().unwrap().push((app, ct, body));
                    let mut n = f.lock().unwrap();
                    if *n > 0 {
                        *n -= 1;
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        base: format!("http://{addr}"),
        seen,
        fail,
        task,
    }
}

impl Receiver {
    /// Wait (up to 5 s) until `n` POSTs arrived; returns them all.
    async fn wait(&self, n: usize) -> Vec<(String, String, String)> {
        for _ in 0..100 {
            if self.seen.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let v = self.seen.lock().unwrap().clone();
        assert!(v.len() >= n, "expected {n} logout POSTs, got {v:?}");
        v
    }
}

async fn admin(lobby: &Lobby, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let mut rb = lobby
        .http()
        .request(method, lobby.url(&format!("/api/v1{path}")))
        .bearer_auth(TOKEN);
    if !body.is_null() {
        rb = rb.json(&body);
    }
    let res = rb.send().await.unwrap();
    let s = res.status().as_u16();
    let text = res.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Register `app`'s logout URI at the receiver.
async fn register(lobby: &Lobby, rx: &Receiver, app: &str) {
    let (s, v) = admin(
        lobby,
        reqwest::Method::PATCH,
        &format!("/apps/{app}"),
        json!({
            "backchannel_logout_uri": format!("{}/{app}/bcl", rx.base),
            "backchannel_logout_session_required": true,
        }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["backchannel_logout_session_required"], true);
}

/// Verify a received logout token as an RP does (Back-Channel Logout 1.0 §2.6) and return its
/// claims.
async fn verified(lobby: &Lobby, ct: &str, body: &str, aud: &str) -> Value {
    assert_eq!(ct, "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form.len(), 1, "{body}");
    assert_eq!(form[0].0, "logout_token");
    let (header, c) = lobby.verify_jwt(&form[0].1).await;
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(c["iss"], lobby.st.config.issuer());
    assert_eq!(c["aud"], aud);
    assert_eq!(c["events"], json!({ EVENT: {} }));
    assert!(c.get("nonce").is_none(), "§2.4: no nonce");
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 20));
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 120);
    assert_eq!(iat, lobby.clock.now().unix_timestamp());
    c
}

/// Sign `email` in at crm in a new browser; returns (browser, tokens, sid).
async fn signed_in(lobby: &Lobby, email: &str, org: Option<&str>) -> (Browser, Value, Value) {
    let b = lobby.browser();
    let (code, verifier) = crm_login(lobby, &b, email, org).await;
    let t = lobby.exchange(&code, &verifier).await;
    let sid = jwt_claims(t["id_token"].as_str().unwrap())["sid"].clone();
    (b, t, sid)
}

#[tokio::test]
async fn removing_a_member_sends_a_verifiable_logout_token_at_once() {
    let lobby = Lobby::start().await;
    let rx = receiver().await;
    register(&lobby, &rx, "crm").await;
    let (_b, _t, sid) = signed_in(&lobby, "alice@acme.test", None).await;

    let started = std::time::Instant::now();
    let (s, _) = admin(
        &lobby,
        reqwest::Method::DELETE,
        "/orgs/acme/members/alice",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204);
    let got = rx.wait(1).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "delivered after {took:?}");
    assert_eq!(got[0].0, "crm");
    let c = verified(&lobby, &got[0].1, &got[0].2, "crm").await;
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["sid"], sid, "the sid of the ID token");
    assert_eq!(c["org_id"], "acme");

    // The admin API shows the delivery.
    let (s, v) = admin(
        &lobby,
        reqwest::Method::GET,
        "/apps/crm/backchannel-logout/deliveries",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let d = &v["items"][0];
    assert_eq!(d["state"], "delivered", "{v}");
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["payload"]["sid"], sid);
    // Discovery advertises it.
    let disco: Value = lobby
        .http()
        .get(lobby.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disco["backchannel_logout_supported"], true);
    assert_eq!(disco["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn every_trigger_reaches_the_apps_of_the_session() {
    let lobby = Lobby::start().await;
    let rx = receiver().await;
    register(&lobby, &rx, "crm").await;
    register(&lobby, &rx, "portal").await;
    let patch = reqwest::Method::PATCH;
    let mut n = 0;

    // Roles changed (crm's revoke_on has every event).
    let (_b, _t, sid) = signed_in(&lobby, "alice@acme.test", None).await;
    let (s, v) = admin(
        &lobby,
        patch.clone(),
        "/orgs/acme/members/alice",
        json!({"roles": {"crm": ["sales"], "portal": ["viewer"]}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    n += 1;
    let got = rx.wait(n).await;
    let c = verified(&lobby, &got[n - 1].1, &got[n - 1].2, "crm").await;
    assert_eq!((c["sub"].clone(), c["sid"].clone()), (json!("alice"), sid));

    // RP-initiated logout at crm also ends the portal's session of the same SSO session.
    let (b, t, sid) = signed_in(&lobby, "alice@acme.test", None).await;
    let (verifier, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let code = code_from(&r, &lobby.base, PORTAL_CB);
    let (s, pt) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{pt}");
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", t["id_token"].as_str().unwrap())
        .finish();
    let r = b.get(&format!("/logout?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    n += 2;
    let got = rx.wait(n).await;
    let mut apps = Vec::new();
    for g in &got[n - 2..n] {
        let c = verified(&lobby, &g.1, &g.2, &g.0).await;
        assert_eq!(c["sid"], sid);
        apps.push(g.0.clone());
    }
    apps.sort();
    assert_eq!(apps, ["crm", "portal"]);

    // An admin ends every session of a user.
    let (_b, _t, sid) = signed_in(&lobby, "alice@acme.test", None).await;
    let (s, _) = admin(
        &lobby,
        reqwest::Method::DELETE,
        "/users/alice/sessions",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204);
    n += 1;
    let got = rx.wait(n).await;
    let c = verified(&lobby, &got[n - 1].1, &got[n - 1].2, "crm").await;
    assert_eq!(c["sid"], sid);
    // Sessions begun after that moment live on.
    lobby.clock.advance(time::Duration::seconds(1));

    // Member suspended.
    let (_b, _t, sid) = signed_in(&lobby, "alice@acme.test", None).await;
    let (s, v) = admin(
        &lobby,
        patch.clone(),
        "/orgs/acme/members/alice",
        json!({"status": "suspended"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    n += 1;
    let got = rx.wait(n).await;
    let c = verified(&lobby, &got[n - 1].1, &got[n - 1].2, "crm").await;
    assert_eq!((c["sub"].clone(), c["sid"].clone()), (json!("alice"), sid));

    // Org unlinked from the app: bob's globex session at crm ends.
    let (_b, _t, sid) = signed_in(&lobby, "bob@acme.test", Some("globex")).await;
    let (s, v) = admin(
        &lobby,
        reqwest::Method::DELETE,
        "/orgs/globex/apps/crm",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    n += 1;
    let got = rx.wait(n).await;
    let c = verified(&lobby, &got[n - 1].1, &got[n - 1].2, "crm").await;
    assert_eq!(
        (c["sub"].clone(), c["sid"].clone(), c["org_id"].clone()),
        (json!("bob"), sid, json!("globex"))
    );

    // Org suspended: bob's acme session at crm ends.
    let (_b, _t, sid) = signed_in(&lobby, "bob@acme.test", None).await;
    let (s, v) = admin(&lobby, patch, "/orgs/acme", json!({"status": "suspended"})).await;
    assert_eq!(s, 200, "{v}");
    n += 1;
    let got = rx.wait(n).await;
    let c = verified(&lobby, &got[n - 1].1, &got[n - 1].2, "crm").await;
    assert_eq!(
        (c["sub"].clone(), c["sid"].clone(), c["org_id"].clone()),
        (json!("bob"), sid, json!("acme"))
    );
    // Nothing else was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.seen.lock().unwrap().len(), n);
}

#[tokio::test]
async fn apps_that_do_not_revoke_on_an_event_get_no_logout_and_failures_are_retried() {
    let lobby = Lobby::start().await;
    let rx = receiver().await;
    register(&lobby, &rx, "crm").await;
    // crm stops revoking on role changes: no logout for them.
    let (s, v) = admin(
        &lobby,
        reqwest::Method::PATCH,
        "/apps/crm",
        json!({"revoke_on": ["member_removed"]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_b, _t, sid) = signed_in(&lobby, "alice@acme.test", None).await;
    let (s, _) = admin(
        &lobby,
        reqwest::Method::PATCH,
        "/orgs/acme/members/alice",
        json!({"roles": {"crm": ["sales"]}}),
    )
    .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(rx.seen.lock().unwrap().is_empty());

    // The receiver fails once: the row is retried after the backoff (5 s on Lobby's clock).
    *rx.fail.lock().unwrap() = 1;
    let (s, _) = admin(
        &lobby,
        reqwest::Method::DELETE,
        "/orgs/acme/members/alice",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204);
    rx.wait(1).await;
    // The attempt is recorded right after the answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, v) = admin(
        &lobby,
        reqwest::Method::GET,
        "/apps/crm/backchannel-logout/deliveries",
        Value::Null,
    )
    .await;
    let d = &v["items"][0];
    assert_eq!(d["state"], "pending", "{v}");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 500);
    lobby.clock.advance(time::Duration::seconds(6));
    let got = rx.wait(2).await;
    let c = verified(&lobby, &got[1].1, &got[1].2, "crm").await;
    assert_eq!(c["sid"], sid);
    // A retry is a freshly signed token (its own jti).
    assert_ne!(got[0].2, got[1].2);

    // Registration rules: no fragment, https or loopback http, the flag needs a URI.
    for body in [
        json!({"backchannel_logout_uri": "https://crm.example/bcl#x"}),
        json!({"backchannel_logout_uri": "http://crm.example/bcl"}),
    ] {
        let (s, v) = admin(&lobby, reqwest::Method::PATCH, "/apps/crm", body).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["field"], "backchannel_logout_uri");
    }
    let (s, v) = admin(
        &lobby,
        reqwest::Method::PATCH,
        "/apps/crm",
        json!({"backchannel_logout_uri": null}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v.get("backchannel_logout_uri").is_none());
    let (s, _) = admin(
        &lobby,
        reqwest::Method::PATCH,
        "/apps/crm",
        json!({"backchannel_logout_session_required": true}),
    )
    .await;
    assert_eq!(s, 422);
}
