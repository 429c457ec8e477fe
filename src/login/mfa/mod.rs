//! The second factor of password sign-ins (issue 16 item 4): `/login/mfa` (the enrolment or
//! challenge page of the flow), `/login/mfa/enroll` (confirm a new authenticator app),
//! `/login/mfa/verify` (a TOTP or recovery code), `/login/mfa/skip` (optional policy only).
//!
//! When: after the password is checked and the org is chosen, before the code is issued
//! ([`gate`], called by `issue`). The effective policy is the org–app link's `mfa`, else the
//! app's (`domain::MfaPolicy::effective`). Only sign-ins through Lobby's own password
//! connection are asked: a federated sign-in's factors are the org IdP's business.
//! - `off`: nothing, unless the app's `acr_values` asks for multi-factor.
//! - `required`: the user passes a second factor; a user without one enrols first.
//! - `optional`: a user with a factor is challenged; a user without one is offered enrolment
//!   on every such sign-in and may skip it.
//! - `acr_values` containing `domain::mfa::ACR_MULTI_FACTOR`: a second factor verified in this
//!   SSO session is needed (a remembered device does not count), enrolling first if need be.
//! - `max_age`: a second factor older than that is asked again.
//!
//! A second factor passed once counts for the rest of the SSO session (its `amr` and
//! `mfa_time`), so other apps of the same session are not challenged again. A remembered device
//! ([`remember`]) skips the challenge with `amr` `["pwd","mfa"]` and the time it was remembered.
//!
//! Owns: the gate, the stages `MfaEnroll`/`MfaChallenge`, what a passed factor does to the
//! flow, the session and the cookie ([`factor_passed`], the entry point of the passkey
//! ceremony too), and the reset ([`reset_user`]). Must not touch: password checks, org
//! selection, token contents (`amr` is carried by the `Authenticated`).

pub mod hooks;
pub mod passkey;
pub mod remember;
pub mod totp;

use super::error::{LoginError, respond};
use super::flow::{self, Authenticated, Flow, Stage};
use super::issue::{PendingAudit, issue_code_with, remember_org};
use super::{LoadedFlow, LoginCtx, flow_app, load_form_flow, session};
use crate::domain::mfa::{Demand, MfaRemoved, amr_with_factor};
use crate::domain::{
    App, AuditEvent, AuditEventId, MfaMethod, MfaPolicy, OrgId, Outcome, Secret, UserId,
};
use crate::http::redirect::{ErrorCode, error_redirect, see_other};
use crate::login::discovery::{self, EligibleOrg};
use crate::login::prefetch::Early;
use crate::pages::PageError;
use crate::storage::Storage;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// The second factor a flow waits for (`Flow::mfa`, stages `MfaEnroll` and `MfaChallenge`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaPending {
    /// The org chosen (the code is issued for it once the factor passed).
    pub org_id: OrgId,
    /// The effective policy of the org–app link.
    pub policy: MfaPolicy,
    /// `acr_values` asked for multi-factor: no skipping, no remembered device.
    pub demanded: bool,
    /// The authenticator-app enrolment in progress: its secret and recovery codes, sealed.
    #[serde(default)]
    pub enroll: Option<totp::PendingTotp>,
    /// The passkey ceremony's state (owned by `passkey`).
    #[serde(default)]
    pub passkey: Option<serde_json::Value>,
}

impl MfaPending {
    /// Whether "Skip" is offered on the enrolment page.
    pub fn may_skip(&self) -> bool {
        self.policy == MfaPolicy::Optional && !self.demanded
    }
}

pub fn router() -> Router<LoginCtx> {
    Router::new()
        .route("/login/mfa", get(page))
        .route("/login/mfa/enroll", post(totp::enroll_post))
        .route("/login/mfa/verify", post(totp::verify_post))
        .route("/login/mfa/skip", post(skip_post))
        .merge(hooks::routes())
}

/// What [`gate`] decided.
pub enum Gate {
    /// Issue the code with this authentication (possibly with a remembered device's `mfa`).
    Pass(Authenticated),
    /// The flow went to a second-factor stage: send the browser there.
    Ask(Response),
}

