//! What binds an IdP answer to its sign-in: the state, the browser, the connection (mix-up),
//! the `iss` parameter, and how IdP errors are shown.

use super::*;

#[tokio::test]
async fn state_from_another_browser_is_refused_and_does_not_burn_the_flow() {
    let fed = Fed::start().await;
    let victim = fed.browser();
    let (req, _) = fed.to_idp(&victim, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
    let attacker = fed.browser();
    // The attacker's browser has a binding cookie of its own.
    let (_, c) = pkce();
    attacker
        .start(&authorize_path("crm", CRM_CB, &c, &[]))
        .await;
    let r = fed
        .callback(
            &attacker,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_refused(&attacker, &r, 400, "started in another browser");
    assert_reason(&fed, "login.oidc", "wrong_browser").await;
    // And with no cookie at all.
    let bare = fed.browser();
    let r = fed
        .callback(&bare, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_refused(&bare, &r, 400, "started in another browser");
    // The victim's sign-in still completes.
    let r = fed
        .callback(
            &victim,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token.clone());
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303);
    // The same answer again (new browser session, same cookies): nothing.
    fed.op.will_answer("c1", &req.challenge, token);
    let mut jar = b.jar.lock().unwrap().clone();
    jar.remove("lobby_session");
    let replay = fed.browser();
    *replay.jar.lock().unwrap() = jar;
    let r = fed
        .callback(
            &replay,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_refused(&replay, &r, 400, "expired or was already completed");
    assert_reason(&fed, "login.oidc", "state_unknown").await;
    // A made-up state likewise.
    let r = fed
        .callback(&replay, "hooli-idp", &[("code", "c1"), ("state", "forged")])
        .await;
    assert_refused(&replay, &r, 400, "expired or was already completed");
}

#[tokio::test]
async fn mix_up_a_code_arriving_on_another_orgs_connection_is_refused() {
    let fed = Fed::start().await;
    // The user is sent to hooli's IdP; pied's IdP (or an attacker there) answers on pied's
    // callback with hooli's state.
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let token = fed.op2.key("rsa-1").sign(
        &json!({"iss": fed.op2.issuer(), "sub": "x", "aud": CLIENT_ID,
            "exp": 4_000_000_000i64, "iat": 1_700_000_000, "nonce": req.nonce,
            "email": "pat@hooli.test", "email_verified": true}),
    );
    fed.op2.will_answer("c1", &req.challenge, token);
    let r = fed
        .callback(
            &b,
            "pied-idp",
            &[
                ("code", "c1"),
                ("state", &req.state),
                ("iss", &fed.op2.issuer()),
            ],
        )
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "connection_mismatch").await;
    assert!(
        fed.op2.st.codes.lock().unwrap().contains_key("c1"),
        "the code was never redeemed"
    );

    // On the right callback but with pied's issuer in `iss` (RFC 9207).
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("code", "c1"),
                ("state", &req.state),
                ("iss", &fed.op2.issuer()),
            ],
        )
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "iss_param_mismatch").await;
}

#[tokio::test]
async fn an_idp_that_always_sends_iss_must_send_it() {
    let fed = Fed::start_with(|c| c.iss_param_supported = true).await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "iss_param_missing").await;
}

#[tokio::test]
async fn idp_errors_show_the_escaped_description_and_offer_the_way_back() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "User <script>alert(1)</script> cancelled",
                ),
                ("state", &req.state),
            ],
        )
        .await;
    assert_refused(&b, &r, 403, "Sign-in was cancelled or refused");
    assert!(!r.body.contains("<script>alert"));
    assert!(unescape(&r.body).contains("User <script>alert(1)</script> cancelled"));
    // The link back carries the OAuth error to the app, with its state and Lobby's iss.
    let i = r
        .body
        .find("id=\"back-to-app\" class=\"button\" href=\"")
        .unwrap();
    let rest = &r.body[i + "id=\"back-to-app\" class=\"button\" href=\"".len()..];
    let href = unescape(&rest[..rest.find('"').unwrap()]);
    let u = url::Url::parse(&href).unwrap();
    assert!(href.starts_with(CRM_CB));
    let q: BTreeMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], fed.base);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], "idp_error");
    assert_eq!(e.details["detail"]["error"], "access_denied");
}

/// The state has two indexes into its flow: the state's own, and one only the browser the flow
/// is bound to can name (the state's followed by the hash of the browser's binding secret).
/// The callback takes the flow through the second — with the request's rate-limit count, in
/// one step of the state store — and both indexes go with it; the answer cannot be used twice.
#[tokio::test]
async fn the_callback_takes_the_flow_through_the_browsers_own_index() {
    use sha2::{Digest, Sha256};
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let state_index = format!("sso_state:{}", hex::encode(Sha256::digest(&req.state)));
    let secret = b.cookie("lobby_flow").expect("the binding cookie");
    let bound_index = format!(
        "{state_index}:{}",
        hex::encode(Sha256::digest(secret.as_bytes()))
    );
    let st = &fed.st.ephemeral;
    let flow_id = st
        .get(&state_index)
        .await
        .unwrap()
        .expect("the state's index");
    assert_eq!(
        st.get(&bound_index).await.unwrap().as_deref(),
        Some(flow_id.as_slice()),
        "the browser's own index names the same flow"
    );
    let flow_key = format!("flow:{}", String::from_utf8(flow_id).unwrap());
    assert!(st.get(&flow_key).await.unwrap().is_some());
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
    for k in [&state_index, &bound_index, &flow_key] {
        assert_eq!(st.get(k).await.unwrap(), None, "{k} is gone");
    }
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(unescape(&r.body).contains("expired or was already completed"));
    assert_reason(&fed, "login.oidc", "state_unknown").await;
    // The take went through the browser's own index, not the state's: with the state's index
    // removed, a second sign-in still completes (the old path would find no flow).
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let state_index = format!("sso_state:{}", hex::encode(Sha256::digest(&req.state)));
    st.delete(&state_index).await.unwrap();
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c2", &req.challenge, token);
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c2"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
}
