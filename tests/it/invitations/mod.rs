//! Invitations end to end over HTTP: the email (captured by `mail::MemoryMailer`), the invitee
//! listed as `invited`, resend/revoke, and `/invite/{token}` in a password org (choosing a
//! password, then signing in). The SSO-org path is in `oidc_federation::invitations`.
//!
//! Owns: these tests. Must not touch: the code under test beyond its HTTP API and storage.

mod delivery;
mod password_org;

use serde_json::Value;

pub const ADMIN: &str = "test-admin-token-0123456789";

/// The sentences of `pages::invite` (copied: a changed wording must fail here).
pub const UNKNOWN: &str = "This invitation link is not valid.";
pub const ACCEPTED: &str = "This invitation was already accepted.";
pub const EXPIRED: &str = "This invitation has expired.";
pub const REVOKED: &str = "This invitation was withdrawn by the organization.";

/// `POST /api/v1/orgs/{org}/invitations` with the operator token; asserts 201.
pub async fn invite(base: &str, org: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/orgs/{org}/invitations"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

/// An admin API call with the operator token: (status, JSON body or Null).
pub async fn api(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The status of `user` in the org's member list (`None`: not listed).
pub async fn member_status(base: &str, org: &str, user: &str) -> Option<String> {
    let (s, list) = api(
        base,
        reqwest::Method::GET,
        &format!("/orgs/{org}/members?limit=500"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user)
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

/// A token with one character changed (same shape, names no invitation).
pub fn tampered(token: &str) -> String {
    let mut t: Vec<char> = token.chars().collect();
    let last = t.len() - 1;
    t[last] = if t[last] == 'A' { 'B' } else { 'A' };
    t.into_iter().collect()
}
