//! The password connection: `/login/password` (DESIGN §2 step 3).
//!
//! Credentials are checked with argon2id (`domain::user::verify_password` against
//! `User.password_hash`); the password user is found by one indexed read of the unique
//! password credential for the normalized email (`UserStore::find_password_user`). Unknown users, users without a password and wrong passwords get the
//! same sentence in the same time: an unknown user is verified against a fixed dummy argon2id
//! hash with the same parameters. Lockout (counters in the state store, fail closed): 5 failures
//! per account (keyed by the SHA-256 of the normalized email, so unknown accounts behave the
//! same) and 30 per client IP (IPv6 per /64) within 15 minutes lock that account or IP for 15
//! minutes — even a correct password is refused meanwhile. The IP is the client address of
//! `http::client_ip` (the TCP peer, or behind `LOBBY_TRUSTED_PROXIES` the forwarded client).
//! After a correct password the session id is
//! cycled and the SSO session stored; `issue::complete_login` picks the org.
//!
//! Owns: password verification and its rate limits. Must not touch: org selection, codes.

use super::error::{LoginError, respond};
use super::flow::{self, AuthMethod, Authenticated, Flow, Stage};
use super::issue::complete_login;
use super::session::{self, SsoSession};
use super::{LoadedFlow, flow_app, load_form_flow};
use crate::domain::{
    AuditEvent, AuditEventId, Email, Outcome, Secret, SessionId, User, UserId, verify_password,
};
use crate::http::client_ip::{ClientIp, ip_bucket};
use crate::http::redirect::see_other;
use crate::login::LoginCtx;
use crate::login::prefetch::Early;
use crate::pages::{Chrome, PageError, PasswordPage, render};
use crate::pages::{SENTENCE_LOCKED as LOCKED, SENTENCE_WRONG_PASSWORD as WRONG};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_sessions::Session;

/// The lockout window and duration.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_ACCOUNT_FAILURES: u64 = 5;
pub const MAX_IP_FAILURES: u64 = 30;
/// Longest password accepted (argon2 would take any length; bound the work).
const MAX_PASSWORD_BYTES: usize = 1024;

/// An argon2id hash (m=19456, t=2, p=1, the parameters `hash_password` uses) of a random
/// password nobody knows: verifying against it costs the same as a real check.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$WqrmDahQ7m6hmTLqE2zF9g$yXlH4i/3fd2yIL6yVqt1+iqSFRxXYGJL1EVEYcqlbbo";

/// The lockout key of an account: the SHA-256 of its normalized email.
pub(crate) fn account_bucket(email: &Email) -> String {
    hex::encode(Sha256::digest(email.as_str().as_bytes()))
}

/// Forget the account's failed attempts and lift its lock (after a password reset: the person
/// proved they hold the mailbox). Best effort: a stale counter only delays them.
pub(crate) async fn clear_lockout(st: &LoginCtx, email: &Email) {
    let acct = account_bucket(email);
    for key in [format!("fail:acct:{acct}"), format!("lock:acct:{acct}")] {
        if let Err(e) = st.ephemeral.delete(&key).await {
            tracing::warn!(error = %e, "cannot clear the password lockout");
        }
    }
}

/// Count one failed attempt of a client address (a reset link we never issued counts like a
/// wrong password); the address is locked at [`MAX_IP_FAILURES`].
pub(crate) async fn count_ip_failure(st: &LoginCtx, ip: &str) -> crate::state::Result<()> {
    let n = st.ephemeral.incr(&format!("fail:ip:{ip}"), WINDOW).await?;
    if n >= MAX_IP_FAILURES {
        st.ephemeral
            .put(&format!("lock:ip:{ip}"), b"1", WINDOW)
            .await?;
    }
    Ok(())
}

fn page(
    headers: &HeaderMap,
    app: &crate::domain::App,
    flow: &flow::Flow,
    brand: Option<&crate::domain::Org>,
    error: Option<crate::i18n::Msg>,
    status: StatusCode,
) -> Response {
    let offer_password = super::shared::offers_password(app, flow);
    let title = if offer_password {
        "title-password"
    } else {
        "title-sign-in"
    };
    let p = PasswordPage {
        c: Chrome::new(crate::i18n::Msg::new(title), headers)
            .branded(brand)
            .ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        email: flow
            .email
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        error,
        offer_password,
        offer_org_link: super::shared::offers_org_link(flow),
    };
    render(status, &p)
}

async fn brand(st: &LoginCtx, flow: &flow::Flow) -> Option<crate::domain::Org> {
    match flow.target_org.as_ref().or(flow.org_hint.as_ref()) {
        Some(id) => st.storage.get_org(id).await.ok().flatten(),
        None => None,
    }
}

