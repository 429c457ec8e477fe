//! The second factor of password sign-ins through HTTP (issue 16 item 4): the policy set with
//! the admin API (required, optional, off, link over app), enrolment with a code computed here
//! (RFC 6238), the challenge with replay refused, recovery codes burned once, the remembered
//! device, `acr_values` and `max_age` demanding a fresh factor, `prompt=none`, the wrong-code
//! limit, and the admin reset with its audit event.

use crate::provider::fixture::*;
use lobby::domain::Clock;
use lobby::domain::mfa::ACR_MULTI_FACTOR;
use serde_json::{Value, json};

const OPERATOR: &str = "test-admin-token-0123456789";

async fn api(l: &Lobby, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = l.http().request(method, l.url(path)).bearer_auth(OPERATOR);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Set the acme–crm link's policy (`null`: the app's).
async fn link_policy(l: &Lobby, mfa: Value) {
    let (s, v) = api(
        l,
        reqwest::Method::PATCH,
        "/api/v1/orgs/acme/apps/crm",
        Some(json!({ "mfa": mfa })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.get("mfa"), if mfa.is_null() { None } else { Some(&mfa) });
}

/// The six-digit code of `secret` (base32) at the Lobby's clock, `steps` steps later.
fn code(l: &Lobby, secret: &str, steps: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let t = totp_rs::Builder::new()
        .with_secret(bytes)
        .build_noncompliant();
    let now = l.clock.now().unix_timestamp() + steps * 30;
    t.generate(now as u64).to_string()
}

/// The text between `<code id="totp-secret">` and `</code>`.
fn secret_of(page: &Resp) -> String {
    let start = page.body.find("id=\"totp-secret\">").expect("secret shown") + 17;
    let rest = &page.body[start..];
    rest[..rest.find('<').unwrap()].to_owned()
}

fn recovery_codes_of(page: &Resp) -> Vec<String> {
    let start = page
        .body
        .find("id=\"recovery-codes\"")
        .expect("codes shown");
    let end = start + page.body[start..].find("</ul>").unwrap();
    page.body[start..end]
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_owned())
        .collect()
}

/// `/authorize` for crm (with `extra`), email and password as alice; the password's answer.
async fn password_step(b: &Browser, extra: &[(&str, &str)], email: &str) -> (String, Resp) {
    let (verifier, r) = b.authorize_crm(extra).await;
    let loc = r.location();
    let flow = loc["/login?flow=".len()..].to_owned();
    (verifier, b.sign_in(&flow, email, PASSWORD).await)
}

fn flow_of(r: &Resp) -> String {
    let loc = r.location();
    assert!(loc.starts_with("/login/mfa?flow="), "{loc}");
    loc["/login/mfa?flow=".len()..].to_owned()
}

async fn id_token(l: &Lobby, r: &Resp, verifier: &str) -> Value {
    let code = code_from(r, &l.base, CRM_CB);
    let t = l.exchange(&code, verifier).await;
    l.verify_jwt(t["id_token"].as_str().unwrap()).await.1
}

