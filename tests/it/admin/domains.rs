//! Domain verification against a real DNS server: the test starts an authoritative server on
//! loopback (`crate::dns_server`), points `LOBBY_DNS_SERVER` at it, and Lobby's real resolver
//! (hickory) asks it over UDP (and TCP for large answers). Records change while Lobby runs.
//! Also: the operator's manual verification and override, each with its audit event.

use super::refused;
use crate::dns_server::TestDns;
use crate::harness::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start() -> (TestApp, TestDns) {
    let dns = TestDns::start().await;
    let addr = dns.addr;
    let t = TestApp::start_with(|c| c.dns_server = Some(addr)).await;
    for org in ["acme", "globex", "initech"] {
        t.create("/orgs", json!({"id": org, "slug": org, "name": org}))
            .await;
    }
    (t, dns)
}

/// Add `domain` to `org`: (record name, record value) to publish.
async fn add(t: &TestApp, org: &str, domain: &str) -> (String, String) {
    let d = t
        .create(&format!("/orgs/{org}/domains"), json!({"domain": domain}))
        .await;
    assert_eq!(d["verified"], false, "{d}");
    (
        d["txt_record_name"].as_str().unwrap().to_owned(),
        d["txt_record_value"].as_str().unwrap().to_owned(),
    )
}

