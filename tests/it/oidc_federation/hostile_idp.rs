//! A hostile IdP: bad ID tokens (each refused with its exact reason), unknown and rolled-over
//! keys, unverified email, mismatched userinfo, token endpoint errors, and hostile metadata
//! and JWKS (wrong address, redirects, 50 MB, hanging, another issuer).

use super::*;

/// One bad token per case: (what to change, expected audit reason).
#[tokio::test]
async fn hostile_id_tokens_are_refused_with_the_exact_reason() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    type Make<'a> = Box<dyn Fn(&AuthReq) -> String + 'a>;
    let with = |f: Box<dyn Fn(&mut Value)>, kid: &'static str| -> Make<'_> {
        Box::new(move |req: &AuthReq| {
            let mut c = op.claims("victim", &req.nonce, "victim@hooli.test");
            f(&mut c);
            op.key(kid).sign(&c)
        })
    };
    let cases: Vec<(&str, Make<'_>, &str)> = vec![
        (
            "wrong iss",
            with(
                Box::new(|c| c["iss"] = json!("https://evil.example")),
                "rsa-1",
            ),
            "iss_mismatch",
        ),
        (
            "missing sub",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                "rsa-1",
            ),
            "sub_missing",
        ),
        (
            "wrong aud",
            with(Box::new(|c| c["aud"] = json!("someone-else")), "rsa-1"),
            "aud_mismatch",
        ),
        (
            "missing aud",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                "rsa-1",
            ),
            "aud_missing",
        ),
        (
            "extra audience without azp",
            with(
                Box::new(|c| c["aud"] = json!([CLIENT_ID, "other"])),
                "rsa-1",
            ),
            "azp_missing",
        ),
        (
            "extra audience with a wrong azp",
            with(
                Box::new(|c| {
                    c["aud"] = json!([CLIENT_ID, "other"]);
                    c["azp"] = json!("other");
                }),
                "rsa-1",
            ),
            "azp_mismatch",
        ),
        (
            "missing iat",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                "rsa-1",
            ),
            "iat_missing",
        ),
        (
            "expired",
            with(
                Box::new(move |c| {
                    c["exp"] = json!(now - 120);
                    c["iat"] = json!(now - 600);
                }),
                "rsa-1",
            ),
            "expired",
        ),
        (
            "iat in the future",
            with(Box::new(move |c| c["iat"] = json!(now + 600)), "rsa-1"),
            "iat_in_future",
        ),
        (
            "nonce mismatch",
            with(Box::new(|c| c["nonce"] = json!("another-nonce")), "rsa-1"),
            "nonce_mismatch",
        ),
        (
            "bad RS256 signature (another key, the IdP's kid)",
            Box::new(|req: &AuthReq| {
                op.key("rsa-rogue").sign_as(
                    &op.claims("victim", &req.nonce, "victim@hooli.test"),
                    "rsa-1",
                )
            }),
            "bad_signature",
        ),
        (
            "bad ES256 signature (another key, the IdP's kid)",
            Box::new(|req: &AuthReq| {
                op.key("ec-rogue").sign_as(
                    &op.claims("victim", &req.nonce, "victim@hooli.test"),
                    "ec-1",
                )
            }),
            "bad_signature",
        ),
        (
            "alg none",
            Box::new(|req: &AuthReq| {
                let c = op.claims("victim", &req.nonce, "victim@hooli.test");
                format!(
                    "{}.{}.",
                    b64(&json!({"alg": "none", "kid": "rsa-1"})),
                    b64(&c)
                )
            }),
            "alg_none",
        ),
        (
            "HS256 keyed with the IdP's public key",
            Box::new(|req: &AuthReq| {
                let c = op.claims("victim", &req.nonce, "victim@hooli.test");
                let public = serde_json::to_vec(&op.key("rsa-1").jwk).unwrap();
                let mut h = Header::new(Algorithm::HS256);
                h.kid = Some("rsa-1".into());
                jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(&public)).unwrap()
            }),
            "alg_not_allowed",
        ),
        (
            "garbage",
            Box::new(|_: &AuthReq| "not.a.jwt".to_string()),
            "id_token_malformed",
        ),
    ];
    for (what, make, reason) in cases {
        let b = fed.browser();
        let r = fed.login_with(&b, |req| make(req)).await;
        assert_refused(&b, &r, 400, REJECTED);
        let e = fed.last_audit("login.oidc").await;
        assert_eq!(e.details["reason"], reason, "{what}: {e:?}");
        assert_eq!(e.outcome, Outcome::Denied, "{what}");
    }
    // Nobody was provisioned by any of them.
    assert_eq!(fed.audit_count("login.federated").await, 0);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_then_fails() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let b = fed.browser();
    // A first good login fills the cache.
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-1")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 1);
    // A token under a kid the IdP does not publish: one refetch, then refused.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-rogue")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "unknown_kid").await;
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2, "refetched once");
    // Again right away: rate-limited, no further fetch.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-rogue")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "unknown_kid").await;
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2, "rate-limited");
}

