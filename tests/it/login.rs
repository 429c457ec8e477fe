//! The hosted login through HTTP: identifier-first discovery, the password connection
//! (uniform answers, lockout), the org chooser, browser binding, CSRF on every form, branding,
//! error pages, and hostile `/authorize` requests — each asserting the exact outcome (error page
//! vs. redirect, status, error code).

use crate::provider::fixture::*;

/// An authorize path for crm with a fresh PKCE challenge.
fn crm_authorize(extra: &[(&str, &str)]) -> String {
    let (_, challenge) = pkce();
    authorize_path("crm", CRM_CB, &challenge, extra)
}

/// The text of an HTML body with askama's entity escapes undone.
fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn assert_error_page(r: &Resp, status: u16, sentence: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.headers.get("location").is_none(),
        "an error page never redirects"
    );
    assert!(
        unescape(&r.body).contains(sentence),
        "missing {sentence:?} in {}",
        r.body
    );
    assert!(r.body.contains("id=\"request-id\""));
}

#[tokio::test]
async fn redirect_uri_variants_get_the_error_page_never_a_redirect() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    for bad in [
        "HTTP://127.0.0.1:9/crm/cb",
        "http://127.0.0.1:9/CRM/cb",
        "http://127.0.0.1:9/crm/cb/",
        "http://127.0.0.1:9/crm/cb?x=1",
        "http://127.0.0.1:9/crm/cb#frag",
        "http://evil@127.0.0.1:9/crm/cb",
        "http://127.0.0.1:9@evil.example.com/crm/cb",
        "http://127.0.0.1:9/crm/..;/crm/cb",
        "http://127.0.0.1:9/crm/x/../cb",
        "javascript:alert(1)//http://127.0.0.1:9/crm/cb",
        "http://127.0.0.1:10/crm/cb",
        "https://evil.example.com/",
    ] {
        let r = b.get(&crm_authorize(&[("redirect_uri", bad)])).await;
        assert_error_page(&r, 400, "return address does not match");
    }
    // Missing redirect_uri, unknown or missing client: the error page too.
    let r = b.get(&crm_authorize(&[("redirect_uri", "")])).await;
    assert_error_page(&r, 400, "return address does not match");
    let (_, c) = pkce();
    let r = b.get(&authorize_path("nope", CRM_CB, &c, &[])).await;
    assert_error_page(&r, 400, "not registered");
    let r = b.get("/authorize?response_type=code").await;
    assert_error_page(&r, 400, "not registered");
    // Even errors that would go to the client stay on the page while the URI is wrong.
    let r = b
        .get(&crm_authorize(&[
            ("redirect_uri", "https://evil.example.com/cb"),
            ("response_type", "token"),
        ]))
        .await;
    assert_error_page(&r, 400, "return address does not match");
}

#[tokio::test]
async fn bad_authorization_requests_go_back_to_the_client_with_iss() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // Missing PKCE.
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        // plain PKCE.
        (
            vec![
                ("code_challenge_method", "plain"),
                (
                    "code_challenge",
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                ),
            ],
            "invalid_request",
        ),
        (vec![("code_challenge", "short")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "email profile")], "invalid_scope"),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            vec![("request_uri", "https://x.example/r")],
            "request_uri_not_supported",
        ),
    ];
    for (extra, error) in cases {
        let r = b.get(&crm_authorize(&extra)).await;
        assert_eq!(r.status, 303, "{extra:?}: {}", r.body);
        assert!(r.location().starts_with(CRM_CB), "{extra:?}");
        let p = r.redirect_params();
        assert_eq!(p["error"], error, "{extra:?}");
        assert_eq!(p["state"], "st-123");
        assert_eq!(p["iss"], lobby.base);
        assert!(!p.contains_key("code"));
    }
    // A repeated parameter (RFC 6749 §3.1).
    let r = b.get(&format!("{}&nonce=again", crm_authorize(&[]))).await;
    assert_eq!(r.redirect_params()["error"], "invalid_request");
    // A repeated redirect_uri cannot be trusted: the page.
    let r = b
        .get(&format!("{}&redirect_uri={}", crm_authorize(&[]), CRM_CB))
        .await;
    assert_error_page(&r, 400, "not valid");
}

