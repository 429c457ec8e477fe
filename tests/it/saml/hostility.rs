//! Hostile responses: the corpus, transport-level tricks, responses bound to another browser or
//! connection, and replay across instances sharing Redis.

use super::*;

/// Every hostile response: begin a real login, answer with the hostile XML.
#[tokio::test]
async fn hostile_response_corpus_is_refused() {
    let e = env(false).await;
    let attacker = Signer::new("Attacker");
    type Make = Box<dyn Fn(&Env, &Spec) -> String>;
    let signed = |f: fn(&mut Spec)| -> Make {
        Box::new(move |e: &Env, s: &Spec| {
            let mut s = s.clone();
            f(&mut s);
            corpus::good(&s, &e.idp)
        })
    };
    let mut cases: Vec<(&str, Make, &[&str])> = Vec::new();
    let xsw_reasons: &[&str] = &[
        "assertion_count",
        "bad_signature",
        "unsigned",
        "assertion_unsigned",
    ];
    for n in 1..=10u8 {
        let name: &'static str = Box::leak(format!("XSW{n}").into_boxed_str());
        cases.push((
            name,
            Box::new(move |e: &Env, s: &Spec| corpus::xsw(n, s, &e.idp)),
            xsw_reasons,
        ));
    }
    cases.extend([
        (
            "assertion in Advice",
            Box::new(|e: &Env, s: &Spec| {
                let ev = corpus::assertion_xml(&corpus::evil(s), "");
                let a = corpus::assertion_xml(s, &corpus::template(&s.assertion_id)).replace(
                    "<saml:AuthnStatement",
                    &format!("<saml:Advice>{ev}</saml:Advice><saml:AuthnStatement"),
                );
                let a = corpus::sign(&a, &e.idp);
                corpus::sign(
                    &corpus::response_xml(s, &a, &corpus::template(&s.response_id), ""),
                    &e.idp,
                )
            }) as Make,
            &["assertion_count"][..],
        ),
        (
            "two assertions, one signed",
            Box::new(|e: &Env, s: &Spec| {
                let a = corpus::signed_assertion(s, &e.idp);
                let ev = corpus::assertion_xml(&corpus::evil(s), "");
                corpus::response_xml(s, &format!("{a}{ev}"), "", "")
            }),
            &["assertion_count"],
        ),
        (
            "unsigned response and assertion",
            Box::new(|_e: &Env, s: &Spec| corpus::unsigned(s)),
            &["unsigned"],
        ),
        (
            "signed response, unsigned assertion",
            Box::new(|e: &Env, s: &Spec| corpus::response_signed_only(s, &e.idp)),
            &["assertion_unsigned"],
        ),
        (
            "comment injection in NameID",
            Box::new(|e: &Env, s: &Spec| {
                let mut s = s.clone();
                s.name_id_raw = "victim@corp.com.evil.com".into();
                corpus::good(&s, &e.idp).replace(
                    "victim@corp.com.evil.com<",
                    "victim@corp.com<!---->.evil.com<",
                )
            }),
            &["bad_signature"],
        ),
        (
            "DOCTYPE with XXE",
            Box::new(|e: &Env, s: &Spec| {
                format!(
                    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                    corpus::good(s, &e.idp)
                )
            }),
            &["doctype"],
        ),
        (
            "billion laughs",
            Box::new(|e: &Env, s: &Spec| {
                let mut d = String::from("<!DOCTYPE r [<!ENTITY l0 \"ha\">");
                for i in 1..10 {
                    d.push_str(&format!(
                        "<!ENTITY l{i} \"&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};\">",
                        p = i - 1
                    ));
                }
                d.push_str("]>");
                let g = corpus::good(s, &e.idp).replace("Alice Umbrella", "&l9;");
                format!("{d}{g}")
            }),
            &["doctype"],
        ),
        (
            "KeyInfo with an attacker certificate",
            Box::new(move |_e: &Env, s: &Spec| corpus::keyinfo_attacker(s, &Signer::new("KeyInfo attacker"))),
            &["bad_signature"],
        ),
        (
            "signature by a non-pinned key",
            Box::new(move |_e: &Env, s: &Spec| corpus::good(s, &Signer::new("Other"))),
            &["bad_signature"],
        ),
        (
            "rsa-sha1 signature",
            Box::new(|e: &Env, s: &Spec| corpus::sha1_signed(s, &e.idp)),
            &["bad_signature"],
        ),
        ("missing Audience", signed(|s| s.audience = None), &["audience_missing"]),
        (
            "wrong Audience",
            signed(|s| s.audience = Some("https://other-sp.example/metadata".into())),
            &["audience_mismatch"],
        ),
        (
            "wrong Recipient",
            signed(|s| s.recipient = "https://evil.example/acs".into()),
            &["recipient_mismatch"],
        ),
        (
            "wrong Destination",
            signed(|s| s.destination = Some("https://evil.example/acs".into())),
            &["destination_mismatch"],
        ),
        (
            "missing Destination on a signed response",
            signed(|s| s.destination = None),
            &["destination_mismatch"],
        ),
        (
            "wrong Issuer",
            signed(|s| {
                s.response_issuer = Some("https://evil-idp.example".into());
                s.assertion_issuer = Some("https://evil-idp.example".into());
            }),
            &["issuer_mismatch"],
        ),
        (
            "missing Issuer",
            signed(|s| {
                s.response_issuer = None;
                s.assertion_issuer = None;
            }),
            &["issuer_missing"],
        ),
        (
            "expired",
            signed(|s| {
                s.issue_instant -= time::Duration::minutes(4);
                s.not_on_or_after = s.issue_instant + time::Duration::seconds(30);
                s.scd_not_on_or_after = s.not_on_or_after;
            }),
            &["expired"],
        ),
        (
            "not yet valid",
            signed(|s| s.not_before += time::Duration::minutes(10)),
            &["not_yet_valid"],
        ),
        (
            "issued long ago",
            signed(|s| {
                s.issue_instant -= time::Duration::hours(2);
            }),
            &["issue_instant"],
        ),
        (
            "Status not Success",
            signed(|s| s.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into()),
            &["status_not_success"],
        ),
        (
            "unknown InResponseTo",
            signed(|s| s.in_response_to = Some(corpus::new_id())),
            &["in_response_to_mismatch"],
        ),
        (
            "unsolicited when disabled",
            signed(|s| s.in_response_to = None),
            &["unsolicited"],
        ),
    ]);
    let encrypted = "<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>";
    cases.extend([
        (
            "EncryptedAssertion instead of an assertion",
            Box::new(move |e: &Env, s: &Spec| {
                corpus::sign(
                    &corpus::response_xml(s, encrypted, &corpus::template(&s.response_id), ""),
                    &e.idp,
                )
            }) as Make,
            &["encrypted_assertion"][..],
        ),
        (
            "EncryptedAssertion beside a signed assertion",
            Box::new(move |e: &Env, s: &Spec| {
                let a = corpus::signed_assertion(s, &e.idp);
                corpus::sign(
                    &corpus::response_xml(
                        s,
                        &format!("{a}{encrypted}"),
                        &corpus::template(&s.response_id),
                        "",
                    ),
                    &e.idp,
                )
            }),
            &["encrypted_assertion", "assertion_count"],
        ),
        (
            // An evil assertion in Extensions carrying the signed assertion's own ID: which
            // element "#ID" names is ambiguous.
            "duplicate ID",
            Box::new(|e: &Env, s: &Spec| {
                let a = corpus::signed_assertion(s, &e.idp);
                let mut ev = corpus::evil(s);
                ev.assertion_id = s.assertion_id.clone();
                let ext = format!(
                    "<samlp:Extensions>{}</samlp:Extensions>",
                    corpus::assertion_xml(&ev, "")
                );
                corpus::response_xml(s, &a, "", &ext)
            }),
            &[
                "assertion_count",
                "bad_signature",
                "malformed",
                "unsigned",
                "assertion_unsigned",
            ],
        ),
        (
            // The signed assertion's ID moved into a foreign namespace (`x:ID`), which no
            // ID-typed lookup should honour; the reference no longer resolves.
            "namespaced ID",
            Box::new(|e: &Env, s: &Spec| {
                let a = corpus::signed_assertion(s, &e.idp);
                let a = a.replacen(
                    &format!(" ID=\"{}\"", s.assertion_id),
                    &format!(" xmlns:x=\"urn:x-evil\" x:ID=\"{}\"", s.assertion_id),
                    1,
                );
                corpus::response_xml(s, &a, "", "")
            }),
            &[
                "bad_signature",
                "malformed",
                "unsigned",
                "assertion_unsigned",
            ],
        ),
    ]);
    let _ = &attacker;
    for (what, make, reasons) in cases {
        let b = e.lobby.browser();
        let p = begin(&e, &b).await;
        let xml = make(&e, &e.spec(&p));
        let before = failure_reasons(e.lobby.storage()).await.len();
        let r = post_acs(&e, &e.acs(), &xml, &p.relay).await;
        assert_refused(&e, &r, before, reasons, what).await;
    }
}