#[tokio::test]
async fn a_rolled_over_key_is_found_by_the_refetch() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-1")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The IdP rolls over to rsa-2; Lobby's cached JWKS does not have it yet.
    op.st.cfg.lock().unwrap().published = vec!["rsa-2".into()];
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-2")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn email_verified_false_never_provisions() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("nv", &req.nonce, "nv@hooli.test");
            c["email_verified"] = json!(false);
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_refused(&b, &r, 403, "did not confirm your email address");
    assert_reason(&fed, "login.federated", "email_not_verified").await;
}

#[tokio::test]
async fn userinfo_with_another_sub_is_refused() {
    let fed = Fed::start().await;
    let b = fed.browser();
    *fed.op.st.userinfo.lock().unwrap() =
        json!({"sub": "someone-else", "email": "x@hooli.test", "email_verified": true});
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-4", &req.nonce, "");
            c.as_object_mut().unwrap().remove("email");
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "userinfo_sub_mismatch").await;
}

#[tokio::test]
async fn token_endpoint_errors_are_refused_cleanly() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    fed.op.will_answer_json(
        "c",
        &req.challenge,
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_grant", "error_description": "<b>bad</b>"}),
    );
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c"), ("state", &req.state)])
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], "token_error");
}

// ---------------------------------------------------------------------------------------
// Hostile metadata and keys

async fn jwks_case(
    jwks_uri: impl FnOnce(&str) -> String,
    status: u16,
    sentence: &str,
    reason: &str,
) {
    let fed = Fed::start_with(|_| {}).await;
    let uri = jwks_uri(&fed.op.issuer());
    fed.op.st.cfg.lock().unwrap().jwks_uri = Some(uri);
    let b = fed.browser();
    let started = std::time::Instant::now();
    let r = fed
        .login_with(&b, |req| {
            fed.op
                .key("rsa-1")
                .sign(&fed.op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert!(started.elapsed() < Duration::from_secs(8), "bounded time");
    assert_refused(&b, &r, status, sentence);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], reason, "{e:?}");
    assert_eq!(e.outcome, Outcome::Failure);
}

#[tokio::test]
async fn jwks_at_the_metadata_address_is_refused() {
    jwks_case(
        |_| "http://169.254.169.254/latest/meta-data/jwks".into(),
        502,
        MISCONFIGURED,
        "jwks_blocked",
    )
    .await;
}

#[tokio::test]
async fn jwks_redirecting_to_the_metadata_address_is_refused() {
    jwks_case(
        |b| format!("{b}/jwks-redirect"),
        502,
        MISCONFIGURED,
        "jwks_blocked",
    )
    .await;
}

#[tokio::test]
async fn a_50_mb_jwks_is_cut_off() {
    jwks_case(
        |b| format!("{b}/jwks-huge"),
        502,
        UNREACHABLE,
        "jwks_too_large",
    )
    .await;
}

#[tokio::test]
async fn a_jwks_that_never_answers_times_out() {
    jwks_case(
        |b| format!("{b}/jwks-hang"),
        502,
        UNREACHABLE,
        "jwks_timeout",
    )
    .await;
}

#[tokio::test]
async fn discovery_with_another_issuer_is_refused_before_leaving_lobby() {
    let fed = Fed::start_with(|c| c.discovery_issuer = Some("https://evil.example".into())).await;
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
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "pat@hooli.test"),
            ],
        )
        .await;
    assert_refused(&b, &r, 502, MISCONFIGURED);
    assert_reason(&fed, "login.oidc", "discovery_issuer_mismatch").await;
}
