//! The second factor in the portal: the operator sets a link's policy on the links page
//! (inherit, required, optional, off), and an org admin resets a member's second factor behind
//! a confirmation page, audited in the org.

use super::{post, start, text};
use crate::provider::fixture::{app_id, org_id, user_id};
use lobby::domain::{MfaPolicy, TotpFactor};
use lobby::storage::{AuditFilter, PageRequest};

fn as_operator(c: &mut lobby::config::Config) {
    c.operator_org = Some("acme".into());
}

const LINKS: &str = "/portal/admin/orgs/acme/apps";
const CRM_SETTINGS: &str = "/portal/admin/orgs/acme/apps/crm/settings";

#[tokio::test]
async fn operators_set_a_links_second_factor_policy() {
    let p = start(Some(as_operator)).await;
    let b = p.signed_in("bob@acme.test").await;
    let page = b.get(LINKS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("id=\"mfa-crm-inherit\" name=\"mfa\" value=\"inherit\" aria-describedby=\"mfa-crm-hint\" checked"),
        "{}",
        page.body
    );
    let link = || async {
        p.lobby
            .storage()
            .get_link(&org_id("acme"), &app_id("crm"))
            .await
            .unwrap()
            .unwrap()
    };
    for (value, want) in [
        ("required", Some(MfaPolicy::Required)),
        ("optional", Some(MfaPolicy::Optional)),
        ("inherit", None),
    ] {
        let version = link().await.version.to_string();
        let r = post(
            &b,
            LINKS,
            CRM_SETTINGS,
            &[("version", &version), ("policy", "inherit"), ("mfa", value)],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(link().await.mfa, want, "{value}");
    }
    let version = link().await.version.to_string();
    let r = post(
        &b,
        LINKS,
        CRM_SETTINGS,
        &[("version", &version), ("mfa", "sometimes")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn an_org_admin_resets_a_members_second_factor() {
    let p = start(None).await;
    let s = p.lobby.storage();
    s.enroll_totp(
        &TotpFactor {
            user_id: user_id("alice"),
            secret: lobby::domain::Secret::new("v1.not-a-real-secret"),
            last_step: None,
            created_at: time::OffsetDateTime::now_utc(),
        },
        &[],
    )
    .await
    .unwrap();
    let b = p.signed_in("bob@acme.test").await;
    let member = "/portal/orgs/acme/members/alice";
    let page = b.get(member).await;
    assert!(page.body.contains("id=\"mfa-reset\""), "{}", page.body);
    let confirm = b.get(&format!("{member}/mfa-reset")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        text(&confirm).contains("Reset the second factor of alice@acme.test?"),
        "{}",
        confirm.body
    );
    let r = post(
        &b,
        &format!("{member}/mfa-reset"),
        &format!("{member}/mfa-reset"),
        &[],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.get_totp(&user_id("alice")).await.unwrap(), None);
    let ev = s
        .list_audit(
            &AuditFilter {
                action: Some("member.mfa_reset".into()),
                ..Default::default()
            },
            &PageRequest::first(5),
        )
        .await
        .unwrap();
    assert_eq!(ev.items.len(), 1);
    assert_eq!(ev.items[0].org_id, Some(org_id("acme")));
    assert!(ev.items[0].actor.contains("bob"), "{}", ev.items[0].actor);
    assert!(text(&b.get(member).await).contains("Second factor reset."));
}