#[tokio::test]
async fn an_oversized_body_gets_the_page_in_a_browser_and_json_on_the_api() {
    let lobby = crate::harness::TestApp::start().await;
    let big = vec![b'a'; 1_048_577];
    for path in [
        "/login?flow=x",
        "/sso/saml/conn_x/acs",
        "/authorize",
        "/logout",
    ] {
        let res = lobby
            .client
            .post(lobby.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 413, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let body = res.text().await.unwrap();
        assert!(unescape(&body).contains("too large"), "{path}: {body}");
        assert!(body.contains("id=\"request-id\""), "{path}");
    }
    for path in ["/api/v1/orgs", "/token"] {
        let res = lobby
            .client
            .post(lobby.url(path))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 413, "{path}");
        let v: serde_json::Value = res.json().await.expect("JSON");
        assert_eq!(v["error"], "payload_too_large", "{path}");
    }
}

#[tokio::test]
async fn oversized_parameters_are_bounded_and_never_a_500() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let big = "x".repeat(513);
    let r = b.get(&crm_authorize(&[("state", &big)])).await;
    assert_error_page(&r, 413, "too large");
    for p in ["login_hint", "nonce", "organization", "ui_locales"] {
        let r = b.get(&crm_authorize(&[(p, &big)])).await;
        assert_eq!(r.status, 303, "{p}");
        assert_eq!(r.redirect_params()["error"], "invalid_request", "{p}");
    }
    // 512 bytes is fine.
    let ok = "y".repeat(512);
    let r = b
        .get(&crm_authorize(&[("login_hint", &ok), ("state", &ok)]))
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?flow="));
    // A huge email on the identifier page: re-rendered with a sentence, not a 500.
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let huge = format!("{}@acme.test", "a".repeat(5000));
    let r = b
        .post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", &huge)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("Enter an email address like name@example.com.")
    );
    // A huge password: the uniform sentence.
    let r = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "alice@acme.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = b
        .post(
            "/login/password",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("password", &"p".repeat(100_000)),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("The email or password is incorrect."));
}

#[tokio::test]
async fn pages_have_stable_ids_labels_and_the_flow_cookie() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let r = b
        .get(&crm_authorize(&[("login_hint", "alice@acme.test")]))
        .await;
    assert_eq!(r.status, 303);
    let set_cookie: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let flow_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("lobby_flow="))
        .expect("flow cookie");
    for attr in ["HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(flow_cookie.contains(attr), "{flow_cookie}");
    }
    let loc = r.location();
    let page = b.get(&loc).await;
    assert_eq!(page.status, 200);
    for needle in [
        "<main",
        "id=\"email\"",
        "id=\"submit\"",
        "<label for=\"email\">",
        "autocomplete=\"username\"",
        "value=\"alice@acme.test\"",
        "href=\"/static/lobby.css\"",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }
    assert!(!page.body.contains("<script"), "no JavaScript");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers["cache-control"], "no-store");
    let flow = &loc["/login?flow=".len()..];
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", flow),
                ("csrf", &csrf),
                ("email", "alice@acme.test"),
            ],
        )
        .await;
    let page = b.get(&r.location()).await;
    for needle in [
        "id=\"password\"",
        "id=\"submit\"",
        "<label for=\"password\">",
        "autocomplete=\"current-password\"",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }
    let css = b.get("/static/lobby.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.body.contains(":focus-visible"));
}

