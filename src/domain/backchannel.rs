//! OpenID Connect Back-Channel Logout 1.0 as Lobby sends it: an app's registration
//! (`backchannel_logout_uri`, `backchannel_logout_session_required`), the outbox rows queued when
//! Lobby ends an app's session (one per app per SSO session), and the `logout_token` claims
//! (§2.4) the deliverer signs at each attempt.
//!
//! An app holds a session for a member exactly while it holds a live refresh-token family
//! (every code exchange creates one, carrying the `sid` of the SSO session); so Lobby ends an
//! app's session — and queues a logout token — whenever it revokes such families (member
//! removed or suspended, roles changed, org suspended or unlinked, per the app's `revoke_on`;
//! sign-out; an admin ending a user's sessions; password reset; user or org deleted).
//!
//! Owns: these types and rules. Must not touch: I/O (storage queues the rows in the
//! revocation's transaction, `webhooks::backchannel` signs and sends).

use super::error::{DomainError, DomainResult};
use super::ids::{AppId, OrgId, OutboxId, UserId};
use super::webhook::{OutboxItem, OutboxKind, OutboxState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The `events` member that makes a JWT a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of a logout token (§2.4: "explicitly typed … `logout+jwt`").
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// A logout token is valid this long after its `iat` (§2.4 leaves it to the OP; two minutes, as
/// is usual; each delivery attempt signs a fresh token).
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// `event_type` of the outbox rows (shown in the deliveries list).
pub const LOGOUT_EVENT_TYPE: &str = "backchannel_logout";

/// An app's Back-Channel Logout registration (OIDC Back-Channel Logout 1.0 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackchannelLogout {
    /// `backchannel_logout_uri`: where Lobby POSTs `logout_token=…`.
    pub uri: String,
    /// `backchannel_logout_session_required`: the app needs `sid` in the logout token (Lobby
    /// always sends both `sub` and `sid`, so this only documents the app's expectation).
    #[serde(default)]
    pub session_required: bool,
}

impl BackchannelLogout {
    /// §2.2: an absolute URL, which "MAY contain port, path, and query parameter components"
    /// and "MUST NOT include any fragment component". https, or http to a loopback host (the
    /// deliverer additionally refuses it unless private addresses are allowed).
    pub fn validate(&self) -> DomainResult<()> {
        let field = "backchannel_logout_uri";
        if self.uri.len() > 2048 {
            return Err(DomainError::new(field, "must be at most 2048 characters"));
        }
        let u = url::Url::parse(&self.uri)
            .map_err(|_| DomainError::new(field, "must be an absolute https URL"))?;
        let host = u
            .host()
            .ok_or_else(|| DomainError::new(field, "must have a host"))?;
        if !u.username().is_empty() || u.password().is_some() {
            return Err(DomainError::new(field, "must not contain credentials"));
        }
        if u.fragment().is_some() || self.uri.contains('#') {
            return Err(DomainError::new(field, "must not contain a fragment"));
        }
        match u.scheme() {
            "https" => Ok(()),
            "http" if super::app::is_loopback_host(&host) => Ok(()),
            _ => Err(DomainError::new(
                field,
                "must use https (plain http only to a loopback address)",
            )),
        }
    }
}

/// One app session Lobby just ended: a revoked refresh-token family's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedAppSession {
    /// The family id (unique per revocation: the outbox row's `event_id`).
    pub family_id: String,
    pub app_id: AppId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub session_id: String,
}

/// What an outbox row of kind `backchannel_logout` carries (its `payload`, JSON); the
/// deliverer builds and signs the token from it at each attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutNotice {
    pub sub: UserId,
    pub sid: String,
    pub org_id: OrgId,
}

