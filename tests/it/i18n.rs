//! Languages of the hosted pages and emails: `ui_locales` of the sign-in request, then the
//! browser's `Accept-Language`, then English; German pages and emails end to end; discovery
//! advertises the languages.

use crate::provider::fixture::*;
use std::time::Duration;

/// The text of an HTML body with askama's entity escapes undone.
fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn crm_authorize(extra: &[(&str, &str)]) -> String {
    let (_, challenge) = pkce();
    authorize_path("crm", CRM_CB, &challenge, extra)
}

fn assert_german(r: &Resp, sentences: &[&str]) {
    assert!(r.body.contains("<html lang=\"de\">"), "{}", r.body);
    let text = unescape(&r.body);
    for s in sentences {
        assert!(text.contains(s), "missing {s:?} in {text}");
    }
    // No English chrome left over.
    for en in ["Skip to content", "Secured by Lobby"] {
        assert!(!text.contains(en), "English {en:?} in {text}");
    }
}

#[tokio::test]
async fn ui_locales_de_gives_german_sign_in_pages_and_errors() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // The browser prefers English: ui_locales wins.
    b.set_header("accept-language", "en-US,en;q=0.9");
    let flow = b.start(&crm_authorize(&[("ui_locales", "fr-CA de")])).await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    assert_eq!(page.status, 200);
    assert_german(
        &page,
        &[
            "<title>Anmelden · Lobby</title>",
            "Weiter zu <strong>CRM</strong> mit Ihrer geschäftlichen E-Mail-Adresse.",
            "<label for=\"email\">E-Mail-Adresse</label>",
            "Zum Inhalt springen",
            "Gesichert durch Lobby",
        ],
    );
    // Not an email address: the sentence in German, the page still German.
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[("flow", &flow), ("csrf", &csrf), ("email", "nope")],
        )
        .await;
    assert_german(
        &r,
        &[&lobby::pages::SENTENCE_EMAIL_INVALID.get(lobby::i18n::Lang::De)],
    );
    assert!(unescape(&r.body).contains("Geben Sie eine E-Mail-Adresse wie name@example.com ein."));
    // The password page, and a wrong password.
    let csrf = b.to_password_page(&flow, "alice@acme.test").await;
    let page = b.get(&format!("/login/password?flow={flow}")).await;
    assert_german(
        &page,
        &[
            "Passwort eingeben",
            "als <strong id=\"signed-in-as\">alice@acme.test</strong>",
            "Passwort vergessen?",
            "Andere E-Mail-Adresse verwenden",
        ],
    );
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", "wrong")],
        )
        .await;
    assert_german(&r, &["Die E-Mail-Adresse oder das Passwort ist falsch."]);
    // An error page inside the flow: dave has no access to crm.
    let flow = b.start(&crm_authorize(&[("ui_locales", "de")])).await;
    let r = b.sign_in(&flow, "dave@acme.test", PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_german(
        &r,
        &[
            "Zugriff verweigert",
            "Sie haben keinen Zugriff auf diese Anwendung.",
            "nennen Sie bitte diese Anfrage-ID",
        ],
    );
    // And an error page before any flow: an unknown client, asked for in German.
    let (_, c) = pkce();
    let r = b
        .get(&authorize_path("nope", CRM_CB, &c, &[("ui_locales", "de")]))
        .await;
    assert_eq!(r.status, 400);
    assert_german(&r, &["Die Anwendung ist nicht registriert."]);
}