#[tokio::test]
async fn transport_level_hostility_is_refused() {
    let e = env(false).await;
    // Oversized body (within the server's global cap, beyond the ACS cap).
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let big = "A".repeat(400 * 1024);
    let r = post_form(
        &e.lobby,
        &e.acs(),
        &[("SAMLResponse", &big), ("RelayState", &p.relay)],
    )
    .await;
    assert_refused(&e, &r, before, &["too_large"], "oversized body").await;
    // Garbage and missing fields.
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_form(&e.lobby, &e.acs(), &[("SAMLResponse", "%%%not base64")]).await;
    assert_refused(&e, &r, before, &["bad_base64"], "garbage").await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_form(&e.lobby, &e.acs(), &[("RelayState", "x")]).await;
    assert_refused(&e, &r, before, &["no_response"], "no SAMLResponse").await;
    // A DEFLATE bomb on the redirect binding: inflation stops at the cap.
    let bomb = corpus::deflate_b64(&vec![b'<'; 16 * 1024 * 1024]);
    let before = failure_reasons(e.lobby.storage()).await.len();
    let url = format!(
        "{}?SAMLResponse={}",
        e.acs(),
        url::form_urlencoded::byte_serialize(bomb.as_bytes()).collect::<String>()
    );
    let res = e.lobby.http().get(&url).send().await.unwrap();
    let r = Resp {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    };
    assert_refused(&e, &r, before, &["too_large"], "DEFLATE bomb").await;
    // Unknown connection.
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_form(
        &e.lobby,
        &format!("{}/sso/saml/nope/acs", e.lobby.base),
        &[("SAMLResponse", "x")],
    )
    .await;
    assert_refused(
        &e,
        &r,
        before,
        &["unknown_connection"],
        "unknown connection",
    )
    .await;
}

