//! Access tokens for Lobby's own admin API: the app setting (`admin_api`), delegated tokens
//! from the code flow (scope `lobby:admin` or RFC 8707 `resource`), their refreshes, the
//! `client_credentials` grant, and every refusal. Each issued token is decoded and checked
//! claim by claim against `AdminTokenClaims`, the contract the admin API reads.

use super::fixture::*;
use lobby::domain::admin_token::{AdminTokenClaims, admin_audience};
use lobby::domain::{AdminApiAccess, AdminClientScope, ClientId, Clock};
use lobby::storage::{AuditFilter, PageRequest};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Give `client_id` this admin API access (and optionally another access token lifetime).
async fn set_access(lobby: &Lobby, client_id: &str, access: AdminApiAccess, at_secs: Option<i64>) {
    let s = lobby.storage();
    let mut app = s
        .get_app_by_client_id(&ClientId::parse(client_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.admin_api = access;
    if let Some(t) = at_secs {
        app.token_lifetimes.access_token_secs = t;
    }
    s.update_app(&app).await.unwrap();
}

fn delegated() -> AdminApiAccess {
    AdminApiAccess {
        delegated: true,
        client_scopes: BTreeSet::new(),
    }
}

fn client(scopes: &[AdminClientScope]) -> AdminApiAccess {
    AdminApiAccess {
        delegated: false,
        client_scopes: scopes.iter().copied().collect(),
    }
}

/// A crm login for alice (one org: acme) with `extra` authorize parameters; returns the
/// token response.
async fn login(lobby: &Lobby, extra: &[(&str, &str)]) -> Value {
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, extra))
        .await;
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    lobby.exchange(&code, &verifier).await
}

/// Verify an admin token with `/jwks` and read it as the admin API does; also check that its
/// claims are exactly the contract's (no more, no less) and its header says `at+jwt`.
async fn admin_claims(lobby: &Lobby, token: &str) -> AdminTokenClaims {
    let (header, v) = lobby.verify_jwt(token).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 header");
    let c: AdminTokenClaims = serde_json::from_value(v.clone()).unwrap();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = [
        "iss",
        "aud",
        "sub",
        "client_id",
        "scope",
        "iat",
        "exp",
        "jti",
    ]
    .into_iter()
    .collect();
    if c.org_id.is_some() {
        want.insert("org_id");
    }
    assert_eq!(keys, want, "exactly the AdminTokenClaims claims: {v}");
    assert!(v["aud"].is_string(), "aud is a string");
    assert_eq!(c.iss, lobby.base);
    assert_eq!(c.aud, admin_audience(&lobby.base));
    assert_eq!(c.iat, lobby.clock.now().unix_timestamp());
    assert!(c.jti.len() >= 32);
    c
}

fn redirect_error(r: &Resp) -> (String, String) {
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
    let p = r.redirect_params();
    assert_eq!(p.get("state").map(String::as_str), Some("st-123"));
    (p["error"].clone(), p["error_description"].clone())
}