/// The outbox rows for `ended`: one per (app, sid) whose app registered a back-channel logout
/// URI (`registered`), targeted at the app id. Several families of one app in one SSO session
/// (the app signed in twice) give one row.
pub fn logout_items(
    ended: &[EndedAppSession],
    registered: &BTreeMap<AppId, BackchannelLogout>,
    now: OffsetDateTime,
) -> Vec<OutboxItem> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for e in ended {
        if !registered.contains_key(&e.app_id) {
            continue;
        }
        if !seen.insert((e.app_id.clone(), e.session_id.clone(), e.org_id.clone())) {
            continue;
        }
        let notice = LogoutNotice {
            sub: e.user_id.clone(),
            sid: e.session_id.clone(),
            org_id: e.org_id.clone(),
        };
        let Ok(payload) = serde_json::to_string(&notice) else {
            continue;
        };
        out.push(OutboxItem {
            id: OutboxId::generate(),
            kind: OutboxKind::BackchannelLogout,
            target: e.app_id.to_string(),
            event_id: e.family_id.clone(),
            event_type: LOGOUT_EVENT_TYPE.to_owned(),
            payload,
            created_at: now,
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_status: None,
            last_error: None,
            last_attempt_at: None,
        });
    }
    out
}

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud` (the client id),
/// `iat`, `exp`, `jti`, `events`, `sub` and `sid` (both: §2.4 requires at least one), plus
/// Lobby's `org_id`. §2.4: "A nonce Claim MUST NOT be present".
pub fn logout_token_claims(
    issuer: &str,
    client_id: &str,
    notice: &LogoutNotice,
    now: i64,
    jti: &str,
) -> Value {
    json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL_SECS,
        "jti": jti,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        "sub": notice.sub,
        "sid": notice.sid,
        "org_id": notice.org_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(app: &str, sid: &str, fam: &str) -> EndedAppSession {
        EndedAppSession {
            family_id: fam.into(),
            app_id: AppId::parse(app).unwrap(),
            org_id: OrgId::parse("org_a").unwrap(),
            user_id: UserId::parse("usr_1").unwrap(),
            session_id: sid.into(),
        }
    }

    #[test]
    fn uri_rules() {
        let ok = |u: &str| {
            BackchannelLogout {
                uri: u.into(),
                session_required: true,
            }
            .validate()
        };
        assert!(ok("https://app.example/bcl?x=1").is_ok());
        assert!(ok("http://127.0.0.1:3000/bcl").is_ok());
        assert!(ok("http://app.example/bcl").is_err());
        assert!(ok("https://app.example/bcl#f").is_err());
        assert!(ok("https://u:p@app.example/bcl").is_err());
        assert!(ok("/relative").is_err());
        assert!(ok("ftp://app.example/").is_err());
    }

    #[test]
    fn one_row_per_registered_app_and_session() {
        let reg: BTreeMap<AppId, BackchannelLogout> = [(
            AppId::parse("a").unwrap(),
            BackchannelLogout {
                uri: "https://a.example/bcl".into(),
                session_required: false,
            },
        )]
        .into();
        let now = OffsetDateTime::UNIX_EPOCH;
        let items = logout_items(
            &[
                ended("a", "s1", "f1"),
                ended("a", "s1", "f2"),
                ended("a", "s2", "f3"),
                ended("b", "s1", "f4"),
            ],
            &reg,
            now,
        );
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.target == "a"));
        assert_eq!(items[0].event_id, "f1");
        let n: LogoutNotice = serde_json::from_str(&items[1].payload).unwrap();
        assert_eq!(n.sid, "s2");
    }

    #[test]
    fn claims_have_events_and_no_nonce() {
        let n = LogoutNotice {
            sub: UserId::parse("usr_1").unwrap(),
            sid: "s1".into(),
            org_id: OrgId::parse("org_a").unwrap(),
        };
        let c = logout_token_claims("https://lobby.example", "cid", &n, 100, "j1");
        assert_eq!(c["aud"], "cid");
        assert_eq!(c["exp"], 220);
        assert_eq!(c["events"][BACKCHANNEL_LOGOUT_EVENT], json!({}));
        assert!(c.get("nonce").is_none());
        assert_eq!(c["sid"], "s1");
        assert_eq!(c["org_id"], "org_a");
    }
}
