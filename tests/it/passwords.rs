//! Self-service passwords through HTTP (issue 12 item 5, issue 13 item 9): "forgot password"
//! answers the same for every account, the emailed link works once and for 30 minutes, new
//! passwords follow NIST SP 800-63B, a reset ends every session and refresh family, requests
//! are rate limited, and a password user is found among many users sharing the email.

use crate::provider::fixture::*;
use lobby::domain::*;
use std::time::Duration;

const NEW_PASSWORD: &str = "violet kettle under the moss";

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

/// A page body without what differs per request (request id, CSRF token).
fn normalized(body: &str) -> String {
    let mut out = body.to_owned();
    for (start, end) in [
        ("id=\"request-id\">", "<"),
        ("name=\"csrf\" value=\"", "\""),
    ] {
        let mut from = 0;
        while let Some(i) = out[from..].find(start) {
            let a = from + i + start.len();
            let b = a + out[a..].find(end).unwrap();
            out.replace_range(a..b, "…");
            from = a;
        }
    }
    out
}

/// Open the "forgot password" page and ask for a link for `email`.
async fn ask_for_link(b: &Browser, email: &str) -> Resp {
    let page = b.get("/login/password/forgot").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf");
    b.post(
        "/login/password/forgot",
        &[("csrf", &csrf), ("email", email)],
    )
    .await
}

/// The messages sent to `to`, after waiting up to 5 s for `want` of them (they are sent after
/// the answer, by a task of their own).
async fn mails_to(lobby: &Lobby, to: &str, want: usize) -> Vec<lobby::mail::OutgoingMail> {
    for _ in 0..100 {
        let sent = lobby.mail.sent_to(to);
        if sent.len() >= want {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lobby.mail.sent_to(to)
}

/// The reset link's path in a message.
fn link_path(lobby: &Lobby, mail: &lobby::mail::OutgoingMail) -> String {
    let link = lobby::mail::first_link(&mail.text).expect("a link in the message");
    let path = link
        .strip_prefix(lobby.base.as_str())
        .expect("a link to this Lobby");
    assert!(path.starts_with("/login/password/reset/"), "{path}");
    assert!(mail.html.contains(link), "the HTML part has the same link");
    path.to_owned()
}

/// Ask for a link for alice and return its path.
async fn alice_link(lobby: &Lobby) -> String {
    link_for(lobby, "alice@acme.test").await
}

/// Ask for a link for `email` and return its path.
async fn link_for(lobby: &Lobby, email: &str) -> String {
    let before = lobby.mail.sent_to(email).len();
    let r = ask_for_link(&lobby.browser(), email).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = mails_to(lobby, email, before + 1).await;
    assert_eq!(sent.len(), before + 1, "one more message");
    link_path(lobby, sent.last().unwrap())
}

/// Submit the reset form of `path` with `password` twice (or `confirm`).
async fn submit(b: &Browser, path: &str, password: &str, confirm: &str) -> Resp {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf");
    b.post(
        path,
        &[
            ("csrf", &csrf),
            ("password", password),
            ("confirm", confirm),
        ],
    )
    .await
}

fn assert_sentence(r: &Resp, status: u16, sentence: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        unescape(&r.body).contains(sentence),
        "missing {sentence:?} in {}",
        r.body
    );
}

/// Whether a crm sign-in with this password gets a code.
async fn signs_in(lobby: &Lobby, email: &str, password: &str) -> bool {
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let r = b.sign_in(&flow, email, password).await;
    r.status == 303 && r.location().starts_with(CRM_CB)
}

#[tokio::test]
async fn the_password_page_links_to_forgot_password_with_its_flow() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "acme")],
        ))
        .await;
    b.to_password_page(&flow, "alice@acme.test").await;
    let page = b.get(&format!("/login/password?flow={flow}")).await;
    let href = format!("href=\"/login/password/forgot?flow={flow}\"");
    assert!(page.body.contains(&href), "{}", page.body);
    // The form knows the email and the org (branding) from the flow, and leads back to it.
    let forgot = b.get(&format!("/login/password/forgot?flow={flow}")).await;
    assert_eq!(forgot.status, 200);
    assert!(forgot.body.contains("value=\"alice@acme.test\""));
    assert!(forgot.body.contains("Acme Inc."));
    assert!(forgot.body.contains("id=\"back-to-sign-in\""));
    // A flow of another browser is ignored, not an error.
    let other = lobby
        .browser()
        .get(&format!("/login/password/forgot?flow={flow}"))
        .await;
    assert_eq!(other.status, 200);
    assert!(!other.body.contains("alice@acme.test"));
}

