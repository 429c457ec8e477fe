//! The connections area and the IdP setup wizard over HTTP: who reaches it (an `org_admin`
//! only; a `member_admin` and another org's admin get 404), the SAML wizard from the first
//! step to activation, plain-words errors tied to their fields (an expired certificate in
//! pasted metadata, an OIDC issuer that is not the one in the discovery document, an empty
//! name), and the test sign-in: the admin goes through the IdP and sees what it sent, and
//! nothing else happens — no SSO session, no code, no user linked or created.

use super::{add_admin, csrf, signed_in};
use crate::provider::fixture::{Browser, Lobby, Resp, org_id};
use crate::saml::corpus::{self, Signer, Spec};
use base64::Engine;
use lobby::domain::*;
use lobby::storage::{AuditFilter, PageRequest};
use std::io::Read;

const IDP_ENTITY: &str = "https://idp.acme.test/metadata";
const IDP_SSO: &str = "https://idp.acme.test/sso";

/// `name=value` pairs of a form as sent by a browser.
fn owned<'a>(f: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The SAML wizard's first page: its reserved connection id and CSRF token.
async fn saml_start(b: &Browser) -> (String, String) {
    let r = b.get("/portal/orgs/acme/connections/new/saml").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.location();
    let id = loc.split("id=").nth(1).expect("a reserved id").to_owned();
    let page = b.get(&loc).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("/sso/saml/{id}/acs")),
        "ACS URL shown"
    );
    assert!(
        page.body.contains(&format!("/sso/saml/{id}/metadata")),
        "entity ID shown"
    );
    (id, page.hidden("_csrf"))
}

async fn post_saml(b: &Browser, id: &str, t: &str, name: &str, xml: &str) -> Resp {
    let f = vec![
        ("_csrf", t.to_owned()),
        ("id", id.to_owned()),
        ("name", name.to_owned()),
        ("source", "xml".to_owned()),
        ("metadata_xml", xml.to_owned()),
    ];
    b.post("/portal/orgs/acme/connections/new/saml", &owned(&f))
        .await
}

fn field_error(r: &Resp, field: &str) -> String {
    assert_eq!(r.status, 400, "{}", r.body);
    let marker = format!("id=\"{field}-error\"");
    let at = r
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error on {field}: {}", r.body));
    assert!(
        r.body
            .contains(&format!("aria-describedby=\"{field}-error\""))
            || r.body.contains(&format!(" {field}-error\"")),
        "the error is tied to the {field} field"
    );
    let rest = &r.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</p>").unwrap();
    rest[start..end].to_owned()
}

#[tokio::test]
async fn only_org_admins_reach_the_connections_area() {
    let lobby = Lobby::start().await;
    add_admin(
        &lobby,
        "mia",
        "mia@acme.test",
        "acme",
        &[OrgRole::MemberAdmin],
    )
    .await;
    add_admin(
        &lobby,
        "gus",
        "gus@globex.test",
        "globex",
        &[OrgRole::OrgAdmin],
    )
    .await;
    let bob = signed_in(&lobby, "bob@acme.test").await;
    let list = bob.get("/portal/orgs/acme/connections").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Acme passwords") || list.body.contains("data-connection"));
    let paths = [
        "/portal/orgs/acme/connections",
        "/portal/orgs/acme/connections/new",
        "/portal/orgs/acme/connections/new/saml?id=conn_x",
        "/portal/orgs/acme/connections/new/oidc?id=conn_x",
        "/portal/orgs/acme/connections/acme-pw",
    ];
    for (who, home) in [("mia@acme.test", "acme"), ("gus@globex.test", "globex")] {
        let b = signed_in(&lobby, who).await;
        for p in paths {
            assert_eq!(b.get(p).await.status, 404, "{who} GET {p}");
        }
        let mine = csrf(&b, &format!("/portal/orgs/{home}")).await;
        for p in [
            "/portal/orgs/acme/connections/new/saml",
            "/portal/orgs/acme/connections/acme-pw/activate",
        ] {
            let r = b.post(p, &[("_csrf", &mine), ("id", "conn_x")]).await;
            assert_eq!(r.status, 404, "{who} POST {p}");
        }
    }
    // A viewer reads the list and a connection, but gets no form.
    add_admin(&lobby, "vic", "vic@acme.test", "acme", &[OrgRole::Viewer]).await;
    let vic = signed_in(&lobby, "vic@acme.test").await;
    let l = vic.get("/portal/orgs/acme/connections").await;
    assert_eq!(l.status, 200);
    assert!(!l.body.contains("id=\"new-connection\""));
    assert!(
        bob.get("/portal/orgs/acme/connections")
            .await
            .body
            .contains("id=\"new-connection\"")
    );
    for p in [
        "/portal/orgs/acme/connections/new",
        "/portal/orgs/acme/connections/new/saml?id=conn_x",
    ] {
        assert_eq!(vic.get(p).await.status, 404, "viewer GET {p}");
    }
    // The member_admin's navigation has no connections; the org_admin's has.
    let mia = signed_in(&lobby, "mia@acme.test").await;
    assert!(
        !mia.get("/portal/orgs/acme")
            .await
            .body
            .contains("nav-connections")
    );
    assert!(list.body.contains("id=\"nav-connections\""));
}