#[tokio::test]
async fn responses_are_bound_to_the_browser_and_the_connection() {
    let e = env(false).await;
    // Other browser, cookie present on the POST (https deployments): refused at the ACS.
    let victim = e.lobby.browser();
    let attacker = e.lobby.browser();
    let p = begin(&e, &attacker).await;
    let _ = begin(&e, &victim).await; // the victim has a flow cookie of their own
    let xml = corpus::good(&e.spec(&p), &e.idp);
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = victim
        .post(
            &e.acs(),
            &[
                ("SAMLResponse", &corpus::b64(&xml)),
                ("RelayState", &p.relay),
            ],
        )
        .await;
    assert_refused(&e, &r, before, &["wrong_browser"], "other browser (cookie)").await;

    // Other browser, cross-site POST without cookies: refused at `continue`, in the victim's
    // browser, because the flow's cookie is not there.
    let p = begin(&e, &attacker).await;
    let xml = corpus::good(&e.spec(&p), &e.idp);
    let r = post_acs(&e, &e.acs(), &xml, &p.relay).await;
    assert_eq!(r.status, 303);
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = victim.get(&r.location()).await;
    assert_refused(
        &e,
        &r,
        before,
        &["wrong_browser"],
        "other browser (continue)",
    )
    .await;
    assert!(victim.cookie("lobby_session").is_none());

    // Other connection: a request for connection A answered at connection B's ACS (with B's
    // audience and recipient, so only the request binding can tell).
    let other = add_connection(
        e.lobby.storage(),
        "umbrella-saml-2",
        saml_config(&e.idp, false),
    )
    .await;
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    let mut s = e.spec(&p);
    s.audience = Some(e.sp_entity_of(&other));
    s.recipient = e.acs_of(&other);
    s.destination = Some(e.acs_of(&other));
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs_of(&other), &corpus::good(&s, &e.idp), &p.relay).await;
    assert_refused(&e, &r, before, &["other_connection"], "other connection").await;

    // A valid response without its RelayState, or with another login's.
    let p1 = begin(&e, &b).await;
    let p2 = begin(&e, &b).await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p1), &e.idp), "").await;
    assert_refused(&e, &r, before, &["unknown_request"], "no RelayState").await;
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&e.spec(&p1), &e.idp), &p2.relay).await;
    assert_refused(
        &e,
        &r,
        before,
        &["in_response_to_mismatch"],
        "other RelayState",
    )
    .await;
}

