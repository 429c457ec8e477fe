//! SAML `AuthnInstant` (issue 13 item 8): it becomes the app's `auth_time`; the app's `max_age`
//! is forwarded as `ForceAuthn` and an assertion authenticated longer ago is refused.

use super::*;

/// The AuthnRequest Lobby sent (redirect binding, deflated).
fn authn_request(p: &Pending) -> String {
    let q: std::collections::BTreeMap<String, String> = url::Url::parse(&p.location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(&q["SAMLRequest"])
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

#[tokio::test]
async fn authn_instant_is_the_auth_time_and_max_age_is_enforced() {
    let e = env(false).await;
    let ago = |s: i64| e.now() - time::Duration::seconds(s);

    // max_age=30: ForceAuthn; the IdP answers with an authentication 200 s old: refused.
    let b = e.lobby.browser();
    let (verifier, r) = b
        .authorize_crm(&[("organization", "umbrella"), ("max_age", "30")])
        .await;
    let p = pending(verifier, &r);
    assert!(authn_request(&p).contains("ForceAuthn=\"true\""));
    let mut spec = e.spec(&p);
    spec.issue_instant = ago(200);
    let before = failure_reasons(e.lobby.storage()).await.len();
    let r = post_acs(&e, &e.acs(), &corpus::good(&spec, &e.idp), &p.relay).await;
    let r = continue_in(&b, &r).await;
    assert_refused(&e, &r, before, &["max_age_exceeded"], "max_age").await;
    assert!(r.body.contains("error=login_required"), "{}", r.body);

    // A fresh one passes, and the app's auth_time is the IdP's AuthnInstant.
    let b = e.lobby.browser();
    let (verifier, r) = b
        .authorize_crm(&[("organization", "umbrella"), ("max_age", "30")])
        .await;
    let p = pending(verifier, &r);
    let mut spec = e.spec(&p);
    spec.issue_instant = ago(20);
    let r = post_acs(&e, &e.acs(), &corpus::good(&spec, &e.idp), &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let t = e.lobby.exchange(&code, &p.verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"], ago(20).unix_timestamp());

    // Without max_age: no ForceAuthn, and an older authentication is simply carried.
    let b = e.lobby.browser();
    let p = begin(&e, &b).await;
    assert!(!authn_request(&p).contains("ForceAuthn=\"true\""));
    let mut spec = e.spec(&p);
    spec.issue_instant = ago(200);
    let r = post_acs(&e, &e.acs(), &corpus::good(&spec, &e.idp), &p.relay).await;
    let r = continue_in(&b, &r).await;
    let code = code_from(&r, &e.lobby.base, CRM_CB);
    let t = e.lobby.exchange(&code, &p.verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"], ago(200).unix_timestamp());
}
