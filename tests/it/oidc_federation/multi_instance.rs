//! Several instances (DESIGN §5): a federated login started on one instance finishes on another
//! through shared Redis (skipped unless `LOBBY_TEST_REDIS_URL` is set).

use super::*;

/// Started on one instance, the IdP's answer lands on another (shared Redis and database):
/// it completes there, once; the same answer replayed on the first instance is refused.
#[tokio::test]
async fn a_federated_login_started_on_one_instance_finishes_on_another() {
    let Ok(redis) = std::env::var("LOBBY_TEST_REDIS_URL") else {
        eprintln!("note: LOBBY_TEST_REDIS_URL is not set; multi-instance OIDC test not run");
        return;
    };
    let prefix = format!("lobby:it:oidc:{}:", random_token());
    let a = Fed::boot(|_| {}, Some((redis, prefix))).await;
    assert_eq!(a.st.ephemeral.backend(), "redis");
    let (b_base, b_st, b_server) = a.second_instance().await;
    let browser = a.browser();
    let (req, verifier) = a.to_idp(&browser, "pat@hooli.test", &[]).await;
    let token =
        a.op.key("rsa-1")
            .sign(&a.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    a.op.will_answer("c1", &req.challenge, token.clone());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("code", "c1"), ("state", req.state.as_str())])
        .finish();
    let r = browser
        .get(&format!("{b_base}/sso/oidc/hooli-idp/callback?{query}"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let q = r.redirect_params();
    assert_eq!(q["iss"], a.base, "one issuer for every instance");
    let t = a.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    // Replayed on A: the state was consumed on B.
    a.op.will_answer("c1", &req.challenge, token);
    let replay = a.browser();
    *replay.jar.lock().unwrap() = browser.jar.lock().unwrap().clone();
    let r = a
        .callback(
            &replay,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.headers.get("location").is_none());
    assert_reason(&a, "login.oidc", "state_unknown").await;
    drop(b_st);
    b_server.abort();
}
