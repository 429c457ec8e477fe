//! The browser SSO session (tower-sessions 0.15): who is signed in to Lobby in this browser, so
//! a second app's `/authorize` (and `prompt=none`) needs no password again.
//!
//! Cookie `__Host-lobby_session` (`Secure; HttpOnly; SameSite=Lax; Path=/`) when
//! `config.secure_cookies()`, else `lobby_session` (`HttpOnly; SameSite=Lax; Path=/`) on http
//! loopback development. After a login the session id is cycled (DESIGN §6.7: new session id
//! after login) before the record is stored. Sessions expire after 8 hours of inactivity and
//! at most 24 hours after the authentication (`MAX_AGE_SECS`, checked on every read).
//!
//! Owns: the session record and its cookie settings. Must not touch: flows, tokens.

use super::flow::{AuthMethod, Authenticated};
use crate::domain::{AppId, ConnectionId, OrgId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore, cookie::SameSite};

const KEY: &str = "lobby.sso";
/// Absolute lifetime of an SSO session, counted from the authentication.
pub const MAX_AGE_SECS: i64 = 24 * 3600;
/// Inactivity timeout of the session cookie and record.
pub const IDLE_SECS: i64 = 8 * 3600;

/// Who is signed in to Lobby in this browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSession {
    pub user_id: UserId,
    /// The `sid` put in tokens; logout revokes the refresh tokens of this sid.
    pub sid: SessionId,
    /// Unix seconds.
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub method: AuthMethod,
    /// The org last chosen per app (used by `prompt=none` when the user has several orgs).
    #[serde(default)]
    pub last_org: BTreeMap<AppId, OrgId>,
    /// The upstream connection of a federated sign-in (`None` for passwords).
    #[serde(default)]
    pub idp: Option<ConnectionId>,
}

impl SsoSession {
    /// The authentication this session stands for (reused by a later `/authorize`).
    pub fn authenticated(&self) -> Authenticated {
        Authenticated {
            user_id: self.user_id.clone(),
            sid: self.sid.clone(),
            auth_time: self.auth_time,
            amr: self.amr.clone(),
            method: self.method,
            idp: self.idp.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct SessionError(String);

impl From<tower_sessions::session::Error> for SessionError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self(e.to_string())
    }
}

/// The live SSO session, if any. A session past its absolute lifetime is removed.
pub async fn current(session: &Session, now: i64) -> Result<Option<SsoSession>, SessionError> {
    let s: Option<SsoSession> = match session.get(KEY).await {
        Ok(s) => s,
        // A record we cannot decode (older format): treat as signed out.
        Err(tower_sessions::session::Error::SerdeJson(_)) => None,
        Err(e) => return Err(e.into()),
    };
    match s {
        Some(s) if now - s.auth_time <= MAX_AGE_SECS && now >= s.auth_time - 60 => Ok(Some(s)),
        Some(_) => {
            session.flush().await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Start a new SSO session: a fresh session id, then the record.
pub async fn begin(session: &Session, s: &SsoSession) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.clear().await;
    session.insert(KEY, s).await?;
    Ok(())
}

/// Store the record again (e.g. after `last_org` changed).
pub async fn update(session: &Session, s: &SsoSession) -> Result<(), SessionError> {
    session.insert(KEY, s).await?;
    Ok(())
}

/// Sign out of Lobby in this browser.
pub async fn end(session: &Session) -> Result<(), SessionError> {
    session.flush().await?;
    Ok(())
}

/// A CSRF token kept in the session for forms outside a flow (the logout confirmation).
pub async fn csrf_token(session: &Session) -> Result<String, SessionError> {
    const CSRF: &str = "lobby.csrf";
    if let Some(t) = session.get::<String>(CSRF).await.ok().flatten() {
        return Ok(t);
    }
    let t = crate::domain::random_token();
    session.insert(CSRF, &t).await?;
    Ok(t)
}

/// Check a presented CSRF token against the session's, in constant time.
pub async fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    let stored: Option<String> = session.get("lobby.csrf").await.ok().flatten();
    match (stored, presented) {
        (Some(s), Some(p)) => s.as_bytes().ct_eq(p.as_bytes()).into(),
        _ => false,
    }
}

/// The session layer with Lobby's cookie settings.
pub fn layer<S: SessionStore + Clone>(store: S, secure: bool) -> SessionManagerLayer<S> {
    SessionManagerLayer::new(store)
        .with_name(if secure {
            "__Host-lobby_session"
        } else {
            "lobby_session"
        })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(IDLE_SECS)))
}
