//! The invitation email (captured by `mail::MemoryMailer`): what it says, the invitee listed
//! as `invited` from the start, resend (new token, old one dead, sent again), revoke and delete
//! (the `invited` membership goes, an active one never).

use super::*;
use crate::harness::TestApp;
use lobby::domain::TokenHash;
use reqwest::Method;
use serde_json::json;

/// app_crm (sales), org acme ("Acme Corp", #aa3300) linked to it, password sign-in.
async fn seed(t: &TestApp) {
    t.create(
        "/apps",
        json!({"id": "app_crm", "name": "CRM", "client_id": "crm",
               "redirect_uris": ["https://crm.example.com/cb"]}),
    )
    .await;
    t.create(
        "/apps/app_crm/roles",
        json!({"value": "sales", "name": "Sales"}),
    )
    .await;
    t.create(
        "/apps/app_crm/role-groups",
        json!({"id": "std", "name": "Standard", "roles": ["sales"]}),
    )
    .await;
    t.create(
        "/orgs",
        json!({"id": "acme", "slug": "acme", "name": "Acme",
               "branding": {"display_name": "Acme Corp", "primary_color": "#AA3300"}}),
    )
    .await;
    t.create(
        "/orgs/acme/apps",
        json!({"app_id": "app_crm", "allowed_role_groups": ["std"]}),
    )
    .await;
}

#[tokio::test]
async fn creating_an_invitation_sends_a_branded_email_and_lists_the_invitee_as_invited() {
    let t = TestApp::start().await;
    seed(&t).await;
    let inv = invite(
        &t.base,
        "acme",
        json!({"email": "Dana@Example.com", "roles": {"app_crm": ["sales"]}, "inviter_name": "Bob <b>Builder</b>"}),
    )
    .await;
    assert_eq!(inv["email_sent"], true);
    let token = inv["token"].as_str().unwrap();
    let link = format!("{}/invite/{token}", t.state.config.issuer());
    assert_eq!(inv["link"], link.as_str());
    let sent = t.mail.sent();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.to, "dana@example.com");
    assert_eq!(
        m.subject,
        "Bob <b>Builder</b> invited you to Acme Corp on CRM"
    );
    for part in [&m.text, &m.html] {
        assert!(part.contains(&link), "the link: {part}");
        assert!(part.contains("Acme Corp"), "the org: {part}");
        assert!(part.contains("CRM"), "the app: {part}");
        assert!(part.contains("expires on"), "the expiry: {part}");
    }
    assert!(
        m.text.contains("Bob <b>Builder</b> invited you"),
        "{}",
        m.text
    );
    // HTML: the org's colour, and the inviter's name escaped (never markup).
    assert!(m.html.contains("#aa3300"), "{}", m.html);
    assert!(
        m.html.contains("Bob &#60;b&#62;Builder&#60;/b&#62;")
            || m.html.contains("Bob &lt;b&gt;Builder&lt;/b&gt;"),
        "{}",
        m.html
    );
    assert!(!m.html.contains("<b>Builder"), "{}", m.html);

    // The invitee is a member from now on, `invited`, with the invited roles.
    let user = inv["user_id"].as_str().unwrap();
    let (s, member) = t.get(&format!("/orgs/acme/members/{user}")).await;
    assert_eq!(s, 200, "{member}");
    assert_eq!(member["status"], "invited");
    assert_eq!(member["roles"], json!({"app_crm": ["sales"]}));
    let (_, list) = t.get("/orgs/acme/invitations").await;
    assert_eq!(list["items"][0]["status"], "pending");
    assert_eq!(list["items"][0]["inviter_name"], "Bob <b>Builder</b>");
    // A second invitation for the same person while this one stands: resend instead.
    let (s, v) = t
        .post(
            "/orgs/acme/invitations",
            json!({"email": "dana@example.com", "roles": {"app_crm": ["sales"]}}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (409, Some("already_invited")),
        "{v}"
    );
}