#[tokio::test]
async fn delegated_admin_token_carries_exactly_the_contract_claims() {
    let lobby = Lobby::start().await;
    set_access(&lobby, "crm", delegated(), None).await;
    let t = login(&lobby, &[("scope", "openid email lobby:admin")]).await;
    assert_eq!(t["scope"], "openid email lobby:admin");
    let c = admin_claims(&lobby, t["access_token"].as_str().unwrap()).await;
    assert_eq!(c.sub, "alice");
    assert_eq!(c.org_id.as_deref(), Some("acme"));
    assert_eq!(c.client_id, "crm");
    assert_eq!(c.scope, "openid email lobby:admin");
    assert!(c.has_scope("lobby:admin") && !c.is_client());
    assert_eq!(c.exp - c.iat, 300, "the app's access token lifetime");
    assert_eq!(t["expires_in"], 300);
    // The ID token is the usual one, for the app.
    let (_, id) = lobby.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(id["aud"], "crm");
    assert_eq!(id["org_id"], "acme");
    assert_eq!(id["roles"], json!(["finance", "sales"]));
    assert!(t["refresh_token"].is_string());
    // /userinfo and /introspect accept it like any access token of this client.
    let (s, u) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!((s, u["sub"].as_str()), (200, Some("alice")));
    let (s, i) = lobby
        .post_json(
            "/introspect",
            &[("token", t["access_token"].as_str().unwrap())],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(i["active"], true);
    assert_eq!(i["aud"], admin_audience(&lobby.base).as_str());

    // Without lobby:admin the same app gets its usual access token.
    let t = login(&lobby, &[]).await;
    let (_, a) = lobby.verify_jwt(t["access_token"].as_str().unwrap()).await;
    assert_eq!(a["aud"], "crm");
    assert!(!t["scope"].as_str().unwrap().contains("lobby:admin"));
}

#[tokio::test]
async fn resource_indicator_names_the_admin_api() {
    let lobby = Lobby::start().await;
    set_access(&lobby, "crm", delegated(), None).await;
    let aud = admin_audience(&lobby.base);
    // RFC 8707 at /authorize: the same as asking for lobby:admin.
    let t = login(&lobby, &[("scope", "openid"), ("resource", &aud)]).await;
    assert_eq!(t["scope"], "openid lobby:admin");
    let c = admin_claims(&lobby, t["access_token"].as_str().unwrap()).await;
    assert_eq!(c.org_id.as_deref(), Some("acme"));
    // RFC 8707 at /token, on refresh: the admin API is covered by this grant.
    let (s, r) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("resource", &aud),
        ])
        .await;
    assert_eq!(s, 200, "{r}");
    admin_claims(&lobby, r["access_token"].as_str().unwrap()).await;
    // A grant without lobby:admin does not cover it: invalid_target, and nothing is issued.
    let plain = login(&lobby, &[]).await;
    for resource in [aud.as_str(), "https://elsewhere.example/api", "not a uri"] {
        let (s, e) = lobby
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", plain["refresh_token"].as_str().unwrap()),
                ("resource", resource),
            ])
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_target")),
            "{resource}: {e}"
        );
    }
    // The refresh token was not used up by the refused requests.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", plain["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(s, 200);
    // At the code exchange: a resource the grant does not cover.
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
            ("resource", &aud),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_target")),
        "{e}"
    );
}

#[tokio::test]
async fn authorize_refuses_admin_access_the_app_does_not_have() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let aud = admin_audience(&lobby.base);
    // RFC 6749 §4.1.2.1: a scope the client may not have is invalid_scope, sent back to it.
    let (_, r) = b.authorize_crm(&[("scope", "openid lobby:admin")]).await;
    let (e, _) = redirect_error(&r);
    assert_eq!(e, "invalid_scope");
    // RFC 8707 §2: the admin audience as resource, for an app without access: invalid_target.
    let (_, r) = b.authorize_crm(&[("resource", &aud)]).await;
    assert_eq!(redirect_error(&r).0, "invalid_target");
    // Unknown or malformed resources, and two of them, even for an app with access.
    set_access(&lobby, "crm", delegated(), None).await;
    for extra in [
        vec![("resource", "https://elsewhere.example/api")],
        vec![("resource", "/api/v1")],
        vec![("resource", "https://x.example/a#frag")],
    ] {
        let (_, r) = b.authorize_crm(&extra).await;
        assert_eq!(redirect_error(&r).0, "invalid_target", "{extra:?}");
    }
    let (_, challenge) = pkce();
    let twice = format!(
        "{}&resource={}",
        authorize_path("crm", CRM_CB, &challenge, &[("resource", &aud)]),
        url::form_urlencoded::byte_serialize(aud.as_bytes()).collect::<String>()
    );
    let r = b.get(&twice).await;
    assert_eq!(redirect_error(&r).0, "invalid_target");
    // With access, the request goes on to the login.
    let (_, r) = b.authorize_crm(&[("scope", "openid lobby:admin")]).await;
    assert!(r.location().starts_with("/login?flow="), "{}", r.location());
    // The client-credentials scopes mean nothing in the code flow (unknown scopes are ignored).
    let t = login(&lobby, &[("scope", "openid lobby:admin:write")]).await;
    assert_eq!(t["scope"], "openid");
}

