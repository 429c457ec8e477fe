//! The portal's Domains, Branding, Audit log and Child organizations pages and the vendor
//! operator's pages, over HTTP with a signed-in portal session: what each org role sees and
//! may post (viewer read-only, `member_admin` 404 on settings, another org's admin 404, the
//! operator pages 404 for everyone but operators), validation errors next to their fields,
//! CSRF on every POST, and domain verification against a real DNS server (`dns_server`).
//!
//! Uses the provider fixture's seeded tenant (bob is acme's `org_admin`), plus vic (acme
//! viewer), meg (acme `member_admin`) and gus (globex `org_admin`); Lobby's real resolver asks
//! the test's DNS server.

mod german;
mod mfa;
mod operator;
mod operator_links;
mod settings;
mod take_over;

use crate::dns_server::TestDns;
use crate::portal::{add_admin, sign_in_at};
use crate::provider::fixture::{Backends, Browser, Lobby, Resp};
use lobby::domain::OrgRole;

pub struct Portal {
    pub lobby: Lobby,
    pub dns: TestDns,
}

/// The seeded tenant with the people above; `operator_org`: `LOBBY_OPERATOR_ORG`.
pub async fn start(config: Option<fn(&mut lobby::config::Config)>) -> Portal {
    let dns = TestDns::start().await;
    let lobby = Lobby::boot(Backends {
        dns_server: Some(dns.addr),
        config,
        ..Backends::default()
    })
    .await;
    add_admin(&lobby, "vic", "vic@acme.test", "acme", &[OrgRole::Viewer]).await;
    add_admin(
        &lobby,
        "meg",
        "meg@acme.test",
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
    Portal { lobby, dns }
}

impl Portal {
    /// A browser signed in to the portal as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let b = self.lobby.browser();
        let r = sign_in_at(&b, "/portal/login", email).await;
        assert_eq!(
            r.status, 303,
            "sign-in of {email} did not finish: {}",
            r.body
        );
        b
    }
}

/// The CSRF token of a portal page.
pub async fn csrf(b: &Browser, path: &str) -> String {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.hidden("_csrf")
}

/// POST a form with this session's CSRF token (taken from the page `from`).
pub async fn post(b: &Browser, from: &str, path: &str, form: &[(&str, &str)]) -> Resp {
    let token = csrf(b, from).await;
    let mut all = vec![("_csrf", token.as_str())];
    all.extend_from_slice(form);
    b.post(path, &all).await
}

/// The error shown next to field `id`: the input is marked invalid and described by it.
pub fn field_error(page: &Resp, id: &str) -> String {
    let input = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no field {id} in {}", page.body));
    let tag_end = input + page.body[input..].find('>').unwrap();
    let tag = &page.body[input..tag_end];
    assert!(
        tag.contains("aria-invalid=\"true\""),
        "{id} not marked invalid: {tag}"
    );
    assert!(
        tag.contains(&format!("{id}-error")),
        "{id} not described by its error: {tag}"
    );
    let needle = format!("id=\"{id}-error\">");
    let at = page
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no error for {id} in {}", page.body))
        + needle.len();
    page.body[at..at + page.body[at..].find('<').unwrap()].to_owned()
}

/// HTML-unescaped enough for the sentences the tests look for.
pub fn text(page: &Resp) -> String {
    page.body
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&#38;", "&")
}