#[tokio::test]
async fn saml_errors_are_plain_words_on_their_fields() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let (id, t) = saml_start(&b).await;
    // No name.
    let good = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&Signer::new("Acme IdP")]);
    let r = post_saml(&b, &id, &t, "  ", &good).await;
    assert!(field_error(&r, "name").contains("Give the connection a name"));
    assert!(r.body.contains("aria-invalid=\"true\""));
    // Metadata whose only certificate expired.
    let expired = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&Signer::expired("Old IdP")]);
    let r = post_saml(&b, &id, &t, "Acme", &expired).await;
    let msg = field_error(&r, "metadata_xml");
    assert!(
        msg.starts_with("The certificate in this metadata expired on "),
        "{msg}"
    );
    assert!(msg.contains("Old IdP"), "names the certificate: {msg}");
    // Not metadata at all; an SP's metadata.
    let r = post_saml(&b, &id, &t, "Acme", "<hello/>").await;
    assert!(field_error(&r, "metadata_xml").contains("not SAML metadata"));
    // By hand: a certificate that is not one.
    let f = vec![
        ("_csrf", t.clone()),
        ("id", id.clone()),
        ("name", "Acme".into()),
        ("source", "manual".into()),
        ("entity_id", IDP_ENTITY.into()),
        ("sso_url", IDP_SSO.into()),
        ("certificate", "not a certificate".into()),
    ];
    let r = b
        .post("/portal/orgs/acme/connections/new/saml", &owned(&f))
        .await;
    assert!(field_error(&r, "certificate").contains("not a certificate"));
    // Nothing was stored.
    let conns = lobby
        .storage()
        .list_connections(&org_id("acme"))
        .await
        .unwrap();
    assert!(!conns.iter().any(|c| c.id.as_str() == id));
}

/// A discovery document served on a loopback port, naming `issuer`.
pub(super) async fn discovery_server(
    issuer_of: impl Fn(&str) -> String + Send + Sync + 'static,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let iss = issuer_of(&base);
    let doc = serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || {
            let d = doc.clone();
            async move { axum::Json(d) }
        }),
    );
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    base
}

#[tokio::test]
async fn an_oidc_issuer_mismatch_is_explained_on_the_issuer_field() {
    let lobby = Lobby::start().await;
    let base = discovery_server(|b| format!("{b}/")).await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let r = b.get("/portal/orgs/acme/connections/new/oidc").await;
    let loc = r.location();
    let id = loc.split("id=").nth(1).unwrap().to_owned();
    let page = b.get(&loc).await;
    assert!(
        page.body.contains(&format!("/sso/oidc/{id}/callback")),
        "the redirect URI to register is shown"
    );
    let t = page.hidden("_csrf");
    let f = vec![
        ("_csrf", t.clone()),
        ("id", id.clone()),
        ("name", "Acme OP".into()),
        ("issuer", base.clone()),
        ("client_id", "lobby".into()),
        ("client_secret", "s3cret-s3cret-s3cret".into()),
        ("scopes", "openid email profile".into()),
        ("auth_method", "client_secret_basic".into()),
    ];
    let r = b
        .post("/portal/orgs/acme/connections/new/oidc", &owned(&f))
        .await;
    let msg = field_error(&r, "issuer");
    assert_eq!(
        msg,
        format!(
            "The issuer in the discovery document is \u{201c}{base}/\u{201d} but you entered \u{201c}{base}\u{201d}. They must be identical: copy the issuer from the document (mind the trailing slash and http/https)."
        )
    );
    // The secret typed is never sent back.
    assert!(!r.body.contains("s3cret-s3cret-s3cret"));
    // With the document's issuer it is saved (as a draft), the secret sealed.
    let mut f = f;
    f[3].1 = format!("{base}/");
    let r = b
        .post("/portal/orgs/acme/connections/new/oidc", &owned(&f))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location(),
        format!("/portal/orgs/acme/connections/{id}/mapping")
    );
    let c = lobby
        .storage()
        .get_connection(&org_id("acme"), &ConnectionId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.state, ConnectionState::Draft);
    let ConnectionConfig::Oidc(o) = &c.config else {
        panic!("oidc")
    };
    assert_ne!(
        o.client_secret.as_ref().unwrap().expose(),
        "s3cret-s3cret-s3cret"
    );
    // The overview never shows it either.
    let show = b.get(&format!("/portal/orgs/acme/connections/{id}")).await;
    assert!(show.body.contains("Stored (never shown)"));
    assert!(!show.body.contains("s3cret"));
}

