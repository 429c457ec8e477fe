//! The emailed org chooser of a *shared* email domain (issue 16 item 3): a domain that a
//! verifying org marked shared ("other organizations' members also use this domain"), or that
//! no org verified (gmail.com). Discovery routes such an email to no org, so the password page
//! (the uniform answer) also offers "Email me a link to my organization's sign-in" and the
//! org-name page (`sso_choice`).
//!
//! - **No enumeration.** `POST /login/shared/send` answers every address with the same page
//!   ("if this address belongs to an organization, we sent a link"); the rate counters are
//!   taken for every address, and looking up the orgs, issuing the link and sending the message
//!   happen after the answer, in a task of their own (as the password reset does). Only an
//!   address with at least one org to list gets a message. Orgs are listed only to whoever
//!   opens the link, i.e. holds the mailbox.
//! - **The link**: 256 random bits, only their SHA-256 stored in the state store
//!   (`orglink:<hash>` → the flow id and the address), valid [`LINK_TTL`] or the flow's
//!   remaining life if shorter, single use (taken atomically when opened), and bound to the
//!   flow and to the browser that asked (the flow's binding cookie, `flow::load`): opened in
//!   another browser it is refused, and that browser cannot use it up.
//! - **The chooser** (`/login/shared?flow=…`, `Stage::OrgLink`) lists the orgs of
//!   `discovery::orgs_for_proven_email` — active memberships and pending invitations of the
//!   address, orgs linked to the app — always as a list (one org too: the same shape). A pick is
//!   checked against the list computed again at that moment (anything else: 400 and a fixed
//!   sentence) and continues as if discovery had routed the email there, with the address as
//!   `login_hint`: the org's IdP, its "Sign in with …" choice, or the password page. An
//!   invitation pick gets a fresh invitation token (the old link dies, as on a resend) and
//!   redeems it the usual way: the federated first sign-in of an SSO org (the flow carries the
//!   token, as `/authorize?invitation=`), or `/invite/{token}` for a password org.
//! - **Limits** (state store, fail closed): at most `reset::MAX_MAILS_PER_ACCOUNT` messages per
//!   address and `reset::MAX_REQUESTS_PER_IP` requests per client address per
//!   `reset::LIMIT_WINDOW`; the sign-in lockout of the client address applies; a link that
//!   does not exist counts as a failed attempt of the address.
//!
//! Owns: the send/open/choose routes and their link records. Must not touch: who is listed
//! (`discovery`), the protocols (`upstream::start`), invitation acceptance (`invite`,
//! `identity`).

use super::discovery::{self, ConnectionDispatch, ProvenOrg};
use super::error::{LoginError, respond};
use super::flow::{self, Flow, FlowError, FlowId, Stage};
use super::password::{account_bucket, count_ip_failure};
use super::reset::{LIMIT_WINDOW, MAX_MAILS_PER_ACCOUNT, MAX_REQUESTS_PER_IP};
use super::{LoadedFlow, LoginCtx, flow_app, load_form_flow};
use crate::domain::{
    App, AuditEvent, AuditEventId, ConnectionKind, Email, Invitation, Outcome, Secret, TokenHash,
    random_token, to_millis,
};
use crate::http::client_ip::{ClientIp, ip_bucket};
use crate::http::params::Params;
use crate::http::redirect::see_other;
use crate::i18n::{Lang, Msg, Tr};
use crate::login::prefetch::Early;
use crate::mail::OutgoingMail;
use crate::pages::org_link::{
    OrgLinkChoice, OrgLinkChooserPage, OrgLinkMailHtml, OrgLinkMailText, OrgLinkSentPage,
    SENTENCE_ORG_LINK_EXPIRED, SENTENCE_ORG_LINK_LIMITED, SENTENCE_ORG_LINK_NOT_LISTED,
    SENTENCE_ORG_LINK_OTHER_BROWSER, SENTENCE_ORG_LINK_SENT, TITLE_ORG_LINK, org_link_subject,
};
use crate::pages::{Chrome, PageError, SENTENCE_LOCKED, render};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// The longest a link works (less when its flow ends sooner).
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// Where link records live in the state store: `orglink:<sha256 hex of the token>`.
const KEY_PREFIX: &str = "orglink:";

/// What a link stands for.
#[derive(Serialize, Deserialize)]
struct LinkRecord {
    flow: FlowId,
    email: Email,
}