#[tokio::test]
async fn without_a_usable_ui_locales_the_browser_language_counts_then_english() {
    let lobby = Lobby::start().await;
    let title_of = |r: &Resp| {
        let s = &r.body[r.body.find("<title>").unwrap() + 7..];
        s[..s.find(" · ").unwrap()].to_owned()
    };
    for (ui, accept, want_lang, want_title) in [
        (None, Some("fr-FR, de;q=0.8, en;q=0.5"), "de", "Anmelden"),
        (Some("fr ja"), Some("de-AT"), "de", "Anmelden"),
        (Some("en"), Some("de"), "en", "Sign in"),
        (None, Some("en-GB,de;q=0.9"), "en", "Sign in"),
        (None, Some("fr"), "en", "Sign in"),
        (None, None, "en", "Sign in"),
    ] {
        let b = lobby.browser();
        if let Some(a) = accept {
            b.set_header("accept-language", a);
        }
        let extra: Vec<(&str, &str)> = ui.map(|u| ("ui_locales", u)).into_iter().collect();
        let flow = b.start(&crm_authorize(&extra)).await;
        let page = b.get(&format!("/login?flow={flow}")).await;
        assert!(
            page.body.contains(&format!("<html lang=\"{want_lang}\">")),
            "{ui:?} {accept:?}: {}",
            page.body
        );
        assert_eq!(title_of(&page), want_title, "{ui:?} {accept:?}");
    }
    // A page outside any flow follows the browser alone.
    let b = lobby.browser();
    b.set_header("accept-language", "de");
    let r = b.get("/login/error?e=csrf").await;
    assert!(r.body.contains("<html lang=\"de\">"));
    assert!(unescape(&r.body).contains("Dieses Formular ist abgelaufen"));
    // `/login/error` also takes `ui_locales`.
    let b = lobby.browser();
    let r = b.get("/login/error?e=csrf&ui_locales=de").await;
    assert!(r.body.contains("<html lang=\"de\">"));
    let r = b.get("/login/error?e=csrf").await;
    assert!(r.body.contains("<html lang=\"en\">"));
    assert!(unescape(&r.body).contains(&lobby::pages::PageError::Csrf.message().en()));
}

#[tokio::test]
async fn discovery_advertises_the_languages() {
    let lobby = Lobby::start().await;
    let d: serde_json::Value = lobby
        .http()
        .get(lobby.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["ui_locales_supported"], serde_json::json!(["en", "de"]));
}

#[tokio::test]
async fn the_reset_email_is_in_the_language_of_the_page_it_was_asked_on() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    b.set_header("accept-language", "de-DE,de;q=0.9");
    let page = b.get("/login/password/forgot").await;
    assert_german(&page, &["Passwort zurücksetzen", "Link senden"]);
    let r = b
        .post(
            "/login/password/forgot",
            &[("csrf", &page.hidden("csrf")), ("email", "alice@acme.test")],
        )
        .await;
    assert_german(
        &r,
        &["Sehen Sie in Ihrem Posteingang und im Spam-Ordner nach."],
    );
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = lobby.mail.sent_to("alice@acme.test");
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = sent.first().expect("the reset email");
    assert!(m.subject.starts_with("Ihr Passwort für "), "{}", m.subject);
    assert!(m.subject.ends_with(" zurücksetzen"), "{}", m.subject);
    assert!(
        m.text
            .contains("öffnen Sie diesen Link innerhalb von 30 Minuten"),
        "{}",
        m.text
    );
    assert!(m.html.contains("<html lang=\"de\">"), "{}", m.html);
    assert!(m.html.contains("Neues Passwort wählen"), "{}", m.html);
    assert!(!m.text.contains("Someone asked"), "{}", m.text);
}

/// RP-Initiated Logout's `ui_locales`: the confirmation and the signed-out page in German.
#[tokio::test]
async fn logout_pages_follow_ui_locales() {
    let lobby = Lobby::start().await;
    // Without a session: straight to the signed-out page.
    let r = lobby.browser().get("/logout?ui_locales=de").await;
    assert_german(&r, &["Sie wurden abgemeldet."]);
    // With one (alice signed in), no id_token_hint: the confirmation first.
    let b = lobby.browser();
    let flow = b.start(&crm_authorize(&[])).await;
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.get("/logout?ui_locales=de").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_german(
        &r,
        &[
            "Möchten Sie sich von allen Anwendungen abmelden, die diese Anmeldung verwenden?",
            "<input type=\"hidden\" name=\"ui_locales\" value=\"de\">",
        ],
    );
    let r = b
        .post(
            "/logout",
            &[("csrf", &r.hidden("csrf")), ("ui_locales", "de")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_german(
        &r,
        &["Sie wurden abgemeldet. Sie können dieses Fenster jetzt schließen."],
    );
    // Without it: English.
    let r = lobby.browser().get("/logout").await;
    assert!(r.body.contains("<html lang=\"en\">"), "{}", r.body);
}
