//! Connection settings through the admin API and at the token endpoint: the connection test,
//! write-only secrets, and the configured token endpoint auth method.

use super::*;

#[tokio::test]
async fn the_connection_test_reports_in_plain_words() {
    let fed = Fed::start().await;
    let client = reqwest::Client::new();
    let base = fed.base.clone();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client
                .get(format!("{base}/api/v1{path}"))
                .bearer_auth("test-admin-token-0123456789")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["discovery_fetch", "issuer_match", "jwks", "client_secret"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    // Another org's connection is a 404 under this org.
    let (s, _) = get("/orgs/hooli/connections/pied-idp/test".into()).await;
    assert_eq!(s, 404);
    // A wrong issuer is reported as such.
    fed.op.st.cfg.lock().unwrap().discovery_issuer = Some(format!("{}/", fed.op.issuer()));
    let (s, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], false);
    let bad = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ok"] == false)
        .unwrap();
    assert_eq!(bad["name"], "issuer_match");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("must be identical")
    );
    // JWKS pointing at the metadata service.
    {
        let mut c = fed.op.st.cfg.lock().unwrap();
        c.discovery_issuer = None;
        c.jwks_uri = Some("http://169.254.169.254/jwks".into());
    }
    let (_, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    let jwks = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "jwks")
        .unwrap();
    assert_eq!(jwks["ok"], false);
    assert!(
        jwks["message"].as_str().unwrap().contains("not allowed"),
        "{jwks}"
    );
    // The secret never leaves through the API.
    let (_, c) = get("/orgs/hooli/connections/hooli-idp".into()).await;
    assert_eq!(c["config"]["client_secret_set"], true);
    assert!(!c.to_string().contains("with spaces"));
}

/// client_secret_post and none (RFC 6749 §2.3.1, OIDC Core §9) as configured per connection.
#[tokio::test]
async fn token_endpoint_auth_methods_follow_the_connection() {
    let fed = Fed::start().await;
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let id = ConnectionId::parse("hooli-idp").unwrap();
    for (method, expect_secret) in [
        (TokenEndpointAuthMethod::ClientSecretPost, true),
        (TokenEndpointAuthMethod::None, false),
    ] {
        let mut c = s.get_connection(&hooli, &id).await.unwrap().unwrap();
        if let ConnectionConfig::Oidc(o) = &mut c.config {
            o.token_endpoint_auth_method = method;
        }
        s.update_connection(&c).await.unwrap();
        fed.op.st.token_auth.lock().unwrap().clear();
        let b = fed.browser();
        let r = fed
            .login_with(&b, |req| {
                fed.op
                    .key("rsa-1")
                    .sign(&fed.op.claims("pat-m", &req.nonce, "pat@hooli.test"))
            })
            .await;
        assert_eq!(r.status, 303, "{method:?}: {}", r.body);
        let (auth, form) = fed.op.st.token_auth.lock().unwrap()[0].clone();
        assert!(auth.is_none(), "{method:?}: no Basic header");
        assert_eq!(form["client_id"], CLIENT_ID);
        assert_eq!(
            form.get("client_secret").map(String::as_str),
            expect_secret.then_some(CLIENT_SECRET),
            "{method:?}"
        );
        assert!(form.contains_key("code_verifier"));
    }
}
