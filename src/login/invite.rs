//! `/invite/{token}`: accepting an invitation (DESIGN §4).
//!
//! `GET` looks the token up (only its SHA-256 is stored) and shows the invitation: who invited,
//! the org, the app, and the next step — the org's own sign-in (SSO org), or choosing a password
//! (password org). It starts a flow (the same record, browser binding and CSRF token as every
//! login page) marked `invite_accept` and carrying the token. `POST` (CSRF checked) then
//!
//! - **SSO org**: sends the browser to the org's connection with that flow; the federated
//!   sign-in redeems the invitation in `login::identity` (the identity must carry the invited
//!   email, verified, else the fixed refusal of `pages::sso` and nothing changes), starts the
//!   SSO session and ends on [`landing`];
//! - **password org**: checks the new password (`domain::password_policy`), then in one storage
//!   transaction accepts the invitation (compare-and-swap on its version: exactly once), sets
//!   the password on the invitee's profile and makes the `invited` membership active; starts the
//!   SSO session; [`landing`]. If the invitee already has a Lobby password for this email, the
//!   membership goes to that account instead (no new password; the profile made with the
//!   invitation loses its `invited` membership) and they sign in with their password.
//!
//! Unknown (or altered) tokens, accepted, expired and revoked invitations each get their own
//! fixed sentence (`pages::invite`). Any storage failure fails closed.
//!
//! Owns: the invitation pages and the password-org acceptance. Must not touch: federated
//! identity rules (`identity`), invitation administration (`admin`).

use super::discovery::{self, LinkedOrg};
use super::error::{self, LoginError};
use super::flow::{self, AuthMethod, Flow, Prompt, Stage};
use super::session::{self, SsoSession};
use super::{LoginCtx, load_form_flow};
use crate::domain::password_policy::check_new_password;
use crate::domain::{
    App, Email, Invitation, InvitationState, MemberStatus, Membership, Org, OrgAppLink, OrgStatus,
    Outcome, Secret, SessionId, TokenHash, User, UserId, hash_password, random_token, to_millis,
    trunc_millis,
};
use crate::login::prefetch::Early;
use crate::pages::invite::{
    InviteDonePage, InvitePage, InviteStep, SENTENCE_INVITE_ACCEPTED, SENTENCE_INVITE_EXPIRED,
    SENTENCE_INVITE_REVOKED, SENTENCE_INVITE_UNAVAILABLE, SENTENCE_INVITE_UNKNOWN,
    SENTENCE_PASSWORDS_DIFFER, done_next_step, inviter_words,
};
use crate::pages::{Chrome, PageError, render};
use crate::storage::{FirstSignIn, StorageError};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::collections::BTreeMap;
use std::time::Duration;
use tower_sessions::Session;

/// How long a password hash may wait for an argon2 slot.
const ARGON2_WAIT: Duration = Duration::from_secs(5);

/// A usable invitation with what it names.
struct Ready {
    inv: Invitation,
    org: Org,
    app: App,
    link: OrgAppLink,
}

/// `GET /invite/{token}`.
pub async fn get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    Path(token): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    // `?ui_locales=de`: the language of the email the link came from (`admin::invite_mail`).
    let p = crate::http::params::Params::from_query(q.as_deref());
    let ui_locales = p
        .get("ui_locales")
        .ok()
        .flatten()
        .filter(|v| v.len() <= 256)
        .map(str::to_owned);
    let lang = crate::i18n::from_ui_locales(ui_locales.as_deref());
    let r = show(&st, &headers, &token, ui_locales).await;
    error::respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

/// `POST /invite/{token}`.
pub async fn post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    sess: Session,
    Path(token): Path<String>,
    early: Early,
    body: Bytes,
) -> Response {
    let r = accept(&st, &headers, &sess, &token, early, &body).await;
    error::respond(&st, &headers, r).await
}

