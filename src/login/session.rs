//! The browser SSO session (tower-sessions 0.15): who is signed in to Lobby in this browser, so
//! a second app's `/authorize` (and `prompt=none`) needs no password again.
//!
//! Cookie `__Host-lobby_session` (`Secure; HttpOnly; SameSite=Lax; Path=/`) when
//! `config.secure_cookies()`, else `lobby_session` (`HttpOnly; SameSite=Lax; Path=/`) on http
//! loopback development. After a login the session id is cycled (DESIGN §6.7: new session id
//! after login) before the record is stored. Sessions expire after 8 hours of inactivity and
//! at most 24 hours after the authentication (`MAX_AGE_SECS`, checked on every read).
//!
//! Ending every session of a user (a password reset): the sessions live in a key-value store
//! with no index by user, so [`end_all_for_user`] records the moment in the state store
//! (`sso:ended:<user>`, kept for longer than a session can live) and [`current`] ends, on its
//! next read, any session of that user that started at or before it. Reading that mark fails
//! closed like every other state-store read.
//!
//! Owns: the session record and its cookie settings. Must not touch: flows, tokens.

use super::flow::{AuthMethod, Authenticated};
use crate::domain::{AppId, ConnectionId, OrgId, SessionId, UserId};
use crate::state::StateStore;
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
    /// When this session began, unix nanoseconds (Lobby's clock): a session that began at or
    /// before its user's sessions were ended ([`end_all_for_user`]) is over. A record without
    /// it (older format) counts as begun at 0.
    #[serde(default)]
    pub started_ns: i64,
    /// Unix seconds of the second factor passed in this session (`login::mfa`), if any.
    #[serde(default)]
    pub mfa_time: Option<i64>,
}

