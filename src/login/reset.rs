//! Self-service password reset for users of a password connection (issue 12 item 5):
//! `/login/password/forgot` (ask for a link) and `/login/password/reset/{token}` (choose a new
//! password).
//!
//! - **No enumeration.** Every accepted request gets the same page in the same time: the rate
//!   counters are taken and the user is looked up for every email; issuing the token, choosing
//!   the org for branding, rendering and sending the message happen after the answer, in a
//!   task of their own. Only users with a password and an active membership of an org with an
//!   active password connection get a message.
//! - **The link**: 256 random bits, only their SHA-256 stored (`password_resets`, durable: a
//!   link outlives a restart and only the database can consume it atomically together with the
//!   password write), valid [`RESET_TTL`], single use. Completing a reset consumes the token,
//!   stores the new argon2id hash and voids the user's other links in one transaction
//!   (`PasswordResetStore::complete_password_reset`); any storage error refuses the reset.
//! - **After a reset** every SSO session of the user ends (`session::end_all_for_user`) and
//!   every refresh family is revoked (`RefreshStore::revoke_user_families`), both before the
//!   password is written (so a failure leaves nothing half-done in the attacker's favour) and
//!   again after it (whatever began in between); the account's password lockout is cleared
//!   (the person proved they hold the mailbox); an audit event records it.
//! - **Limits** (state store, fail closed): at most [`MAX_MAILS_PER_ACCOUNT`] messages per
//!   account per hour (more requests get the same answer and no message), at most
//!   [`MAX_REQUESTS_PER_IP`] requests per client address per hour, and the sign-in lockout of
//!   the client address (`password`) applies to both pages; a link that does not exist counts
//!   as a failed attempt of the address.
//! - **CSRF**: both forms carry the session's CSRF token (`session::csrf_token`); the session
//!   cookie is `SameSite=Lax`, so a cross-site POST carries neither.
//! - New passwords follow NIST SP 800-63B §5.1.1.2 (`domain::password_policy`).
//!
//! Owns: the two pages, reset tokens and their message. Must not touch: the sign-in itself
//! (`password`), the lockout counters' meaning (read and cleared here, owned by `password`).

use super::LoginCtx;
use super::error::{LoginError, respond};
use super::flow::{self, Flow};
use super::password::{account_bucket, clear_lockout, count_ip_failure};
use super::session;
use crate::domain::password_policy::check_new_password;
use crate::domain::{
    AuditEvent, AuditEventId, ConnectionKind, ConnectionState, Email, MemberStatus, Org, OrgId,
    Outcome, PasswordReset, RESET_TTL, ResetOutcome, ResetTokenState, Secret, TokenHash, User,
    hash_password, random_token,
};
use crate::http::client_ip::{ClientIp, ip_bucket};
use crate::http::params::{Params, is_form};
use crate::i18n::{Msg, Tr};
use crate::mail::OutgoingMail;
use crate::pages::password::{
    ForgotPage, ResetMailHtml, ResetMailText, ResetNoticePage, ResetPage,
    SENTENCE_PASSWORD_CHANGED, SENTENCE_PASSWORDS_DIFFER, SENTENCE_RESET_EXPIRED,
    SENTENCE_RESET_LIMITED, SENTENCE_RESET_SENT, SENTENCE_RESET_UNKNOWN, SENTENCE_RESET_USED,
    reset_mail_subject,
};
use crate::pages::{Chrome, PageError, SENTENCE_EMAIL_INVALID, SENTENCE_LOCKED, render};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::net::IpAddr;
use std::time::Duration;
use tower_sessions::Session;

/// Messages one account may be sent per [`LIMIT_WINDOW`].
pub const MAX_MAILS_PER_ACCOUNT: u64 = 5;
/// "Forgot password" requests and reset attempts one client address may make per window.
pub const MAX_REQUESTS_PER_IP: u64 = 20;
/// The window of both limits.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(3600);

fn page_title() -> Msg {
    Msg::new("title-reset")
}

fn notice(headers: &HeaderMap, brand: Option<&Org>, status: StatusCode, message: Msg) -> Response {
    let is_error = message != SENTENCE_PASSWORD_CHANGED;
    let offer_new_link = matches!(
        message,
        SENTENCE_RESET_EXPIRED | SENTENCE_RESET_USED | SENTENCE_RESET_UNKNOWN
    );
    let title = if is_error {
        page_title()
    } else {
        Msg::new("title-password-changed")
    };
    render(
        status,
        &ResetNoticePage {
            c: Chrome::new(title, headers).branded(brand),
            message,
            is_error,
            offer_new_link,
        },
    )
}