/// The invitation behind `token`, if it can be accepted now; else the page for why not.
async fn usable(st: &LoginCtx, token: &str) -> Result<Ready, LoginError> {
    let unknown = || LoginError::sso(StatusCode::NOT_FOUND, SENTENCE_INVITE_UNKNOWN);
    // A malformed token names no invitation (and never reaches storage).
    if !flow::token_shaped(token) {
        return Err(unknown());
    }
    let s = st.storage.as_ref();
    let inv = s
        .find_invitation_by_token(&TokenHash::of(token))
        .await
        .map_err(|e| LoginError::server("the invitation lookup", &e))?
        .ok_or_else(unknown)?;
    let org = s
        .get_org(&inv.org_id)
        .await
        .map_err(|e| LoginError::server("the invitation's org", &e))?;
    let closed = |sentence| LoginError::sso(StatusCode::GONE, sentence).branded(org.as_ref());
    match inv.state(st.clock.now()) {
        InvitationState::Pending => {}
        InvitationState::Accepted => return Err(closed(SENTENCE_INVITE_ACCEPTED)),
        InvitationState::Expired => return Err(closed(SENTENCE_INVITE_EXPIRED)),
        InvitationState::Revoked => return Err(closed(SENTENCE_INVITE_REVOKED)),
    }
    let unavailable = || {
        LoginError::sso(StatusCode::FORBIDDEN, SENTENCE_INVITE_UNAVAILABLE).branded(org.as_ref())
    };
    let Some(org) = org.clone().filter(|o| o.status == OrgStatus::Active) else {
        return Err(unavailable());
    };
    // Invitations made before they named their app: the one app of their roles.
    let app_id = inv.app_id.clone().or_else(|| match inv.roles.len() {
        1 => inv.roles.keys().next().cloned(),
        _ => None,
    });
    let app = match &app_id {
        Some(a) => s
            .get_app(a)
            .await
            .map_err(|e| LoginError::server("the invitation's app", &e))?,
        None => None,
    };
    let Some(app) = app else {
        return Err(unavailable());
    };
    let link = s
        .get_link(&org.id, &app.id)
        .await
        .map_err(|e| LoginError::server("the invitation's app link", &e))?;
    let Some(link) = link else {
        return Err(unavailable());
    };
    Ok(Ready {
        inv,
        org,
        app,
        link,
    })
}

/// The next step, and the connection of an SSO org / the password account of a password org.
enum Next {
    Sso(Box<crate::domain::Connection>),
    SetPassword,
    ExistingPassword(User),
}

impl Next {
    fn step(&self) -> InviteStep {
        match self {
            Next::Sso(_) => InviteStep::Sso,
            Next::SetPassword => InviteStep::SetPassword,
            Next::ExistingPassword(_) => InviteStep::ExistingPassword,
        }
    }
}

async fn next_step(st: &LoginCtx, r: &Ready) -> Result<Next, LoginError> {
    let target = LinkedOrg {
        org: r.org.clone(),
        link: r.link.clone(),
    };
    let dispatch = discovery::dispatch(st.storage.as_ref(), &r.app, &target)
        .await
        .map_err(|e| LoginError::server("the invitation's sign-in", &e))?;
    // An org with several IdPs: the invitation is accepted through the first in the policy's
    // order (the landing page has one button).
    Ok(match dispatch.first() {
        Some(c) => Next::Sso(Box::new(c)),
        None => match password_account(st, &r.inv.email).await? {
            Some(u) => Next::ExistingPassword(u),
            None => Next::SetPassword,
        },
    })
}

/// The user with a Lobby password for this email, if any (the one password sign-in finds: the
/// unique password credential, `UserStore::find_password_user`).
async fn password_account(st: &LoginCtx, email: &Email) -> Result<Option<User>, LoginError> {
    st.storage
        .find_password_user(email)
        .await
        .map_err(|e| LoginError::server("the password account lookup", &e))
}

