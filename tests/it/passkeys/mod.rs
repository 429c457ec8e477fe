//! The passkey endpoints over HTTP (issue 16 item 4): every failure answers JSON with a stable
//! code and a fixed sentence, never a 500 — a request outside a flow, another browser's flow, a
//! wrong CSRF token, a flow at another step, garbage and non-JSON bodies, a ceremony never
//! started, used already (replay) or expired with its flow; a public URL on an IP address has no
//! passkeys. The ceremonies themselves need an authenticator: the interop test
//! (`tests/interop/passkey.test.mjs`) drives Chromium's virtual one through enrolment, sign-in,
//! `amr`, and removal.

use crate::provider::fixture::*;
use lobby::domain::*;
use serde_json::{Value, json};

/// A passkey as the WebAuthn library stores it (its own test credential, a P-256 key): enough
/// to be offered in an authentication, never to pass one.
const STORED_PASSKEY: &str = include_str!("credential.json");

const PATHS: [&str; 4] = [
    "/login/mfa/passkey/register/options",
    "/login/mfa/passkey/register/finish",
    "/login/mfa/passkey/authenticate/options",
    "/login/mfa/passkey/authenticate/finish",
];

/// Lobby on `http://localhost:…` (a domain, so passkeys are available), crm's acme link
/// requiring a second factor.
async fn lobby() -> Lobby {
    let lobby = Lobby::boot(Backends {
        public_url: Some("http://localhost:8080/".into()),
        ..Backends::default()
    })
    .await;
    require_mfa(&lobby).await;
    lobby
}

async fn require_mfa(lobby: &Lobby) {
    let s = lobby.storage();
    let mut link = s
        .get_link(&org_id("acme"), &app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    link.mfa = Some(MfaPolicy::Required);
    s.update_link(&link).await.unwrap();
}

/// A JSON POST from this browser (its cookies); the status and the JSON answer.
async fn post_json(
    lobby: &Lobby,
    b: &Browser,
    path: &str,
    body: &[u8],
    json: bool,
) -> (u16, Value) {
    let cookies = b
        .jar
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut req = client()
        .post(lobby.url(path))
        .header("cookie", cookies)
        .body(body.to_vec());
    if json {
        req = req.header("content-type", "application/json");
    } else {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status != 200 {
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
    }
    let v: Value = res.json().await.unwrap();
    (status, v)
}

async fn call(lobby: &Lobby, b: &Browser, path: &str, body: Value) -> (u16, Value) {
    post_json(lobby, b, path, body.to_string().as_bytes(), true).await
}

/// A failure: its status, its code, and a sentence (not the code, no internals).
fn assert_err(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    let msg = got.1["message"].as_str().unwrap();
    assert!(
        msg.ends_with('.') && !msg.contains("passkey-error"),
        "{msg}"
    );
}

/// alice signs in with her password; the flow waits at the second factor. Returns the flow id
/// and its CSRF token, and where the password step sent the browser.
async fn to_second_factor(b: &Browser) -> (String, String, String) {
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let csrf = b.to_password_page(&flow, "alice@acme.test").await;
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    (flow, csrf, r.location())
}

/// A credential in WebAuthn's JSON form that parses but proves nothing.
fn bogus_registration() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        // CBOR {"fmt": "none"} and "{}": no authenticator data at all.
        "response": { "attestationObject": "oWNmbXRkbm9uZQ", "clientDataJSON": "e30" },
        "extensions": {}
    })
}

fn bogus_assertion() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "authenticatorData": "AAAA", "clientDataJSON": "e30", "signature": "AAAA",
            "userHandle": null
        },
        "extensions": {}
    })
}

