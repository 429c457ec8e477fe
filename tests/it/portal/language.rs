//! The portal's language: the person's choice (the footer's form, CSRF, kept in the portal
//! session), else `Accept-Language`, else English; `<html lang>` follows, and the layout, the
//! Members pages and the error pages speak it.

use super::{csrf, signed_in};
use crate::provider::fixture::{Lobby, Resp};

const MEMBERS: &str = "/portal/orgs/acme/members";

fn text(r: &Resp) -> String {
    r.body
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn assert_german(r: &Resp, sentences: &[&str]) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<html lang=\"de\">"), "{}", r.body);
    let t = text(r);
    for s in sentences {
        assert!(t.contains(s), "missing {s:?} in {t}");
    }
    for en in [
        "Skip to content",
        "Sign out",
        "Filter members",
        "Lobby portal",
        "Org roles",
    ] {
        assert!(!t.contains(en), "English {en:?} in {t}");
    }
}

const GERMAN_MEMBERS: &[&str] = &[
    "<title>Mitglieder · Acme Inc. · Lobby-Portal</title>",
    "<h1>Mitglieder</h1>",
    "Zum Inhalt springen",
    "aria-label=\"Mitglieder filtern\"",
    "<label for=\"q\">Suchen</label>",
    "Jeder Status",
    "<th scope=\"col\">Organisationsrollen</th>",
    "Mitglieder gefunden.",
    ">Abmelden</button>",
    "<option value=\"de\" lang=\"de\" selected>Deutsch</option>",
];

#[tokio::test]
async fn choosing_german_in_the_portal_gives_german_members_pages() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    b.set_header("accept-language", "en-US,en;q=0.9");
    let page = b.get(MEMBERS).await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("aria-label=\"Filter members\""));
    assert!(page.body.contains("id=\"language-form\""));
    let t = page.hidden("_csrf");

    // Without the session's token the choice is refused.
    let r = b
        .post("/portal/language", &[("_csrf", "nope"), ("lang", "de")])
        .await;
    assert_eq!(r.status, 403);
    assert!(b.get(MEMBERS).await.body.contains("<html lang=\"en\">"));
    // A language Lobby does not have.
    let r = b
        .post("/portal/language", &[("_csrf", &t), ("lang", "fr")])
        .await;
    assert_eq!(r.status, 400);

    let r = b
        .post(
            "/portal/language",
            &[("_csrf", &t), ("lang", "de"), ("return", MEMBERS)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), MEMBERS);
    // The choice wins over the browser's English.
    assert_german(&b.get(MEMBERS).await, GERMAN_MEMBERS);
    assert_german(
        &b.get(&format!("{MEMBERS}/alice")).await,
        &[
            "<h1>Mitglied</h1>",
            "← Alle Mitglieder",
            "Organisationsrollen speichern",
            "Nur Mitglieder und Einladungen.",
            "Aus der Organisation entfernen…",
        ],
    );
    assert_german(
        &b.get(&format!("{MEMBERS}/alice/suspend")).await,
        &[
            "<title>Mitglied sperren · Acme Inc. · Lobby-Portal</title>",
            "<strong>alice@acme.test</strong> sperren?",
            "Was passiert",
            "Abbrechen",
        ],
    );
    assert_german(
        &b.get("/portal/orgs/acme").await,
        &["<h1>Übersicht</h1>", "Was Sie hier tun können"],
    );
    // A write's flash and the error pages too.
    let alice = b.get(&format!("{MEMBERS}/alice")).await;
    let r = b
        .post(
            &format!("{MEMBERS}/alice/org-roles"),
            &[("_csrf", &t), ("version", &alice.hidden("version"))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        text(&b.get(&format!("{MEMBERS}/alice")).await)
            .contains("Die Organisationsrollen wurden gespeichert.")
    );
    let r = b.get("/portal/orgs/acme/no-such-page").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<html lang=\"de\">"));
    assert!(text(&r).contains("Diese Seite gibt es nicht"));
    let r = b.post(&format!("{MEMBERS}/alice/roles"), &[]).await;
    assert_eq!(r.status, 403);
    assert!(text(&r).contains("Dieses Formular ist abgelaufen."));

    // Back to English; a return outside the portal goes to the start page.
    let r = b
        .post(
            "/portal/language",
            &[
                ("_csrf", &t),
                ("lang", "en"),
                ("return", "https://evil.test/"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/portal");
    let page = b.get(MEMBERS).await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(
        page.body
            .contains("<title>Members · Acme Inc. · Lobby portal</title>")
    );
}

#[tokio::test]
async fn accept_language_de_gives_german_members_page() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    b.set_header("accept-language", "de-DE,de;q=0.9,en;q=0.5");
    assert_german(&b.get(MEMBERS).await, GERMAN_MEMBERS);
    // The person's choice beats the browser.
    let t = csrf(&b, MEMBERS).await;
    let r = b
        .post("/portal/language", &[("_csrf", &t), ("lang", "en")])
        .await;
    assert_eq!(r.status, 303);
    let page = b.get(MEMBERS).await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("aria-label=\"Filter members\""));
}
