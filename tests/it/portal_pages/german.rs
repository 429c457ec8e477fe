//! The portal's pages in German (the browser's `Accept-Language: de`): Domains, Branding,
//! Audit log, Child organizations, Invitations, the sign-in connections and the IdP setup
//! wizard, and the operator's pages render German sentences, and none of the English
//! sentences of their catalog sections; refused input is explained in German too.

use super::{Portal, field_error, post, start, text};
use crate::provider::fixture::Browser;
use crate::saml::corpus::{self, Signer};
use lobby::i18n::{Lang, keys, t};

/// Whether `needle` occurs in `hay` as whole words (not inside a longer word or an
/// identifier such as the audit action `login.success`).
fn has_words(hay: &str, needle: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-');
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().last();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| ident(c) || matches!(c, '.' | ':')) && !after.is_some_and(ident)
    })
}

/// GET `path` in German: 200, `<html lang="de">`, every German sentence of `german`, and no
/// argument-free English sentence of the catalog keys starting with one of `prefixes`.
async fn assert_german(b: &Browser, path: &str, german: &[&str], prefixes: &[&str]) {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    assert!(page.body.contains("<html lang=\"de\">"), "{path}");
    let body = text(&page).replace("&quot;", "\"");
    for s in german {
        assert!(body.contains(s), "{path}: missing {s:?} in {body}");
    }
    let mut checked = 0;
    for k in keys(Lang::En) {
        if !prefixes.iter().any(|p| k.starts_with(p)) {
            continue;
        }
        let en = t(Lang::En, &k, &[]);
        if en.contains('{') || en == t(Lang::De, &k, &[]) || en.len() < 4 {
            continue;
        }
        checked += 1;
        assert!(
            !has_words(&body, &en),
            "{path}: English {k} {en:?} in {body}"
        );
    }
    assert!(
        checked > 0,
        "{path}: no English sentence of {prefixes:?} to look for"
    );
    // The layout's English never shows either.
    for en in ["Skip to content", "Sign out", "Lobby portal"] {
        assert!(!body.contains(en), "{path}: English {en:?}");
    }
}

async fn german_browser(p: &Portal, email: &str) -> Browser {
    let b = p.signed_in(email).await;
    b.set_header("accept-language", "de-DE,de;q=0.9,en;q=0.5");
    b
}