/// Whether the client address may use these pages now: not locked out by failed sign-ins and
/// under [`MAX_REQUESTS_PER_IP`] (this request counted). `Some(page)` when refused.
async fn ip_gate(
    st: &LoginCtx,
    headers: &HeaderMap,
    ip: Option<&str>,
    brand: Option<&Org>,
) -> Result<Option<Response>, LoginError> {
    let Some(ip) = ip else { return Ok(None) };
    let locked = st
        .ephemeral
        .get(&format!("lock:ip:{ip}"))
        .await
        .map_err(|e| LoginError::unavailable("reset limits", &e))?;
    if locked.is_some() {
        let r = notice(
            headers,
            brand,
            StatusCode::TOO_MANY_REQUESTS,
            SENTENCE_LOCKED,
        );
        return Ok(Some(r));
    }
    let n = st
        .ephemeral
        .incr(&format!("reset:ip:{ip}"), LIMIT_WINDOW)
        .await
        .map_err(|e| LoginError::unavailable("reset limits", &e))?;
    if n > MAX_REQUESTS_PER_IP {
        let r = notice(
            headers,
            brand,
            StatusCode::TOO_MANY_REQUESTS,
            SENTENCE_RESET_LIMITED,
        );
        return Ok(Some(r));
    }
    Ok(None)
}

/// The sign-in flow named by `flow=`, when it is this browser's (for branding, the email and
/// the way back); a missing or foreign flow is simply not used.
async fn optional_flow(st: &LoginCtx, p: &Params, headers: &HeaderMap) -> Option<Flow> {
    let id = flow::FlowId::parse(p.get("flow").ok().flatten()?)?;
    flow::load(st, &id, headers).await.ok()
}

async fn flow_brand(st: &LoginCtx, flow: Option<&Flow>) -> Option<Org> {
    let id = flow?.target_org.as_ref().or(flow?.org_hint.as_ref())?;
    st.storage.get_org(id).await.ok().flatten()
}

fn forgot_page(
    headers: &HeaderMap,
    brand: Option<&Org>,
    csrf: String,
    flow: Option<&Flow>,
    email: String,
    error: Option<Msg>,
    sent: bool,
) -> Response {
    let p = ForgotPage {
        c: Chrome::new(page_title(), headers)
            .branded(brand)
            .ui_lang(flow.and_then(Flow::ui_lang)),
        csrf,
        flow: flow.map(|f| f.id.to_string()),
        email,
        error,
        sent: sent.then_some(SENTENCE_RESET_SENT),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &p)
}

async fn csrf(sess: &Session) -> Result<String, LoginError> {
    session::csrf_token(sess)
        .await
        .map_err(|e| LoginError::unavailable("the session", &e))
}

/// `GET /login/password/forgot[?flow=…]`.
pub async fn forgot_get(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let r: Result<Response, LoginError> = async {
        let p = Params::from_query(q.as_deref());
        let flow = optional_flow(&st, &p, &headers).await;
        let brand = flow_brand(&st, flow.as_ref()).await;
        let email = flow
            .as_ref()
            .and_then(|f| f.email.as_ref())
            .map(|e| e.to_string())
            .unwrap_or_default();
        let csrf = csrf(&sess).await?;
        Ok(forgot_page(
            &headers,
            brand.as_ref(),
            csrf,
            flow.as_ref(),
            email,
            None,
            false,
        ))
    }
    .await;
    respond(&st, &headers, r).await
}

/// `POST /login/password/forgot`: the same answer for every well-formed email.
pub async fn forgot_post(
    State(st): State<LoginCtx>,
    sess: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = forgot(&st, &sess, ip, &headers, &body).await;
    respond(&st, &headers, r).await
}

