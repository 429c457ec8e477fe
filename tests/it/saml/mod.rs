//! SAML federation through HTTP: a full SP-initiated sign-in with JIT and group → role mapping,
//! SP metadata, IdP-initiated sign-in, and the hostile-response corpus (`tests/saml/corpus.rs`,
//! keys made there with OpenSSL, signatures by xmlsec): every hostile response is refused with
//! the fixed page, an audit event naming the reason, no session cookie, and no panic.
//!
//! This file owns the shared fixture (`Env`: Lobby with a SAML connection, begin/ACS helpers,
//! the refusal asserts); each other file owns one feature area.

#[path = "../../saml/corpus.rs"]
pub(crate) mod corpus;

mod auth_time;
mod certificates;
mod email_rule;
mod happy_path;
mod hostility;
mod metadata_refresh;

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
        email_authority: Default::default(),
        accept_expired_certs: false,
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
    env_on(allow_idp_initiated, Lobby::start().await).await
}

/// [`env`] on a Lobby booted by the caller (other backends).
async fn env_on(allow_idp_initiated: bool, lobby: Lobby) -> Env {
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
        shared: false,
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
        mfa: None,
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
    // A test that gave umbrella a second IdP gets "Sign in with …": take the first one.
    if r.location().starts_with("/login/connection?") {
        let r = b
            .post(
                "/login/connection",
                &[
                    ("flow", flow.as_str()),
                    ("csrf", &csrf),
                    ("connection", "umbrella-saml"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "connection choice: {}", r.body);
        return pending(verifier, &r);
    }
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
                ..Default::default()
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