#[tokio::test]
async fn branding_applies_once_the_org_is_known() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // Unknown org: plain Lobby pages.
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert!(!page.body.contains("Acme Inc."));
    // organization hint: branded identifier page.
    let flow = b.start(&crm_authorize(&[("organization", "acme")])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert!(page.body.contains("Acme Inc."));
    assert!(page.body.contains("/static/brand.css?c=aa3300"));
    assert!(
        page.body
            .contains("src=\"https://acme.example.com/logo.png\"")
    );
    // domain_hint of a verified domain: branded identifier page.
    let flow = b
        .start(&crm_authorize(&[("domain_hint", "acme.test")]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert!(page.body.contains("Acme Inc."));
    let flow = b
        .start(&crm_authorize(&[("domain_hint", "unknown.test")]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert!(!page.body.contains("Inc."));
    // Verified domain: branded password page.
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", "x@acme.test")],
        )
        .await;
    let page = b.get(&r.location()).await;
    assert!(page.body.contains("Acme Inc."));
    // The colour stylesheet accepts only #rrggbb.
    let css = b.get("/static/brand.css?c=aa3300").await;
    assert_eq!(css.body.trim(), ":root { --brand: #aa3300; }");
    for bad in ["red", "aa33001", "aa33;}", ""] {
        let r = b.get(&format!("/static/brand.css?c={bad}")).await;
        assert_eq!(r.status, 404, "{bad}");
    }
}

#[tokio::test]
async fn unknown_users_and_domains_get_the_same_answers() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let mut password_pages = Vec::new();
    for email in [
        "alice@acme.test",
        "nobody@acme.test",
        "x@unknown-domain.test",
    ] {
        let flow = b.start(&crm_authorize(&[])).await;
        let page = b.get(&format!("/login?flow={flow}")).await;
        let csrf = page.hidden("csrf");
        let r = b
            .post(
                "/login",
                &[("flow", &flow), ("csrf", &csrf), ("email", email)],
            )
            .await;
        assert_eq!(r.status, 303, "{email}");
        assert_eq!(r.location(), format!("/login/password?flow={flow}"));
        let page = b.get(&r.location()).await;
        let r = b
            .post(
                "/login/password",
                &[
                    ("flow", &flow),
                    ("csrf", &csrf),
                    ("password", "wrong password!"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{email}");
        assert!(
            r.body.contains("The email or password is incorrect."),
            "{email}"
        );
        password_pages.push((
            page.body
                .replace(email, "E")
                .replace(&flow, "F")
                .replace(&csrf, "C"),
            r.body
                .replace(email, "E")
                .replace(&flow, "F")
                .replace(&csrf, "C"),
        ));
    }
    // Known and unknown users in a verified domain see identical pages (branding comes from
    // the domain, not from the account).
    assert_eq!(password_pages[0], password_pages[1]);
}

#[tokio::test]
async fn lockout_per_account_also_for_unknown_accounts() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    for email in ["alice@acme.test", "ghost@acme.test"] {
        let flow = b.start(&crm_authorize(&[])).await;
        let page = b.get(&format!("/login?flow={flow}")).await;
        let csrf = page.hidden("csrf");
        b.post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", email)],
        )
        .await;
        let mut last = None;
        for i in 1..=5 {
            let r = b
                .post(
                    "/login/password",
                    &[
                        ("flow", &flow),
                        ("csrf", &csrf),
                        ("password", "wrong password!"),
                    ],
                )
                .await;
            if i < 5 {
                assert!(r.body.contains("The email or password is incorrect."));
            }
            last = Some(r);
        }
        let r = last.unwrap();
        assert_eq!(r.status, 429, "{email}");
        assert!(
            r.body
                .contains("Too many failed sign-in attempts. Wait 15 minutes and try again.")
        );
        // Even the right password is refused while locked.
        let r = b
            .post(
                "/login/password",
                &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status, 429, "{email}");
        assert!(r.body.contains("Too many failed sign-in attempts"));
    }
    // Another account is not affected…
    let (code, _) = crm_login(&lobby, &lobby.browser(), "bob@acme.test", Some("acme")).await;
    assert!(!code.is_empty());
    // …and after 15 minutes alice can sign in again.
    lobby.clock.advance(time::Duration::minutes(16));
    let (code, _) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn lockout_per_ip_after_30_failures() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    // 30 failures spread over accounts (4 each, below the per-account limit).
    let mut n = 0;
    let mut last = None;
    'outer: for a in 0.. {
        let email = format!("user{a}@spray.test");
        b.post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", &email)],
        )
        .await;
        for _ in 0..4 {
            last = Some(
                b.post(
                    "/login/password",
                    &[
                        ("flow", &flow),
                        ("csrf", &csrf),
                        ("password", "wrong password!"),
                    ],
                )
                .await,
            );
            n += 1;
            if n == 30 {
                break 'outer;
            }
        }
    }
    assert_eq!(last.unwrap().status, 429);
    // Now even alice, from this IP, is refused.
    b.post(
        "/login",
        &[
            ("flow", &flow),
            ("csrf", &csrf),
            ("email", "alice@acme.test"),
        ],
    )
    .await;
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429);
}