#[tokio::test]
async fn requests_outside_a_usable_flow_get_json_errors() {
    let lobby = lobby().await;
    let b = lobby.browser();
    let (flow, csrf, _) = to_second_factor(&b).await;
    for path in PATHS {
        // Not JSON, or JSON of another shape.
        let r = post_json(
            &lobby,
            &b,
            path,
            format!("flow={flow}&csrf={csrf}").as_bytes(),
            false,
        )
        .await;
        assert_err(&r, 400, "invalid_request");
        let r = post_json(&lobby, &b, path, b"{not json", true).await;
        assert_err(&r, 400, "invalid_request");
        let r = post_json(&lobby, &b, path, b"[1,2]", true).await;
        assert_err(&r, 400, "invalid_request");
        let r = call(&lobby, &b, path, json!({ "flow": flow })).await;
        assert_err(&r, 400, "invalid_request");
        // No such flow (well-formed or not).
        let r = call(
            &lobby,
            &b,
            path,
            json!({ "flow": random_token(), "csrf": csrf }),
        )
        .await;
        assert_err(&r, 410, "flow_expired");
        let r = call(&lobby, &b, path, json!({ "flow": "../x", "csrf": csrf })).await;
        assert_err(&r, 410, "flow_expired");
        // Another browser (no binding cookie) cannot use the flow.
        let other = lobby.browser();
        let r = call(&lobby, &other, path, json!({ "flow": flow, "csrf": csrf })).await;
        assert_err(&r, 410, "flow_expired");
        // A wrong CSRF token.
        let r = call(
            &lobby,
            &b,
            path,
            json!({ "flow": flow, "csrf": random_token() }),
        )
        .await;
        assert_err(&r, 403, "csrf");
    }
    // A flow that has not passed the password: no ceremony of either kind.
    let b2 = lobby.browser();
    let (_, challenge) = pkce();
    let early = b2
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b2.get(&format!("/login?flow={early}")).await;
    let early_csrf = page.hidden("csrf");
    for path in PATHS {
        let r = call(
            &lobby,
            &b2,
            path,
            json!({ "flow": early, "csrf": early_csrf }),
        )
        .await;
        assert_err(&r, 409, "wrong_stage");
    }
    // German for a German flow.
    let (_, challenge) = pkce();
    let de = b2
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("ui_locales", "de")],
        ))
        .await;
    let page = b2.get(&format!("/login?flow={de}")).await;
    let r = call(
        &lobby,
        &b2,
        PATHS[0],
        json!({ "flow": de, "csrf": page.hidden("csrf") }),
    )
    .await;
    assert_err(&r, 409, "wrong_stage");
    assert_eq!(
        r.1["message"],
        lobby::i18n::t(lobby::i18n::Lang::De, "passkey-error-wrong-step", &[])
    );
}

#[tokio::test]
async fn registration_state_is_single_use_and_expires_with_the_flow() {
    let lobby = lobby().await;
    let b = lobby.browser();
    let (flow, csrf, to) = to_second_factor(&b).await;
    assert_eq!(to, format!("/login/mfa?flow={flow}"));
    let id = json!({ "flow": flow, "csrf": csrf });
    let finish = |cred: Value| json!({ "flow": flow, "csrf": csrf, "credential": cred });

    // Finishing what was never started.
    let r = call(&lobby, &b, PATHS[1], finish(bogus_registration())).await;
    assert_err(&r, 410, "ceremony_expired");
    // The enrolment page does not authenticate.
    assert_err(
        &call(&lobby, &b, PATHS[2], id.clone()).await,
        409,
        "wrong_stage",
    );
    assert_err(
        &call(&lobby, &b, PATHS[3], finish(bogus_assertion())).await,
        409,
        "wrong_stage",
    );

    // The options: this RP, this user's handle, user verification required, nothing to
    // exclude yet.
    let (status, o) = call(&lobby, &b, PATHS[0], id.clone()).await;
    assert_eq!(status, 200, "{o}");
    let pk = &o["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], "alice@acme.test");
    assert!(pk["challenge"].as_str().unwrap().len() >= 43);
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert!(
        pk.get("excludeCredentials")
            .is_none_or(|e| e.as_array().unwrap().is_empty())
    );

    // A credential that is not WebAuthn's JSON: refused, the ceremony is kept.
    let r = call(&lobby, &b, PATHS[1], finish(json!({ "x": 1 }))).await;
    assert_err(&r, 400, "invalid_request");
    // One that does not verify: refused and audited; the ceremony is used up.
    let r = call(&lobby, &b, PATHS[1], finish(bogus_registration())).await;
    assert_err(&r, 401, "passkey_rejected");
    let r = call(&lobby, &b, PATHS[1], finish(bogus_registration())).await;
    assert_err(&r, 410, "ceremony_expired");
    assert!(
        lobby
            .storage()
            .list_passkeys(&user_id("alice"))
            .await
            .unwrap()
            .is_empty()
    );
    let audit = lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                action: Some("mfa.failure".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.details["reason"] == "passkey_registration_rejected"),
        "{:?}",
        audit.items
    );

    // A ceremony lasts at most five minutes.
    let (status, _) = call(&lobby, &b, PATHS[0], id.clone()).await;
    assert_eq!(status, 200);
    lobby.clock.advance(time::Duration::seconds(301));
    let r = call(&lobby, &b, PATHS[1], finish(bogus_registration())).await;
    assert_err(&r, 410, "ceremony_expired");
    // And never longer than its flow.
    let (status, _) = call(&lobby, &b, PATHS[0], id.clone()).await;
    assert_eq!(status, 200);
    lobby.clock.advance(time::Duration::seconds(300));
    let r = call(&lobby, &b, PATHS[1], finish(bogus_registration())).await;
    assert_err(&r, 410, "flow_expired");
}