#[tokio::test]
async fn refresh_returns_an_admin_token_only_while_the_app_has_delegated_access() {
    let lobby = Lobby::start().await;
    set_access(&lobby, "crm", delegated(), None).await;
    let t = login(&lobby, &[("scope", "openid lobby:admin")]).await;
    let refresh = |rt: String, scope: Option<&'static str>| {
        let lobby = &lobby;
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            if let Some(s) = scope {
                form.push(("scope", s));
            }
            lobby.token(&form).await
        }
    };
    let (s, r1) = refresh(t["refresh_token"].as_str().unwrap().into(), None).await;
    assert_eq!(s, 200, "{r1}");
    assert_eq!(r1["scope"], "openid lobby:admin");
    let c = admin_claims(&lobby, r1["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (c.sub.as_str(), c.org_id.as_deref()),
        ("alice", Some("acme"))
    );
    // A narrower scope gets the app's usual access token.
    let (s, r2) = refresh(r1["refresh_token"].as_str().unwrap().into(), Some("openid")).await;
    assert_eq!(s, 200, "{r2}");
    assert_eq!(
        jwt_claims(r2["access_token"].as_str().unwrap())["aud"],
        "crm"
    );
    // The app loses delegated access: asking for lobby:admin again is invalid_scope…
    set_access(&lobby, "crm", AdminApiAccess::default(), None).await;
    let rt = r2["refresh_token"].as_str().unwrap().to_owned();
    let (s, e) = refresh(rt.clone(), Some("openid lobby:admin")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_scope")),
        "{e}"
    );
    // …and a plain refresh drops it (the response's scope says so): no admin token.
    let (s, r3) = refresh(rt, None).await;
    assert_eq!(s, 200, "{r3}");
    assert_eq!(r3["scope"], "openid");
    let a = jwt_claims(r3["access_token"].as_str().unwrap());
    assert_eq!(a["aud"], "crm");
    // Access back: the family still holds the grant.
    set_access(&lobby, "crm", delegated(), None).await;
    let (s, r4) = refresh(r3["refresh_token"].as_str().unwrap().into(), None).await;
    assert_eq!(s, 200, "{r4}");
    admin_claims(&lobby, r4["access_token"].as_str().unwrap()).await;

    // Access removed between /authorize and /token: the code exchange drops lobby:admin.
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("scope", "openid lobby:admin")],
        ))
        .await;
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    set_access(&lobby, "crm", AdminApiAccess::default(), None).await;
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(t["scope"], "openid");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["aud"],
        "crm"
    );
}

#[tokio::test]
async fn client_credentials_issue_an_audited_admin_token() {
    let lobby = Lobby::start().await;
    set_access(
        &lobby,
        "crm",
        client(&[AdminClientScope::Read, AdminClientScope::Write]),
        Some(120),
    )
    .await;
    // No scope: everything the app may have.
    let (s, t) = lobby.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 120);
    assert_eq!(t["scope"], "lobby:admin:read lobby:admin:write");
    let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "scope", "token_type"].into(),
        "no refresh token, no ID token"
    );
    let c = admin_claims(&lobby, t["access_token"].as_str().unwrap()).await;
    assert_eq!(c.sub, "crm");
    assert_eq!(c.client_id, "crm");
    assert_eq!(c.org_id, None);
    assert!(c.is_client());
    assert_eq!(c.scope, "lobby:admin:read lobby:admin:write");
    assert_eq!(c.exp - c.iat, 120, "the app's access token lifetime");

    // A narrower scope, with client_secret_post this time.
    let (s, t2) = lobby
        .token_as(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "lobby:admin:read"),
                ("client_id", "crm"),
                ("client_secret", CRM_SECRET),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{t2}");
    let c2 = admin_claims(&lobby, t2["access_token"].as_str().unwrap()).await;
    assert_eq!(c2.scope, "lobby:admin:read");
    assert!(c2.has_scope("lobby:admin:read") && !c2.has_scope("lobby:admin:write"));
    // The resource indicator naming the admin API is accepted.
    let aud = admin_audience(&lobby.base);
    let (s, _) = lobby
        .token(&[("grant_type", "client_credentials"), ("resource", &aud)])
        .await;
    assert_eq!(s, 200);

    // Every issuance is audited with the client as the actor.
    let events = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("token.client_credentials".into()),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 3);
    for e in &events {
        assert_eq!(e.actor, "client:crm");
        assert_eq!(
            (e.target_type.as_str(), e.target_id.as_str()),
            ("app", "crm")
        );
    }
    assert!(events.iter().any(|e| e.details["jti"] == c.jti.as_str()));
    assert!(
        events
            .iter()
            .any(|e| e.details["scope"] == "lobby:admin:read")
    );
    // The token can be revoked like any access token of the client.
    let (s, _) = lobby
        .post_json(
            "/revoke",
            &[("token", t["access_token"].as_str().unwrap())],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!(s, 200);
    let (_, i) = lobby
        .post_json(
            "/introspect",
            &[("token", t["access_token"].as_str().unwrap())],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!(i["active"], false);
}

#[tokio::test]
async fn client_credentials_refusals() {
    let lobby = Lobby::start().await;
    let cc = |scope: Option<&'static str>| {
        let lobby = &lobby;
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(s) = scope {
                form.push(("scope", s));
            }
            lobby.token(&form).await
        }
    };
    // An app without client scopes (even with delegated access): unauthorized_client.
    let (s, e) = cc(None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{e}"
    );
    set_access(&lobby, "crm", delegated(), None).await;
    let (s, e) = cc(None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{e}"
    );
    // A public client cannot use the grant at all.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "portal"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{e}"
    );
    // Client authentication as at the code exchange.
    set_access(&lobby, "crm", client(&[AdminClientScope::Read]), None).await;
    let (s, e) = lobby
        .token_as(
            &[("grant_type", "client_credentials")],
            Some(("crm", "wrong-secret-0123456789-0123456789-x")),
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (401, Some("invalid_client")),
        "{e}"
    );
    let (s, e) = lobby
        .token_as(
            &[("grant_type", "client_credentials"), ("client_id", "crm")],
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (401, Some("invalid_client")),
        "{e}"
    );
    // Anything outside the app's client scopes: invalid_scope.
    for scope in [
        "lobby:admin:write",
        "lobby:admin:read lobby:admin:write",
        "lobby:admin",
        "openid",
        "lobby:admin:read extra",
    ] {
        let (s, e) = cc(Some(scope)).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_scope")),
            "{scope}: {e}"
        );
    }
    // An unknown resource: invalid_target.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://elsewhere.example/api"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_target")),
        "{e}"
    );
    // Nothing was issued, so nothing was audited.
    let n = lobby
        .storage()
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("token.client_credentials".into()),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(n, 0);
    // The read scope alone works.
    let (s, t) = cc(Some("lobby:admin:read")).await;
    assert_eq!(s, 200, "{t}");
}