/// The second factor a sign-in into `chosen` needs, decided before the code is issued. `flow`
/// is the current flow (stored or not: when asking, it is saved with the authentication).
pub async fn gate(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    app: &App,
    mut flow: Flow,
    auth: Authenticated,
    chosen: &EligibleOrg,
) -> Result<(Flow, Gate), LoginError> {
    // Federated sign-ins: the org's IdP decides its factors (README "Second factor").
    if auth.method != flow::AuthMethod::Password || auth.idp.is_some() {
        return Ok((flow, Gate::Pass(auth)));
    }
    let link = super::builtin::link(st.storage.as_ref(), &chosen.org.id, app)
        .await
        .map_err(|e| LoginError::server("the MFA policy", &e))?;
    let policy = MfaPolicy::effective(app.mfa, link.and_then(|l| l.mfa));
    let demanded = flow.acr_mfa;
    if policy == MfaPolicy::Off && !demanded {
        return Ok((flow, Gate::Pass(auth)));
    }
    let now = st.clock.now().unix_timestamp();
    let demand = Demand {
        verified: demanded,
        max_age: flow.max_age,
    };
    if demand.satisfied_by(&auth.amr, auth.mfa_time, now) {
        return Ok((flow, Gate::Pass(auth)));
    }
    let enrolled = is_enrolled(st, &auth.user_id).await?;
    if enrolled && !demanded {
        match remember::recognised(st, headers, &auth.user_id).await {
            Ok(Some(at)) if flow.max_age.is_none_or(|m| m > 0 && now - at <= m) => {
                let mut auth = auth;
                auth.amr = amr_with_factor(&auth.amr, None);
                auth.mfa_time = Some(at);
                update_session(st, sess, &auth).await;
                return Ok((flow, Gate::Pass(auth)));
            }
            Ok(_) => {}
            Err(e) => return Err(LoginError::server("the remembered device", &e)),
        }
    }
    if flow.prompt.none {
        // OIDC Core §3.1.2.6: the second factor needs the user.
        let r = error_redirect(
            &flow.redirect_uri,
            ErrorCode::InteractionRequired,
            "The user must pass a second factor.",
            flow.state.as_deref(),
            &st.config.issuer(),
        );
        return Ok((flow, Gate::Ask(r)));
    }
    flow.stage = if enrolled {
        Stage::MfaChallenge
    } else {
        Stage::MfaEnroll
    };
    flow.auth = Some(auth);
    flow.eligible = vec![chosen.org.id.clone()];
    flow.mfa = Some(MfaPending {
        org_id: chosen.org.id.clone(),
        policy,
        demanded,
        enroll: None,
        passkey: None,
    });
    flow::save(st, &flow)
        .await
        .map_err(|e| LoginError::unavailable("storing the flow", &e))?;
    let to = see_other(&format!("/login/mfa?flow={}", flow.id));
    Ok((flow, Gate::Ask(to)))
}

/// Whether the user has a second factor (an authenticator app or a passkey).
async fn is_enrolled(st: &LoginCtx, user: &UserId) -> Result<bool, LoginError> {
    let totp = st
        .storage
        .get_totp(user)
        .await
        .map_err(|e| LoginError::server("the second factor", &e))?;
    if totp.is_some() {
        return Ok(true);
    }
    hooks::has_passkeys(st, user)
        .await
        .map_err(|e| LoginError::server("the passkeys", &e))
}

/// The flow at a second-factor stage, with its authentication and pending factor; `None`
/// (the caller sends the browser back to `/login`) at any other stage.
pub fn pending(flow: &Flow) -> Option<(&Authenticated, &MfaPending)> {
    match flow.stage {
        Stage::MfaEnroll | Stage::MfaChallenge => Some((flow.auth.as_ref()?, flow.mfa.as_ref()?)),
        _ => None,
    }
}

/// `GET /login/mfa?flow=…`: the enrolment or the challenge page of the flow's stage.
async fn page(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    LoadedFlow(flow): LoadedFlow,
) -> Response {
    let lang = flow.ui_lang();
    let r = match flow.stage {
        Stage::MfaEnroll => totp::enroll_page(&st, &headers, flow, None).await,
        Stage::MfaChallenge => totp::challenge_page(&st, &headers, &flow, None).await,
        Stage::Chooser => Ok(see_other(&format!("/login/org?flow={}", flow.id))),
        _ => Ok(see_other(&format!("/login?flow={}", flow.id))),
    };
    respond(&st, &headers, r.map_err(|e| e.in_lang(lang))).await
}

/// `POST /login/mfa/skip`: continue without a second factor (optional policy, not enrolled).
async fn skip_post(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    early: Early,
    body: Bytes,
) -> Response {
    let r = skip(&st, &sess, &headers, early, &body).await;
    respond(&st, &headers, r).await
}

async fn skip(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    early: Early,
    body: &Bytes,
) -> Result<Response, LoginError> {
    let (flow, _) = load_form_flow(st, headers, early, body).await?;
    let lang = flow.ui_lang();
    let may = flow.stage == Stage::MfaEnroll && pending(&flow).is_some_and(|(_, p)| p.may_skip());
    if !may {
        return Ok(see_other(&format!("/login/mfa?flow={}", flow.id)));
    }
    finish(st, sess, headers, flow, None, false, PendingAudit::none())
        .await
        .map_err(|e| e.in_lang(lang))
}

/// A second factor passed in `flow` (at `MfaChallenge`, or `MfaEnroll` once the new factor is
/// stored): record it in the authentication (`amr`, `mfa_time`) and the SSO session, remember
/// the device when asked (and allowed by `LOBBY_MFA_REMEMBER_DAYS`), then issue the code for
/// the chosen org. `flow` must have been loaded for this browser with its CSRF token checked
/// (`load_form_flow`); it is consumed here, so one flow yields one code.
pub async fn factor_passed(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
    method: MfaMethod,
    remember: bool,
) -> Result<Response, LoginError> {
    factor_done(st, sess, headers, flow, method, remember, "mfa.verify").await
}

