//! The vendor operator's pages: 404 for everyone who is not an operator; for an operator
//! (an `org_admin` of `LOBBY_OPERATOR_ORG`): every org with search, creating orgs, linking
//! apps with their allowed role groups, apps with settings, roles and role groups. Writes are
//! audited as the person.

use super::{field_error, post, start, text};
use crate::provider::fixture::{app_id, org_id};
use lobby::domain::{RoleGroupId, RoleValue, Slug};
use lobby::storage::{AuditFilter, PageRequest};

fn as_operator(c: &mut lobby::config::Config) {
    c.operator_org = Some("acme".into());
}

/// The newest audit event of `action` (tenant-wide).
async fn last(p: &super::Portal, action: &str) -> lobby::domain::AuditEvent {
    p.lobby
        .storage()
        .list_audit(
            &AuditFilter {
                action: Some(action.into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items
        .remove(0)
}

#[tokio::test]
async fn operator_pages_are_404_for_org_admins() {
    // Without LOBBY_OPERATOR_ORG nobody is an operator; gus is globex's org_admin.
    let p = start(None).await;
    for (email, home) in [
        ("bob@acme.test", "/portal/orgs/acme"),
        ("gus@globex.test", "/portal/orgs/globex"),
    ] {
        let b = p.signed_in(email).await;
        for path in [
            "/portal/admin",
            "/portal/admin/apps",
            "/portal/admin/apps/crm",
            "/portal/admin/orgs/acme/apps",
            "/portal/admin/orgs/acme/apps/crm/unlink",
            "/portal/admin/apps/crm/roles/sales/delete",
            "/portal/admin/apps/crm/role-groups/narrow/delete",
        ] {
            assert_eq!(b.get(path).await.status, 404, "{email} GET {path}");
        }
        let page = b.get(home).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            !page.body.contains("/portal/admin"),
            "{email} sees an operator link"
        );
        for path in [
            "/portal/admin/orgs",
            "/portal/admin/apps",
            "/portal/admin/apps/crm",
            "/portal/admin/apps/crm/rotate-secret",
            "/portal/admin/apps/crm/roles",
            "/portal/admin/apps/crm/role-groups",
            "/portal/admin/orgs/globex/apps",
            "/portal/admin/orgs/acme/apps/crm",
            "/portal/admin/orgs/acme/apps/crm/unlink",
        ] {
            let r = post(&b, home, path, &[("name", "X"), ("slug", "xx")]).await;
            assert_eq!(r.status, 404, "{email} POST {path}");
        }
    }
    assert!(
        p.lobby
            .storage()
            .get_link(&org_id("acme"), &app_id("crm"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn operators_search_and_create_orgs_and_link_apps() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get("/portal/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for name in ["Acme", "Globex", "Initech"] {
        assert!(page.body.contains(name), "{name}");
    }
    let found = b.get("/portal/admin?q=glob").await;
    assert!(found.body.contains("Globex") && !found.body.contains(">Initech<"));
    assert!(text(&found).contains("1 organization match"));

    // Create: errors next to their fields, then an org under globex.
    let r = post(
        &b,
        "/portal/admin",
        "/portal/admin/orgs",
        &[
            ("name", "Umbrella"),
            ("slug", "Umbrella!"),
            ("parent", "nope"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(field_error(&r, "slug").starts_with("The short name must be"));
    assert_eq!(
        field_error(&r, "parent"),
        "There is no organization with this short name."
    );
    let r = post(
        &b,
        "/portal/admin",
        "/portal/admin/orgs",
        &[
            ("name", "Umbrella"),
            ("slug", "umbrella"),
            ("parent", "globex"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let umbrella = p
        .lobby
        .storage()
        .get_org_by_slug(&Slug::parse("umbrella").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(umbrella.parent_id, Some(org_id("globex")));
    assert_eq!(last(&p, "org.create").await.actor, "user:bob");
    let links = r.location();
    assert_eq!(links, format!("/portal/admin/orgs/{}/apps", umbrella.id));

    // Link crm, then allow role groups: globex allows only `narrow`, so `broad` is refused.
    let r = post(&b, &links, &links, &[("app_id", "crm")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let link_path = format!("{links}/crm");
    let r = post(&b, &links, &link_path, &[("g.broad", "on")]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        text(&r).contains("not allowed for the parent organization"),
        "{}",
        r.body
    );
    let r = post(&b, &links, &link_path, &[("g.narrow", "on")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let link = p
        .lobby
        .storage()
        .get_link(&umbrella.id, &app_id("crm"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        link.allowed_role_groups.into_iter().collect::<Vec<_>>(),
        [RoleGroupId::parse("narrow").unwrap()]
    );
    assert_eq!(last(&p, "link.update").await.actor, "user:bob");
    let page = b.get(&links).await;
    assert!(
        page.body.contains("name=\"g.narrow\" checked"),
        "{}",
        page.body
    );

    // Unlink: the confirmation says what happens to tokens.
    let unlink = format!("{link_path}/unlink");
    let confirm = b.get(&unlink).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(text(&confirm).contains("refresh tokens for CRM are revoked at once"));
    let r = post(&b, &links, &unlink, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        p.lobby
            .storage()
            .get_link(&umbrella.id, &app_id("crm"))
            .await
            .unwrap()
            .is_none()
    );
    // Operators open any org's pages.
    assert_eq!(b.get("/portal/orgs/initech/domains").await.status, 200);
}

#[tokio::test]
async fn operators_manage_apps_roles_and_role_groups() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let apps = "/portal/admin/apps";
    let page = b.get(apps).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("CRM"));

    let r = post(
        &b,
        apps,
        apps,
        &[
            ("name", "Billing"),
            ("client_type", "confidential"),
            ("redirect_uris", "ftp://x"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        field_error(&r, "redirect_uris").starts_with("Line 1:"),
        "{}",
        r.body
    );
    let r = post(
        &b,
        apps,
        apps,
        &[
            ("name", "Billing"),
            ("client_type", "confidential"),
            ("redirect_uris", "https://billing.example/cb\r\n"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = r.hidden_readonly("client-secret");
    assert!(secret.len() >= 32, "the secret is shown once: {}", r.body);
    let all = lobby::admin::service::all_apps(p.lobby.storage())
        .await
        .unwrap();
    let billing = all.iter().find(|a| a.name == "Billing").unwrap();
    assert!(billing.client_secret_hash.as_ref().unwrap().verify(&secret));
    assert_eq!(billing.redirect_uris, ["https://billing.example/cb"]);
    let app = format!("/portal/admin/apps/{}", billing.id);
    let page = b.get(&app).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&secret), "never shown again");

    // Settings.
    let r = post(
        &b,
        &app,
        &app,
        &[
            ("name", "Billing 2"),
            ("redirect_uris", "https://billing.example/cb"),
            ("invite_ttl_days", "0"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "invite_ttl_days").contains("between 1 and 90"));
    let r = post(
        &b,
        &app,
        &app,
        &[
            ("name", "Billing 2"),
            (
                "redirect_uris",
                "https://billing.example/cb\nhttps://billing.example/cb2",
            ),
            ("invite_ttl_days", "3"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let stored = p
        .lobby
        .storage()
        .get_app(&billing.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Billing 2");
    assert_eq!(stored.redirect_uris.len(), 2);
    assert_eq!(stored.invite_ttl_secs, 3 * 86_400);
    assert_eq!(last(&p, "app.update").await.actor, "user:bob");

    // Roles.
    let roles = format!("{app}/roles");
    let r = post(
        &b,
        &app,
        &roles,
        &[("value", "no spaces allowed"), ("name", "X")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "value").starts_with("A role value must be"));
    let r = post(
        &b,
        &app,
        &roles,
        &[
            ("value", "payer"),
            ("name", "Payer"),
            ("description", "Pays"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = post(
        &b,
        &app,
        &format!("{roles}/payer"),
        &[("name", "Payer of bills"), ("description", "")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let role = p
        .lobby
        .storage()
        .get_role(&billing.id, &RoleValue::parse("payer").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role.name, "Payer of bills");

    // Role groups.
    let groups = format!("{app}/role-groups");
    let r = post(&b, &app, &groups, &[("name", ""), ("r.payer", "on")]).await;
    assert_eq!(r.status, 422);
    assert!(!field_error(&r, "group-name").is_empty());
    let r = post(&b, &app, &groups, &[("name", "Payers"), ("r.payer", "on")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let group = p
        .lobby
        .storage()
        .list_role_groups(&billing.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(group.roles.len(), 1);
    // A role still in a group cannot go: said next to the role.
    let r = post(&b, &app, &format!("{roles}/payer/delete"), &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(text(&r).contains("still part of role group"));
    // Empty the group, rename it, delete it, then the role.
    let gpath = format!("{groups}/{}", group.id);
    let r = post(&b, &app, &gpath, &[("name", "Nobody")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let g = p
        .lobby
        .storage()
        .get_role_group(&billing.id, &group.id)
        .await
        .unwrap()
        .unwrap();
    assert!(g.roles.is_empty() && g.name == "Nobody");
    let confirm = b.get(&format!("{gpath}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(text(&confirm).contains("Delete the role group Nobody"));
    assert_eq!(
        post(&b, &app, &format!("{gpath}/delete"), &[]).await.status,
        303
    );
    assert_eq!(b.get(&format!("{roles}/payer/delete")).await.status, 200);
    assert_eq!(
        post(&b, &app, &format!("{roles}/payer/delete"), &[])
            .await
            .status,
        303
    );
    assert!(
        p.lobby
            .storage()
            .list_roles(&billing.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(last(&p, "role.delete").await.actor, "user:bob");

    // Rotating the secret shows the new one once.
    let r = post(&b, &app, &format!("{app}/rotate-secret"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.hidden_readonly("client-secret");
    assert_ne!(new, secret);
    let stored = p
        .lobby
        .storage()
        .get_app(&billing.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.client_secret_hash.unwrap().verify(&new));
}

trait ReadonlyValue {
    fn hidden_readonly(&self, id: &str) -> String;
}

impl ReadonlyValue for crate::provider::fixture::Resp {
    /// The value of the read-only input with this id.
    fn hidden_readonly(&self, id: &str) -> String {
        let at = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id} in {}", self.body));
        let rest = &self.body[at..];
        let v = rest.find("value=\"").unwrap() + 7;
        rest[v..v + rest[v..].find('"').unwrap()].to_owned()
    }
}