#[tokio::test]
async fn csrf_is_required_on_every_form() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    // Identifier.
    for bad in [None, Some("wrong")] {
        let mut form = vec![("flow", flow.as_str()), ("email", "bob@acme.test")];
        if let Some(c) = bad {
            form.push(("csrf", c));
        }
        let r = b.post("/login", &form).await;
        assert_error_page(&r, 403, "This form has expired");
    }
    b.post(
        "/login",
        &[("flow", &flow), ("csrf", &csrf), ("email", "bob@acme.test")],
    )
    .await;
    // Password.
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("password", PASSWORD)],
        )
        .await;
    assert_error_page(&r, 403, "This form has expired");
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.location(), format!("/login/org?flow={flow}"));
    // Chooser.
    let r = b
        .post("/login/org", &[("flow", &flow), ("org", "acme")])
        .await;
    assert_error_page(&r, 403, "This form has expired");
    // Logout confirmation.
    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status, 403);
    // None of that consumed the flow: the chooser still works.
    let r = b.choose(&flow, "acme").await;
    let _ = code_from(&r, &lobby.base, CRM_CB);
}

#[tokio::test]
async fn chooser_refuses_an_org_the_user_is_not_in() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let flow = b.start(&crm_authorize(&[])).await;
    let r = b.sign_in(&flow, "bob@acme.test", PASSWORD).await;
    assert_eq!(r.location(), format!("/login/org?flow={flow}"));
    let page = b.get(&r.location()).await;
    assert!(page.body.contains("data-org-slug=\"acme\""));
    assert!(page.body.contains("data-org-slug=\"globex\""));
    assert!(!page.body.contains("initech"));
    let csrf = page.hidden("csrf");
    for org in ["initech", "nope", ""] {
        let r = b
            .post(
                "/login/org",
                &[("flow", &flow), ("csrf", &csrf), ("org", org)],
            )
            .await;
        assert_error_page(&r, 403, "You can't sign in to this organization");
    }
    // bob is removed from globex after the chooser was shown: choosing it is refused.
    lobby
        .storage()
        .delete_membership(&org_id("globex"), &user_id("bob"))
        .await
        .unwrap();
    let r = b
        .post(
            "/login/org",
            &[("flow", &flow), ("csrf", &csrf), ("org", "globex")],
        )
        .await;
    assert_error_page(&r, 403, "You can't sign in to this organization");
    // acme still works, once.
    let r = b
        .post(
            "/login/org",
            &[("flow", &flow), ("csrf", &csrf), ("org", "acme")],
        )
        .await;
    let _ = code_from(&r, &lobby.base, CRM_CB);
    let r = b
        .post(
            "/login/org",
            &[("flow", &flow), ("csrf", &csrf), ("org", "acme")],
        )
        .await;
    assert_error_page(&r, 400, "expired or was already completed");
}

#[tokio::test]
async fn a_flow_from_another_browser_fails() {
    let lobby = Lobby::start().await;
    let a = lobby.browser();
    let flow = a.start(&crm_authorize(&[])).await;
    let page = a.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let other = lobby.browser();
    let r = other.get(&format!("/login?flow={flow}")).await;
    assert_error_page(&r, 400, "started in another browser");
    let r = other
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "alice@acme.test"),
            ],
        )
        .await;
    assert_error_page(&r, 400, "started in another browser");
    // Unknown or malformed flow ids.
    for id in ["nope", "", "../../x"] {
        let r = a.get(&format!("/login?flow={id}")).await;
        assert_error_page(&r, 400, "expired or was already completed");
    }
    // The original browser is unaffected.
    let r = a.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let _ = code_from(&r, &lobby.base, CRM_CB);
}