/// Two Lobby instances sharing Redis and storage: an assertion accepted by one is a replay
/// for the other (the replay cache is in the database; the pending requests in Redis). Runs when `LOBBY_TEST_REDIS_URL` is set; fails if Redis is unreachable.
#[tokio::test]
async fn replay_is_caught_across_instances_sharing_redis() {
    let Ok(redis_url) = std::env::var("LOBBY_TEST_REDIS_URL") else {
        eprintln!("note: LOBBY_TEST_REDIS_URL unset; skipping the two-instance SAML replay test");
        return;
    };
    let e = env(true).await;
    let prefix = format!("lobby-test-saml-{}:", ulid::Ulid::new());
    let mut bases = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let store = lobby::state::RedisState::connect_lazy(&redis_url, &prefix).unwrap();
        use lobby::state::StateStore;
        store
            .ping()
            .await
            .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer");
        let mut st = e.lobby.st.clone();
        st.ephemeral = std::sync::Arc::new(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = lobby::app::router(&st);
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
        bases.push(format!("http://{addr}"));
    }
    // The ACS URLs differ per instance only by port here; both instances share the config's
    // public URL (the single Lobby base), as instances behind one load balancer do.
    let mut s = Spec::new(&e.sp_entity(), &e.acs(), IDP_ENTITY, e.now());
    s.name_id_raw = "dora@umbrella.test".into();
    s.attributes = vec![("email".into(), vec!["dora@umbrella.test".into()])];
    let xml = corpus::good(&s, &e.idp);
    let path = format!("/sso/saml/{}/acs", e.conn);
    let form = [
        ("SAMLResponse", corpus::b64(&xml)),
        ("RelayState", String::new()),
    ];
    let r1 = e
        .lobby
        .http()
        .post(format!("{}{path}", bases[0]))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status().as_u16(), 303, "first instance accepts");
    let r2 = e
        .lobby
        .http()
        .post(format!("{}{path}", bases[1]))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r2.status().as_u16(),
        400,
        "second instance refuses the replay"
    );
    let reasons = failure_reasons(e.lobby.storage()).await;
    assert_eq!(reasons.first().map(String::as_str), Some("replay"));
    for s in servers {
        s.abort();
    }
}