#[tokio::test]
async fn forgot_answers_the_same_for_existing_unknown_and_password_less_accounts() {
    let lobby = Lobby::start().await;
    // dave has a password but is a member of no org with a password connection: no message.
    let mut pages = Vec::new();
    for email in [
        "alice@acme.test",
        "nobody@acme.test",
        "x@unknown.example",
        "dave@acme.test",
    ] {
        let b = lobby.browser();
        let r = ask_for_link(&b, email).await;
        assert_eq!(r.status, 200, "{email}: {}", r.body);
        assert!(r.headers.get("location").is_none());
        assert!(
            unescape(&r.body).contains(&lobby::pages::password::SENTENCE_RESET_SENT.en()),
            "{email}"
        );
        assert!(
            !r.body.contains(email),
            "the page does not repeat the email"
        );
        pages.push((email, normalized(&r.body)));
    }
    for (email, p) in &pages[1..] {
        assert_eq!(p, &pages[0].1, "{email} got another page");
    }
    // Only the existing password account got a message, branded by its only password org.
    let sent = mails_to(&lobby, "alice@acme.test", 1).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("Acme Inc."), "{}", sent[0].subject);
    assert!(sent[0].html.contains("Acme Inc."));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lobby.mail.sent().len(), 1, "{:?}", lobby.mail.sent());
    // Only the token's hash is stored.
    let path = link_path(&lobby, &sent[0]);
    let token = path.rsplit('/').next().unwrap();
    let stored = lobby
        .storage()
        .get_password_reset(&TokenHash::of(token))
        .await
        .unwrap()
        .expect("stored by hash");
    assert_eq!(stored.user_id, user_id("alice"));
    assert_eq!(stored.expires_at - stored.created_at, RESET_TTL);
}

#[tokio::test]
async fn a_reset_link_works_once_and_sets_the_password() {
    let lobby = Lobby::start().await;
    let path = alice_link(&lobby).await;
    let b = lobby.browser();
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"reset-email\">alice@acme.test<"));
    assert!(page.body.contains("autocomplete=\"new-password\""));
    let r = submit(&b, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_sentence(
        &r,
        200,
        &lobby::pages::password::SENTENCE_PASSWORD_CHANGED.en(),
    );
    lobby.clock.advance(time::Duration::seconds(1));
    assert!(signs_in(&lobby, "alice@acme.test", NEW_PASSWORD).await);
    assert!(!signs_in(&lobby, "alice@acme.test", PASSWORD).await);

    // The same link again: its own sentence, on GET and POST, and the password stays.
    let again = lobby.browser();
    let r = again.get(&path).await;
    assert_sentence(&r, 410, &lobby::pages::password::SENTENCE_RESET_USED.en());
    let csrf_page = again.get("/login/password/forgot").await;
    let r = again
        .post(
            &path,
            &[
                ("csrf", &csrf_page.hidden("csrf")),
                ("password", "another long passphrase"),
                ("confirm", "another long passphrase"),
            ],
        )
        .await;
    assert_sentence(&r, 410, &lobby::pages::password::SENTENCE_RESET_USED.en());
    assert!(signs_in(&lobby, "alice@acme.test", NEW_PASSWORD).await);

    // Audited.
    let events = lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                org_id: None,
                action: Some("password.reset".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].target_id, "alice");
}

