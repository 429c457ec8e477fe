//! The operator's link settings (just-in-time membership, its default roles, which connections
//! the app uses), the app's `revoke_on` events, and deleting an app after a confirmation page:
//! each through the admin layer's service, refused in plain words when the service refuses,
//! 404 for everyone who is not an operator.

use super::{post, start, text};
use crate::provider::fixture::{app_id, org_id, rv};
use lobby::domain::{ConnectionId, LinkAuthPolicy, MemberEvent};
use lobby::storage::{AuditFilter, PageRequest};

fn as_operator(c: &mut lobby::config::Config) {
    c.operator_org = Some("acme".into());
}

const LINKS: &str = "/portal/admin/orgs/acme/apps";
const CRM_SETTINGS: &str = "/portal/admin/orgs/acme/apps/crm/settings";

async fn crm_link(p: &super::Portal) -> lobby::domain::OrgAppLink {
    p.lobby
        .storage()
        .get_link(&org_id("acme"), &app_id("crm"))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn operators_set_jit_default_roles_and_connections_of_a_link() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get(LINKS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The form shows the current settings: no JIT, roles of the allowed group `broad`, the
    // org's connections.
    assert!(page.body.contains(&format!("action=\"{CRM_SETTINGS}\"")));
    assert!(page.body.contains("id=\"jit-crm\" name=\"jit\""));
    assert!(
        !page
            .body
            .contains("id=\"jit-crm\" name=\"jit\" aria-describedby=\"jit-crm-hint\" checked")
    );
    for r in ["sales", "after-sales", "finance"] {
        assert!(page.body.contains(&format!("id=\"dr-crm-{r}\"")), "{r}");
    }
    assert!(page.body.contains("id=\"conn-crm-acme-pw\""));
    let version = crm_link(&p).await.version.to_string();

    // JIT with two default roles, only the password connection.
    let r = post(
        &b,
        LINKS,
        CRM_SETTINGS,
        &[
            ("version", &version),
            ("jit", "on"),
            ("role", "sales"),
            ("role", "finance"),
            ("policy", "connections"),
            ("connection", "acme-pw"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let l = crm_link(&p).await;
    assert!(l.jit);
    assert_eq!(l.default_roles, [rv("sales"), rv("finance")].into());
    assert_eq!(
        l.auth_policy,
        LinkAuthPolicy::Connections {
            connection_ids: vec![ConnectionId::parse("acme-pw").unwrap()]
        }
    );
    let page = b.get(LINKS).await;
    assert!(text(&page).contains("Sign-in settings saved."));
    assert!(
        page.body
            .contains("id=\"dr-crm-finance\" name=\"role\" value=\"finance\" checked")
    );
    let ev = p
        .lobby
        .storage()
        .list_audit(
            &AuditFilter {
                action: Some("link.update".into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(ev.items[0].actor, "user:bob", "audited as the person");

    // A stale form: refused with the current settings shown, nothing changed.
    let r = post(
        &b,
        LINKS,
        CRM_SETTINGS,
        &[("version", &version), ("policy", "inherit")],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(text(&r).contains("Someone else changed this link"));
    assert!(crm_link(&p).await.jit);

    // The service's rules hold: a default role outside the allowed groups is refused in words.
    let version = p
        .lobby
        .storage()
        .get_link(&org_id("globex"), &app_id("crm"))
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let r = post(
        &b,
        "/portal/admin/orgs/globex/apps",
        "/portal/admin/orgs/globex/apps/crm/settings",
        &[("version", &version), ("jit", "on"), ("role", "finance")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let g = p
        .lobby
        .storage()
        .get_link(&org_id("globex"), &app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    assert!(!g.jit && g.default_roles.is_empty());
    // Another org's connection is refused too.
    let version = crm_link(&p).await.version.to_string();
    let r = post(
        &b,
        LINKS,
        CRM_SETTINGS,
        &[
            ("version", &version),
            ("policy", "connections"),
            ("connection", "globex-pw"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(matches!(
        crm_link(&p).await.auth_policy,
        LinkAuthPolicy::Connections { .. }
    ));
    // Back to the app's default.
    let r = post(
        &b,
        LINKS,
        CRM_SETTINGS,
        &[("version", &version), ("policy", "inherit")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let l = crm_link(&p).await;
    assert_eq!(l.auth_policy, LinkAuthPolicy::Inherit);
    assert!(!l.jit && l.default_roles.is_empty());
}

#[tokio::test]
async fn operators_choose_the_events_that_revoke_an_apps_tokens() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let app = "/portal/admin/apps/crm";
    let page = b.get(app).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(
        "id=\"revoke-member_suspended\" name=\"revoke_on\" value=\"member_suspended\" checked"
    ));
    let version = p
        .lobby
        .storage()
        .get_app(&app_id("crm"))
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let r = post(
        &b,
        app,
        app,
        &[
            ("version", &version),
            ("name", "CRM"),
            ("redirect_uris", crate::provider::fixture::CRM_CB),
            (
                "post_logout_redirect_uris",
                crate::provider::fixture::CRM_BYE,
            ),
            ("invite_ttl_days", "1"),
            ("revoke_on_shown", "1"),
            ("revoke_on", "member_removed"),
            ("revoke_on", "org_unlinked"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let a = p
        .lobby
        .storage()
        .get_app(&app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.revoke_on,
        [MemberEvent::MemberRemoved, MemberEvent::OrgUnlinked].into()
    );
    // A form without the boxes (an older page) leaves them as they are.
    let r = post(
        &b,
        app,
        app,
        &[
            ("version", &a.version.to_string()),
            ("name", "CRM 2"),
            ("redirect_uris", crate::provider::fixture::CRM_CB),
            ("invite_ttl_days", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let a = p
        .lobby
        .storage()
        .get_app(&app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.name, "CRM 2");
    assert_eq!(a.revoke_on.len(), 2);
}

#[tokio::test]
async fn operators_delete_an_app_after_a_confirmation_page() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let del = "/portal/admin/apps/crm/delete";
    let page = b.get("/portal/admin/apps/crm").await;
    assert!(page.body.contains(&format!("href=\"{del}\"")));
    let confirm = b.get(del).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let words = text(&confirm);
    assert!(words.contains("Delete the app CRM?"), "{words}");
    // Names the linked orgs and what goes with the app.
    for o in ["Acme", "Globex", "Initech"] {
        assert!(words.contains(o), "{o}: {words}");
    }
    assert!(words.contains("3 role(s) and 2 role group(s)"), "{words}");
    assert!(words.contains("cannot be undone"));
    assert!(words.contains(&format!("action=\"{del}\"")));
    // The GET deleted nothing; a POST without the CSRF token neither.
    assert!(
        p.lobby
            .storage()
            .get_app(&app_id("crm"))
            .await
            .unwrap()
            .is_some()
    );
    let r = b.post(del, &[("_csrf", "nope")]).await;
    assert_eq!(r.status, 403);
    assert!(
        p.lobby
            .storage()
            .get_app(&app_id("crm"))
            .await
            .unwrap()
            .is_some()
    );

    let r = post(&b, del, del, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/portal/admin/apps");
    assert!(
        p.lobby
            .storage()
            .get_app(&app_id("crm"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.lobby
            .storage()
            .get_link(&org_id("acme"), &app_id("crm"))
            .await
            .unwrap()
            .is_none()
    );
    let page = b.get("/portal/admin/apps").await;
    assert!(text(&page).contains("CRM was deleted."));
    let ev = p
        .lobby
        .storage()
        .list_audit(
            &AuditFilter {
                action: Some("app.delete".into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(ev.items[0].actor, "user:bob");
    // Gone: its pages are 404s.
    assert_eq!(b.get(del).await.status, 404);
}

#[tokio::test]
async fn link_settings_and_app_deletion_are_404_for_org_admins() {
    let p = start(None).await;
    let b = p.signed_in("bob@acme.test").await;
    let csrf = super::csrf(&b, "/portal/orgs/acme").await;
    for (path, form) in [
        (CRM_SETTINGS, vec![("_csrf", csrf.as_str()), ("jit", "on")]),
        (
            "/portal/admin/apps/crm/delete",
            vec![("_csrf", csrf.as_str())],
        ),
    ] {
        assert_eq!(b.post(path, &form).await.status, 404, "{path}");
    }
    assert_eq!(b.get("/portal/admin/apps/crm/delete").await.status, 404);
    assert!(!crm_link(&p).await.jit);
    assert!(
        p.lobby
            .storage()
            .get_app(&app_id("crm"))
            .await
            .unwrap()
            .is_some()
    );
}
