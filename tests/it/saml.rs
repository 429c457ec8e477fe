//! SAML federation through HTTP: a full SP-initiated sign-in with JIT and group →
//! role mapping, SP metadata, IdP-initiated sign-in, and the hostile-response corpus
//! (`tests/saml/corpus.rs`, keys made there with OpenSSL, signatures by xmlsec): every hostile
//! response is refused with the fixed page, an audit event naming the reason, no session
//! cookie, and no panic.

#[path = "../saml/corpus.rs"]
mod corpus;

use crate::provider::fixture::*;
use base64::Engine;
use corpus::{Signer, Spec};
use lobby::domain::*;
use lobby::storage::{AuditFilter, PageRequest, Storage};
use std::collections::BTreeSet;
use std::io::Read;

const IDP_ENTITY: &str = "https://idp.umbrella.test/metadata";
const IDP_SSO: &str = "https://idp.umbrella.test/sso";

struct Env {
    lobby: Lobby,
    idp: Signer,
    conn: ConnectionId,
}

fn saml_config(idp: &Signer, allow_idp_initiated: bool) -> SamlConfig {
    SamlConfig {
        idp_metadata_url: None,
        idp_metadata_xml: Some(corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[idp])),
        idp_entity_id: None,
        name_id_format: None,
        attributes: ClaimMapping {
            email: "email".into(),
            name: "name".into(),
            groups: Some("groups".into()),
        },
        role_mapping: vec![GroupRoleMapping {
            group: "admins".into(),
            app_id: app_id("crm"),
            roles: vec![rv("finance")],
        }],
        sign_authn_requests: true,
        want_assertions_signed: true,
        allow_idp_initiated,
        idp_initiated_app_id: allow_idp_initiated.then(|| app_id("crm")),
        idp_initiated_redirect_uri: allow_idp_initiated.then(|| CRM_CB.to_owned()),
    }
}