#[tokio::test]
async fn org_settings_pages_speak_german() {
    let p = start(None).await;
    let b = german_browser(&p, "bob@acme.test").await;
    let org = "/portal/orgs/acme";
    assert_german(
        &b,
        &format!("{org}/domains"),
        &[
            "<title>Domains · Acme Inc. · Lobby-Portal</title>",
            "<h2 id=\"domains-list\">Ihre Domains</h2>",
            "Domain hinzufügen",
            "zum Beispiel example.com",
        ],
        &["portal-domains-"],
    )
    .await;
    assert_german(
        &b,
        &format!("{org}/branding"),
        &[
            "<h1>Erscheinungsbild</h1>",
            "Anzeigename",
            "Erscheinungsbild speichern",
            "Vorschau der Anmeldeseite",
        ],
        &["portal-branding-"],
    )
    .await;
    assert_german(
        &b,
        &format!("{org}/audit"),
        &[
            "<h1>Audit-Protokoll</h1>",
            "aria-label=\"Audit-Protokoll filtern\"",
            ">Filtern</button>",
        ],
        &["portal-audit-"],
    )
    .await;
    assert_german(
        &b,
        &format!("{org}/children"),
        &[
            "<h1>Untergeordnete Organisationen</h1>",
            "Untergeordnete Organisation anlegen",
            "Kurzname",
        ],
        &["portal-children-"],
    )
    .await;
    assert_german(
        &b,
        &format!("{org}/invitations"),
        &[
            "<h1>Einladungen</h1>",
            ">Offen</a>",
            "Einladung senden",
            "Automatisch wählen",
        ],
        &["portal-invitations-"],
    )
    .await;

    // Refused input, explained in German next to its field.
    let r = post(
        &b,
        &format!("{org}/domains"),
        &format!("{org}/domains"),
        &[("domain", "not a domain")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = field_error(&r, "domain");
    assert!(e.contains("muss ein DNS-Domainname"), "{e}");
    let r = post(
        &b,
        &format!("{org}/children"),
        &format!("{org}/children"),
        &[("name", "Acme Labs"), ("slug", "Not A Slug")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = field_error(&r, "slug");
    assert!(e.starts_with("„Kurzname“ muss aus 2 bis 63"), "{e}");
    // A flash message after a change.
    let r = post(
        &b,
        &format!("{org}/domains"),
        &format!("{org}/domains"),
        &[("domain", "labs.acme-corp.example")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&format!("{org}/domains")).await;
    assert!(
        text(&page).contains("Domain hinzugefügt. Veröffentlichen Sie den TXT-Eintrag"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_connection_wizard_speaks_german() {
    let p = start(None).await;
    let b = german_browser(&p, "bob@acme.test").await;
    let base = "/portal/orgs/acme/connections";
    assert_german(
        &b,
        base,
        &[
            "<h1>Anmeldeverbindungen</h1>",
            "Identity Provider verbinden",
            "<th scope=\"col\">Art</th>",
            "<td>Passwort</td>",
            "Signaturzertifikat",
        ],
        // Not `portal-conn-kind-password`: the seeded password connection is named "Password".
        &[
            "portal-conn-lead",
            "portal-conn-new",
            "portal-conn-state-",
            "portal-conn-signing-",
        ],
    )
    .await;
    assert_german(
        &b,
        &format!("{base}/new"),
        &[
            "<h1>Neue Verbindung</h1>",
            "Welches Protokoll spricht Ihr Identity Provider?",
            "SAML 2.0",
        ],
        &["portal-wizard-new-", "portal-wizard-back-"],
    )
    .await;
    // The SAML step gets its connection id by a redirect.
    let r = b.get(&format!("{base}/new/saml")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let saml = r.location();
    assert_german(
        &b,
        &saml,
        &[
            "<h1>Neue SAML-Verbindung</h1>",
            "aria-label=\"Einrichtungsschritte\"",
            "Entity ID (Audience)",
            "ACS-URL (Antwort-URL)",
            "Metadaten-XML einfügen",
            "Speichern und weiter",
        ],
        &["portal-saml-", "portal-sp-", "portal-wizard-step-"],
    )
    .await;
    // A refused step 1, in German.
    let id = saml.rsplit("id=").next().unwrap().to_owned();
    let r = post(
        &b,
        &saml,
        &format!("{base}/new/saml"),
        &[
            ("id", id.as_str()),
            ("name", "Okta"),
            ("source", "xml"),
            ("metadata_xml", "<nope/>"),
        ],
    )
    .await;
    assert!(
        r.status == 400 || r.status == 422,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(
        text(&r).contains("Das sind keine SAML-Metadaten"),
        "{}",
        r.body
    );
    // The wizard's sentence about an expired certificate, with a German date.
    let expired = corpus::idp_metadata(
        "https://idp.example/entity",
        "https://idp.example/sso",
        &[&Signer::expired("Old IdP")],
    );
    let r = post(
        &b,
        &saml,
        &format!("{base}/new/saml"),
        &[
            ("id", id.as_str()),
            ("name", "Okta"),
            ("source", "xml"),
            ("metadata_xml", expired.as_str()),
        ],
    )
    .await;
    let msg = field_error(&r, "metadata_xml");
    assert!(
        msg.starts_with("Das Zertifikat in diesen Metadaten ist am "),
        "{msg}"
    );
    assert!(
        msg.contains("(ausgestellt für ") && msg.contains("Old IdP"),
        "{msg}"
    );
    assert!(
        !msg.contains("January") && !msg.contains("expired"),
        "{msg}"
    );

    let r = b.get(&format!("{base}/new/oidc")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_german(
        &b,
        &r.location(),
        &[
            "<h1>Neue OpenID-Connect-Verbindung</h1>",
            "Redirect-URI kopieren",
            "Authentifizierung am Token-Endpunkt",
        ],
        &["portal-oidc-", "portal-wizard-name"],
    )
    .await;
}

#[tokio::test]
async fn operator_pages_speak_german() {
    let p = start(Some(|c: &mut lobby::config::Config| {
        c.operator_org = Some("acme".into())
    }))
    .await;
    let b = german_browser(&p, "bob@acme.test").await;
    assert_german(
        &b,
        "/portal/admin",
        &[
            "<h1>Alle Organisationen</h1>",
            "Organisation anlegen",
            "Organisationen.",
        ],
        &[
            "portal-op-orgs-",
            "portal-op-search-",
            "portal-op-create-org",
            "portal-op-parent",
        ],
    )
    .await;
    assert_german(
        &b,
        "/portal/admin/apps",
        &["<h1>Apps</h1>", "App anlegen", "Vertraulich"],
        &[
            "portal-op-apps-lead",
            "portal-op-create-app",
            "portal-op-public",
            "portal-op-confidential",
        ],
    )
    .await;
    assert_german(
        &b,
        "/portal/admin/apps/crm",
        &[
            "Einstellungen speichern",
            "Rolle hinzufügen",
            "Rollengruppen",
        ],
        &[
            "portal-op-settings",
            "portal-op-add-",
            "portal-op-role-groups",
            "portal-op-invite-ttl",
        ],
    )
    .await;
    assert_german(
        &b,
        "/portal/admin/orgs/acme/apps",
        &["Verknüpfte Apps", "Erlaubte Rollengruppen"],
        &[
            "portal-op-linked-apps",
            "portal-op-allowed-groups",
            "portal-op-link-",
        ],
    )
    .await;
}