#[tokio::test]
async fn resend_gives_a_new_token_and_the_old_one_dies() {
    let t = TestApp::start().await;
    seed(&t).await;
    let inv = invite(
        &t.base,
        "acme",
        json!({"email": "erin@example.com", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
    let old = inv["token"].as_str().unwrap().to_owned();
    let id = inv["id"].as_str().unwrap();
    let (s, again) = t
        .post(&format!("/orgs/acme/invitations/{id}/resend"), json!({}))
        .await;
    assert_eq!(s, 200, "{again}");
    let new = again["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(again["email_sent"], true);
    let sent = t.mail.sent_to("erin@example.com");
    assert_eq!(sent.len(), 2, "sent again");
    assert!(sent[1].text.contains(&new) && !sent[1].text.contains(&old));
    // The old token names nothing any more; the new one works.
    assert!(
        t.storage
            .find_invitation_by_token(&TokenHash::of(&old))
            .await
            .unwrap()
            .is_none()
    );
    let c = reqwest::Client::new();
    let r = c
        .get(t.url(&format!("/invite/{old}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains(UNKNOWN));
    let r = c
        .get(t.url(&format!("/invite/{new}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Same invitation, same member, still invited.
    assert_eq!(again["id"], inv["id"]);
    assert_eq!(
        member_status(&t.base, "acme", inv["user_id"].as_str().unwrap())
            .await
            .as_deref(),
        Some("invited")
    );
    // A revoked invitation cannot be resent.
    let (s, _) = t
        .patch(
            &format!("/orgs/acme/invitations/{id}"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = t
        .post(&format!("/orgs/acme/invitations/{id}/resend"), json!({}))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (409, Some("invitation_closed"))
    );
    assert_eq!(t.mail.sent_to("erin@example.com").len(), 2);
}

#[tokio::test]
async fn revoke_and_delete_remove_only_the_invited_membership() {
    let t = TestApp::start().await;
    seed(&t).await;
    let a = invite(
        &t.base,
        "acme",
        json!({"email": "a@example.com", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
    let user_a = a["user_id"].as_str().unwrap();
    let (s, _) = t
        .patch(
            &format!("/orgs/acme/invitations/{}", a["id"].as_str().unwrap()),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(member_status(&t.base, "acme", user_a).await, None);
    // The profile stays (a user without memberships).
    assert_eq!(t.get(&format!("/users/{user_a}")).await.0, 200);

    let b = invite(
        &t.base,
        "acme",
        json!({"email": "b@example.com", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
    let user_b = b["user_id"].as_str().unwrap();
    assert_eq!(
        t.delete(&format!(
            "/orgs/acme/invitations/{}",
            b["id"].as_str().unwrap()
        ))
        .await
        .0,
        204
    );
    assert_eq!(member_status(&t.base, "acme", user_b).await, None);

    // An invitation whose member became active (here: by the operator) keeps the member when
    // it is deleted.
    let c = invite(
        &t.base,
        "acme",
        json!({"email": "c@example.com", "roles": {"app_crm": ["sales"]}}),
    )
    .await;
    let user_c = c["user_id"].as_str().unwrap();
    let (s, m) = t
        .patch(
            &format!("/orgs/acme/members/{user_c}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        t.delete(&format!(
            "/orgs/acme/invitations/{}",
            c["id"].as_str().unwrap()
        ))
        .await
        .0,
        204
    );
    assert_eq!(
        member_status(&t.base, "acme", user_c).await.as_deref(),
        Some("active")
    );
    let _ = api(&t.base, Method::GET, "/orgs/acme/members", None).await;
}

/// `locale: "de"`: the invitation email in German (formal "Sie"), both parts; resend with
/// `?locale=de` too, and without it the email is English.
#[tokio::test]
async fn an_invitation_email_in_german() {
    let t = TestApp::start().await;
    seed(&t).await;
    let inv = invite(
        &t.base,
        "acme",
        json!({"email": "greta@example.com", "roles": {"app_crm": ["sales"]}, "locale": "de-AT"}),
    )
    .await;
    assert_eq!(inv["email_sent"], true);
    let sent = t.mail.sent_to("greta@example.com");
    let m = &sent[0];
    // Nobody named as inviter: "an administrator of" the org, in German.
    assert_eq!(
        m.subject,
        "Ein Administrator von Acme Corp hat Sie zu Acme Corp in CRM eingeladen"
    );
    assert!(
        m.text.contains(
            "Ein Administrator von Acme Corp hat Sie eingeladen, Acme Corp in CRM beizutreten."
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("Einladung annehmen:"), "{}", m.text);
    assert!(
        m.text.contains("Sie wählen ein Passwort für Ihr Konto."),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Der Link funktioniert einmal und läuft am "),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("Anmeldung gesichert durch Lobby"),
        "{}",
        m.text
    );
    assert!(m.html.contains("<html lang=\"de\">"), "{}", m.html);
    assert!(m.html.contains("Ihre Einladung zu CRM"), "{}", m.html);
    assert!(
        m.html
            .contains("<strong>Acme Corp</strong> in <strong>CRM</strong>"),
        "{}",
        m.html
    );
    assert!(m.html.contains(">Einladung annehmen</a>"), "{}", m.html);
    for part in [&m.text, &m.html] {
        assert!(!part.contains("invited you"), "English left in {part}");
        // The expiry date in German words: "am 13. Dezember 2026 um 04:45 UTC".
        let months = [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ];
        assert!(
            months.iter().any(|mo| part.contains(&format!(". {mo} "))),
            "{part}"
        );
    }
    // Resend in German, then in English (the language is not stored).
    let id = inv["id"].as_str().unwrap();
    let (s, _) = t
        .post(
            &format!("/orgs/acme/invitations/{id}/resend?locale=de"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t
        .post(&format!("/orgs/acme/invitations/{id}/resend"), json!({}))
        .await;
    assert_eq!(s, 200);
    let sent = t.mail.sent_to("greta@example.com");
    assert_eq!(sent.len(), 3);
    assert!(
        sent[1].subject.contains("hat Sie zu"),
        "{}",
        sent[1].subject
    );
    assert!(
        sent[2].subject.contains("invited you to"),
        "{}",
        sent[2].subject
    );
}