/// Enrol alice's authenticator app in a fresh browser; returns (browser, secret, codes).
async fn enroll_alice(l: &Lobby) -> (Browser, String, Vec<String>) {
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg"), "QR code inline");
    assert!(page.body.contains("otpauth://totp/"), "{}", page.body);
    let secret = secret_of(&page);
    let codes = recovery_codes_of(&page);
    assert_eq!(codes.len(), 10);
    let csrf = page.hidden("csrf");
    // A wrong code: the page again with the sentence.
    let wrong = b
        .post(
            "/login/mfa/enroll",
            &[("flow", &flow), ("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body.contains("That code is not correct"),
        "{}",
        wrong.body
    );
    assert_eq!(secret_of(&wrong), secret, "the same secret until confirmed");
    // Without the CSRF token: refused.
    let c = code(l, &secret, 0);
    let no_csrf = b
        .post("/login/mfa/enroll", &[("flow", &flow), ("code", &c)])
        .await;
    assert_eq!(no_csrf.status, 403);
    let ok = b
        .post(
            "/login/mfa/enroll",
            &[("flow", &flow), ("csrf", &csrf), ("code", &c)],
        )
        .await;
    let claims = id_token(l, &ok, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], json!(ACR_MULTI_FACTOR));
    (b, secret, codes)
}

#[tokio::test]
async fn required_enrols_then_challenges_with_replay_refused() {
    let l = Lobby::start().await;
    // Off by default: no second factor, amr pwd, no acr.
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    let claims = id_token(&l, &r, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims.get("acr").is_none());

    link_policy(&l, json!("required")).await;
    let (_, secret, _) = enroll_alice(&l).await;
    let audit = l
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                action: Some("mfa.enroll".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].org_id.as_ref().unwrap().as_str(), "acme");

    // Another browser: the challenge. The code used at enrolment is refused (replay).
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("id=\"recovery-remaining\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("totp-secret"),
        "no secret on the challenge"
    );
    let csrf = page.hidden("csrf");
    let again = b
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &code(&l, &secret, 0)),
            ],
        )
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("already used"), "{}", again.body);
    let bad = b
        .post(
            "/login/mfa/verify",
            &[("flow", &flow), ("csrf", &csrf), ("code", "12ab")],
        )
        .await;
    assert!(bad.body.contains("Enter the six digits"), "{}", bad.body);
    l.clock.advance(time::Duration::seconds(30));
    let ok = b
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &code(&l, &secret, 0)),
            ],
        )
        .await;
    let claims = id_token(&l, &ok, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    // The same SSO session: no second challenge for the next authorization.
    let (verifier, r) = b.authorize_crm(&[]).await;
    let claims = id_token(&l, &r, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    // The flow is spent: posting it again is no second code.
    let replay = b
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &code(&l, &secret, 1)),
            ],
        )
        .await;
    assert_ne!(replay.status, 303, "{}", replay.body);
}

#[tokio::test]
async fn recovery_codes_work_once_and_remembered_devices_skip_the_code() {
    let l = Lobby::start().await;
    link_policy(&l, json!("required")).await;
    let (_, secret, codes) = enroll_alice(&l).await;

    // A recovery code instead of a code (typed in capitals, with the dash): once.
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let csrf = b
        .get(&format!("/login/mfa?flow={flow}"))
        .await
        .hidden("csrf");
    let ok = b
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &codes[0].to_uppercase()),
                ("remember", "1"),
            ],
        )
        .await;
    let remembered = b.cookie("lobby_mfa").expect("remember cookie");
    let claims = id_token(&l, &ok, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));

    let b2 = l.browser();
    let (_, r) = password_step(&b2, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b2.get(&format!("/login/mfa?flow={flow}")).await;
    assert!(
        page.body.contains("Recovery codes left: 9."),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let reused = b2
        .post(
            "/login/mfa/verify",
            &[("flow", &flow), ("csrf", &csrf), ("code", &codes[0])],
        )
        .await;
    assert_eq!(reused.status, 200);
    assert!(reused.body.contains("already used"), "{}", reused.body);

    // A browser holding only the remembered-device cookie: no code asked.
    let b3 = l.browser();
    b3.jar
        .lock()
        .unwrap()
        .insert("lobby_mfa".into(), remembered.clone());
    let (verifier, r) = password_step(&b3, &[], "alice@acme.test").await;
    let claims = id_token(&l, &r, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    assert!(
        claims.get("acr").is_none(),
        "a remembered device is no fresh factor"
    );

    // acr_values demanding multi-factor: the remembered device does not count.
    let b4 = l.browser();
    b4.jar
        .lock()
        .unwrap()
        .insert("lobby_mfa".into(), remembered.clone());
    let (verifier, r) =
        password_step(&b4, &[("acr_values", ACR_MULTI_FACTOR)], "alice@acme.test").await;
    let flow = flow_of(&r);
    let csrf = b4
        .get(&format!("/login/mfa?flow={flow}"))
        .await
        .hidden("csrf");
    l.clock.advance(time::Duration::seconds(30));
    let ok = b4
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &code(&l, &secret, 0)),
            ],
        )
        .await;
    let claims = id_token(&l, &ok, &verifier).await;
    assert_eq!(claims["acr"], json!(ACR_MULTI_FACTOR));

    // max_age shorter than the remembered factor's age: asked again.
    l.clock.advance(time::Duration::minutes(10));
    let b5 = l.browser();
    b5.jar
        .lock()
        .unwrap()
        .insert("lobby_mfa".into(), remembered.clone());
    let (_, r) = password_step(&b5, &[("max_age", "300")], "alice@acme.test").await;
    flow_of(&r);
}