/// `GET /login/password?flow=…`.
pub async fn get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = show(&st, &headers, flow).await;
    respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

async fn show(st: &LoginCtx, headers: &HeaderMap, flow: Flow) -> Result<Response, LoginError> {
    match flow.stage {
        Stage::Password if flow.email.is_some() => {}
        Stage::Chooser => return Ok(see_other(&format!("/login/org?flow={}", flow.id))),
        _ => return Ok(see_other(&format!("/login?flow={}", flow.id))),
    }
    let app = flow_app(st, &flow).await?;
    let b = brand(st, &flow).await;
    Ok(page(headers, &app, &flow, b.as_ref(), None, StatusCode::OK))
}

/// The user with a password for this email, if any: one indexed read of the unique password
/// credential (issue 13 item 9; reading "the first users with this email" let users without a
/// password who share the email hide it).
async fn find_password_user(st: &LoginCtx, email: &Email) -> crate::storage::Result<Option<User>> {
    st.storage.find_password_user(email).await
}

enum Limit {
    Ok,
    Locked,
}

/// The outcome of [`reserve_attempt`].
enum Reserved {
    /// This is the account's `n`-th attempt in the window: check the password.
    Attempt(u64),
    Locked,
}

/// Reserve this attempt before the password is checked, atomically (the counter is incremented
/// first, in the shared state store), so concurrent guesses cannot all pass a check made before
/// any of them is counted: of a burst, only the first [`MAX_ACCOUNT_FAILURES`] attempts in the
/// window are verified. A failed attempt keeps its reservation; a successful one clears the
/// account's count. `Locked` when the account or the client address is locked or this attempt is
/// over the account's limit.
async fn reserve_attempt(
    st: &LoginCtx,
    acct: &str,
    ip: Option<&str>,
) -> crate::state::Result<Reserved> {
    if let Some(ip) = ip
        && st.ephemeral.get(&format!("lock:ip:{ip}")).await?.is_some()
    {
        return Ok(Reserved::Locked);
    }
    if st
        .ephemeral
        .get(&format!("lock:acct:{acct}"))
        .await?
        .is_some()
    {
        return Ok(Reserved::Locked);
    }
    let n = st
        .ephemeral
        .incr(&format!("fail:acct:{acct}"), WINDOW)
        .await?;
    if n > MAX_ACCOUNT_FAILURES {
        st.ephemeral
            .put(&format!("lock:acct:{acct}"), b"1", WINDOW)
            .await?;
        return Ok(Reserved::Locked);
    }
    Ok(Reserved::Attempt(n))
}

/// Count a failed attempt, the account's `n`-th in the window (reserved by
/// [`reserve_attempt`]); `Locked` when it reached a limit.
async fn count_failure(
    st: &LoginCtx,
    acct: &str,
    n: u64,
    ip: Option<&str>,
) -> crate::state::Result<Limit> {
    let mut out = Limit::Ok;
    if n >= MAX_ACCOUNT_FAILURES {
        st.ephemeral
            .put(&format!("lock:acct:{acct}"), b"1", WINDOW)
            .await?;
        out = Limit::Locked;
    }
    if let Some(ip) = ip {
        let n = st.ephemeral.incr(&format!("fail:ip:{ip}"), WINDOW).await?;
        if n >= MAX_IP_FAILURES {
            st.ephemeral
                .put(&format!("lock:ip:{ip}"), b"1", WINDOW)
                .await?;
            out = Limit::Locked;
        }
    }
    Ok(out)
}

async fn audit_failure(st: &LoginCtx, headers: &HeaderMap, user: Option<&UserId>, reason: &str) {
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: user.map_or_else(|| "anonymous".to_owned(), |u| format!("user:{u}")),
        org_id: None,
        action: "login.failure".into(),
        target_type: "user".into(),
        target_id: user.map(|u| u.to_string()).unwrap_or_default(),
        outcome: Outcome::Failure,
        details: serde_json::json!({ "reason": reason, "connection": "password" }),
        request_id: Some(crate::http::params::request_id(headers)),
    };
    crate::ops::metrics::login_refused(&ev.action, &ev.details);
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the failed sign-in");
    }
}

/// `POST /login/password`.
pub async fn post(
    State(st): State<LoginCtx>,
    sess: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = check(&st, &sess, ip, &headers, early, &body).await;
    respond(&st, &headers, r).await
}

async fn check(
    st: &LoginCtx,
    sess: &Session,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    early: Early,
    body: &Bytes,
) -> Result<Response, LoginError> {
    let (flow, p) = load_form_flow(st, headers, early, body).await?;
    let lang = flow.ui_lang();
    check_password(st, sess, ip, headers, flow, p)
        .await
        .map_err(|e| e.in_lang(lang))
}