#[tokio::test]
async fn an_older_link_dies_when_a_newer_one_is_used() {
    let lobby = Lobby::start().await;
    let first = alice_link(&lobby).await;
    let second = alice_link(&lobby).await;
    assert_ne!(first, second);
    let b = lobby.browser();
    let r = submit(&b, &second, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = b.get(&first).await;
    assert_sentence(&r, 410, &lobby::pages::password::SENTENCE_RESET_USED.en());
}

#[tokio::test]
async fn expired_and_unknown_links_get_their_own_sentences() {
    let lobby = Lobby::start().await;
    let path = alice_link(&lobby).await;
    let b = lobby.browser();
    // Still usable at 29 minutes.
    lobby.clock.advance(time::Duration::minutes(29));
    assert_eq!(b.get(&path).await.status, 200);
    let page = b.get(&path).await;
    lobby.clock.advance(time::Duration::minutes(1));
    let r = b.get(&path).await;
    assert_sentence(
        &r,
        410,
        &lobby::pages::password::SENTENCE_RESET_EXPIRED.en(),
    );
    // A form opened in time and sent too late is refused too, and changes nothing.
    let r = b
        .post(
            &path,
            &[
                ("csrf", &page.hidden("csrf")),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_sentence(
        &r,
        410,
        &lobby::pages::password::SENTENCE_RESET_EXPIRED.en(),
    );
    assert!(signs_in(&lobby, "alice@acme.test", PASSWORD).await);

    let unknown = format!("/login/password/reset/{}", random_token());
    let r = b.get(&unknown).await;
    assert_sentence(
        &r,
        404,
        &lobby::pages::password::SENTENCE_RESET_UNKNOWN.en(),
    );
    for bad in ["x", "..%2F..%2Fetc", &"a".repeat(500)] {
        let r = b.get(&format!("/login/password/reset/{bad}")).await;
        assert_sentence(
            &r,
            404,
            &lobby::pages::password::SENTENCE_RESET_UNKNOWN.en(),
        );
    }
}

#[tokio::test]
async fn new_passwords_follow_nist_rules_and_a_refusal_keeps_the_link() {
    let lobby = Lobby::start().await;
    let path = alice_link(&lobby).await;
    let b = lobby.browser();
    use lobby::domain::password_policy::PasswordRejection as R;
    for (password, confirm, sentence) in [
        (
            "short",
            "short",
            lobby::pages::password::rejection(R::TooShort).en(),
        ),
        (
            "password1",
            "password1",
            lobby::pages::password::rejection(R::Common).en(),
        ),
        (
            "Iloveyou1",
            "Iloveyou1",
            lobby::pages::password::rejection(R::Common).en(),
        ),
        (
            "alice@acme.test",
            "alice@acme.test",
            lobby::pages::password::rejection(R::IsEmail).en(),
        ),
        (
            "ALICE@acme.test",
            "ALICE@acme.test",
            lobby::pages::password::rejection(R::IsEmail).en(),
        ),
        (
            NEW_PASSWORD,
            "something else entirely",
            lobby::pages::password::SENTENCE_PASSWORDS_DIFFER.en(),
        ),
    ] {
        let r = submit(&b, &path, password, confirm).await;
        assert_sentence(&r, 400, &sentence);
        assert!(r.body.contains("id=\"password\""), "the form again");
    }
    // 64 characters and no composition rules: fine.
    let long = "a".repeat(40) + " plain lowercase words";
    let r = submit(&b, &path, &long, &long).await;
    assert_sentence(
        &r,
        200,
        &lobby::pages::password::SENTENCE_PASSWORD_CHANGED.en(),
    );
}

#[tokio::test]
async fn a_reset_ends_every_session_and_refresh_family_of_the_user() {
    let lobby = Lobby::start().await;
    // alice signs in to crm in one browser: an SSO session and a refresh family.
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let tokens = lobby.exchange(&code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // bob's session and tokens are not touched.
    let bob = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &bob, "bob@acme.test", Some("acme")).await;
    let bob_tokens = lobby.exchange(&code, &verifier).await;
    let bob_refresh = bob_tokens["refresh_token"].as_str().unwrap().to_owned();
    assert!(
        silent(&b).await.contains_key("code"),
        "alice's session works"
    );

    lobby.clock.advance(time::Duration::seconds(5));
    let path = alice_link(&lobby).await;
    let r = submit(&lobby.browser(), &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    lobby.clock.advance(time::Duration::seconds(1));

    // The refresh token issued before the reset: invalid_grant.
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    // The SSO session: gone, prompt=none needs a login.
    assert_eq!(silent(&b).await["error"], "login_required");
    // bob keeps his.
    assert!(silent(&bob).await.contains_key("code"));
    let (s, t) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &bob_refresh),
        ])
        .await;
    assert_eq!(s, 200, "{t}");
    // A new sign-in after the reset gets a working session again.
    let b2 = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b2
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let r = b2.sign_in(&flow, "alice@acme.test", NEW_PASSWORD).await;
    assert!(r.location().starts_with(CRM_CB), "{}", r.body);
    lobby.clock.advance(time::Duration::seconds(1));
    assert!(silent(&b2).await.contains_key("code"));
}

/// `prompt=none` into crm from this browser: the redirect's parameters.
async fn silent(b: &Browser) -> std::collections::BTreeMap<String, String> {
    let (_, challenge) = pkce();
    let path = authorize_path("crm", CRM_CB, &challenge, &[("prompt", "none")]);
    b.get(&path).await.redirect_params()
}

/// A sign-in waiting at the org chooser when the password is reset gets no code.
#[tokio::test]
async fn a_sign_in_waiting_at_the_chooser_gets_no_code_after_a_reset() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let r = b.sign_in(&flow, "bob@acme.test", PASSWORD).await;
    assert_eq!(r.location(), format!("/login/org?flow={flow}"));
    // bob is in two password orgs: the message is Lobby's own, not one org's.
    let path = link_for(&lobby, "bob@acme.test").await;
    let sent = lobby.mail.sent_to("bob@acme.test");
    assert_eq!(sent[0].subject, "Reset your Lobby password");
    let r = submit(&lobby.browser(), &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    lobby.clock.advance(time::Duration::seconds(1));
    let r = b.choose(&flow, "acme").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.headers.get("location").is_none(), "no code");
    assert!(unescape(&r.body).contains("has expired or was already completed"));
}