async fn forgot(
    st: &LoginCtx,
    sess: &Session,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, LoginError> {
    if !is_form(headers) {
        return Err(PageError::BadRequest.into());
    }
    let p = Params::parse(body);
    if !session::csrf_ok(sess, p.get("csrf").ok().flatten()).await {
        return Err(PageError::Csrf.into());
    }
    let flow = optional_flow(st, &p, headers).await;
    let brand = flow_brand(st, flow.as_ref()).await;
    let typed = p
        .get("email")
        .ok()
        .flatten()
        .unwrap_or("")
        .trim()
        .to_owned();
    let Ok(email) = Email::parse(&typed) else {
        let csrf = csrf(sess).await?;
        return Ok(forgot_page(
            headers,
            brand.as_ref(),
            csrf,
            flow.as_ref(),
            typed,
            Some(SENTENCE_EMAIL_INVALID),
            false,
        ));
    };
    let ip = ip.map(ip_bucket);
    if let Some(refused) = ip_gate(st, headers, ip.as_deref(), brand.as_ref()).await? {
        return Ok(refused);
    }
    // Counted for every email, existing or not: the answer and its timing do not depend on it.
    let sent = st
        .ephemeral
        .incr(
            &format!("reset:mail:{}", account_bucket(&email)),
            LIMIT_WINDOW,
        )
        .await
        .map_err(|e| LoginError::unavailable("reset limits", &e))?;
    let user = st
        .storage
        .find_password_user(&email)
        .await
        .map_err(|e| LoginError::server("the user lookup", &e))?;
    if sent > MAX_MAILS_PER_ACCOUNT {
        tracing::warn!(
            "password reset: more than {MAX_MAILS_PER_ACCOUNT} requests for one account this hour; no message sent"
        );
    } else if let Some(user) = user {
        let st = st.clone();
        let flow_org = flow.as_ref().and_then(|f| f.target_org.clone());
        let request_id = crate::http::params::request_id(headers);
        // The message is in the language of the page the person asked on.
        let lang = crate::i18n::negotiate(
            flow.as_ref().and_then(|f| f.ui_locales.as_deref()),
            None,
            crate::i18n::accept_language(headers),
        );
        tokio::spawn(async move {
            if let Err(e) = send_reset(&st, user, flow_org, request_id, lang).await {
                tracing::error!(error = %e, "password reset message not sent");
            }
        });
    }
    let csrf = csrf(sess).await?;
    Ok(forgot_page(
        headers,
        brand.as_ref(),
        csrf,
        flow.as_ref(),
        String::new(),
        None,
        true,
    ))
}

/// The orgs this user signs in to with a password: active memberships of orgs with an active
/// password connection.
async fn password_orgs(st: &LoginCtx, user: &User) -> anyhow::Result<Vec<Org>> {
    let mut out = Vec::new();
    for m in st.storage.list_memberships_for_user(&user.id).await? {
        if m.status != MemberStatus::Active {
            continue;
        }
        let has_password = st
            .storage
            .list_connections(&m.org_id)
            .await?
            .iter()
            .any(|c| c.kind() == ConnectionKind::Password && c.state == ConnectionState::Active);
        if !has_password {
            continue;
        }
        if let Some(o) = st.storage.get_org(&m.org_id).await? {
            out.push(o);
        }
    }
    Ok(out)
}

/// Issue a link for `user` and mail it (after the answer was sent).
async fn send_reset(
    st: &LoginCtx,
    user: User,
    flow_org: Option<OrgId>,
    request_id: String,
    lang: crate::i18n::Lang,
) -> anyhow::Result<()> {
    let orgs = password_orgs(st, &user).await?;
    if orgs.is_empty() {
        tracing::info!("password reset asked for a user of no password org; no message sent");
        return Ok(());
    }
    // Branded by the org the sign-in was for, else the user's only password org.
    let brand = match flow_org {
        Some(id) => orgs.iter().find(|o| o.id == id),
        None => None,
    }
    .or(if orgs.len() == 1 { orgs.first() } else { None })
    .cloned();
    let token = random_token();
    let now = st.clock.now();
    let reset = PasswordReset {
        token_hash: TokenHash::of(&token),
        user_id: user.id.clone(),
        org_id: brand.as_ref().map(|o| o.id.clone()),
        created_at: now,
        expires_at: now + RESET_TTL,
        used_at: None,
    };
    st.storage.create_password_reset(&reset).await?;
    let link = st.config.url(&format!("/login/password/reset/{token}"));
    let chrome = Chrome::new(page_title(), &HeaderMap::new()).branded(brand.as_ref());
    let tr = Tr::new(lang);
    let email = user.email.to_string();
    let text = ResetMailText {
        tr,
        brand_name: &chrome.brand_name,
        email: &email,
        link: &link,
    }
    .render()?;
    let html = ResetMailHtml {
        tr,
        brand_name: &chrome.brand_name,
        email: &email,
        link: &link,
        color: chrome.color.as_deref(),
    }
    .render()?;
    audit(
        st,
        &user,
        reset.org_id.as_ref(),
        "password.reset_requested",
        Outcome::Success,
        serde_json::json!({ "expires_at": reset.expires_at.unix_timestamp() }),
        Some(request_id),
    )
    .await;
    st.mailer
        .send(OutgoingMail {
            to: email,
            subject: reset_mail_subject(tr, &chrome.brand_name),
            text,
            html,
        })
        .await?;
    Ok(())
}

async fn audit(
    st: &LoginCtx,
    user: &User,
    org: Option<&OrgId>,
    action: &str,
    outcome: Outcome,
    details: serde_json::Value,
    request_id: Option<String>,
) {
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: format!("user:{}", user.id),
        org_id: org.cloned(),
        action: action.into(),
        target_type: "user".into(),
        target_id: user.id.to_string(),
        outcome,
        details,
        request_id,
    };
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the password reset");
    }
}