/// The newest audit event of `action` in `org`.
async fn last_event(t: &TestApp, org: &str, action: &str) -> Value {
    let (s, ev) = t
        .get(&format!("/audit-events?org_id={org}&action={action}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    ev["items"][0].clone()
}

async fn verified(t: &TestApp, org: &str, domain: &str) -> bool {
    let (s, d) = t.get(&format!("/orgs/{org}/domains/{domain}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d["verified"].as_bool().unwrap()
}

#[tokio::test]
async fn missing_wrong_and_right_records_then_the_record_is_removed() {
    let (t, dns) = start().await;
    let (name, value) = add(&t, "globex", "globex-dns.example").await;
    assert_eq!(name, "_lobby-challenge.globex-dns.example");
    let path = "/orgs/globex/domains/globex-dns.example/verify";

    // No record at all (NXDOMAIN): the error names the record to publish.
    let e = refused(
        &t,
        Method::POST,
        path,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "txt_record_missing",
    )
    .await;
    let m = e["message"].as_str().unwrap();
    assert!(m.contains(&name) && m.contains(&value), "{m}");

    // The DNS server fails (SERVFAIL): a failure of DNS, not an absent record.
    dns.fail(&name);
    refused(
        &t,
        Method::POST,
        path,
        None,
        StatusCode::SERVICE_UNAVAILABLE,
        "dns_unavailable",
    )
    .await;
    dns.remove(&name);

    // Records, but not ours.
    dns.set_txt(
        &name,
        &["v=spf1 -all", "lobby-domain-verification=someone-else"],
    );
    let e = refused(
        &t,
        Method::POST,
        path,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "txt_record_mismatch",
    )
    .await;
    let m = e["message"].as_str().unwrap();
    assert!(m.contains(&name) && m.contains(&value), "{m}");
    assert!(m.contains("someone-else"), "says what it found: {m}");
    assert!(!verified(&t, "globex", "globex-dns.example").await);

    // The right value among others.
    dns.set_txt(&name, &["v=spf1 -all", &value]);
    let (s, d) = t.post(path, json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    assert_eq!(d["txt_record_found"], true);
    assert!(d["verified_at"].is_string());
    let ev = last_event(&t, "globex", "domain.verify").await;
    assert_eq!(ev["outcome"], "success", "{ev}");
    assert_eq!(ev["details"]["method"], "dns_txt", "{ev}");
    assert_eq!(ev["details"]["after"]["verified"], true, "{ev}");
    assert_eq!(ev["actor"], "operator");
    assert!(
        dns.udp_queries() >= 3,
        "the real resolver asked the test server"
    );

    // The record is removed later: the domain stays verified, and the audit says why.
    dns.remove(&name);
    let (s, d) = t.post(path, json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true, "{d}");
    assert_eq!(d["txt_record_found"], false, "{d}");
    assert!(verified(&t, "globex", "globex-dns.example").await);
    let ev = last_event(&t, "globex", "domain.recheck").await;
    assert_eq!(ev["outcome"], "failure", "{ev}");
    assert_eq!(ev["details"]["record_found"], false, "{ev}");
    assert_eq!(ev["details"]["record"], "missing", "{ev}");
    assert_eq!(ev["details"]["kept_verified"], true, "{ev}");
    let reason = ev["details"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&name) && reason.contains("stays verified"),
        "{reason}"
    );

    // Put back: the recheck succeeds.
    dns.set_txt(&name, &[&value]);
    let (s, d) = t.post(path, json!(null)).await;
    assert_eq!((s, &d["txt_record_found"]), (StatusCode::OK, &json!(true)));
    let ev = last_event(&t, "globex", "domain.recheck").await;
    assert_eq!(ev["outcome"], "success", "{ev}");
}

#[tokio::test]
async fn large_answers_are_read_over_tcp() {
    let (t, dns) = start().await;
    let (name, value) = add(&t, "acme", "acme-big.example").await;
    // Eight 200-byte records make the answer exceed 512 bytes: the server truncates the UDP
    // answer and hickory asks again over TCP.
    let filler: Vec<String> = (0..8)
        .map(|i| format!("x{i}-{}", "a".repeat(196)))
        .collect();
    let mut records: Vec<&str> = filler.iter().map(String::as_str).collect();
    records.push(&value);
    dns.set_txt(&name, &records);
    let (s, d) = t
        .post("/orgs/acme/domains/acme-big.example/verify", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    assert!(dns.tcp_queries() >= 1, "the answer came over TCP");
}

#[tokio::test]
async fn a_domain_verified_by_another_org_is_409_unless_the_operator_overrides() {
    let (t, dns) = start().await;
    let (name, globex_value) = add(&t, "globex", "shared.example").await;
    dns.set_txt(&name, &[&globex_value]);
    let (s, d) = t
        .post("/orgs/globex/domains/shared.example/verify", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");

    // Acme proves control too (both values published): still globex's.
    let (_, acme_value) = add(&t, "acme", "shared.example").await;
    assert_ne!(acme_value, globex_value);
    dns.set_txt(&name, &[&globex_value, &acme_value]);
    refused(
        &t,
        Method::POST,
        "/orgs/acme/domains/shared.example/verify",
        None,
        StatusCode::CONFLICT,
        "domain_taken",
    )
    .await;
    // The manual path is refused the same way.
    refused(
        &t,
        Method::PATCH,
        "/orgs/acme/domains/shared.example",
        Some(json!({"verified": true})),
        StatusCode::CONFLICT,
        "domain_taken",
    )
    .await;

    // The override still needs the DNS proof of the new owner.
    let (_, initech_value) = add(&t, "initech", "shared.example").await;
    let e = refused(
        &t,
        Method::POST,
        "/orgs/initech/domains/shared.example/verify?force=true",
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "txt_record_mismatch",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains(&initech_value));

    // The operator's override: the domain moves to acme, globex's copy is unverified.
    let (s, d) = t
        .post(
            "/orgs/acme/domains/shared.example/verify?force=true",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    assert!(!verified(&t, "globex", "shared.example").await);
    assert!(verified(&t, "acme", "shared.example").await);
    let ev = last_event(&t, "globex", "domain.override").await;
    assert_eq!(ev["details"]["moved_to"], "acme", "{ev}");
    assert_eq!(ev["details"]["before"]["verified"], true, "{ev}");
    assert_eq!(ev["details"]["after"]["verified"], false, "{ev}");
    assert!(
        ev["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("overrode")
    );
    let ev = last_event(&t, "acme", "domain.verify").await;
    assert_eq!(ev["details"]["override"], true, "{ev}");
    assert_eq!(ev["details"]["previous_owner"], "globex", "{ev}");

    // And back by hand: PATCH with force, audited as a manual verification and an override.
    let (s, d) = t
        .patch(
            "/orgs/globex/domains/shared.example?force=true",
            json!({"verified": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert!(!verified(&t, "acme", "shared.example").await);
    let ev = last_event(&t, "globex", "domain.manual_verify").await;
    assert_eq!(ev["details"]["previous_owner"], "acme", "{ev}");
    assert_eq!(ev["details"]["note"], "manually verified by operator");
    assert_eq!(
        last_event(&t, "acme", "domain.override").await["details"]["moved_to"],
        "globex"
    );
}

#[tokio::test]
async fn manual_verification_by_the_operator_is_audited_as_such() {
    let (t, _dns) = start().await;
    add(&t, "initech", "manual.example").await;
    let (s, d) = t
        .patch(
            "/orgs/initech/domains/manual.example",
            json!({"verified": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    let ev = last_event(&t, "initech", "domain.manual_verify").await;
    assert_eq!(ev["actor"], "operator");
    assert_eq!(ev["details"]["method"], "manual");
    assert_eq!(ev["details"]["note"], "manually verified by operator");
    assert!(ev["details"].get("previous_owner").is_none(), "{ev}");

    // Created verified: the create event says it was by hand.
    let d = t
        .create(
            "/orgs/initech/domains",
            json!({"domain": "manual2.example", "verified": true}),
        )
        .await;
    assert_eq!(d["verified"], true);
    let ev = last_event(&t, "initech", "domain.create").await;
    assert_eq!(
        ev["details"]["note"], "manually verified by operator",
        "{ev}"
    );
}

#[tokio::test]
async fn an_unreachable_dns_server_is_a_503() {
    // A port nothing listens on (bound, then released).
    let addr = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let t = TestApp::start_with(|c| c.dns_server = Some(addr)).await;
    t.create(
        "/orgs",
        json!({"id": "acme", "slug": "acme", "name": "acme"}),
    )
    .await;
    add(&t, "acme", "nodns.example").await;
    refused(
        &t,
        Method::POST,
        "/orgs/acme/domains/nodns.example/verify",
        None,
        StatusCode::SERVICE_UNAVAILABLE,
        "dns_unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_verified_domain_is_marked_shared_and_back_audited() {
    let (t, _dns) = start().await;
    let d = t
        .create(
            "/orgs/acme/domains",
            json!({"domain": "acme-shared.example", "verified": true}),
        )
        .await;
    assert_eq!(d["shared"], false, "exclusive by default: {d}");
    let path = "/orgs/acme/domains/acme-shared.example";
    let (s, d) = t.patch(path, json!({"shared": true})).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["shared"], true);
    assert_eq!(d["verified"], true, "sharing leaves the verification alone");
    let (_, d) = t.get(path).await;
    assert_eq!(d["shared"], true);
    let ev = last_event(&t, "acme", "domain.update").await;
    assert_eq!(ev["details"]["shared"], true, "{ev}");
    // Still this org's verification: another org cannot verify it.
    let (s, e) = t
        .post(
            "/orgs/globex/domains",
            json!({"domain": "acme-shared.example", "verified": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, d) = t.patch(path, json!({"shared": false})).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["shared"], false);
    // Created shared.
    let d = t
        .create(
            "/orgs/acme/domains",
            json!({"domain": "acme-shared2.example", "shared": true}),
        )
        .await;
    assert_eq!(d["shared"], true, "{d}");
}
