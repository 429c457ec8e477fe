//! The Members and Invitations pages' writes: app roles offered only from the allowed role
//! groups, changes through the admin service (audited as the person), suspend and remove with
//! their confirmation pages, invitations sent, resent and revoked, and operators acting as
//! people in the audit log.

use super::{add_admin, csrf, signed_in};
use crate::provider::fixture::{Backends, Lobby, org_id, rv, user_id};
use lobby::domain::*;
use lobby::storage::{AuditFilter, PageRequest};

async fn last_audit(lobby: &Lobby, action: &str) -> AuditEvent {
    lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some(action.into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {action} event"))
}

async fn membership(lobby: &Lobby, org: &str, user: &str) -> Option<Membership> {
    lobby
        .storage()
        .get_membership(&org_id(org), &user_id(user))
        .await
        .unwrap()
}

#[tokio::test]
async fn roles_offered_are_the_allowed_ones_and_changes_are_audited_as_the_person() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let page = b.get("/portal/orgs/acme/members/alice").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // acme's crm link allows the `broad` group: sales, after-sales, finance.
    for v in [
        "crm:sales",
        "crm:after-sales",
        "crm:finance",
        "portal:viewer",
    ] {
        assert!(page.body.contains(&format!("value=\"{v}\"")), "{v}");
    }
    let t = page.hidden("_csrf");
    let r = b
        .post(
            "/portal/orgs/acme/members/alice/roles",
            &[
                ("_csrf", &t),
                ("roles", "crm:after-sales"),
                ("roles", "portal:viewer"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/portal/orgs/acme/members/alice");
    let m = membership(&lobby, "acme", "alice").await.unwrap();
    assert_eq!(
        m.roles.get(&AppId::parse("crm").unwrap()).unwrap(),
        &[rv("after-sales")].into_iter().collect()
    );
    let ev = last_audit(&lobby, "member.update").await;
    assert_eq!(ev.actor, "user:bob");
    // The flash shows once.
    let page = b.get("/portal/orgs/acme/members/alice").await;
    assert!(page.body.contains("The app roles were saved."));
    assert!(
        !b.get("/portal/orgs/acme/members/alice")
            .await
            .body
            .contains("were saved")
    );
    // A role outside the allowed groups is refused, tied to the field.
    let globex_like = b
        .post(
            "/portal/orgs/acme/members/alice/roles",
            &[("_csrf", &t), ("roles", "crm:nonexistent")],
        )
        .await;
    assert_eq!(globex_like.status, 400, "{}", globex_like.body);
    assert!(globex_like.body.contains("id=\"roles-error\""));
    assert!(globex_like.body.contains("aria-invalid=\"true\""));
    // Org roles.
    let r = b
        .post(
            "/portal/orgs/acme/members/alice/org-roles",
            &[
                ("_csrf", &t),
                ("org_roles", "member_admin"),
                ("org_roles", "viewer"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let m = membership(&lobby, "acme", "alice").await.unwrap();
    assert_eq!(
        m.org_roles,
        [OrgRole::MemberAdmin, OrgRole::Viewer]
            .into_iter()
            .collect()
    );
}

#[tokio::test]
async fn the_list_searches_filters_and_pages() {
    let lobby = Lobby::start().await;
    add_admin(&lobby, "zed", "zed@acme.test", "acme", &[]).await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let row = |u: &str| format!("data-user-id=\"{u}\"");
    let shows = |r: &crate::provider::fixture::Resp, yes: &[&str], no: &[&str]| {
        for u in yes {
            assert!(r.body.contains(&row(u)), "{u} missing: {}", r.body);
        }
        for u in no {
            assert!(!r.body.contains(&row(u)), "{u} shown");
        }
    };
    let all = b.get("/portal/orgs/acme/members").await;
    shows(&all, &["alice", "bob", "zed"], &[]);
    shows(
        &b.get("/portal/orgs/acme/members?q=ALI").await,
        &["alice"],
        &["bob", "zed"],
    );
    shows(
        &b.get("/portal/orgs/acme/members?role=crm%3Afinance").await,
        &["alice"],
        &["bob", "zed"],
    );
    shows(
        &b.get("/portal/orgs/acme/members?role=org_admin").await,
        &["bob"],
        &["alice", "zed"],
    );
    shows(
        &b.get("/portal/orgs/acme/members?app=crm&status=active")
            .await,
        &["alice", "bob"],
        &["zed"],
    );
    shows(
        &b.get("/portal/orgs/acme/members?status=suspended").await,
        &[],
        &["alice", "bob", "zed"],
    );
    let p1 = b.get("/portal/orgs/acme/members?limit=2").await;
    shows(&p1, &["alice", "bob"], &["zed"]);
    let next = p1.body.split("id=\"next-page\"").next().unwrap();
    let href = next.rsplit("href=\"").next().unwrap();
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let p2 = b.get(&href).await;
    assert_eq!(p2.status, 200);
    shows(&p2, &["zed"], &["alice", "bob"]);
    assert_eq!(b.get("/portal/orgs/acme/members?limit=0").await.status, 400);
}

/// Filters survive paging (the "next" link carries them; the database pages the filtered
/// list), the count is of the filtered members, and roles read with app names.
#[tokio::test]
async fn filtered_pages_keep_their_filter_and_name_apps() {
    let lobby = Lobby::start().await;
    add_admin(&lobby, "zed1", "zed1@acme.test", "acme", &[]).await;
    add_admin(&lobby, "zed2", "zed2@acme.test", "acme", &[]).await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    // Of acme's members only zed1 and zed2 have "ZED" in their email or name.
    let mut href = "/portal/orgs/acme/members?q=ZED&limit=1".to_owned();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let page = b.get(&href).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("2 members match."), "{}", page.body);
        let rows: Vec<&str> = page
            .body
            .split("data-user-id=\"")
            .skip(1)
            .map(|r| &r[..r.find('"').unwrap()])
            .collect();
        assert_eq!(rows.len(), 1, "one per page");
        seen.push(rows[0].to_owned());
        let Some(at) = page.body.find("id=\"next-page\"") else {
            break;
        };
        let before = &page.body[..at];
        let h = before.rsplit("href=\"").next().unwrap();
        href = h[..h.find('"').unwrap()]
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        assert!(href.contains("q=ZED") && href.contains("limit=1"), "{href}");
    }
    assert_eq!(seen, ["zed1", "zed2"]);
    // App names, not ids, in the roles column.
    let page = b.get("/portal/orgs/acme/members?q=alice").await;
    assert!(page.body.contains("CRM: finance, sales"), "{}", page.body);
    assert!(!page.body.contains("crm: finance"), "{}", page.body);
}

#[tokio::test]
async fn suspend_and_remove_say_what_happens_first() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let confirm = b.get("/portal/orgs/acme/members/alice/suspend").await;
    assert_eq!(confirm.status, 200);
    // The seeded apps revoke on every member event.
    assert!(
        confirm.body.contains("refresh tokens are revoked now"),
        "{}",
        confirm.body
    );
    let t = confirm.hidden("_csrf");
    let r = b
        .post("/portal/orgs/acme/members/alice/suspend", &[("_csrf", &t)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        membership(&lobby, "acme", "alice").await.unwrap().status,
        MemberStatus::Suspended
    );
    let r = b
        .post(
            "/portal/orgs/acme/members/alice/reactivate",
            &[("_csrf", &t)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        membership(&lobby, "acme", "alice").await.unwrap().status,
        MemberStatus::Active
    );
    let confirm = b.get("/portal/orgs/acme/members/alice/remove").await;
    assert!(
        confirm
            .body
            .contains("Their membership of this organization")
    );
    let r = b
        .post("/portal/orgs/acme/members/alice/remove", &[("_csrf", &t)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/portal/orgs/acme/members");
    assert!(membership(&lobby, "acme", "alice").await.is_none());
    assert_eq!(last_audit(&lobby, "member.delete").await.actor, "user:bob");
}

#[tokio::test]
async fn invitations_are_sent_resent_and_revoked() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let t = csrf(&b, "/portal/orgs/acme/invitations").await;
    // A bad email is tied to its field.
    let bad = b
        .post(
            "/portal/orgs/acme/invitations",
            &[("_csrf", &t), ("email", "not-an-email")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("aria-describedby=\"email-error\""));
    let r = b
        .post(
            "/portal/orgs/acme/invitations",
            &[
                ("_csrf", &t),
                ("email", "erin@acme.test"),
                ("app", "crm"),
                ("roles", "crm:sales"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mails = lobby.mail.sent_to("erin@acme.test");
    assert_eq!(mails.len(), 1);
    let list = b.get("/portal/orgs/acme/invitations").await;
    assert!(
        list.body
            .contains("The invitation was sent to erin@acme.test.")
    );
    assert!(list.body.contains("data-email=\"erin@acme.test\""));
    let inv = lobby
        .storage()
        .list_invitations(&org_id("acme"), &PageRequest::first(5))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(inv.invited_by, "user:bob");
    let r = b
        .post(
            &format!("/portal/orgs/acme/invitations/{}/resend", inv.id),
            &[("_csrf", &t)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(lobby.mail.sent_to("erin@acme.test").len(), 2);
    let r = b
        .post(
            &format!("/portal/orgs/acme/invitations/{}/revoke", inv.id),
            &[("_csrf", &t)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let revoked = b.get("/portal/orgs/acme/invitations?state=revoked").await;
    assert!(revoked.body.contains("data-email=\"erin@acme.test\""));
    assert!(
        !b.get("/portal/orgs/acme/invitations")
            .await
            .body
            .contains("data-email=\"erin@acme.test\"")
    );
}

#[tokio::test]
async fn operators_reach_every_org_and_are_audited_as_people() {
    let lobby = Lobby::boot(Backends {
        config: Some(|c| c.operator_org = Some("acme".into())),
        ..Backends::default()
    })
    .await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let home = b.get("/portal").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("operator-home"));
    let page = b.get("/portal/orgs/globex/members/bob").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = page.hidden("_csrf");
    let r = b
        .post(
            "/portal/orgs/globex/members/bob/roles",
            &[("_csrf", &t), ("roles", "crm:sales")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let ev = last_audit(&lobby, "member.update").await;
    assert_eq!(
        ev.actor, "user:bob",
        "an operator is a person in the audit log"
    );
    // Without LOBBY_OPERATOR_ORG nobody is an operator.
    let plain = Lobby::start().await;
    let b = signed_in(&plain, "bob@acme.test").await;
    assert_eq!(b.get("/portal/orgs/globex").await.status, 404);
}

#[tokio::test]
async fn an_invitation_from_a_german_portal_is_sent_in_german() {
    let lobby = Lobby::start().await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    b.set_header("accept-language", "de-DE,de;q=0.9");
    let t = csrf(&b, "/portal/orgs/acme/invitations").await;
    let r = b
        .post(
            "/portal/orgs/acme/invitations",
            &[
                ("_csrf", &t),
                ("email", "erin@acme.test"),
                ("app", "crm"),
                ("roles", "crm:sales"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let m = lobby.mail.sent_to("erin@acme.test").remove(0);
    assert!(m.text.contains("Einladung annehmen:"), "{}", m.text);
    // Resent from an English portal: the new email is in English.
    b.set_header("accept-language", "en");
    let inv = lobby
        .storage()
        .list_invitations(&org_id("acme"), &PageRequest::first(5))
        .await
        .unwrap()
        .items
        .remove(0);
    let r = b
        .post(
            &format!("/portal/orgs/acme/invitations/{}/resend", inv.id),
            &[("_csrf", &t)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mails = lobby.mail.sent_to("erin@acme.test");
    assert_eq!(mails.len(), 2);
    assert!(
        !mails[1].text.contains("Einladung annehmen:"),
        "{}",
        mails[1].text
    );
}