/// The link's token as its hash, when it has the shape of one of ours (43 base64url chars).
fn token_hash(token: &str) -> Option<TokenHash> {
    let ok = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| TokenHash::of(token))
}

/// A link's reset and its user, or the sentence that says why the link cannot be used.
async fn usable_reset(
    st: &LoginCtx,
    token: &str,
    ip: Option<&str>,
) -> Result<Result<(PasswordReset, User), Msg>, LoginError> {
    let found = match token_hash(token) {
        Some(h) => st
            .storage
            .get_password_reset(&h)
            .await
            .map_err(|e| LoginError::server("the reset link", &e))?,
        None => None,
    };
    let Some(reset) = found else {
        // A link we never issued: a guess or a typo; count it like a failed sign-in.
        if let Some(ip) = ip {
            count_ip_failure(st, ip)
                .await
                .map_err(|e| LoginError::unavailable("reset limits", &e))?;
        }
        return Ok(Err(SENTENCE_RESET_UNKNOWN));
    };
    match reset.state(st.clock.now()) {
        ResetTokenState::Used => return Ok(Err(SENTENCE_RESET_USED)),
        ResetTokenState::Expired => return Ok(Err(SENTENCE_RESET_EXPIRED)),
        ResetTokenState::Usable => {}
    }
    match st.storage.get_user(&reset.user_id).await {
        Ok(Some(u)) => Ok(Ok((reset, u))),
        Ok(None) => Ok(Err(SENTENCE_RESET_UNKNOWN)),
        Err(e) => Err(LoginError::server("the reset link's user", &e)),
    }
}

fn refusal_status(sentence: Msg) -> StatusCode {
    match sentence {
        SENTENCE_RESET_UNKNOWN => StatusCode::NOT_FOUND,
        _ => StatusCode::GONE,
    }
}

async fn reset_brand(st: &LoginCtx, reset: &PasswordReset) -> Option<Org> {
    st.storage
        .get_org(reset.org_id.as_ref()?)
        .await
        .ok()
        .flatten()
}

fn reset_form(
    headers: &HeaderMap,
    brand: Option<&Org>,
    csrf: String,
    token: &str,
    user: &User,
    error: Option<Msg>,
) -> Response {
    let p = ResetPage {
        c: Chrome::new(Msg::new("title-new-password"), headers).branded(brand),
        csrf,
        action: format!("/login/password/reset/{token}"),
        email: user.email.to_string(),
        error,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &p)
}

/// `GET /login/password/reset/{token}`.
pub async fn reset_get(
    State(st): State<LoginCtx>,
    sess: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let r: Result<Response, LoginError> = async {
        let ip = ip.map(ip_bucket);
        if let Some(refused) = ip_gate(&st, &headers, ip.as_deref(), None).await? {
            return Ok(refused);
        }
        match usable_reset(&st, &token, ip.as_deref()).await? {
            Err(sentence) => Ok(notice(&headers, None, refusal_status(sentence), sentence)),
            Ok((reset, user)) => {
                let brand = reset_brand(&st, &reset).await;
                let csrf = csrf(&sess).await?;
                Ok(reset_form(
                    &headers,
                    brand.as_ref(),
                    csrf,
                    &token,
                    &user,
                    None,
                ))
            }
        }
    }
    .await;
    respond(&st, &headers, r).await
}

/// `POST /login/password/reset/{token}`.
pub async fn reset_post(
    State(st): State<LoginCtx>,
    sess: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let r = reset(&st, &sess, ip, &headers, &token, &body).await;
    respond(&st, &headers, r).await
}