/// The AuthnRequest id and RelayState of a redirect to the IdP.
fn authn_request(r: &Resp) -> (String, String) {
    let loc = r.location();
    assert!(loc.starts_with(&format!("{IDP_SSO}?")), "{loc}");
    let q = r.redirect_params();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(&q["SAMLRequest"])
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    let at = xml.find(" ID=\"").unwrap() + 5;
    (
        xml[at..at + xml[at..].find('"').unwrap()].to_owned(),
        q["RelayState"].clone(),
    )
}

async fn user_count(lobby: &Lobby) -> usize {
    lobby
        .storage()
        .list_users(
            &lobby::storage::UserFilter::default(),
            &PageRequest::first(500),
        )
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn the_saml_wizard_tests_with_a_real_sign_in_that_signs_nobody_in_then_activates() {
    let lobby = Lobby::start().await;
    let idp = Signer::new("Acme IdP");
    let b = signed_in(&lobby, "bob@acme.test").await;
    let (id, t) = saml_start(&b).await;
    // The SP metadata can be downloaded before anything is saved.
    let md = b
        .get(&format!(
            "/portal/orgs/acme/connections/new/saml/{id}/metadata.xml"
        ))
        .await;
    assert_eq!(md.status, 200);
    assert!(md.body.contains(&format!("/sso/saml/{id}/acs")));
    let xml = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&idp]);
    let r = post_saml(&b, &id, &t, "Acme SAML", &xml).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let base = format!("/portal/orgs/acme/connections/{id}");
    assert_eq!(r.location(), format!("{base}/mapping"));
    // The draft is listed with its certificate's expiry.
    let list = b.get("/portal/orgs/acme/connections").await;
    assert!(list.body.contains("Draft (not used for sign-in)"));
    assert!(
        list.body.contains("Expires on") || list.body.contains("Valid until"),
        "certificate expiry listed: {}",
        list.body
    );
    // Mapping: the Okta preset pre-fills; roles offered are acme's (crm: broad).
    let page = b.get(&format!("{base}/mapping?preset=okta")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("value=\"crm finance\""));
    let k = {
        // The index of the `crm finance` checkbox in row 0.
        let at = page.body.find("value=\"crm finance\"").unwrap();
        let before = &page.body[..at];
        let name_at = before.rfind("name=\"role_0_").unwrap() + "name=\"role_0_".len();
        before[name_at..before[name_at..].find('"').unwrap() + name_at].to_owned()
    };
    let role_field = format!("role_0_{k}");
    let f = vec![
        ("_csrf", t.clone()),
        ("email", "email".into()),
        ("name", "name".into()),
        ("groups", "groups".into()),
        ("group_0", "admins".into()),
        (role_field.as_str(), "crm finance".into()),
    ];
    let r = b.post(&format!("{base}/mapping"), &owned(&f)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{base}/test"));
    // A role the org may not grant is refused on the mapping field.
    let bad = vec![
        ("_csrf", t.clone()),
        ("email", "email".into()),
        ("name", "name".into()),
        ("groups", "groups".into()),
        ("group_0", "admins".into()),
        ("role_0_0", "crm nonexistent".into()),
    ];
    let r = b.post(&format!("{base}/mapping"), &owned(&bad)).await;
    assert!(field_error(&r, "mapping").contains("not one this organization may grant"));

    // The test page: the checks in words, and the IdP's origin allowed as a form target.
    let test = b.get(&format!("{base}/test")).await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(test.body.contains("The IdP metadata loads: entity id"));
    let csp = test.headers["content-security-policy"].to_str().unwrap();
    let form_action = csp
        .split(';')
        .find(|d| d.trim().starts_with("form-action"))
        .unwrap();
    assert!(form_action.contains("https://idp.acme.test"), "{csp}");
    assert!(form_action.contains(&lobby.base), "{csp}");

    // The test sign-in on the draft connection.
    let users = user_count(&lobby).await;
    let sso_before = b.cookie("lobby_session");
    let r = b
        .post(&format!("{base}/test/sign-in"), &[("_csrf", &t)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The test flow starts on Lobby's public URL (the portal may live elsewhere).
    let start = r.location();
    let start = start.strip_prefix(&lobby.base).expect("on the public URL");
    assert!(start.starts_with("/sso/test/"), "{start}");
    let r = b.get(start).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // A ticket is single-use.
    assert!(b.get(start).await.status >= 400);
    let (request_id, relay) = authn_request(&r);
    let sp_entity = lobby.url(&format!("/sso/saml/{id}/metadata"));
    let acs = lobby.url(&format!("/sso/saml/{id}/acs"));
    let mut spec = Spec::new(&sp_entity, &acs, IDP_ENTITY, lobby.clock.now());
    spec.in_response_to = Some(request_id);
    let resp = corpus::good(&spec, &idp);
    let r = b
        .post(
            &format!("/sso/saml/{id}/acs"),
            &[
                ("SAMLResponse", &corpus::b64(&resp)),
                ("RelayState", &relay),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "ACS: {}", r.body);
    let r = b.get(&r.location()).await;
    assert_eq!(r.status, 303, "continue: {}", r.body);
    let result_url = r.location();
    let result_url = result_url
        .strip_prefix(&lobby.base)
        .expect("the portal URL")
        .to_owned();
    assert!(
        result_url.starts_with(&format!("{base}/test/result?result=")),
        "{result_url}"
    );
    // No SSO session began, no code went anywhere.
    for c in r.headers.get_all("set-cookie") {
        assert!(!c.to_str().unwrap().contains("lobby_session"), "{c:?}");
    }
    assert_eq!(
        b.cookie("lobby_session"),
        sso_before,
        "the SSO session is untouched"
    );
    let page = b.get(&result_url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "alice@acme.test",
        "Alice Example",
        "admins",
        "CRM: finance (from group admins)",
        IDP_ENTITY,
        "<code>groups</code>",
    ] {
        assert!(page.body.contains(shown), "{shown} not shown");
    }
    assert_eq!(user_count(&lobby).await, users, "no user created or linked");
    let ev = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: Some(org_id("acme")),
                action: Some("connection.test_signin".into()),
                ..AuditFilter::default()
            },
            &PageRequest::first(5),
        )
        .await
        .unwrap();
    assert_eq!(ev.items.len(), 1);
    assert_eq!(ev.items[0].actor, "user:bob");
    let logins = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("login.success".into()),
                ..AuditFilter::default()
            },
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    assert!(
        !logins.items.iter().any(|e| e.target_id == id),
        "a test sign-in is no sign-in"
    );
    // Nobody else sees the result, not even another admin of the org.
    add_admin(
        &lobby,
        "olga",
        "olga@acme.test",
        "acme",
        &[OrgRole::OrgAdmin],
    )
    .await;
    let olga = signed_in(&lobby, "olga@acme.test").await;
    assert_eq!(olga.get(&result_url).await.status, 404);
    // The same answer cannot be replayed into a sign-in.
    let again = b
        .post(
            &format!("/sso/saml/{id}/acs"),
            &[
                ("SAMLResponse", &corpus::b64(&resp)),
                ("RelayState", &relay),
            ],
        )
        .await;
    assert!(again.status >= 400);

    // Activate.
    let r = b.post(&format!("{base}/activate"), &[("_csrf", &t)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let c = lobby
        .storage()
        .get_connection(&org_id("acme"), &ConnectionId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.state, ConnectionState::Active);
    let list = b.get("/portal/orgs/acme/connections").await;
    assert!(
        list.body.contains("Valid until"),
        "certificate expiry listed"
    );
}

#[tokio::test]
async fn a_real_sign_in_never_reaches_a_draft_connection() {
    let lobby = Lobby::start().await;
    let idp = Signer::new("Acme IdP");
    let b = signed_in(&lobby, "bob@acme.test").await;
    let (id, t) = saml_start(&b).await;
    let xml = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&idp]);
    assert_eq!(post_saml(&b, &id, &t, "Acme SAML", &xml).await.status, 303);
    // An unsolicited response to the draft connection's ACS is refused.
    let sp_entity = lobby.url(&format!("/sso/saml/{id}/metadata"));
    let acs = lobby.url(&format!("/sso/saml/{id}/acs"));
    let spec = Spec::new(&sp_entity, &acs, IDP_ENTITY, lobby.clock.now());
    let r = b
        .post(
            &format!("/sso/saml/{id}/acs"),
            &[
                ("SAMLResponse", &corpus::b64(&corpus::good(&spec, &idp))),
                ("RelayState", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn a_refused_test_sign_in_comes_back_to_the_portal_saying_why() {
    let lobby = Lobby::start().await;
    let idp = Signer::new("Acme IdP");
    let other = Signer::new("Someone else");
    let b = signed_in(&lobby, "bob@acme.test").await;
    let (id, t) = saml_start(&b).await;
    let xml = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&idp]);
    assert_eq!(post_saml(&b, &id, &t, "Acme SAML", &xml).await.status, 303);
    let base = format!("/portal/orgs/acme/connections/{id}");
    let r = b
        .post(&format!("{base}/test/sign-in"), &[("_csrf", &t)])
        .await;
    let start = r.location();
    let r = b.get(start.strip_prefix(&lobby.base).unwrap()).await;
    let (request_id, relay) = authn_request(&r);
    let sp_entity = lobby.url(&format!("/sso/saml/{id}/metadata"));
    let acs = lobby.url(&format!("/sso/saml/{id}/acs"));
    let mut spec = Spec::new(&sp_entity, &acs, IDP_ENTITY, lobby.clock.now());
    spec.in_response_to = Some(request_id);
    // Signed with a key the metadata does not name.
    let resp = corpus::good(&spec, &other);
    let r = b
        .post(
            &format!("/sso/saml/{id}/acs"),
            &[
                ("SAMLResponse", &corpus::b64(&resp)),
                ("RelayState", &relay),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let result_url = r.location();
    let result_url = result_url.strip_prefix(&lobby.base).unwrap().to_owned();
    assert!(result_url.starts_with(&format!("{base}/test/result?result=")));
    let page = b.get(&result_url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The test sign-in did not work."));
    assert!(page.body.contains("bad_signature"), "{}", page.body);
    // Audited like any refused sign-in.
    let ev = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("login.failure".into()),
                ..AuditFilter::default()
            },
            &PageRequest::first(5),
        )
        .await
        .unwrap();
    assert_eq!(ev.items[0].details["reason"], "bad_signature");
}

#[tokio::test]
async fn every_wizard_post_needs_this_sessions_csrf_token() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let other = signed_in(&lobby, "bob@acme.test").await;
    let theirs = csrf(&other, "/portal/orgs/acme/connections").await;
    let (id, mine) = saml_start(&b).await;
    let xml = corpus::idp_metadata(IDP_ENTITY, IDP_SSO, &[&Signer::new("Acme IdP")]);
    assert_eq!(
        post_saml(&b, &id, &mine, "Acme SAML", &xml).await.status,
        303
    );
    let c = format!("/portal/orgs/acme/connections/{id}");
    for path in [
        "/portal/orgs/acme/connections/new/saml".to_owned(),
        "/portal/orgs/acme/connections/new/oidc".to_owned(),
        format!("{c}/idp"),
        format!("{c}/mapping"),
        format!("{c}/test/sign-in"),
        format!("{c}/activate"),
        format!("{c}/disable"),
    ] {
        for token in [None, Some(theirs.as_str())] {
            let mut f = vec![("id", id.as_str()), ("name", "x"), ("email", "email")];
            if let Some(t) = token {
                f.push(("_csrf", t));
            }
            let r = b.post(&path, &f).await;
            assert_eq!(r.status, 403, "{path} with {token:?}: {}", r.body);
            assert!(r.body.contains("This form expired."), "{path}");
        }
    }
    let conn = lobby
        .storage()
        .get_connection(&org_id("acme"), &ConnectionId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.state, ConnectionState::Draft);
    assert_eq!(conn.version, 1, "nothing changed");
}