#[tokio::test]
async fn authentication_offers_the_users_passkeys_once_per_ceremony() {
    let lobby = lobby().await;
    // alice has a passkey: she is challenged, not enrolled.
    let alice = user_id("alice");
    let stored: Value = serde_json::from_str(STORED_PASSKEY).unwrap();
    let cred_id = stored["cred"]["cred_id"].as_str().unwrap().to_owned();
    let now = lobby.clock.now();
    lobby
        .storage()
        .create_passkey(&PasskeyRecord {
            credential_id: PasskeyCredentialId::parse(&cred_id).unwrap(),
            user_id: alice.clone(),
            name: "Key".into(),
            credential: STORED_PASSKEY.trim().to_owned(),
            created_at: now,
            last_used_at: None,
        })
        .await
        .unwrap();
    let b = lobby.browser();
    let (flow, csrf, to) = to_second_factor(&b).await;
    assert_eq!(to, format!("/login/mfa?flow={flow}"));
    let page = b.get(&to).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"passkey-button\""), "{}", page.body);
    assert!(page.body.contains("src=\"/static/passkey.js\""));
    let id = json!({ "flow": flow, "csrf": csrf });
    let finish = |cred: Value| json!({ "flow": flow, "csrf": csrf, "credential": cred });

    // The challenge page does not enrol.
    assert_err(
        &call(&lobby, &b, PATHS[0], id.clone()).await,
        409,
        "wrong_stage",
    );
    assert_err(
        &call(&lobby, &b, PATHS[1], finish(bogus_registration())).await,
        409,
        "wrong_stage",
    );
    // Finishing what was never started.
    let r = call(&lobby, &b, PATHS[3], finish(bogus_assertion())).await;
    assert_err(&r, 410, "ceremony_expired");

    let (status, o) = call(&lobby, &b, PATHS[2], id.clone()).await;
    assert_eq!(status, 200, "{o}");
    let pk = &o["publicKey"];
    assert_eq!(pk["rpId"], "localhost");
    assert_eq!(pk["userVerification"], "required");
    let allowed: Vec<&str> = pk["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(allowed, [cred_id.as_str()]);

    let r = call(&lobby, &b, PATHS[3], finish(json!("nope"))).await;
    assert_err(&r, 400, "invalid_request");
    let r = call(&lobby, &b, PATHS[3], finish(bogus_assertion())).await;
    assert_err(&r, 401, "passkey_rejected");
    // Replayed: the ceremony was used up by the refused answer.
    let r = call(&lobby, &b, PATHS[3], finish(bogus_assertion())).await;
    assert_err(&r, 410, "ceremony_expired");
    // Nothing of the stored passkey changed.
    let after = lobby
        .storage()
        .get_passkey(&alice, &PasskeyCredentialId::parse(&cred_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.last_used_at, None);

    // After an admin's reset there is nothing to offer.
    assert_eq!(
        lobby
            .storage()
            .delete_all_passkeys_for_user(&alice)
            .await
            .unwrap(),
        1
    );
    let r = call(&lobby, &b, PATHS[2], id.clone()).await;
    assert_err(&r, 409, "no_passkeys");
}

#[tokio::test]
async fn a_public_url_on_an_ip_address_has_no_passkeys() {
    let lobby = Lobby::start().await;
    require_mfa(&lobby).await;
    let b = lobby.browser();
    let (flow, csrf, to) = to_second_factor(&b).await;
    let page = b.get(&to).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("passkey-button"), "not offered");
    let r = call(&lobby, &b, PATHS[0], json!({ "flow": flow, "csrf": csrf })).await;
    assert_err(&r, 404, "passkeys_unavailable");
}

#[tokio::test]
async fn the_script_is_served_from_our_origin_under_the_strict_csp() {
    let lobby = Lobby::start().await;
    let r = lobby.browser().get("/static/passkey.js").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(r.body.contains("navigator.credentials.create"));
    assert!(r.body.contains("navigator.credentials.get"));
    // The second-factor pages load it with the default CSP: scripts from our origin only.
    let b = lobby.browser();
    require_mfa(&lobby).await;
    let (_, _, to) = to_second_factor(&b).await;
    let page = b.get(&to).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!page.body.contains("<script>"), "no inline script");
}