async fn add_connection(s: &dyn Storage, id: &str, config: SamlConfig) -> ConnectionId {
    let now = trunc_millis(time::OffsetDateTime::now_utc());
    let c = Connection {
        id: ConnectionId::parse(id).unwrap(),
        org_id: org_id("umbrella"),
        name: id.into(),
        state: ConnectionState::Active,
        config: ConnectionConfig::Saml(config),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    s.create_connection(&c).await.unwrap();
    c.id
}

/// Org `umbrella` (verified umbrella.test) linked to crm with JIT (default role sales), whose
/// only connection is SAML `umbrella-saml` (groups attribute; admins → finance).
async fn env(allow_idp_initiated: bool) -> Env {
    let lobby = Lobby::start().await;
    let s = lobby.storage();
    let now = trunc_millis(time::OffsetDateTime::now_utc());
    s.create_org(&Org {
        id: org_id("umbrella"),
        slug: Slug::parse("umbrella").unwrap(),
        name: "Umbrella".into(),
        status: OrgStatus::Active,
        parent_id: None,
        branding: Branding::default(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    s.create_domain(&OrgDomain {
        org_id: org_id("umbrella"),
        domain: EmailDomain::parse("umbrella.test").unwrap(),
        verified: true,
        verification_token: random_token(),
        verified_at: Some(now),
        created_at: now,
    })
    .await
    .unwrap();
    s.create_link(&OrgAppLink {
        org_id: org_id("umbrella"),
        app_id: app_id("crm"),
        allowed_role_groups: [RoleGroupId::parse("broad").unwrap()].into(),
        auth_policy: LinkAuthPolicy::Inherit,
        jit: true,
        default_roles: [rv("sales")].into_iter().collect::<BTreeSet<_>>(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    let idp = Signer::new("Umbrella IdP");
    let conn = add_connection(s, "umbrella-saml", saml_config(&idp, allow_idp_initiated)).await;
    Env { lobby, idp, conn }
}

impl Env {
    fn sp_entity(&self) -> String {
        self.sp_entity_of(&self.conn)
    }
    fn sp_entity_of(&self, c: &ConnectionId) -> String {
        format!("{}/sso/saml/{c}/metadata", self.lobby.base)
    }
    fn acs(&self) -> String {
        self.acs_of(&self.conn)
    }
    fn acs_of(&self, c: &ConnectionId) -> String {
        format!("{}/sso/saml/{c}/acs", self.lobby.base)
    }
    fn now(&self) -> time::OffsetDateTime {
        self.lobby.clock.now()
    }
    /// A good spec answering `p`.
    fn spec(&self, p: &Pending) -> Spec {
        let mut s = Spec::new(&self.sp_entity(), &self.acs(), IDP_ENTITY, self.now());
        s.in_response_to = Some(p.request_id.clone());
        s.name_id_raw = "alice@umbrella.test".into();
        s.attributes = vec![
            ("email".into(), vec!["alice@umbrella.test".into()]),
            ("name".into(), vec!["Alice Umbrella".into()]),
            ("groups".into(), vec!["admins".into()]),
        ];
        s
    }
}

/// A login sent to the IdP and not answered yet.
struct Pending {
    verifier: String,
    request_id: String,
    relay: String,
    /// The whole redirect to the IdP.
    location: String,
}

/// `/authorize` → identifier page → email at umbrella.test → the redirect to the IdP.
async fn begin(_e: &Env, b: &Browser) -> Pending {
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", flow.as_str()),
                ("csrf", &csrf),
                ("email", "alice@umbrella.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "identifier: {}", r.body);
    pending(verifier, &r)
}

/// The app names the org (`organization=umbrella`): `/authorize` sends the browser straight to
/// the IdP, without the email page.
async fn begin_hinted(b: &Browser) -> Pending {
    let (verifier, r) = b.authorize_crm(&[("organization", "umbrella")]).await;
    pending(verifier, &r)
}

/// What Lobby sent to the IdP: the redirect binding in `r`'s `location`.
fn pending(verifier: String, r: &Resp) -> Pending {
    let location = r.location();
    assert!(location.starts_with(&format!("{IDP_SSO}?")), "{location}");
    let q = r.redirect_params();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(&q["SAMLRequest"])
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    let id_at = xml.find(" ID=\"").unwrap() + 5;
    let request_id = xml[id_at..id_at + xml[id_at..].find('"').unwrap()].to_owned();
    Pending {
        verifier,
        request_id,
        relay: q["RelayState"].clone(),
        location,
    }
}

/// POST to an ACS as the IdP's page would: cross-site, so (on http) without Lobby's cookies.
async fn post_acs(e: &Env, acs: &str, xml: &str, relay: &str) -> Resp {
    post_form(
        &e.lobby,
        acs,
        &[("SAMLResponse", &corpus::b64(xml)), ("RelayState", relay)],
    )
    .await
}

async fn post_form(lobby: &Lobby, url: &str, form: &[(&str, &str)]) -> Resp {
    let res = lobby.http().post(url).form(form).send().await.unwrap();
    Resp {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

fn set_cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn failure_reasons(s: &dyn Storage) -> Vec<String> {
    let page = s
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("login.failure".into()),
            },
            &PageRequest::first(500),
        )
        .await
        .unwrap();
    page.items
        .iter()
        .filter(|e| e.details["connection"] == "saml")
        .map(|e| e.details["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Refused: an error page (4xx/5xx, no redirect), no session cookie, a new audit event with
/// one of `reasons`.
async fn assert_refused(e: &Env, r: &Resp, before: usize, reasons: &[&str], what: &str) {
    assert!(
        r.status >= 400,
        "{what}: status {} body {}",
        r.status,
        r.body
    );
    assert!(r.headers.get("location").is_none(), "{what}: redirected");
    assert!(
        r.body.contains("id=\"request-id\""),
        "{what}: not the error page"
    );
    assert!(
        !set_cookies(r).iter().any(|c| c.contains("lobby_session")),
        "{what}: a session cookie was set"
    );
    let all = failure_reasons(e.lobby.storage()).await;
    assert_eq!(all.len(), before + 1, "{what}: one audit event ({all:?})");
    let got = &all[0];
    assert!(
        reasons.contains(&got.as_str()),
        "{what}: reason {got:?}, expected one of {reasons:?}"
    );
}

/// Follow the ACS's redirect in the browser.
async fn continue_in(b: &Browser, r: &Resp) -> Resp {
    assert_eq!(r.status, 303, "ACS: {}", r.body);
    let loc = r.location();
    assert!(loc.contains("/continue?h="), "{loc}");
    b.get(&loc).await
}

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
    for n in 1..=8u8 {
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

/// Two Lobby instances sharing Redis (and storage): an assertion accepted by one is a replay
/// for the other. Runs when `LOBBY_TEST_REDIS_URL` is set; fails if Redis is unreachable.
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

/// A metadata server for URL-configured connections: serves whatever `body` holds (`None`:
/// HTTP 500).
struct MetadataServer {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetadataServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn metadata_server(initial: String) -> MetadataServer {
    use axum::response::IntoResponse;
    let body = std::sync::Arc::new(std::sync::Mutex::new(Some(initial)));
    let b = body.clone();
    let app = axum::Router::new().route(
        "/md",
        axum::routing::get(move || {
            let b = b.clone();
            async move {
                match b.lock().unwrap().clone() {
                    Some(x) => x.into_response(),
                    None => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    MetadataServer {
        url: format!("http://{addr}/md"),
        body,
        task,
    }
}

async fn api(
    lobby: &Lobby,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut rb = lobby
        .http()
        .request(method, lobby.url(&format!("/api/v1{path}")))
        .bearer_auth("test-admin-token-0123456789");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    let v = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, v)
}

#[tokio::test]
async fn activation_needs_a_pinned_cert_and_metadata_refresh_rolls_certs_over() {
    let e = env(false).await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    // Metadata without a signing certificate: never active.
    let no_cert = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[]);
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "no-cert", "name": "No cert", "state": "active",
            "config": {"kind": "saml", "idp_metadata_xml": no_cert}
        })),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("signing certificate"),
        "{v}"
    );
    // As a draft it may be stored; activating it is refused.
    let (s, _) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "no-cert", "name": "No cert",
            "config": {"kind": "saml", "idp_metadata_xml": no_cert}
        })),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = api(
        &e.lobby,
        reqwest::Method::PATCH,
        "/orgs/umbrella/connections/no-cert",
        Some(serde_json::json!({"state": "active"})),
    )
    .await;
    assert_eq!(s, 422);

    // By URL, cert A; then the IdP rolls over to cert B.
    let cert_a = Signer::new("IdP A");
    let cert_b = Signer::new("IdP B");
    let md = metadata_server(corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&cert_a])).await;
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections",
        Some(serde_json::json!({
            "id": "by-url", "name": "By URL", "state": "active",
            "config": {"kind": "saml", "idp_metadata_url": md.url}
        })),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api(
        &e.lobby,
        get.clone(),
        "/orgs/umbrella/connections/by-url/test",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["kind"], "saml");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "signing_certificate"
                && c["message"].as_str().unwrap().contains("more days"))
    );

    *md.body.lock().unwrap() = Some(corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&cert_b]));
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections/by-url/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["added_certs"].as_array().unwrap().len(), 1);
    assert_eq!(v["removed_certs"].as_array().unwrap().len(), 1);

    // Both the new cert and (during the overlap) the old one verify.
    let by_url = ConnectionId::parse("by-url").unwrap();
    let conn = e
        .lobby
        .storage()
        .get_connection_for_callback(&by_url)
        .await
        .unwrap()
        .unwrap();
    let state = e.lobby.st.saml.idp_state(&conn).await.unwrap();
    let pinned = state.pinned_der(e.now());
    assert!(pinned.contains(&cert_a.cert_der) && pinned.contains(&cert_b.cert_der));
    e.lobby.clock.advance(time::Duration::hours(25));
    let pinned = state.pinned_der(e.lobby.clock.now());
    assert!(!pinned.contains(&cert_a.cert_der) && pinned.contains(&cert_b.cert_der));

    // A failing fetch keeps the last good copy, and is audited as a failure.
    *md.body.lock().unwrap() = None;
    let (s, v) = api(
        &e.lobby,
        post.clone(),
        "/orgs/umbrella/connections/by-url/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("500"), "{v}");
    let kept = e.lobby.st.saml.idp_state(&conn).await.unwrap();
    assert!(
        kept.pinned_der(e.lobby.clock.now())
            .contains(&cert_b.cert_der)
    );
    assert!(kept.last_error.is_some());
    let events = e
        .lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("connection.saml_metadata_refresh".into()),
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 2);
    assert_eq!(events.items[0].outcome, Outcome::Failure);
    assert_eq!(events.items[1].outcome, Outcome::Success);
    let (s, _) = api(
        &e.lobby,
        post,
        "/orgs/umbrella/connections/umbrella-saml/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 200, "pasted XML re-parses");
    let (s, _) = api(
        &e.lobby,
        reqwest::Method::POST,
        "/orgs/acme/connections/acme-pw/refresh-metadata",
        None,
    )
    .await;
    assert_eq!(s, 400);
}
