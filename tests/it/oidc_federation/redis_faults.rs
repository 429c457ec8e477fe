//! Redis lost under a federated sign-in, on a private `redis-server` of the test's own
//! (`faults::services`): flushed or restarted between the redirect to the IdP and the
//! callback, and down altogether. Lobby fails closed with fixed pages (never a replay, never a
//! panic), answers fast, and reconnects by itself.

use super::*;
use crate::faults::services::PrivateRedis;
use lobby::pages::PageError;
use std::time::Instant;

/// How long any request may take while Redis is down: each state operation is bounded by
/// `state::redis::OP_TIMEOUT` (2.5 s); generous, the point is "not hanging".
const FAIL_FAST: Duration = Duration::from_secs(6);

async fn boot(redis: &PrivateRedis) -> Fed {
    let prefix = format!("lobby:faults:{}:", random_token());
    Fed::boot(|_| {}, Some((redis.url(), prefix))).await
}

/// The IdP will answer `code` for this request with a valid ID token for pat@hooli.test.
fn idp_will_answer(fed: &Fed, req: &AuthReq, code: &str) {
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer(code, &req.challenge, token);
}

async fn call_back(fed: &Fed, b: &Browser, req: &AuthReq, code: &str) -> Resp {
    let iss = fed.op.issuer();
    fed.callback(
        b,
        "hooli-idp",
        &[("code", code), ("state", &req.state), ("iss", &iss)],
    )
    .await
}

/// A whole federated sign-in, to the app's code and tokens.
async fn full_login(fed: &Fed, code: &str) {
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    idp_will_answer(fed, &req, code);
    let r = call_back(fed, &b, &req, code).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let t = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    assert!(t["id_token"].is_string());
}

fn expired() -> String {
    PageError::FlowExpired.message().en()
}

#[tokio::test]
async fn redis_flushed_or_restarted_mid_login_ends_on_the_expired_page_and_lobby_reconnects() {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let fed = boot(&redis).await;

    // FLUSHALL between the redirect to the IdP and the callback: the sign-in cannot finish
    // (its state is gone) and says so; nothing reaches the app.
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    idp_will_answer(&fed, &req, "c-flush");
    let _: () = redis.cmd(&["FLUSHALL"]).await;
    let r = call_back(&fed, &b, &req, "c-flush").await;
    assert_refused(&b, &r, 400, &expired());
    assert_reason(&fed, "login.oidc", "state_unknown").await;

    // Restarted without persistence (SIGKILL, then up again on the same port): the same page,
    // and the callback's read proves Lobby reconnected by itself.
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    idp_will_answer(&fed, &req, "c-restart");
    redis.kill();
    redis.up().await;
    let r = call_back(&fed, &b, &req, "c-restart").await;
    assert_refused(&b, &r, 400, &expired());

    // Restarted with its data (SHUTDOWN SAVE, reloaded at start): the sign-in completes.
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    idp_will_answer(&fed, &req, "c-saved");
    redis.shutdown_save().await;
    redis.up().await;
    let r = call_back(&fed, &b, &req, "c-saved").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let code = r.redirect_params()["code"].clone();
    let t = fed.app_tokens(&code, &verifier).await;
    assert!(t["refresh_token"].is_string());

    // Losing the state never opens a replay: after a FLUSHALL the same IdP answer is refused,
    // and so is the app's already redeemed code.
    let _: () = redis.cmd(&["FLUSHALL"]).await;
    idp_will_answer(&fed, &req, "c-saved");
    let replay = fed.browser();
    *replay.jar.lock().unwrap() = b.jar.lock().unwrap().clone();
    let r = call_back(&fed, &replay, &req, "c-saved").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.headers.get("location").is_none(), "no code for a replay");
    assert!(unescape(&r.body).contains(&expired()), "{}", r.body);
    let res = reqwest::Client::new()
        .post(format!("{}/token", fed.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CRM_CB),
            ("code_verifier", verifier.as_str()),
            ("client_id", "crm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant", "{e}");

    // And a new sign-in works on the restarted Redis, without restarting Lobby.
    full_login(&fed, "c-after").await;
}

/// One request while Redis is down: answered within [`FAIL_FAST`] with 503 and `Retry-After`.
async fn fails_fast(
    what: &str,
    send: reqwest::RequestBuilder,
) -> (reqwest::header::HeaderMap, String) {
    let started = Instant::now();
    let res = send.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let took = started.elapsed();
    assert!(took < FAIL_FAST, "{what} took {took:?}");
    assert_eq!(res.status(), 503, "{what}");
    let h = res.headers().clone();
    let retry: u64 = h
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
    (h, res.text().await.unwrap())
}

#[tokio::test]
async fn redis_down_fails_fast_with_503_and_readyz_red_then_recovers_without_restart() {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let fed = boot(&redis).await;
    let http = crate::provider::fixture::client();
    let ready = |http: &reqwest::Client| http.get(format!("{}/readyz", fed.base));
    assert_eq!(ready(&http).send().await.unwrap().status(), 200);

    // A sign-in on its way to the IdP when Redis goes down.
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    idp_will_answer(&fed, &req, "c-down");
    redis.kill();

    let (_, body) = fails_fast("/readyz", ready(&http)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["state"]["ok"], false, "{v}");
    assert_eq!(v["storage"]["ok"], true, "{v}");

    // Browser pages: the fixed "temporarily unavailable" sentence, never a stack trace.
    let unavailable = PageError::Unavailable.message().en();
    let (_, challenge) = pkce();
    let authorize = fed.base.clone() + &authorize_path("crm", CRM_CB, &challenge, &[]);
    for (what, url) in [
        ("/authorize", authorize),
        (
            "the IdP callback",
            format!(
                "{}/sso/oidc/hooli-idp/callback?code=c-down&state={}",
                fed.base, req.state
            ),
        ),
    ] {
        let (h, body) = fails_fast(what, http.get(url)).await;
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{what}"
        );
        assert!(unescape(&body).contains(&unavailable), "{what}: {body}");
    }
    // OAuth endpoints: the JSON error (RFC 6749 §5.2 `temporarily_unavailable`).
    let (h, body) = fails_fast(
        "/token",
        http.post(format!("{}/token", fed.base)).form(&[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", CRM_CB),
            ("code_verifier", "v".repeat(43).as_str()),
            ("client_id", "crm"),
        ]),
    )
    .await;
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"], "temporarily_unavailable", "{e}");

    // Back up: ready again within seconds, and a whole sign-in works, without restarting Lobby.
    redis.up().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(&http).send().await.unwrap().status() != 200 {
        assert!(
            Instant::now() < deadline,
            "/readyz stayed red after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    full_login(&fed, "c-back").await;
}