#[tokio::test]
async fn a_reset_lifts_the_account_lockout() {
    let lobby = Lobby::start().await;
    for _ in 0..5 {
        assert!(!signs_in(&lobby, "alice@acme.test", "wrong password").await);
    }
    // Locked: even the right password is refused.
    assert!(!signs_in(&lobby, "alice@acme.test", PASSWORD).await);
    let path = alice_link(&lobby).await;
    let r = submit(&lobby.browser(), &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    lobby.clock.advance(time::Duration::seconds(1));
    assert!(signs_in(&lobby, "alice@acme.test", NEW_PASSWORD).await);
}

#[tokio::test]
async fn forgot_is_rate_limited_per_account_and_per_address() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let mut pages = Vec::new();
    // Seven requests for one account: five messages, then silence behind the same page.
    for _ in 0..7 {
        let r = ask_for_link(&b, "alice@acme.test").await;
        assert_eq!(r.status, 200);
        pages.push(normalized(&r.body));
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "the same page");
    let sent = mails_to(&lobby, "alice@acme.test", 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent.len(), 5);
    assert_eq!(lobby.mail.sent_to("alice@acme.test").len(), 5);
    // Per address: 20 requests an hour, then the "too many" page (this one is about the
    // network, so it tells nothing about any account).
    for i in 7..20 {
        let r = ask_for_link(&b, &format!("user{i}@acme.test")).await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let r = ask_for_link(&b, "bob@acme.test").await;
    assert_sentence(
        &r,
        429,
        &lobby::pages::password::SENTENCE_RESET_LIMITED.en(),
    );
    assert!(mails_to(&lobby, "bob@acme.test", 1).await.is_empty());
    // An hour later both limits are over.
    lobby.clock.advance(time::Duration::minutes(61));
    let r = ask_for_link(&b, "alice@acme.test").await;
    assert_eq!(r.status, 200);
    assert_eq!(mails_to(&lobby, "alice@acme.test", 6).await.len(), 6);
}

#[tokio::test]
async fn reset_attempts_are_rate_limited_per_address() {
    let lobby = Lobby::start().await;
    let path = alice_link(&lobby).await;
    let b = lobby.browser();
    // One request was the "forgot" POST; 19 guesses fill the hour's 20.
    for _ in 0..19 {
        let r = b
            .get(&format!("/login/password/reset/{}", random_token()))
            .await;
        assert_eq!(r.status, 404);
    }
    // The address is over its limit: even the real link is refused from it now.
    let r = b.get(&path).await;
    assert_sentence(
        &r,
        429,
        &lobby::pages::password::SENTENCE_RESET_LIMITED.en(),
    );
    let r = submit_raw(&b, &path, "x").await;
    assert_eq!(r.status, 403, "no session CSRF token in this browser yet");
    // An hour later the link (still unused, but 30 minutes are over) says it expired.
    lobby.clock.advance(time::Duration::minutes(61));
    let r = b.get(&path).await;
    assert_sentence(
        &r,
        410,
        &lobby::pages::password::SENTENCE_RESET_EXPIRED.en(),
    );
}

/// POST the reset form without loading it first.
async fn submit_raw(b: &Browser, path: &str, csrf: &str) -> Resp {
    b.post(
        path,
        &[
            ("csrf", csrf),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn the_reset_forms_need_the_csrf_token() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let r = b
        .post("/login/password/forgot", &[("email", "alice@acme.test")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let path = alice_link(&lobby).await;
    b.get(&path).await;
    let r = b
        .post(
            &path,
            &[
                ("csrf", "forged"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(signs_in(&lobby, "alice@acme.test", PASSWORD).await);
    // The link was not used up.
    assert_eq!(b.get(&path).await.status, 200);
}

/// Issue 13 item 9: 25 users share erin's email; only the last one created has a password.
/// Reading "the first 20 users with that email" never found it.
#[tokio::test]
async fn a_password_user_is_found_among_many_users_with_the_same_email() {
    let lobby = Lobby::start().await;
    let s = lobby.storage();
    let email = Email::parse("erin@acme.test").unwrap();
    let now = lobby.clock.now();
    let mut last = None;
    for i in 0..25 {
        let u = User {
            id: UserId::generate(),
            email: email.clone(),
            email_verified: true,
            name: None,
            password_hash: (i == 24).then(|| hash_password(PASSWORD).unwrap()),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        s.create_user(&u).await.unwrap();
        last = Some(u);
    }
    let erin = last.unwrap();
    let mut m = s
        .get_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap()
        .unwrap();
    m.user_id = erin.id.clone();
    m.version = 1;
    s.create_membership(&m).await.unwrap();
    let first_20 = s
        .list_users(
            &lobby::storage::UserFilter {
                email: Some(email.clone()),
            },
            &lobby::storage::PageRequest::first(20),
        )
        .await
        .unwrap();
    assert!(
        first_20.items.iter().all(|u| u.password_hash.is_none()),
        "the password user is not among the first 20"
    );
    assert!(signs_in(&lobby, "erin@acme.test", PASSWORD).await);
    // And the reset finds it the same way.
    let r = ask_for_link(&lobby.browser(), "erin@acme.test").await;
    assert_eq!(r.status, 200);
    assert_eq!(mails_to(&lobby, "erin@acme.test", 1).await.len(), 1);
}