/// A new second factor was enrolled and proven in `flow` (the authenticator app's first code,
/// or a passkey's registration): the same as [`factor_passed`], audited as an enrolment.
pub async fn enrollment_completed(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
    method: MfaMethod,
    remember: bool,
) -> Result<Response, LoginError> {
    factor_done(st, sess, headers, flow, method, remember, "mfa.enroll").await
}

/// A second factor done (`action`: `mfa.verify` or `mfa.enroll`, the audit event it records
/// for the flow's pending user and org): finish the sign-in with it.
async fn factor_done(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
    method: MfaMethod,
    remember: bool,
    action: &str,
) -> Result<Response, LoginError> {
    let user = flow.auth.as_ref().map(|a| a.user_id.clone());
    let org = flow.mfa.as_ref().map(|p| p.org_id.clone());
    let audit = match (user, org) {
        (Some(u), Some(o)) => PendingAudit::new(
            mfa_audit(st, headers, &u, &o, action, method),
            st.storage.clone(),
        ),
        _ => PendingAudit::none(),
    };
    finish(st, sess, headers, flow, Some(method), remember, audit).await
}

fn mfa_audit(
    st: &LoginCtx,
    headers: &HeaderMap,
    user: &UserId,
    org: &OrgId,
    action: &str,
    method: MfaMethod,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: format!("user:{user}"),
        org_id: Some(org.clone()),
        action: action.into(),
        target_type: "user".into(),
        target_id: user.to_string(),
        outcome: Outcome::Success,
        details: serde_json::json!({ "method": method.label() }),
        request_id: Some(crate::http::params::request_id(headers)),
    }
}

/// The end of a second-factor stage: with a factor (`method`) or without (skipped).
async fn finish(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: Flow,
    method: Option<MfaMethod>,
    remember: bool,
    audit: PendingAudit,
) -> Result<Response, LoginError> {
    let Some((auth, p)) = pending(&flow) else {
        return Ok(see_other(&format!("/login?flow={}", flow.id)));
    };
    let (mut auth, org_id) = (auth.clone(), p.org_id.clone());
    let app = flow_app(st, &flow).await?;
    // Eligibility again, now (a membership removed meanwhile no longer counts).
    let chosen = discovery::eligible_password_orgs(st.storage.as_ref(), &app, &auth.user_id)
        .await
        .map_err(|e| LoginError::server("computing eligible orgs", &e))?
        .into_iter()
        .find(|e| e.org.id == org_id)
        .ok_or(PageError::OrgNotAllowed)?;
    // Take the flow: of two concurrent submits only one gets a code.
    let flow = flow::take(st, &flow.id, headers).await?;
    let mut cookie = None;
    if let Some(m) = method {
        let now = st.clock.now();
        auth.amr = amr_with_factor(&auth.amr, Some(m));
        auth.mfa_time = Some(now.unix_timestamp());
        update_session(st, sess, &auth).await;
        if remember {
            cookie = remember::remember(st, &auth.user_id)
                .await
                .map_err(|e| LoginError::server("remembering the device", &e))?;
        }
    }
    remember_org(st, sess, &app, &auth, &chosen).await;
    let mut res = issue_code_with(st, headers, &flow, &auth, &chosen, audit).await?;
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Record a passed second factor in the browser's SSO session (the same session only), so
/// other apps of this session are not asked again.
async fn update_session(st: &LoginCtx, sess: &Session, auth: &Authenticated) {
    if let Ok(Some(mut s)) =
        session::current(sess, &*st.ephemeral, st.clock.now().unix_timestamp()).await
        && s.user_id == auth.user_id
        && s.sid == auth.sid
    {
        s.amr = auth.amr.clone();
        s.mfa_time = auth.mfa_time;
        if let Err(e) = session::update(sess, &s).await {
            tracing::warn!(error = %e, "cannot record the second factor in the session");
        }
    }
}

/// Reset a user's second factors (an org admin's action): TOTP factor, recovery codes,
/// remembered devices and passkeys. The caller audits it.
pub async fn reset_user(
    storage: &dyn Storage,
    user: &UserId,
) -> crate::storage::Result<MfaRemoved> {
    let mut removed = storage.delete_mfa_for_user(user).await?;
    removed.passkeys = hooks::delete_passkeys(storage, user).await?;
    Ok(removed)
}

/// A `Set-Cookie` value, checked (a value that cannot be a header is dropped and logged).
pub(crate) fn cookie_header(v: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(v)
        .map_err(|_| tracing::error!("a cookie value is not a valid header"))
        .ok()
}

/// A sealed secret opened as text (the pending enrolment's secret and codes).
pub(crate) fn open(st: &LoginCtx, sealed: &Secret) -> Option<Vec<u8>> {
    st.seal
        .open(sealed.expose())
        .map_err(|e| tracing::error!(error = %e, "cannot open a sealed second-factor secret"))
        .ok()
}