#[tokio::test]
async fn session_id_changes_at_login_and_cookies_are_http_only() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (_, _) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let before = b.cookie("lobby_session").expect("a session cookie");
    // A fresh login in the same browser (prompt=login) gets a new session id.
    let flow = b.start(&crm_authorize(&[("prompt", "login")])).await;
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let set: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let sess = set
        .iter()
        .find(|c| c.starts_with("lobby_session="))
        .expect("session cookie set at login");
    assert!(
        sess.contains("HttpOnly") && sess.contains("SameSite=Lax"),
        "{sess}"
    );
    assert!(!sess.contains("Secure"), "plain http loopback development");
    let after = b.cookie("lobby_session").unwrap();
    assert_ne!(before, after, "a new session id after login");
    let _ = code_from(&r, &lobby.base, CRM_CB);
    // The old session id is dead: presenting it gives no SSO.
    let stale = lobby.browser();
    stale
        .jar
        .lock()
        .unwrap()
        .insert("lobby_session".into(), before);
    let (_, challenge) = pkce();
    let r = stale
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn sso_orgs_are_dispatched_and_no_access_is_explained() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // initech.test is verified by initech, whose crm policy has an OIDC connection.
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "x@initech.test"),
            ],
        )
        .await;
    // Dispatched to initech's OIDC IdP (OIDC federation), which does not answer.
    assert_error_page(
        &r,
        502,
        "Your organization's sign-in service could not be reached",
    );
    assert!(
        r.body.contains("Initech Inc."),
        "branded once the org is known"
    );
    // dave (acme.test address) is a member of initech only: no password connection there.
    let flow = b.start(&crm_authorize(&[])).await;
    let r = b.sign_in(&flow, "dave@acme.test", PASSWORD).await;
    assert_error_page(&r, 403, "You don't have access to this application.");
}

#[tokio::test]
async fn error_page_route_shows_fixed_sentences_and_the_request_id() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let r = b.get("/login/error?e=csrf").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("This form has expired"));
    let rid = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(r.body.contains(&rid), "request id {rid} on the page");
    let r = b.get("/login/error?e=%3Cscript%3E").await;
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("<script>"));
}

#[tokio::test]
async fn second_code_for_the_same_flow_is_impossible() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let flow = b.start(&crm_authorize(&[])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let _ = code_from(&r, &lobby.base, CRM_CB);
    // Replaying the password POST: the flow is gone.
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_error_page(&r, 400, "expired or was already completed");
}

#[tokio::test]
async fn a_burst_of_guesses_gets_at_most_five_password_checks_and_the_right_one_waits_out_the_lock()
{
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let csrf = b.to_password_page(&flow, "alice@acme.test").await;
    // 50 wrong passwords at once: the lock must hold before any of them is counted.
    let guesses: Vec<String> = (0..50).map(|i| format!("guess-{i}")).collect();
    let (bref, flow_ref, csrf_ref) = (&b, flow.as_str(), csrf.as_str());
    let answers = futures::future::join_all(guesses.iter().map(|g| async move {
        bref.post(
            "/login/password",
            &[
                ("flow", flow_ref),
                ("csrf", csrf_ref),
                ("password", g.as_str()),
            ],
        )
        .await
    }))
    .await;
    let checks = password_checks(lobby.storage()).await;
    assert!(checks <= 5, "{checks} password checks ran for one account");
    let locked = answers.iter().filter(|r| r.status == 429).count();
    assert!(locked >= 45, "only {locked} of 50 answers were the lockout");
    assert!(answers.iter().all(|r| r.status == 200 || r.status == 429));
    // The right password now: refused while the account is locked.
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(unescape(&r.body).contains("Too many failed sign-in attempts"));
}