#[tokio::test]
async fn discovery_advertises_the_admin_scopes_and_client_credentials() {
    let lobby = Lobby::start().await;
    let d: Value = lobby
        .http()
        .get(lobby.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let has = |k: &str, v: &str| d[k].as_array().unwrap().iter().any(|x| x == v);
    for s in ["lobby:admin", "lobby:admin:read", "lobby:admin:write"] {
        assert!(has("scopes_supported", s), "{s}");
    }
    assert!(has("grant_types_supported", "client_credentials"));
}

#[tokio::test]
async fn the_admin_api_setting_through_the_admin_api() {
    let lobby = Lobby::start().await;
    let op = |m: reqwest::Method, path: &str| {
        lobby
            .http()
            .request(m, lobby.url(&format!("/api/v1{path}")))
            .bearer_auth("test-admin-token-0123456789")
    };
    // Default: none.
    let v: Value = op(reqwest::Method::GET, "/apps/crm")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["admin_api"],
        json!({"delegated": false, "client_scopes": []}),
        "{v}"
    );
    let res = op(reqwest::Method::PATCH, "/apps/crm")
        .json(&json!({"admin_api": {"delegated": true, "client_scopes": ["lobby:admin:read"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["admin_api"],
        json!({"delegated": true, "client_scopes": ["lobby:admin:read"]})
    );
    let (s, t) = lobby.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!((s, t["scope"].as_str()), (200, Some("lobby:admin:read")));
    // Client credentials only for confidential clients; unknown scope values are refused.
    for (app, body, field) in [
        (
            "portal",
            json!({"admin_api": {"client_scopes": ["lobby:admin:read"]}}),
            Some("admin_api.client_scopes"),
        ),
        (
            "crm",
            json!({"admin_api": {"client_scopes": ["lobby:admin"]}}),
            None,
        ),
        ("crm", json!({"admin_api": {"delegate": true}}), None),
    ] {
        let res = op(reqwest::Method::PATCH, &format!("/apps/{app}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!((400..500).contains(&status), "{body}: {status} {v}");
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{v}");
        }
    }
    // The public app keeps delegated access possible.
    let res = op(reqwest::Method::PATCH, "/apps/portal")
        .json(&json!({"admin_api": {"delegated": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_admin_api_setting_is_imported_and_exported() {
    let (s, _d) = crate::harness::fresh_storage().await;
    let doc = r#"
apps:
  - id: app_backend
    name: Backend
    client_id: backend
    client_secret: backend-secret-0123456789-0123456789
    redirect_uris: [https://backend.example.com/cb]
    admin_api:
      client_scopes: [lobby:admin:read, lobby:admin:write]
  - id: app_portal
    name: Portal
    client_id: portal
    client_type: public
    redirect_uris: [https://portal.example.com/cb]
    admin_api:
      delegated: true
  - id: app_plain
    name: Plain
    client_id: plain
    client_secret: plain-secret-0123456789-0123456789-x
    redirect_uris: [https://plain.example.com/cb]
"#;
    lobby::admin::declarative::import(s.as_ref(), doc, "import")
        .await
        .unwrap();
    let app = |id: &str| {
        let s = s.clone();
        let id = id.to_owned();
        async move {
            s.get_app(&lobby::domain::AppId::parse(&id).unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(
        app("app_backend").await.admin_api,
        client(&[AdminClientScope::Read, AdminClientScope::Write])
    );
    assert_eq!(app("app_portal").await.admin_api, delegated());
    assert_eq!(app("app_plain").await.admin_api, AdminApiAccess::default());
    let out = lobby::admin::declarative::export(s.as_ref()).await.unwrap();
    assert!(out.contains("lobby:admin:write"), "{out}");
    // Defaults are left out of the export.
    assert_eq!(out.matches("admin_api").count(), 2, "{out}");
    let (s2, _d2) = crate::harness::fresh_storage().await;
    lobby::admin::declarative::import(s2.as_ref(), &out, "import")
        .await
        .unwrap();
    assert_eq!(
        lobby::admin::declarative::export(s2.as_ref())
            .await
            .unwrap(),
        out
    );
    // A public client with client scopes is refused, naming the field.
    let bad = doc.replace("delegated: true", "client_scopes: [lobby:admin:read]");
    let e = lobby::admin::declarative::import(s2.as_ref(), &bad, "import")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("admin_api.client_scopes"), "{e}");
}

/// `GET`/`PATCH` on Lobby's admin API with a bearer token; returns the status.
async fn api(
    lobby: &Lobby,
    m: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> u16 {
    let mut req = lobby
        .http()
        .request(m, lobby.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn issued_tokens_are_accepted_by_the_admin_api_end_to_end() {
    use reqwest::Method;
    let lobby = Lobby::start().await;
    // The vendor's backend: client credentials, read then write.
    set_access(&lobby, "crm", client(&[AdminClientScope::Read]), None).await;
    let (_, t) = lobby.token(&[("grant_type", "client_credentials")]).await;
    let read = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api(&lobby, Method::GET, "/orgs", &read, None).await, 200);
    let rename = Some(json!({"name": "Acme Renamed"}));
    assert_eq!(
        api(&lobby, Method::PATCH, "/orgs/acme", &read, rename.clone()).await,
        403
    );
    set_access(&lobby, "crm", client(&[AdminClientScope::Write]), None).await;
    let (_, t) = lobby.token(&[("grant_type", "client_credentials")]).await;
    let write = t["access_token"].as_str().unwrap();
    assert_eq!(
        api(&lobby, Method::PATCH, "/orgs/acme", write, rename).await,
        200
    );
    // Revoked at /revoke: refused by the admin API too.
    lobby
        .post_json("/revoke", &[("token", write)], Some(("crm", CRM_SECRET)))
        .await;
    assert_eq!(api(&lobby, Method::GET, "/orgs", write, None).await, 401);

    // A signed-in org admin (bob is org_admin of acme) through a delegated app.
    set_access(&lobby, "crm", delegated(), None).await;
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("scope", "openid lobby:admin")],
        ))
        .await;
    b.sign_in(&flow, "bob@acme.test", PASSWORD).await;
    let r = b.choose(&flow, "acme").await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    let bob = t["access_token"].as_str().unwrap();
    assert_eq!(
        admin_claims(&lobby, bob).await.org_id.as_deref(),
        Some("acme")
    );
    assert_eq!(
        api(&lobby, Method::GET, "/orgs/acme/members", bob, None).await,
        200
    );
    assert_eq!(
        api(&lobby, Method::GET, "/orgs/globex", bob, None).await,
        404
    );
    // alice has no org role: her delegated token grants nothing.
    let t = login(&lobby, &[("scope", "openid lobby:admin")]).await;
    let alice = t["access_token"].as_str().unwrap();
    assert_eq!(
        api(&lobby, Method::GET, "/orgs/acme/members", alice, None).await,
        403
    );
    // The app's usual access token is for the app, not for the admin API.
    let t = login(&lobby, &[]).await;
    let plain = t["access_token"].as_str().unwrap();
    assert_eq!(api(&lobby, Method::GET, "/orgs", plain, None).await, 401);
}
