//! Escalation attempts by org admins, each refused with nothing changed, and the token checks
//! that are not positions in the matrix (scope, typ, issuer, a deleted app, lost membership).

use super::*;

#[tokio::test]
async fn member_admin_cannot_grant_or_touch_org_admin() {
    let t = TestApp::start().await;
    world(&t).await;
    let ma = token(&t, "usr_ma", "own");
    let ma = Some(ma.as_str());
    let p = Method::PATCH;
    // Granting org_admin, to someone else or to themselves.
    for user in ["usr_m_own", "usr_ma", "usr_vw"] {
        expect(
            &t,
            ma,
            p.clone(),
            &format!("/orgs/own/members/{user}"),
            Some(json!({"org_roles": ["org_admin"]})),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    // Inviting an org_admin.
    expect(
        &t,
        ma,
        Method::POST,
        "/orgs/own/invitations",
        Some(json!({"email": "boss@own.example", "org_roles": ["org_admin"]})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        ma,
        p.clone(),
        "/orgs/own/invitations/inv_own",
        Some(json!({"org_roles": ["org_admin"]})),
        StatusCode::FORBIDDEN,
    )
    .await;
    // Suspending, demoting or removing an org admin.
    for body in [json!({"status": "suspended"}), json!({"org_roles": []})] {
        expect(
            &t,
            ma,
            p.clone(),
            "/orgs/own/members/usr_oa",
            Some(body),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    expect(
        &t,
        ma,
        Method::DELETE,
        "/orgs/own/members/usr_oa",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Adding a user directly is the operator's (org admins invite).
    expect(
        &t,
        ma,
        Method::POST,
        "/orgs/own/members",
        Some(json!({"user_id": "usr_m_par", "org_roles": ["org_admin"]})),
        StatusCode::FORBIDDEN,
    )
    .await;
    // What a member_admin may grant: member_admin and viewer.
    let v = expect(
        &t,
        ma,
        p.clone(),
        "/orgs/own/members/usr_m_own",
        Some(json!({"org_roles": ["member_admin", "viewer"]})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["org_roles"], json!(["member_admin", "viewer"]));
    // An org_admin may grant org_admin.
    let oa = token(&t, "usr_oa", "own");
    let v = expect(
        &t,
        Some(&oa),
        p,
        "/orgs/own/members/usr_m_own",
        Some(json!({"org_roles": ["org_admin"]})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["org_roles"], json!(["org_admin"]));
}

#[tokio::test]
async fn org_admin_cannot_grant_roles_outside_the_role_groups() {
    let t = TestApp::start().await;
    world(&t).await;
    let oa = token(&t, "usr_oa", "own");
    // `own` and `kid` allow only `narrow` (sales); finance is in `broad` only.
    for org in ["own", "kid"] {
        let v = expect(
            &t,
            Some(&oa),
            Method::PATCH,
            &format!("/orgs/{org}/members/usr_m_{org}"),
            Some(json!({"roles": {"app_crm": ["sales", "finance"]}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(v["field"].as_str().unwrap().starts_with("roles"), "{v}");
        expect(
            &t,
            Some(&oa),
            Method::POST,
            &format!("/orgs/{org}/invitations"),
            Some(json!({"email": "x@own.example", "roles": {"app_crm": ["finance"]}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Nor widen the allowed role groups, nor link apps: the operator's.
    expect(
        &t,
        Some(&oa),
        Method::PATCH,
        "/orgs/own/apps/app_crm",
        Some(json!({"allowed_role_groups": ["narrow", "broad"]})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        Some(&oa),
        Method::POST,
        "/orgs/kid/apps",
        Some(json!({"app_id": "app_backend", "allowed_role_groups": []})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        Some(&oa),
        Method::DELETE,
        "/orgs/own/apps/app_crm",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn org_admin_cannot_edit_the_parent_the_org_frame_or_another_orgs_connection() {
    let t = TestApp::start().await;
    world(&t).await;
    let oa = token(&t, "usr_oa", "own");
    let oa = Some(oa.as_str());
    // The parent: not found, whatever the method.
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/par",
        Some(json!({"name": "Mine"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/par/connections/conn_par",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Their own org's frame: parent, status, slug.
    for (body, field) in [
        (json!({"parent_id": null}), "parent_id"),
        (json!({"parent_id": "oth"}), "parent_id"),
        (json!({"status": "suspended"}), "status"),
        (json!({"slug": "renamed"}), "slug"),
        (json!({"name": "Fine", "status": "active"}), "status"),
    ] {
        let v = expect(
            &t,
            oa,
            Method::PATCH,
            "/orgs/own",
            Some(body),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(v["field"], field);
    }
    // Nor the child's frame, nor delete their own org.
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/kid",
        Some(json!({"parent_id": "oth"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        oa,
        Method::DELETE,
        "/orgs/own?cascade=true",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Name and branding are theirs.
    let v = expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/own",
        Some(json!({"name": "Own Ltd", "branding": {"primary_color": "#112233"}})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["name"], "Own Ltd");
    // Another org's connection: through its org, and through their own org's path.
    for path in [
        "/orgs/oth/connections/conn_oth",
        "/orgs/own/connections/conn_oth",
    ] {
        expect(&t, oa, Method::GET, path, None, StatusCode::NOT_FOUND).await;
        expect(
            &t,
            oa,
            Method::PATCH,
            path,
            Some(json!({"name": "Evil"})),
            StatusCode::NOT_FOUND,
        )
        .await;
        expect(&t, oa, Method::DELETE, path, None, StatusCode::NOT_FOUND).await;
    }
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs/oth/connections",
        Some(json!({"name": "Evil", "config": {"kind": "password"}})),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Another org's member, domain and invitation through their own org's path.
    for path in [
        "/orgs/own/members/usr_m_oth",
        "/orgs/own/domains/oth.example",
        "/orgs/own/invitations/inv_oth",
    ] {
        expect(&t, oa, Method::GET, path, None, StatusCode::NOT_FOUND).await;
        expect(&t, oa, Method::DELETE, path, None, StatusCode::NOT_FOUND).await;
    }
    // Creating a child under another org, or a suspended child of their own.
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "sneaky", "name": "S", "parent_id": "oth"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "root", "name": "Root"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs",
        Some(json!({"slug": "frozen", "name": "F", "parent_id": "kid", "status": "suspended"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let v = expect(
        &t,
        oa,
        Method::POST,
        "/orgs",
        Some(json!({"id": "grandkid", "slug": "grandkid", "name": "G", "parent_id": "kid"})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(v["parent_id"], "kid");
    // …which they then administer, and may delete (it is below their org).
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/grandkid/members",
        None,
        StatusCode::OK,
    )
    .await;
    expect(
        &t,
        oa,
        Method::DELETE,
        "/orgs/grandkid",
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    // Taking over another org's verified domain (`force=true`) is the operator's.
    for (method, path) in [
        (
            Method::POST,
            "/orgs/own/domains/own.example/verify?force=true",
        ),
        (Method::PATCH, "/orgs/own/domains/own.example?force=true"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        expect(&t, oa, method, path, body, StatusCode::FORBIDDEN).await;
    }
    // Marking a domain verified without DNS stays the operator's.
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs/own/domains",
        Some(json!({"domain": "sure.example", "verified": true})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/own/domains/own.example",
        Some(json!({"verified": true})),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn a_childs_admin_never_reaches_the_parent() {
    let t = TestApp::start().await;
    world(&t).await;
    t.create("/users", json!({"id": "usr_ka", "email": "ka@kid.example"}))
        .await;
    t.create(
        "/orgs/kid/members",
        json!({"user_id": "usr_ka", "org_roles": ["org_admin"]}),
    )
    .await;
    let ka = token(&t, "usr_ka", "kid");
    let ka = Some(ka.as_str());
    for path in [
        "/orgs/own",
        "/orgs/par",
        "/orgs/own/members",
        "/orgs/own/members/usr_oa",
        "/orgs/own/connections",
        "/orgs?parent_id=own",
        "/audit-events?org_id=own",
    ] {
        expect(&t, ka, Method::GET, path, None, StatusCode::NOT_FOUND).await;
    }
    expect(
        &t,
        ka,
        Method::PATCH,
        "/orgs/own",
        Some(json!({"name": "Mine"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        &t,
        ka,
        Method::PATCH,
        "/orgs/kid",
        Some(json!({"parent_id": null})),
        StatusCode::FORBIDDEN,
    )
    .await;
    // A token naming the parent as its org grants nothing: there is no membership there.
    let forged = token(&t, "usr_ka", "own");
    expect(
        &t,
        Some(&forged),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Their own org is theirs; the list shows it alone.
    expect(
        &t,
        ka,
        Method::GET,
        "/orgs/kid/members",
        None,
        StatusCode::OK,
    )
    .await;
    let v = expect(&t, ka, Method::GET, "/orgs", None, StatusCode::OK).await;
    assert_eq!(super::super::ids(&v), ["kid"]);
    // The parent's admin sees the child in theirs.
    let oa = token(&t, "usr_oa", "own");
    let v = expect(&t, Some(&oa), Method::GET, "/orgs", None, StatusCode::OK).await;
    assert_eq!(super::super::ids(&v), ["kid", "own"]);
    let v = expect(
        &t,
        Some(&oa),
        Method::GET,
        "/orgs?parent_id=own",
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(super::super::ids(&v), ["kid"]);
    let ma = token(&t, "usr_ma", "own");
    let v = expect(&t, Some(&ma), Method::GET, "/orgs", None, StatusCode::OK).await;
    assert_eq!(super::super::ids(&v), ["own"]);
    let v = expect(
        &t,
        Some(&ma),
        Method::GET,
        "/orgs?parent_id=own",
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(super::super::ids(&v), Vec::<String>::new());
    // The org's audit log: the org_admin reads it, the member_admin does not.
    let v = expect(
        &t,
        Some(&oa),
        Method::GET,
        "/audit-events?org_id=own",
        None,
        StatusCode::OK,
    )
    .await;
    assert!(!v["items"].as_array().unwrap().is_empty());
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["org_id"] == "own")
    );
    expect(
        &t,
        Some(&ma),
        Method::GET,
        "/audit-events?org_id=own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        Some(&oa),
        Method::GET,
        "/audit-events",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn a_suspended_or_removed_admin_loses_access_at_once() {
    let t = TestApp::start().await;
    world(&t).await;
    let oa = token(&t, "usr_oa", "own");
    let oa = Some(oa.as_str());
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own/members",
        None,
        StatusCode::OK,
    )
    .await;
    // Suspended: the same token is refused on the next request.
    t.patch("/orgs/own/members/usr_oa", json!({"status": "suspended"}))
        .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own/members",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/kid",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    t.patch("/orgs/own/members/usr_oa", json!({"status": "active"}))
        .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own/members",
        None,
        StatusCode::OK,
    )
    .await;
    // Demoted to viewer: reads only, and no longer the child's admin.
    t.patch("/orgs/own/members/usr_oa", json!({"org_roles": ["viewer"]}))
        .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own/members",
        None,
        StatusCode::OK,
    )
    .await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/kid",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/own",
        Some(json!({"name": "Still mine?"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    // The org suspended: its admins with it.
    t.patch(
        "/orgs/own/members/usr_oa",
        json!({"org_roles": ["org_admin"]}),
    )
    .await;
    t.patch("/orgs/own", json!({"status": "suspended"})).await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    t.patch("/orgs/own", json!({"status": "active"})).await;
    expect(&t, oa, Method::GET, "/orgs/own", None, StatusCode::OK).await;
    // Removed.
    t.delete("/orgs/own/members/usr_oa").await;
    expect(
        &t,
        oa,
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn client_tokens_read_scope_cannot_write() {
    let t = TestApp::start().await;
    world(&t).await;
    let m = t.mint();
    let read = m.client("backend", "lobby:admin:read");
    let write = m.client("backend", "lobby:admin:write");
    let read = Some(read.as_str());
    for (method, path, body) in [
        (
            Method::POST,
            "/orgs/own/domains",
            json!({"domain": "r.example"}),
        ),
        (
            Method::PATCH,
            "/apps/app_crm",
            json!({"name": "Read only?"}),
        ),
        (Method::DELETE, "/orgs/own/members/usr_m_own", json!({})),
        (Method::POST, "/orgs", json!({"slug": "r", "name": "R"})),
    ] {
        expect(&t, read, method, path, Some(body), StatusCode::FORBIDDEN).await;
    }
    expect(&t, read, Method::GET, "/users", None, StatusCode::OK).await;
    expect(&t, read, Method::GET, "/audit-events", None, StatusCode::OK).await;
    // Write: audited as the client.
    expect(
        &t,
        Some(&write),
        Method::POST,
        "/orgs/oth/domains",
        Some(json!({"domain": "w.example"})),
        StatusCode::CREATED,
    )
    .await;
    let (_, v) = t.get("/audit-events?action=domain.create&org_id=oth").await;
    assert_eq!(v["items"][0]["actor"], "client:backend", "{v}");
    // Neither admin scope: refused; the app deleted: the token is dead.
    let neither = m.client("backend", "lobby:admin");
    expect(
        &t,
        Some(&neither),
        Method::GET,
        "/orgs",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    t.delete("/apps/app_backend").await;
    expect(
        &t,
        Some(&write),
        Method::GET,
        "/orgs",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn tokens_must_be_admin_tokens_of_this_issuer() {
    let t = TestApp::start().await;
    world(&t).await;
    let m = t.mint();
    let good = m.claims("usr_oa", Some("own"), "crm", "openid lobby:admin", 600);
    expect(
        &t,
        Some(&m.sign(&good)),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::OK,
    )
    .await;
    // Without the lobby:admin scope: a valid token, not for this.
    let mut c = good.clone();
    c.scope = "openid profile".into();
    expect(
        &t,
        Some(&m.sign(&c)),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Another issuer, another audience, an ID token (typ JWT), a client id that is no app.
    let mut c = good.clone();
    c.iss = "https://evil.example".into();
    expect(
        &t,
        Some(&m.sign(&c)),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let mut c = good.clone();
    c.aud = format!("{}/api/v2", t.state.config.issuer());
    expect(
        &t,
        Some(&m.sign(&c)),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let id_token = t
        .state
        .keys
        .sign(&good, lobby::domain::SigningAlg::ES256)
        .unwrap();
    expect(
        &t,
        Some(&id_token),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let mut c = good.clone();
    c.client_id = "nobody".into();
    expect(
        &t,
        Some(&m.sign(&c)),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // A tampered payload.
    let tok = m.sign(&good);
    let mut parts: Vec<String> = tok.split('.').map(str::to_owned).collect();
    let mut evil = good.clone();
    evil.sub = "usr_xa".into();
    evil.org_id = Some("oth".into());
    use base64::Engine;
    parts[1] =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&evil).unwrap());
    expect(
        &t,
        Some(&parts.join(".")),
        Method::GET,
        "/orgs/oth",
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

/// Issue 13 item 3: `email_authority: any_domain` lets a connection's IdP vouch for addresses
/// its org never proved it owns, so only the operator may turn it on.
#[tokio::test]
async fn only_the_operator_makes_a_connection_an_email_authority_for_any_domain() {
    let t = TestApp::start().await;
    world(&t).await;
    let oa = token(&t, "usr_oa", "own");
    let oa = Some(oa.as_str());
    let op = Some(crate::harness::ADMIN_TOKEN);
    let config = |authority: &str| {
        json!({"kind": "oidc", "issuer": "https://idp.own.example", "client_id": "lobby", "token_endpoint_auth_method": "none",
               "email_authority": authority})
    };
    let v = expect(
        &t,
        oa,
        Method::POST,
        "/orgs/own/connections",
        Some(json!({"id": "conn_idp", "name": "IdP", "config": config("any_domain")})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(v["field"], "config.email_authority", "{v}");
    expect(
        &t,
        oa,
        Method::POST,
        "/orgs/own/connections",
        Some(json!({"id": "conn_idp", "name": "IdP", "config": config("org_verified_domains")})),
        StatusCode::CREATED,
    )
    .await;
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/own/connections/conn_idp",
        Some(json!({"config": config("any_domain")})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let v = expect(
        &t,
        op,
        Method::PATCH,
        "/orgs/own/connections/conn_idp",
        Some(json!({"config": config("any_domain")})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["config"]["email_authority"], "any_domain", "{v}");
    // Once the operator set it, the org admin may still edit the connection (it stays on).
    expect(
        &t,
        oa,
        Method::PATCH,
        "/orgs/own/connections/conn_idp",
        Some(json!({"name": "Our IdP", "config": config("any_domain")})),
        StatusCode::OK,
    )
    .await;
}

/// Taking admin access away from an app ends its tokens at once (like a membership): a client
/// token loses what the app no longer has; a delegated token stops working.
#[tokio::test]
async fn an_app_losing_admin_access_loses_it_at_once() {
    let t = TestApp::start().await;
    world(&t).await;
    let m = t.mint();
    let write = m.client("backend", "lobby:admin:read lobby:admin:write");
    let patch_own = || Some(json!({"name": "Own Renamed"}));
    expect(
        &t,
        Some(&write),
        Method::PATCH,
        "/orgs/own",
        patch_own(),
        StatusCode::OK,
    )
    .await;
    let (s, v) = t
        .patch(
            "/apps/app_backend",
            json!({"admin_api": {"client_scopes": ["lobby:admin:read"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    expect(
        &t,
        Some(&write),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::OK,
    )
    .await;
    expect(
        &t,
        Some(&write),
        Method::PATCH,
        "/orgs/own",
        patch_own(),
        StatusCode::FORBIDDEN,
    )
    .await;

    let oa = token(&t, "usr_oa", "own");
    expect(
        &t,
        Some(&oa),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::OK,
    )
    .await;
    let (s, v) = t
        .patch("/apps/app_crm", json!({"admin_api": {"delegated": false}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    expect(
        &t,
        Some(&oa),
        Method::GET,
        "/orgs/own",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
}