/// `now` in unix nanoseconds, for [`SsoSession::started_ns`].
pub fn nanos(now: time::OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn ended_key(user: &UserId) -> String {
    format!("sso:ended:{user}")
}

/// How long the "sessions ended" mark is kept: longer than any session can live after it.
const ENDED_MARK_TTL: std::time::Duration =
    std::time::Duration::from_secs(MAX_AGE_SECS as u64 + 3600);

/// End every SSO session of `user` that began at or before `now` (on every instance sharing
/// the state store): each is removed at its next read.
pub async fn end_all_for_user(
    state: &dyn StateStore,
    user: &UserId,
    now: time::OffsetDateTime,
) -> crate::state::Result<()> {
    state
        .put(
            &ended_key(user),
            nanos(now).to_string().as_bytes(),
            ENDED_MARK_TTL,
        )
        .await
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
            started_ns: self.started_ns,
            mfa_time: self.mfa_time,
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

/// The live SSO session, if any. A session past its absolute lifetime, or begun before its
/// user's sessions were ended ([`end_all_for_user`]), is removed.
pub async fn current(
    session: &Session,
    state: &dyn StateStore,
    now: i64,
) -> Result<Option<SsoSession>, SessionError> {
    let s: Option<SsoSession> = match session.get(KEY).await {
        Ok(s) => s,
        // A record we cannot decode (older format): treat as signed out.
        Err(tower_sessions::session::Error::SerdeJson(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let live = match s {
        Some(s) if now - s.auth_time <= MAX_AGE_SECS && now >= s.auth_time - 60 => s,
        Some(_) => {
            session.flush().await?;
            return Ok(None);
        }
        None => return Ok(None),
    };
    let ended = ended_since(state, &live.user_id, live.started_ns)
        .await
        .map_err(|e| SessionError(e.to_string()))?;
    if ended {
        session.flush().await?;
        return Ok(None);
    }
    Ok(Some(live))
}

/// Whether `user`'s sessions were ended ([`end_all_for_user`]) at or after `started_ns`.
async fn ended_since(
    state: &dyn StateStore,
    user: &UserId,
    started_ns: i64,
) -> crate::state::Result<bool> {
    let mark = state.get(&ended_key(user)).await?;
    Ok(mark_ends(mark.as_deref(), started_ns))
}

/// Whether the end mark `mark` (the value under [`ended_key`]) ends a session or an
/// authentication started at `started_ns`. A mark that does not parse ends everything (fail
/// closed).
fn mark_ends(mark: Option<&[u8]>, started_ns: i64) -> bool {
    mark.is_some_and(|v| {
        let at = std::str::from_utf8(v)
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        started_ns <= at
    })
}

/// Store `put`, and tell whether this authentication (a flow signed in but not finished, e.g.
/// at the org chooser) belongs to a session its user's password reset has ended since, in one
/// step of the state store (one round trip on Redis). The caller that gets `true` must not use
/// what it stored.
pub async fn put_unless_ended(
    state: &dyn StateStore,
    put: crate::state::Put<'_>,
    auth: &Authenticated,
) -> crate::state::Result<bool> {
    let mark = state.put_then_get(put, &ended_key(&auth.user_id)).await?;
    Ok(mark_ends(mark.as_deref(), auth.started_ns))
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

/// The SSO session cookie's name.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-lobby_session"
    } else {
        "lobby_session"
    }
}

/// This browser's SSO session, read from its cookie in `headers`, for a handler outside the
/// session layer (the portal's sign-out, which runs under the portal's own session): `None`
/// without a well-formed cookie. Nothing is loaded until the session is read.
pub fn from_cookie<S: SessionStore>(
    headers: &axum::http::HeaderMap,
    store: S,
    secure: bool,
) -> Option<Session> {
    let name = cookie_name(secure);
    let id = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(tower_sessions::cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value().parse::<tower_sessions::session::Id>().ok())?;
    Some(Session::new(
        Some(id),
        std::sync::Arc::new(store),
        Some(Expiry::OnInactivity(time::Duration::seconds(IDLE_SECS))),
    ))
}

/// A `Set-Cookie` value that removes the SSO cookie (same name and attributes, expired).
pub fn removal_cookie(secure: bool) -> String {
    let mut c = tower_sessions::cookie::Cookie::build((cookie_name(secure), ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::ZERO)
        .build();
    c.make_removal();
    c.to_string()
}

/// The session layer with Lobby's cookie settings.
pub fn layer<S: SessionStore + Clone>(store: S, secure: bool) -> SessionManagerLayer<S> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(secure))
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(IDLE_SECS)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SystemClock;
    use crate::state::MemoryState;
    use std::sync::Arc;

    #[tokio::test]
    async fn ending_a_users_sessions_ends_those_begun_until_then_only() {
        let state = MemoryState::new(Arc::new(SystemClock));
        let alice = UserId::parse("alice").unwrap();
        let bob = UserId::parse("bob").unwrap();
        let t = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert!(!ended_since(state.as_ref(), &alice, nanos(t)).await.unwrap());
        end_all_for_user(state.as_ref(), &alice, t).await.unwrap();
        // Begun before or at the reset: ended; after it: live; other users: untouched.
        let before = nanos(t - time::Duration::seconds(1));
        assert!(ended_since(state.as_ref(), &alice, before).await.unwrap());
        assert!(ended_since(state.as_ref(), &alice, nanos(t)).await.unwrap());
        assert!(
            ended_since(state.as_ref(), &alice, 0).await.unwrap(),
            "old records"
        );
        let after = nanos(t + time::Duration::milliseconds(1));
        assert!(!ended_since(state.as_ref(), &alice, after).await.unwrap());
        assert!(!ended_since(state.as_ref(), &bob, before).await.unwrap());
        // A mark that does not parse ends everything (fail closed).
        state
            .put(&ended_key(&bob), b"\xff", ENDED_MARK_TTL)
            .await
            .unwrap();
        assert!(
            ended_since(state.as_ref(), &bob, i64::MAX - 1)
                .await
                .unwrap()
        );
    }

    #[test]
    fn the_mark_outlives_every_session_it_ends() {
        assert!(ENDED_MARK_TTL.as_secs() > MAX_AGE_SECS as u64 + 60);
    }
}
