//! "Remember this device": after a second factor with the box ticked, the browser gets a cookie
//! with a random 256-bit token; only its SHA-256 is stored, bound to the user
//! (`MfaStore::remember_device`), so an admin's reset forgets every device of the user. The
//! cookie follows the flow cookie's rules (`flow`): `__Host-lobby_mfa` with
//! `Secure; HttpOnly; Path=/; SameSite=Lax` when `config.secure_cookies()`, else `lobby_mfa`
//! without `Secure` on http loopback development; it lives `LOBBY_MFA_REMEMBER_DAYS` days
//! (0: nothing is remembered and the box is not shown).
//!
//! Owns: the cookie and the device record. Must not touch: which sign-ins may skip the
//! challenge (`mfa::gate`).

use crate::domain::{RememberedDevice, TokenHash, UserId, random_token};
use crate::login::LoginCtx;
use crate::login::flow::token_shaped;
use axum::http::{HeaderMap, HeaderValue};

/// The cookie's name.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-lobby_mfa"
    } else {
        "lobby_mfa"
    }
}

/// Whether the challenge page offers "remember this device".
pub fn offered(st: &LoginCtx) -> bool {
    st.config.mfa_remember_days > 0
}

/// When the browser presenting `headers` was remembered for `user` (unix seconds), if it is
/// and the memory has not expired.
pub async fn recognised(
    st: &LoginCtx,
    headers: &HeaderMap,
    user: &UserId,
) -> crate::storage::Result<Option<i64>> {
    if !offered(st) {
        return Ok(None);
    }
    let name = cookie_name(st.config.secure_cookies());
    let Some(token) = crate::http::params::cookie(headers, name).filter(|v| token_shaped(v)) else {
        return Ok(None);
    };
    let found = st
        .storage
        .find_remembered_device(user, &TokenHash::of(token), st.clock.now())
        .await?;
    Ok(found.map(|d| d.created_at.unix_timestamp()))
}

/// Remember this browser for `user`: the record, and the `Set-Cookie` value. `None` when
/// remembering is turned off.
pub async fn remember(st: &LoginCtx, user: &UserId) -> crate::storage::Result<Option<HeaderValue>> {
    let days = st.config.mfa_remember_days;
    if days == 0 {
        return Ok(None);
    }
    let token = random_token();
    let now = st.clock.now();
    let d = RememberedDevice {
        token_hash: TokenHash::of(&token),
        user_id: user.clone(),
        created_at: now,
        expires_at: now + time::Duration::days(i64::from(days)),
    };
    st.storage.remember_device(&d).await?;
    Ok(super::cookie_header(&cookie_value(
        st.config.secure_cookies(),
        &token,
        u64::from(days) * 86_400,
    )))
}

fn cookie_value(secure: bool, token: &str, max_age: u64) -> String {
    let attrs = if secure {
        "Path=/; Secure; HttpOnly; SameSite=Lax"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    };
    format!(
        "{}={token}; Max-Age={max_age}; {attrs}",
        cookie_name(secure)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = cookie_value(true, "t", 60);
        assert!(c.starts_with("__Host-lobby_mfa=t;"));
        for a in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=60"] {
            assert!(c.contains(a), "{c}");
        }
        assert!(!c.contains("Domain"));
        let c = cookie_value(false, "t", 60);
        assert!(c.starts_with("lobby_mfa=t;") && !c.contains("Secure"));
    }
}
