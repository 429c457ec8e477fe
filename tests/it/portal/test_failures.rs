//! A test sign-in that fails before the identity provider is reached (`GET /sso/test/{ticket}`:
//! the IdP unreachable, its discovery document naming another issuer, the connection gone)
//! lands back in the portal's wizard with the reason in plain words and what to fix on the
//! identity provider step — not on the hosted error page — and is audited like any refused
//! sign-in. Nothing is signed in.

use super::signed_in;
use crate::provider::fixture::{Browser, Lobby, Resp, org_id};
use lobby::domain::*;
use lobby::storage::{AuditFilter, PageRequest};

/// An OIDC connection of acme (a draft, as in the wizard before activation) with `issuer`.
async fn oidc_connection(lobby: &Lobby, id: &str, issuer: &str) {
    let now = lobby.clock.now();
    lobby
        .storage()
        .create_connection(&Connection {
            id: ConnectionId::parse(id).unwrap(),
            org_id: org_id("acme"),
            name: "Acme OP".into(),
            state: ConnectionState::Draft,
            config: ConnectionConfig::Oidc(OidcConfig {
                issuer: issuer.into(),
                client_id: "lobby".into(),
                client_secret: None,
                scopes: vec!["openid".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                allowed_algs: vec!["RS256".into()],
                claims: ClaimMapping::default(),
                role_mapping: vec![],
                require_email_verified: true,
                email_authority: Default::default(),
            }),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
}

/// Press "Test sign-in" on the wizard's test step and follow Lobby's redirects (never the
/// IdP's); returns the last response.
async fn run_test(lobby: &Lobby, b: &Browser, id: &str) -> Resp {
    let base = format!("/portal/orgs/acme/connections/{id}");
    let csrf = super::csrf(b, &format!("{base}/test")).await;
    let r = b
        .post(&format!("{base}/test/sign-in"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let start = r.location();
    let start = start.strip_prefix(&lobby.base).unwrap().to_owned();
    assert!(start.starts_with("/sso/test/"), "{start}");
    b.get(&start).await
}

/// The result page the failure came back to, checked to be the wizard's.
async fn back_in_the_wizard(lobby: &Lobby, b: &Browser, id: &str, r: &Resp) -> Resp {
    assert_eq!(r.status, 303, "not the hosted error page: {}", r.body);
    let to = r.location();
    let to = to.strip_prefix(&lobby.base).unwrap_or(&to).to_owned();
    assert!(
        to.starts_with(&format!(
            "/portal/orgs/acme/connections/{id}/test/result?result="
        )),
        "{to}"
    );
    let page = b.get(&to).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The test sign-in did not work."));
    assert!(
        page.body.contains(&format!(
            "href=\"/portal/orgs/acme/connections/{id}/idp\" id=\"failure-step-link\""
        )),
        "the fix is tied to the identity provider step: {}",
        page.body
    );
    page
}

/// The newest audit event of the OIDC leg (where a discovery failure is recorded).
async fn last_failure(lobby: &Lobby) -> AuditEvent {
    lobby
        .storage()
        .list_audit(
            &AuditFilter {
                action: Some("login.oidc".into()),
                ..AuditFilter::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items
        .remove(0)
}

#[tokio::test]
async fn an_unreachable_idp_is_explained_in_the_wizard() {
    let lobby = Lobby::start().await;
    // Nothing listens on port 9 of loopback.
    oidc_connection(&lobby, "acme-op", "http://127.0.0.1:9").await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let r = run_test(&lobby, &b, "acme-op").await;
    let page = back_in_the_wizard(&lobby, &b, "acme-op", &r).await;
    assert!(
        page.body
            .contains("Lobby could not reach your identity provider"),
        "{}",
        page.body
    );
    assert!(page.body.contains("discovery_unreachable"), "{}", page.body);
    let ev = last_failure(&lobby).await;
    assert_eq!(ev.details["reason"], "discovery_unreachable");
    // Nobody signed in to Lobby on the way (the admin's own SSO session is unchanged, and
    // no session was begun for anyone else).
    assert_eq!(b.get("/portal/orgs/acme").await.status, 200);
}

#[tokio::test]
async fn a_wrong_issuer_is_explained_in_the_wizard() {
    let lobby = Lobby::start().await;
    // The document names `{base}/`; the connection was saved with `{base}` (as if the IdP
    // changed its issuer after setup).
    let base = super::connections::discovery_server(|b| format!("{b}/")).await;
    oidc_connection(&lobby, "acme-op", &base).await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let r = run_test(&lobby, &b, "acme-op").await;
    let page = back_in_the_wizard(&lobby, &b, "acme-op", &r).await;
    assert!(
        page.body.contains(
            "The issuer in your identity provider&#39;s discovery document is not the one entered"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("discovery_issuer_mismatch"));
    assert_eq!(
        last_failure(&lobby).await.details["reason"],
        "discovery_issuer_mismatch"
    );
}

#[tokio::test]
async fn a_connection_removed_meanwhile_comes_back_to_the_portal() {
    let lobby = Lobby::start().await;
    oidc_connection(&lobby, "acme-op", "http://127.0.0.1:9").await;
    let b = signed_in(&lobby, "bob@acme.test").await;
    let base = "/portal/orgs/acme/connections/acme-op";
    let csrf = super::csrf(&b, &format!("{base}/test")).await;
    let r = b
        .post(&format!("{base}/test/sign-in"), &[("_csrf", &csrf)])
        .await;
    let start = r.location();
    lobby
        .storage()
        .delete_connection(&org_id("acme"), &ConnectionId::parse("acme-op").unwrap())
        .await
        .unwrap();
    let r = b.get(start.strip_prefix(&lobby.base).unwrap()).await;
    // Back to the portal (whose result page now 404s: the connection is gone) rather than
    // the hosted error page.
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location()
            .contains("/portal/orgs/acme/connections/acme-op/test/result?result="),
        "{}",
        r.location()
    );
}