fn link_key(token: &str) -> String {
    format!("{KEY_PREFIX}{}", TokenHash::of(token).as_hex())
}

/// Whether the password page shows the password form: the flow was routed to an org (it signs
/// in with passwords), or the app allows Lobby's password connection.
pub fn offers_password(app: &App, flow: &Flow) -> bool {
    flow.target_org.is_some()
        || flow.org_hint.is_some()
        || app
            .auth_policy
            .allowed_kinds
            .contains(&ConnectionKind::Password)
}

/// Whether the password page offers the emailed org chooser and the org-name page: discovery
/// routed the email to no org (a shared or unverified domain, or an org not linked to the app).
pub fn offers_org_link(flow: &Flow) -> bool {
    flow.target_org.is_none() && flow.org_hint.is_none()
}

fn notice(headers: &HeaderMap, flow: &Flow, message: Msg, status: StatusCode) -> Response {
    let page = OrgLinkSentPage {
        c: Chrome::new(TITLE_ORG_LINK, headers).ui_lang(flow.ui_lang()),
        message,
        is_error: status != StatusCode::OK,
        flow: flow.id.to_string(),
    };
    render(status, &page)
}

/// `POST /login/shared/send`: the same answer for every address.
pub async fn send_post(
    State(st): State<LoginCtx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = async {
        let (flow, _) = load_form_flow(&st, &headers, early, &body).await?;
        let lang = flow.ui_lang();
        send(&st, &headers, ip, flow)
            .await
            .map_err(|e| e.in_lang(lang))
    }
    .await;
    respond(&st, &headers, r).await
}

