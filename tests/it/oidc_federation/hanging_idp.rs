//! An IdP that hangs holds up only its own organization: with many sign-ins stuck on org
//! hooli's IdP (which accepts and never answers), org pied signs in meanwhile as if nothing
//! happened. The per-connection concurrency cap (`upstream::http::Limits::per_key_concurrency`)
//! and the outbound timeouts are what make it so.

use super::*;
use std::time::Instant;

/// Sign-ins to the hanging IdP at once: three times the per-connection cap (8).
const STUCK: usize = 24;

/// `/authorize`, the identifier page, and the identifier POST that makes Lobby ask the IdP.
async fn identifier(fed: &Fed, email: &str) -> (Resp, Instant) {
    let b = fed.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", email)],
        )
        .await;
    (r, Instant::now())
}

/// A whole sign-in of a pied member through pied's (healthy) IdP.
async fn pied_signs_in(fed: &Fed) -> Instant {
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "sam@pied.test", &[]).await;
    let token = fed
        .op2
        .key("rsa-1")
        .sign(&fed.op2.claims("sam-1", &req.nonce, "sam@pied.test"));
    fed.op2.will_answer("p1", &req.challenge, token);
    let iss = fed.op2.issuer();
    let r = fed
        .callback(
            &b,
            "pied-idp",
            &[("code", "p1"), ("state", &req.state), ("iss", &iss)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let t = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "pied");
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_that_hangs_holds_up_only_its_own_org() {
    let fed = Fed::start_with(|c| c.hang = true).await;
    let started = Instant::now();
    let stuck = futures::future::join_all((0..STUCK).map(|_| identifier(&fed, "pat@hooli.test")));
    let meanwhile = async {
        // Once hooli's sign-ins hold every slot of its connection (and more are queued).
        tokio::time::sleep(Duration::from_millis(300)).await;
        pied_signs_in(&fed).await
    };
    let (stuck, pied_done) = tokio::join!(stuck, meanwhile);

    // pied finished before any of hooli's sign-ins gave up (each waits for the outbound
    // timeout or for a slot), and in far less than the generous bound.
    let first_hooli_answer = stuck.iter().map(|(_, at)| *at).min().unwrap();
    assert!(
        pied_done < first_hooli_answer,
        "pied's sign-in waited for hooli's hanging IdP"
    );
    assert!(
        pied_done - started < Duration::from_secs(10),
        "pied took {:?}",
        pied_done - started
    );
    // Every hooli sign-in ended, on the fixed page, with no redirect to the IdP.
    for (r, at) in &stuck {
        assert_eq!(r.status, 502, "{}", r.body);
        assert!(r.headers.get("location").is_none());
        assert!(unescape(&r.body).contains(UNREACHABLE), "{}", r.body);
        assert!(
            *at - started < Duration::from_secs(15),
            "hooli took {:?}",
            *at - started
        );
    }
}
