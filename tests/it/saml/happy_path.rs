//! The good paths: SP-initiated sign-in with JIT and group roles, organization hints, SP
//! metadata, IdP-initiated sign-in.

use super::*;

#[tokio::test]
async fn sp_initiated_sign_in_with_jit_and_group_roles() {
    let e = env(false).await;
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    // The redirect binding is signed (SigAlg + Signature over the query).
    assert!(p.location.contains("&SigAlg=") && p.location.contains("&Signature="));
    assert!(p.request_id.starts_with('_') && p.request_id.len() == 41);
    let xml = corpus::good(&e.spec(&p), &e.idp);
    let r = post_acs(&e, &e.acs(), &xml, &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    assert!(b.cookie("lobby_session").is_some(), "an SSO session");
    let tokens = e.lobby.exchange(&code, &p.verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["org_id"], "umbrella");
    assert_eq!(claims["email"], "alice@umbrella.test");
    assert_eq!(claims["idp"], "umbrella-saml");
    let roles: BTreeSet<String> = serde_json::from_value(claims["roles"].clone()).unwrap();
    assert_eq!(
        roles,
        ["finance", "sales"].iter().map(|s| s.to_string()).collect()
    );
    // The external identity is (connection, IdP entity id, NameID Format|value).
    let sub = claims["sub"].as_str().unwrap();
    let ids = e
        .lobby
        .storage()
        .list_identities(&UserId::parse(sub).unwrap())
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].issuer, IDP_ENTITY);
    assert_eq!(
        ids[0].subject,
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress|alice@umbrella.test"
    );
    // The same response again: the replay cache.
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &xml, &p.relay).await;
    assert_refused(&e, &r, before, &["replay"], "replay").await;
    // A second login of the same person finds the same user.
    let b2 = e.lobby.browser();
    let p2 = begin(&e, &b2).await;
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p2), &e.idp), &p2.relay).await;
    let r = continue_in(&b2, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let t2 = e.lobby.exchange(&code, &p2.verifier).await;
    assert_eq!(jwt_claims(t2["id_token"].as_str().unwrap())["sub"], sub);
}

#[tokio::test]
async fn an_organization_hint_goes_straight_to_the_idp() {
    let e = env(false).await;
    let b = e.lobby.browser();
    let p = begin_hinted(&b).await;
    assert!(p.location.contains("&Signature="), "{}", p.location);
    // The flow is bound to this browser as on the identifier path: the ACS POST and the
    // `continue` step finish it.
    let xml = corpus::good(&e.spec(&p), &e.idp);
    let r = post_acs(&e, &e.acs(), &xml, &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let tokens = e.lobby.exchange(&code, &p.verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["org_id"], "umbrella");
    assert_eq!(claims["idp"], "umbrella-saml");
    // Another browser cannot finish it.
    let p2 = begin_hinted(&e.lobby.browser()).await;
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p2), &e.idp), &p2.relay).await;
    let r = continue_in(&b, &r).await;
    assert!(r.status >= 400, "{} {}", r.status, r.body);
}

#[tokio::test]
async fn sp_metadata_names_the_connection_urls_and_the_sp_cert() {
    let e = env(false).await;
    let r = e
        .lobby
        .browser()
        .get(&format!("/sso/saml/{}/metadata", e.conn))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/samlmetadata+xml"
    );
    assert!(r.body.contains(&format!("entityID=\"{}\"", e.sp_entity())));
    assert!(r.body.contains(&format!("Location=\"{}\"", e.acs())));
    assert!(r.body.contains("<ds:X509Certificate>MII"));
    assert!(r.body.contains("AuthnRequestsSigned=\"true\""));
    // Rotation: the next key is published at once, beside the active one.
    e.lobby.st.saml.sp_keys.rotate().await.unwrap();
    let r = e
        .lobby
        .browser()
        .get(&format!("/sso/saml/{}/metadata", e.conn))
        .await;
    assert_eq!(r.body.matches("<ds:X509Certificate>").count(), 2);
    let r = e.lobby.browser().get("/sso/saml/nope/metadata").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn idp_initiated_lands_on_the_app_without_a_code() {
    let e = env(true).await;
    let b = e.lobby.browser();
    let mut s = Spec::new(&e.sp_entity(), &e.acs(), IDP_ENTITY, e.now());
    s.name_id_raw = "carl@umbrella.test".into();
    s.attributes = vec![("email".into(), vec!["carl@umbrella.test".into()])];
    let xml = corpus::good(&s, &e.idp);
    let r = post_acs(&e, &e.acs(), &xml, "").await;
    let r = continue_in(&b, &r).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let p = r.redirect_params();
    assert!(r.location().starts_with(CRM_CB));
    assert_eq!(p.get("iss"), Some(&e.lobby.base));
    assert!(!p.contains_key("code"), "no code without the app's request");
    assert!(b.cookie("lobby_session").is_some());
    // Replay and audience/recipient checks still apply.
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &xml, "").await;
    assert_refused(&e, &r, before, &["replay"], "unsolicited replay").await;
    let mut bad = Spec::new(&e.sp_entity(), &e.acs(), IDP_ENTITY, e.now());
    bad.audience = Some("https://other-sp.example".into());
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&bad, &e.idp), "").await;
    assert_refused(
        &e,
        &r,
        before,
        &["audience_mismatch"],
        "unsolicited audience",
    )
    .await;
}