async fn send(
    st: &LoginCtx,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    flow: Flow,
) -> Result<Response, LoginError> {
    let Some(email) = flow
        .email
        .clone()
        .filter(|_| flow.stage == Stage::Password && offers_org_link(&flow))
    else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    if let Some(ip) = ip.map(ip_bucket) {
        let locked = st
            .ephemeral
            .get(&format!("lock:ip:{ip}"))
            .await
            .map_err(|e| LoginError::unavailable("org link limits", &e))?;
        if locked.is_some() {
            crate::ops::metrics::rate_limited("org_link");
            return Ok(notice(
                headers,
                &flow,
                SENTENCE_LOCKED,
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        let n = st
            .ephemeral
            .incr(&format!("orglink:ip:{ip}"), LIMIT_WINDOW)
            .await
            .map_err(|e| LoginError::unavailable("org link limits", &e))?;
        if n > MAX_REQUESTS_PER_IP {
            crate::ops::metrics::rate_limited("org_link");
            return Ok(notice(
                headers,
                &flow,
                SENTENCE_ORG_LINK_LIMITED,
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
    }
    // Counted for every address, known or not: the answer does not depend on it.
    let sent = st
        .ephemeral
        .incr(
            &format!("orglink:mail:{}", account_bucket(&email)),
            LIMIT_WINDOW,
        )
        .await
        .map_err(|e| LoginError::unavailable("org link limits", &e))?;
    crate::ops::metrics::org_link("requested");
    if sent > MAX_MAILS_PER_ACCOUNT {
        tracing::warn!(
            "org link: more than {MAX_MAILS_PER_ACCOUNT} requests for one address this hour; no message sent"
        );
    } else {
        let st = st.clone();
        let f = flow.clone();
        // The message is in the language of the page the person asked on.
        let lang = crate::i18n::negotiate(
            flow.ui_locales.as_deref(),
            None,
            crate::i18n::accept_language(headers),
        );
        tokio::spawn(async move {
            if let Err(e) = send_link(&st, f, email, lang).await {
                tracing::error!(error = %e, "org link message not sent");
            }
        });
    }
    Ok(notice(
        headers,
        &flow,
        SENTENCE_ORG_LINK_SENT,
        StatusCode::OK,
    ))
}

/// Issue a link and mail it, when the address has at least one org to list (after the
/// answer was sent).
async fn send_link(st: &LoginCtx, flow: Flow, email: Email, lang: Lang) -> anyhow::Result<()> {
    let Some(app) =
        super::builtin::app_by_id(st.storage.as_ref(), &st.config, &flow.app_id).await?
    else {
        return Ok(());
    };
    let now = st.clock.now();
    let orgs = discovery::orgs_for_proven_email(st.storage.as_ref(), &app, &email, now).await?;
    if orgs.is_empty() {
        tracing::info!("org link asked for an address with no organization; no message sent");
        return Ok(());
    }
    let left = u64::try_from(flow.expires_at - to_millis(now)).unwrap_or(0);
    let ttl = LINK_TTL.min(Duration::from_millis(left));
    if ttl.is_zero() {
        return Ok(());
    }
    let token = random_token();
    let rec = serde_json::to_vec(&LinkRecord {
        flow: flow.id.clone(),
        email: email.clone(),
    })?;
    st.ephemeral.put(&link_key(&token), &rec, ttl).await?;
    let link = st.config.url(&format!("/login/shared/{token}"));
    let tr = Tr::new(lang);
    let to = email.to_string();
    let text = OrgLinkMailText {
        tr,
        app_name: &app.name,
        email: &to,
        link: &link,
    }
    .render()?;
    let html = OrgLinkMailHtml {
        tr,
        app_name: &app.name,
        email: &to,
        link: &link,
    }
    .render()?;
    st.mailer
        .send(OutgoingMail {
            to,
            subject: org_link_subject(tr, &app.name),
            text,
            html,
        })
        .await?;
    crate::ops::metrics::org_link("sent");
    Ok(())
}

/// `GET /login/shared/{token}`: the emailed link. Its flow moves to the chooser.
pub async fn open(
    State(st): State<LoginCtx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let r = open_link(&st, &headers, ip, &token).await;
    if r.is_err() {
        crate::ops::metrics::org_link("link_refused");
    }
    respond(&st, &headers, r).await
}

async fn open_link(
    st: &LoginCtx,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    token: &str,
) -> Result<Response, LoginError> {
    let expired = || LoginError::sso(StatusCode::GONE, SENTENCE_ORG_LINK_EXPIRED);
    let record = if flow::token_shaped(token) {
        st.ephemeral
            .get(&link_key(token))
            .await
            .map_err(|e| LoginError::unavailable("the org link", &e))?
            .and_then(|b| serde_json::from_slice::<LinkRecord>(&b).ok())
    } else {
        None
    };
    let Some(rec) = record else {
        // A link we never issued (or long gone): count it like a failed sign-in.
        if let Some(ip) = ip.map(ip_bucket) {
            count_ip_failure(st, &ip)
                .await
                .map_err(|e| LoginError::unavailable("org link limits", &e))?;
        }
        return Err(expired());
    };
    // The browser first, so another browser cannot use the link up.
    let mut flow = match flow::load(st, &rec.flow, headers).await {
        Ok(f) => f,
        Err(FlowError::WrongBrowser) => {
            return Err(LoginError::sso(
                StatusCode::FORBIDDEN,
                SENTENCE_ORG_LINK_OTHER_BROWSER,
            ));
        }
        Err(FlowError::Missing) => return Err(expired()),
        Err(e) => return Err(e.into()),
    };
    let lang = flow.ui_lang();
    if flow.auth.is_some() {
        return Err(expired().in_lang(lang));
    }
    // Single use: of two opens at once exactly one takes the record.
    let taken = st
        .ephemeral
        .take(&link_key(token))
        .await
        .map_err(|e| LoginError::unavailable("the org link", &e))?;
    if taken.is_none() {
        return Err(expired().in_lang(lang));
    }
    flow.email = Some(rec.email);
    flow.target_org = None;
    flow.stage = Stage::OrgLink;
    flow::save(st, &flow).await?;
    crate::ops::metrics::org_link("opened");
    Ok(see_other(&format!("/login/shared?flow={}", flow.id)))
}

/// The address the flow's person proved they hold (the chooser stage).
fn proven(flow: &Flow) -> Option<Email> {
    flow.email.clone().filter(|_| flow.stage == Stage::OrgLink)
}

async fn listed(st: &LoginCtx, app: &App, email: &Email) -> Result<Vec<ProvenOrg>, LoginError> {
    discovery::orgs_for_proven_email(st.storage.as_ref(), app, email, st.clock.now())
        .await
        .map_err(|e| LoginError::server("the org link chooser", &e))
}

/// `GET /login/shared?flow=…`: the chooser.
pub async fn chooser_get(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = chooser_show(&st, &headers, flow).await;
    respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

async fn chooser_show(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: Flow,
) -> Result<Response, LoginError> {
    let Some(email) = proven(&flow) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let app = flow_app(st, &flow).await?;
    let orgs = listed(st, &app, &email).await?;
    let page = OrgLinkChooserPage {
        c: Chrome::new(TITLE_ORG_LINK, headers).ui_lang(flow.ui_lang()),
        app_name: app.name.clone(),
        email: email.to_string(),
        flow: flow.id.to_string(),
        csrf: flow.csrf.expose().to_owned(),
        orgs: orgs
            .iter()
            .map(|p| {
                let o = &p.target.org;
                OrgLinkChoice {
                    id: o.id.to_string(),
                    slug: o.slug.to_string(),
                    name: o.display_name().to_owned(),
                    logo_url: o
                        .branding
                        .logo_url
                        .clone()
                        .filter(|u| crate::domain::validate_web_url(u, "logo").is_ok()),
                    invited: p.invitation.is_some(),
                }
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /login/shared`: `org=<id>`, one of the orgs listed (computed again now).
pub async fn chooser_post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = async {
        let (flow, p) = load_form_flow(&st, &headers, early, &body).await?;
        let lang = flow.ui_lang();
        pick(&st, &headers, flow, p)
            .await
            .map_err(|e| e.in_lang(lang))
    }
    .await;
    respond(&st, &headers, r).await
}

async fn pick(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    p: Params,
) -> Result<Response, LoginError> {
    let Some(email) = proven(&flow) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let app = flow_app(st, &flow).await?;
    let chosen = p.get("org").ok().flatten().unwrap_or("");
    let Some(c) = listed(st, &app, &email)
        .await?
        .into_iter()
        .find(|c| c.target.org.id.as_str() == chosen)
    else {
        // Not one of the orgs listed for this address (a forged or stale form).
        crate::ops::metrics::org_link("refused");
        return Err(LoginError::sso(
            StatusCode::BAD_REQUEST,
            SENTENCE_ORG_LINK_NOT_LISTED,
        ));
    };
    crate::ops::metrics::org_link("picked");
    let d = discovery::dispatch(st.storage.as_ref(), &app, &c.target)
        .await
        .map_err(|e| LoginError::server("the org link chooser", &e))?;
    flow.login_hint = Some(email.to_string());
    let org_id = c.target.org.id.clone();
    match (c.invitation, d) {
        (Some(inv), ConnectionDispatch::Password) => {
            // A password org: its invitation page sets the password (a flow of its own).
            let token = reissue(st, headers, inv).await?;
            Ok(see_other(&format!("/invite/{token}")))
        }
        (None, ConnectionDispatch::Password) => {
            // As if discovery had routed the email to this org; the pick binds the sign-in
            // to it (a password proves the account, the org was chosen here).
            flow.email = Some(email);
            flow.target_org = Some(org_id.clone());
            flow.org_hint = Some(org_id);
            flow.stage = Stage::Password;
            crate::ops::metrics::login_started("password");
            flow::save(st, &flow).await?;
            Ok(see_other(&format!("/login/password?flow={}", flow.id)))
        }
        (inv, d) => {
            if let Some(inv) = inv {
                flow.invitation = Some(Secret::new(reissue(st, headers, inv).await?));
            }
            flow.stage = Stage::Identifier;
            super::sso_choice::continue_to(st, headers, flow, Some(email), &c.target, d)
                .await?
                .ok_or_else(|| PageError::SsoNotAvailable.into())
        }
    }
}

/// A fresh token for a pending invitation picked from the chooser (its old link stops
/// working, as after a resend); audited as `invitation.reissue`.
async fn reissue(
    st: &LoginCtx,
    headers: &HeaderMap,
    inv: Invitation,
) -> Result<String, LoginError> {
    let token = random_token();
    let mut next = inv.clone();
    next.token_hash = TokenHash::of(&token);
    st.storage
        .update_invitation(&next)
        .await
        .map_err(|e| LoginError::server("reissuing the invitation", &e))?;
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: match &inv.user_id {
            Some(u) => format!("user:{u}"),
            None => "anonymous".into(),
        },
        org_id: Some(inv.org_id.clone()),
        action: "invitation.reissue".into(),
        target_type: "invitation".into(),
        target_id: inv.id.to_string(),
        outcome: Outcome::Success,
        details: serde_json::json!({ "via": "org_link", "email": inv.email.to_string() }),
        request_id: Some(crate::http::params::request_id(headers)),
    };
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the invitation's new link");
    }
    Ok(token)
}