#[tokio::test]
async fn optional_offers_skip_and_acr_demands_even_when_off() {
    let l = Lobby::start().await;
    link_policy(&l, json!("optional")).await;
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert!(page.body.contains("id=\"skip\""), "{}", page.body);
    let csrf = page.hidden("csrf");
    let skipped = b
        .post("/login/mfa/skip", &[("flow", &flow), ("csrf", &csrf)])
        .await;
    let claims = id_token(&l, &skipped, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd"]));

    // The link says off, the app says required: the link wins.
    let (s, v) = api(
        &l,
        reqwest::Method::PATCH,
        "/api/v1/apps/crm",
        Some(json!({ "mfa": "required" })),
    )
    .await;
    assert_eq!((s, &v["mfa"]), (200, &json!("required")), "{v}");
    link_policy(&l, json!("off")).await;
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    assert_eq!(id_token(&l, &r, &verifier).await["amr"], json!(["pwd"]));
    // Inherit again: required.
    link_policy(&l, Value::Null).await;
    let b = l.browser();
    let (_, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert!(!page.body.contains("id=\"skip\""), "required: no skip");

    // Off everywhere, but the app asks for multi-factor: enrolment, without skip.
    api(
        &l,
        reqwest::Method::PATCH,
        "/api/v1/apps/crm",
        Some(json!({ "mfa": "off" })),
    )
    .await;
    let b = l.browser();
    let (_, r) = password_step(&b, &[("acr_values", ACR_MULTI_FACTOR)], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert!(page.body.contains("totp-secret") && !page.body.contains("id=\"skip\""));

    // Bad policy values are refused with the field named.
    let (s, v) = api(
        &l,
        reqwest::Method::PATCH,
        "/api/v1/orgs/acme/apps/crm",
        Some(json!({ "mfa": "sometimes" })),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], json!("mfa"));
}

#[tokio::test]
async fn prompt_none_and_the_wrong_code_limit() {
    let l = Lobby::start().await;
    // A session without a second factor, then the link requires one: prompt=none cannot ask.
    let b = l.browser();
    let (verifier, r) = password_step(&b, &[], "alice@acme.test").await;
    id_token(&l, &r, &verifier).await;
    link_policy(&l, json!("required")).await;
    let (_, r) = b.authorize_crm(&[("prompt", "none")]).await;
    assert_eq!(
        r.redirect_params().get("error").map(String::as_str),
        Some("interaction_required")
    );
    let (_, secret, _) = enroll_alice(&l).await;

    let b = l.browser();
    let (_, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let csrf = b
        .get(&format!("/login/mfa?flow={flow}"))
        .await
        .hidden("csrf");
    for _ in 0..5 {
        let r = b
            .post(
                "/login/mfa/verify",
                &[("flow", &flow), ("csrf", &csrf), ("code", "000001")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    l.clock.advance(time::Duration::seconds(30));
    let locked = b
        .post(
            "/login/mfa/verify",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("code", &code(&l, &secret, 0)),
            ],
        )
        .await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked.body.contains("Too many wrong codes"),
        "{}",
        locked.body
    );
}

#[tokio::test]
async fn an_org_admin_resets_a_members_second_factor_audited() {
    let l = Lobby::start().await;
    link_policy(&l, json!("required")).await;
    let (_, _, _) = enroll_alice(&l).await;
    // Not a member of globex: another org's member is not found there.
    let (s, _) = api(
        &l,
        reqwest::Method::DELETE,
        "/api/v1/orgs/globex/members/alice/mfa",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, v) = api(
        &l,
        reqwest::Method::DELETE,
        "/api/v1/orgs/acme/members/alice/mfa",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["totp"], json!(true));
    assert_eq!(v["recovery_codes"], json!(10));
    let audit = l
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                action: Some("member.mfa_reset".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].org_id.as_ref().unwrap().as_str(), "acme");
    assert_eq!(audit.items[0].target_id, "alice");
    // Next sign-in: enrolment again.
    let b = l.browser();
    let (_, r) = password_step(&b, &[], "alice@acme.test").await;
    let flow = flow_of(&r);
    let page = b.get(&format!("/login/mfa?flow={flow}")).await;
    assert!(page.body.contains("totp-secret"), "{}", page.body);
    // Discovery advertises the acr value and the claim.
    let d: Value = l
        .http()
        .get(l.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["acr_values_supported"], json!([ACR_MULTI_FACTOR]));
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("acr"))
    );
}
