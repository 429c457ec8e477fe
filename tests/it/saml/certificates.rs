//! Pinned signing certificates past their notAfter (issue 13 item 13): refused by default, with
//! the reason `pinned_cert_expired`; accepted only when the connection says
//! `accept_expired_certs` (what Keycloak and Okta do by default — see README "Security").

use super::*;

async fn set_config(e: &Env, config: SamlConfig) {
    let s = e.lobby.storage();
    let mut c = s
        .get_connection(&org_id("umbrella"), &e.conn)
        .await
        .unwrap()
        .unwrap();
    c.config = ConnectionConfig::Saml(config);
    s.update_connection(&c).await.unwrap();
}

#[tokio::test]
async fn an_expired_pinned_certificate_verifies_nothing_unless_the_connection_accepts_it() {
    let mut e = env(false).await;
    e.idp = Signer::expired("Umbrella IdP (expired)");
    set_config(&e, saml_config(&e.idp, false)).await;

    // `…/test` says so.
    let test_path = format!("/orgs/umbrella/connections/{}/test", e.conn);
    let (s, v) =
        super::metadata_refresh::api(&e.lobby, reqwest::Method::GET, &test_path, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "signing_certificate"
                && c["ok"] == false
                && c["message"].as_str().unwrap().contains("has expired")),
        "{v}"
    );

    // Default: a response signed with the expired pinned certificate is refused.
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &e.idp), &p.relay).await;
    assert_refused(
        &e,
        &r,
        before,
        &["pinned_cert_expired"],
        "expired pinned cert",
    )
    .await;

    // The connection accepts expired certificates: the same kind of response signs in.
    let mut cfg = saml_config(&e.idp, false);
    cfg.accept_expired_certs = true;
    set_config(&e, cfg).await;
    let (_, v) =
        super::metadata_refresh::api(&e.lobby, reqwest::Method::GET, &test_path, None).await;
    assert_eq!(v["ok"], true, "{v}");
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &e.idp), &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let tokens = e.lobby.exchange(&code, &p.verifier).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["org_id"],
        "umbrella"
    );
}

/// Issue 13 item 14: the replay cache survives a restart. With the default in-memory state, an
/// unsolicited (IdP-initiated) response captured before a restart is refused after it: the
/// consumed assertion ids are in the database until their NotOnOrAfter.
#[tokio::test]
async fn a_captured_response_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/lobby.db?mode=rwc", dir.path().display());
    let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [9u8; 32]);
    let a = Lobby::boot(Backends {
        database_url: Some(db.clone()),
        secret_key: Some(secret.clone()),
        ..Backends::default()
    })
    .await;
    assert_eq!(a.st.ephemeral.backend(), "memory");
    let e = env_on(true, a).await;
    let mut s = Spec::new(&e.sp_entity(), &e.acs(), IDP_ENTITY, e.now());
    s.name_id_raw = "carl@umbrella.test".into();
    s.attributes = vec![("email".into(), vec!["carl@umbrella.test".into()])];
    let xml = corpus::good(&s, &e.idp);
    let b = e.lobby.browser();
    let r = post_acs(&e, &e.acs(), &xml, "").await;
    let r = continue_in(&b, &r).await;
    assert_eq!(r.status, 303, "first use signs in: {}", r.body);

    // Restart: a new process on the same database, fresh in-memory state.
    let public = format!("{}/", e.lobby.base);
    let acs_path = format!("/sso/saml/{}/acs", e.conn);
    let Env { lobby, idp, conn } = e;
    drop(lobby);
    let restarted = Lobby::boot(Backends {
        database_url: Some(db),
        secret_key: Some(secret),
        public_url: Some(public),
        seed: false,
        ..Backends::default()
    })
    .await;
    let e = Env {
        lobby: restarted,
        idp,
        conn,
    };
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &format!("{}{acs_path}", e.lobby.base), &xml, "").await;
    assert_refused(&e, &r, before, &["replay"], "replay after a restart").await;
}

/// Fail closed (issue 13): when the state store cannot `take` the pending request, a good
/// response is refused with the "unavailable" page — no code, no session.
#[tokio::test]
async fn the_acs_fails_closed_when_the_state_store_is_down() {
    let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock);
    let fs = std::sync::Arc::new(FailingState::new(lobby::state::MemoryState::new(clock)));
    let lobby = Lobby::boot(Backends {
        state: Some(fs.clone()),
        config: Some(crate::fail_closed::no_rate_limits),
        ..Backends::default()
    })
    .await;
    let e = env_on(false, lobby).await;
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    fs.fail();
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &e.idp), &p.relay).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_refused(&e, &r, before, &["state_store"], "state store down").await;
}

/// Issue 17: the IdP's keys are cached per certificate after the first verification. When the
/// connection's metadata drops a certificate (here the admin replaces it: the pinned state is
/// rebuilt with no overlap), a response signed with it is refused although its key was used a
/// moment before, and the new certificate verifies.
#[tokio::test]
async fn a_certificate_dropped_from_the_metadata_verifies_nothing_though_its_key_was_cached() {
    let mut e = env(false).await;
    let old = Signer::new("Umbrella IdP (old)");
    set_config(&e, saml_config(&old, false)).await;

    // Signed by the old certificate while it is pinned: signs in (its key is now cached).
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &old), &p.relay).await;
    let r = continue_in(&b, &r).await;
    code_from(&r, &e.lobby.base, CRM_CB);

    // The metadata now names only the new certificate.
    e.idp = Signer::new("Umbrella IdP (new)");
    set_config(&e, saml_config(&e.idp, false)).await;
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &old), &p.relay).await;
    assert_refused(&e, &r, before, &["bad_signature"], "dropped certificate").await;

    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p), &e.idp), &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let tokens = e.lobby.exchange(&code, &p.verifier).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["org_id"],
        "umbrella"
    );
}
