//! `auth_time` from the organization's IdP (issue 13 item 8): the ID token's `auth_time`
//! becomes the app's `auth_time` (never later than now), and an IdP that did not
//! re-authenticate when the app asked for `max_age` or `prompt=login` is refused.

use super::*;

const NOT_RECENT: &str = "needs you to have signed in again just now";

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A sign-in through hooli's IdP with these `/authorize` extras, the IdP reporting
/// `auth_time` (or none). Returns the browser, the callback response and the app's verifier.
async fn sign_in(
    fed: &Fed,
    extra: &[(&str, &str)],
    auth_time: Option<i64>,
) -> (Browser, Resp, String) {
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "pat@hooli.test", extra).await;
    let mut c = fed.op.claims("pat-1", &req.nonce, "pat@hooli.test");
    if let Some(t) = auth_time {
        c["auth_time"] = json!(t);
    }
    fed.op
        .will_answer("code-1", &req.challenge, fed.op.key("ec-1").sign(&c));
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("code", "code-1"),
                ("state", &req.state),
                ("iss", &fed.op.issuer()),
            ],
        )
        .await;
    (b, r, verifier)
}

async fn app_auth_time(fed: &Fed, r: &Resp, verifier: &str) -> i64 {
    assert_eq!(r.status, 303, "{}", r.body);
    let code = r.redirect_params()["code"].clone();
    let t = fed.app_tokens(&code, verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    id["auth_time"].as_i64().unwrap()
}

#[tokio::test]
async fn the_idps_auth_time_becomes_the_apps_bounded_by_now() {
    let fed = Fed::start().await;
    let then = unix_now() - 3000;
    let (_, r, v) = sign_in(&fed, &[], Some(then)).await;
    assert_eq!(app_auth_time(&fed, &r, &v).await, then);
    // None reported: the sign-in itself.
    let before = unix_now();
    let (_, r, v) = sign_in(&fed, &[], None).await;
    let t = app_auth_time(&fed, &r, &v).await;
    assert!(t >= before && t <= unix_now(), "{t}");
    // In the future (inside the IdP's skew): bounded by now.
    let (_, r, v) = sign_in(&fed, &[], Some(unix_now() + 30)).await;
    assert!(app_auth_time(&fed, &r, &v).await <= unix_now());
}

#[tokio::test]
async fn max_age_violated_by_the_idp_is_refused() {
    let fed = Fed::start().await;
    // The app wants an authentication at most 5 minutes old; the IdP reports one an hour old.
    let (b, r, _) = sign_in(&fed, &[("max_age", "300")], Some(unix_now() - 3600)).await;
    assert_refused(&b, &r, 403, NOT_RECENT);
    assert!(r.body.contains("error=login_required"), "{}", r.body);
    assert_reason(&fed, "login.failure", "max_age_exceeded").await;
    // A recent one passes, and the app sees it.
    let recent = unix_now() - 60;
    let (_, r, v) = sign_in(&fed, &[("max_age", "300")], Some(recent)).await;
    assert_eq!(app_auth_time(&fed, &r, &v).await, recent);
}

#[tokio::test]
async fn prompt_login_needs_an_authentication_after_the_request() {
    let fed = Fed::start().await;
    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        let (b, r, _) = sign_in(&fed, &extra, Some(unix_now() - 600)).await;
        assert_refused(&b, &r, 403, NOT_RECENT);
        assert_reason(&fed, "login.failure", "no_fresh_authentication").await;
    }
    let (_, r, v) = sign_in(&fed, &[("prompt", "login")], Some(unix_now())).await;
    assert!(app_auth_time(&fed, &r, &v).await >= unix_now() - 5);
}