async fn check_password(
    st: &LoginCtx,
    sess: &Session,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    flow: Flow,
    p: crate::http::params::Params,
) -> Result<Response, LoginError> {
    let Some(email) = flow.email.clone().filter(|_| flow.stage == Stage::Password) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let app = flow_app(st, &flow).await?;
    let b = brand(st, &flow).await;
    let acct = account_bucket(&email);
    let ip = ip.map(ip_bucket);
    let attempt = match reserve_attempt(st, &acct, ip.as_deref()).await {
        Ok(Reserved::Attempt(n)) => n,
        Ok(Reserved::Locked) => {
            return Ok(page(
                headers,
                &app,
                &flow,
                b.as_ref(),
                Some(LOCKED),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        Err(e) => return Err(LoginError::unavailable("sign-in limits", &e)),
    };
    let password = p.get("password").ok().flatten().unwrap_or("");
    let user = find_password_user(st, &email)
        .await
        .map_err(|e| LoginError::server("the user lookup", &e))?;
    let dummy = Secret::new(DUMMY_HASH);
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.as_ref())
        .unwrap_or(&dummy);
    // argon2 is CPU-bound (~20-50 ms, 19 MiB): keep it off the async workers, and at most as
    // many at once as there are cores (`LoginCtx::argon2`); a request that waits too long gets
    // the "try again shortly" page.
    let usable = !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES;
    let (check_hash, check_password) = if usable {
        (hash.clone(), password.to_owned())
    } else {
        (dummy.clone(), "x".to_owned())
    };
    let verified = verify_in_pool(&st.argon2, check_hash, check_password)
        .await
        .ok_or(PageError::Busy)?;
    let ok = usable && verified && user.is_some();
    if !ok {
        audit_failure(st, headers, user.as_ref().map(|u| &u.id), "bad_credentials").await;
        let (msg, status) = match count_failure(st, &acct, attempt, ip.as_deref()).await {
            Ok(Limit::Ok) => (WRONG, StatusCode::OK),
            Ok(Limit::Locked) => (LOCKED, StatusCode::TOO_MANY_REQUESTS),
            Err(e) => return Err(LoginError::unavailable("counting a failed sign-in", &e)),
        };
        return Ok(page(headers, &app, &flow, b.as_ref(), Some(msg), status));
    }
    let user = user.ok_or(PageError::Server)?;
    let _ = st.ephemeral.delete(&format!("fail:acct:{acct}")).await;

    // DESIGN §6.7: a new session id after login, then the SSO session.
    let now = st.clock.now().unix_timestamp();
    let sso = SsoSession {
        user_id: user.id.clone(),
        sid: SessionId::generate(),
        auth_time: now,
        amr: vec!["pwd".into()],
        method: AuthMethod::Password,
        last_org: BTreeMap::new(),
        idp: None,
        started_ns: session::nanos(st.clock.now()),
        mfa_time: None,
    };
    session::begin(sess, &sso)
        .await
        .map_err(|e| LoginError::unavailable("starting the SSO session", &e))?;
    crate::ops::metrics::login_succeeded(sso.method.label());
    let auth = Authenticated {
        user_id: sso.user_id.clone(),
        sid: sso.sid.clone(),
        auth_time: sso.auth_time,
        amr: sso.amr.clone(),
        method: sso.method,
        idp: None,
        started_ns: sso.started_ns,
        mfa_time: None,
    };
    Ok(complete_login(st, headers, sess, &app, flow, auth, true).await)
}

/// How long a password check waits for an argon2 slot before the person is asked to retry.
const ARGON2_WAIT: Duration = Duration::from_secs(5);

/// Verify on the blocking pool, holding one of the `slots`; `None` when no slot freed up in
/// [`ARGON2_WAIT`].
async fn verify_in_pool(slots: &Semaphore, hash: Secret, password: String) -> Option<bool> {
    let _slot = tokio::time::timeout(ARGON2_WAIT, slots.acquire())
        .await
        .ok()?
        .ok()?;
    Some(
        tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .unwrap_or(false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash_with_the_real_parameters() {
        let real = crate::domain::hash_password("x").unwrap();
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(DUMMY_HASH), params(real.expose()));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$"));
        assert!(!verify_password(&Secret::new(DUMMY_HASH), "x"));
        // It parses (a malformed hash would return at once and leak timing).
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn ip_buckets() {
        assert_eq!(ip_bucket("10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(
            ip_bucket("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(ip_bucket("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