async fn reset(
    st: &LoginCtx,
    sess: &Session,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    token: &str,
    body: &Bytes,
) -> Result<Response, LoginError> {
    if !is_form(headers) {
        return Err(PageError::BadRequest.into());
    }
    let p = Params::parse(body);
    if !session::csrf_ok(sess, p.get("csrf").ok().flatten()).await {
        return Err(PageError::Csrf.into());
    }
    let ip = ip.map(ip_bucket);
    if let Some(refused) = ip_gate(st, headers, ip.as_deref(), None).await? {
        return Ok(refused);
    }
    let (reset, user) = match usable_reset(st, token, ip.as_deref()).await? {
        Ok(found) => found,
        Err(sentence) => return Ok(notice(headers, None, refusal_status(sentence), sentence)),
    };
    let brand = reset_brand(st, &reset).await;
    let password = p.get("password").ok().flatten().unwrap_or("");
    let confirm = p.get("confirm").ok().flatten().unwrap_or("");
    let refused = if password != confirm {
        Some(SENTENCE_PASSWORDS_DIFFER)
    } else {
        check_new_password(password, user.email.as_str())
            .err()
            .map(crate::pages::password::rejection)
    };
    if let Some(sentence) = refused {
        let csrf = csrf(sess).await?;
        return Ok(reset_form(
            headers,
            brand.as_ref(),
            csrf,
            token,
            &user,
            Some(sentence),
        ));
    }
    let new_hash = hash_in_pool(&st.argon2, password.to_owned())
        .await
        .ok_or(PageError::Busy)?;
    // End what the old password opened before it changes (a failure here refuses the reset),
    // then again once it has changed (whatever began in between).
    end_everything(st, &user).await?;
    let hash = reset.token_hash.clone();
    let outcome = st
        .storage
        .complete_password_reset(&hash, &new_hash, st.clock.now())
        .await
        .map_err(|e| LoginError::server("storing the new password", &e))?;
    let user = match outcome {
        ResetOutcome::Done(u) => u,
        ResetOutcome::Used => {
            return Ok(notice(headers, None, StatusCode::GONE, SENTENCE_RESET_USED));
        }
        ResetOutcome::Expired => {
            return Ok(notice(
                headers,
                None,
                StatusCode::GONE,
                SENTENCE_RESET_EXPIRED,
            ));
        }
        ResetOutcome::Unknown => {
            return Ok(notice(
                headers,
                None,
                StatusCode::NOT_FOUND,
                SENTENCE_RESET_UNKNOWN,
            ));
        }
    };
    let revoked = end_everything(st, &user).await?;
    clear_lockout(st, &user.email).await;
    audit(
        st,
        &user,
        reset.org_id.as_ref(),
        "password.reset",
        Outcome::Success,
        serde_json::json!({ "refresh_families_revoked": revoked, "sessions_ended": true }),
        Some(crate::http::params::request_id(headers)),
    )
    .await;
    // This browser is signed out too (its session may be the user's).
    let _ = session::end(sess).await;
    Ok(notice(
        headers,
        brand.as_ref(),
        StatusCode::OK,
        SENTENCE_PASSWORD_CHANGED,
    ))
}

/// End every SSO session and revoke every refresh family of `user`; how many families.
async fn end_everything(st: &LoginCtx, user: &User) -> Result<u64, LoginError> {
    let now = st.clock.now();
    session::end_all_for_user(st.ephemeral.as_ref(), &user.id, now)
        .await
        .map_err(|e| LoginError::unavailable("ending the user's sessions", &e))?;
    let n = st
        .storage
        .revoke_user_families(&user.id, now)
        .await
        .map_err(|e| LoginError::server("revoking the user's refresh tokens", &e))?;
    crate::ops::metrics::families_revoked("password_reset", n);
    Ok(n)
}

/// How long hashing waits for an argon2 slot before the person is asked to retry.
const ARGON2_WAIT: Duration = Duration::from_secs(5);

/// Hash on the blocking pool holding one of the `slots` (shared with sign-in checks); `None`
/// when no slot freed up in time or hashing failed.
async fn hash_in_pool(slots: &tokio::sync::Semaphore, password: String) -> Option<Secret> {
    let _slot = tokio::time::timeout(ARGON2_WAIT, slots.acquire())
        .await
        .ok()?
        .ok()?;
    tokio::task::spawn_blocking(move || hash_password(&password).ok())
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        let t = random_token();
        assert_eq!(token_hash(&t), Some(TokenHash::of(&t)));
        assert_eq!(token_hash(""), None);
        assert_eq!(token_hash(&format!("{t}x")), None);
        assert_eq!(token_hash(&t.replace(|_: char| true, "/")[..43]), None);
    }
}