fn page(
    headers: &HeaderMap,
    r: &Ready,
    token: &str,
    flow: &Flow,
    step: InviteStep,
    error: Option<crate::i18n::Msg>,
    status: StatusCode,
) -> Response {
    let org_name = r.org.display_name().to_owned();
    let c = Chrome::new(crate::i18n::Msg::new("title-invited"), headers)
        .branded(Some(&r.org))
        .ui_lang(flow.ui_lang());
    let p = InvitePage {
        inviter: inviter_words(c.tr, r.inv.inviter_name.as_deref(), &org_name),
        c,
        org_name,
        app_name: r.app.name.clone(),
        email: r.inv.email.to_string(),
        token: token.to_owned(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        step,
        error,
    };
    render(status, &p)
}

async fn show(
    st: &LoginCtx,
    headers: &HeaderMap,
    token: &str,
    ui_locales: Option<String>,
) -> Result<Response, LoginError> {
    let r = usable(st, token).await?;
    let next = next_step(st, &r).await?;
    let (secret, set_cookie) = flow::browser_binding(st, headers);
    let now = st.clock.now();
    let f = Flow {
        id: flow::FlowId::generate(),
        client_id: r.app.client_id.clone(),
        app_id: r.app.id.clone(),
        // No app request stands behind this flow: it never issues a code (`invite_accept`).
        redirect_uri: String::new(),
        state: None,
        nonce: None,
        code_challenge: String::new(),
        scope: "openid".into(),
        prompt: Prompt::default(),
        max_age: None,
        login_hint: Some(r.inv.email.to_string()),
        org_hint: Some(r.org.id.clone()),
        domain_hint: None,
        ui_locales,
        csrf: Secret::new(random_token()),
        binding: flow::binding_hash(&secret),
        stage: Stage::Identifier,
        email: Some(r.inv.email.clone()),
        target_org: Some(r.org.id.clone()),
        auth: None,
        eligible: Vec::new(),
        invitation: Some(Secret::new(token)),
        invite_accept: true,
        test: None,
        upstream: None,
        acr_mfa: false,
        mfa: None,
        expires_at: to_millis(now) + flow::FLOW_TTL.as_millis() as i64,
    };
    flow::create(st, &f).await?;
    let mut res = page(headers, &r, token, &f, next.step(), None, StatusCode::OK);
    if let Some(c) = set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

async fn accept(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    token: &str,
    early: Early,
    body: &Bytes,
) -> Result<Response, LoginError> {
    let (f, p) = load_form_flow(st, headers, early, body).await?;
    let lang = f.ui_lang();
    accept_in(st, headers, sess, token, f, p)
        .await
        .map_err(|e| e.in_lang(lang))
}

async fn accept_in(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    token: &str,
    f: Flow,
    p: crate::http::params::Params,
) -> Result<Response, LoginError> {
    // The form's flow must be the one this invitation page started.
    if !f.invite_accept || f.invitation.as_ref().map(|t| t.expose()) != Some(token) {
        return Err(PageError::BadRequest.into());
    }
    let r = usable(st, token).await?;
    match next_step(st, &r).await? {
        Next::Sso(conn) => {
            let target = LinkedOrg {
                org: r.org.clone(),
                link: r.link.clone(),
            };
            Ok(
                super::upstream::start(st, headers, f, Some(r.inv.email.clone()), &target, *conn)
                    .await,
            )
        }
        Next::ExistingPassword(account) => {
            // Single use from here: the flow, then the invitation (compare-and-swap).
            flow::take(st, &f.id, headers).await?;
            redeem(st, &r, &account, None).await?;
            Ok(landing(headers, &r.app, &r.org, false, f.ui_lang()))
        }
        Next::SetPassword => {
            let password = p.get("password").ok().flatten().unwrap_or("");
            let again = p.get("password2").ok().flatten().unwrap_or("");
            if password != again {
                return Ok(page(
                    headers,
                    &r,
                    token,
                    &f,
                    InviteStep::SetPassword,
                    Some(SENTENCE_PASSWORDS_DIFFER),
                    StatusCode::OK,
                ));
            }
            if let Err(why) = check_new_password(password, r.inv.email.as_str()) {
                return Ok(page(
                    headers,
                    &r,
                    token,
                    &f,
                    InviteStep::SetPassword,
                    Some(crate::pages::password::rejection(why)),
                    StatusCode::OK,
                ));
            }
            let hash = hash_in_pool(&st.argon2, password.to_owned())
                .await
                .ok_or(PageError::Busy)?;
            // Single use from here: the flow, then the invitation (compare-and-swap).
            flow::take(st, &f.id, headers).await?;
            let user = invitee_profile(st, &r).await?;
            let user = redeem(st, &r, &user, Some(hash)).await?;
            start_session(st, sess, &user).await?;
            Ok(landing(headers, &r.app, &r.org, true, f.ui_lang()))
        }
    }
}

/// The profile made with the invitation, or a new one (an invitation made before profiles
/// were, or whose profile was deleted).
async fn invitee_profile(st: &LoginCtx, r: &Ready) -> Result<User, LoginError> {
    if let Some(id) = &r.inv.user_id
        && let Some(u) = st
            .storage
            .get_user(id)
            .await
            .map_err(|e| LoginError::server("the invitee's profile", &e))?
    {
        return Ok(u);
    }
    let now = trunc_millis(st.clock.now());
    Ok(User {
        id: UserId::generate(),
        email: r.inv.email.clone(),
        email_verified: false,
        name: None,
        password_hash: None,
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// Accept the invitation for `user` in one transaction: the invitation (exactly once), the
/// membership (the `invited` one made active), and, with `password`, the user's new password
/// (the email is verified: the link reached its mailbox). Returns the user as written.
async fn redeem(
    st: &LoginCtx,
    r: &Ready,
    user: &User,
    password: Option<Secret>,
) -> Result<User, LoginError> {
    let now = trunc_millis(st.clock.now());
    let storage = st.storage.as_ref();
    let exists = storage
        .get_user(&user.id)
        .await
        .map_err(|e| LoginError::server("the invitee's profile", &e))?
        .is_some();
    let mut written = user.clone();
    if let Some(h) = password {
        written.password_hash = Some(h);
        written.email_verified = true;
        written.updated_at = now;
    }
    let membership = Membership {
        org_id: r.org.id.clone(),
        user_id: user.id.clone(),
        status: MemberStatus::Active,
        roles: r.inv.roles.clone(),
        org_roles: r.inv.org_roles.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let profile = r.inv.user_id.clone().filter(|p| *p != user.id);
    let changed = written != *user;
    let plan = FirstSignIn {
        user: (!exists).then(|| written.clone()),
        identity: None,
        invitation: Some(r.inv.clone()),
        membership,
        update_user: (exists && changed).then(|| written.clone()),
        drop_invited: profile,
    };
    match storage.provision_first_sign_in(&plan).await {
        Ok(()) => {}
        // Accepted (or withdrawn) since it was read, or already a member: nothing was written.
        Err(StorageError::Conflict | StorageError::NotFound | StorageError::Duplicate(_)) => {
            return Err(
                LoginError::sso(StatusCode::GONE, SENTENCE_INVITE_ACCEPTED).branded(Some(&r.org))
            );
        }
        Err(e) => return Err(LoginError::server("accepting the invitation", &e)),
    }
    super::identity::audit(
        storage,
        st.clock.now(),
        Some(&r.org.id),
        "invitation.accept",
        ("invitation", r.inv.id.as_str()),
        Outcome::Success,
        format!("user:{}", user.id),
        serde_json::json!({
            "user_id": user.id.as_str(),
            "method": "password",
            "password_set": plan.update_user.is_some() || plan.user.is_some(),
        }),
    )
    .await;
    Ok(written)
}

/// Hash on the blocking pool, holding an argon2 slot; `None` when none freed up in time.
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

/// The SSO session of a password-org invitee who just chose their password (a new session id,
/// DESIGN §6.7).
async fn start_session(st: &LoginCtx, sess: &Session, user: &User) -> Result<(), LoginError> {
    let sso = SsoSession {
        user_id: user.id.clone(),
        sid: SessionId::generate(),
        auth_time: st.clock.now().unix_timestamp(),
        amr: vec!["pwd".into()],
        method: AuthMethod::Password,
        last_org: BTreeMap::new(),
        idp: None,
        started_ns: session::nanos(st.clock.now()),
        mfa_time: None,
    };
    session::begin(sess, &sso)
        .await
        .map_err(|e| LoginError::unavailable("starting the SSO session", &e))
}

/// Where an accepted invitee lands: the "you're in" page naming the org and the app.
pub fn landing(
    headers: &HeaderMap,
    app: &App,
    org: &Org,
    signed_in: bool,
    ui_lang: Option<crate::i18n::Lang>,
) -> Response {
    let c = Chrome::new(crate::i18n::Msg::new("title-invite-done"), headers)
        .branded(Some(org))
        .ui_lang(ui_lang);
    let p = InviteDonePage {
        org_name: org.display_name().to_owned(),
        next_step: done_next_step(c.tr, &app.name, signed_in),
        c,
    };
    let mut res = render(StatusCode::OK, &p);
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
