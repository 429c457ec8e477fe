//! Passkeys as the second factor (issue 16 item 4): the JSON endpoints the second-factor
//! pages' script (`static/passkey.js`) calls around `navigator.credentials.create/get`.
//!
//! - `POST /login/mfa/passkey/register/options` and `…/register/finish`: enrol a passkey on the
//!   enrolment page (stage `MfaEnroll`); the user's registered credentials are excluded
//!   (WebAuthn §5.4 `excludeCredentials`), a credential id registered to anyone is refused.
//! - `POST /login/mfa/passkey/authenticate/options` and `…/authenticate/finish`: pass the
//!   challenge page (stage `MfaChallenge`) with one of the user's passkeys; the stored
//!   credential's signature counter and backup state are updated (WebAuthn §7.2 steps 21–22)
//!   and a credential removed meanwhile is refused.
//!
//! Every request is JSON `{"flow": …, "csrf": …}` (plus `credential`, the browser's
//! `PublicKeyCredential` in WebAuthn's JSON form, on finish), for this browser's flow with its
//! CSRF token (DESIGN §6.7). The ceremony's state is parked under the flow (`rp`), single use.
//! User verification is required, as the library's passkey ceremonies do. Answers: the
//! options (`{"publicKey": …}`), `{"redirect": "<url>"}` to follow after a finish, or the
//! shared JSON error body with a fixed sentence in the flow's language.
//!
//! Owns: the passkey ceremonies and the passkeys table's use. Must not touch: which factor a
//! sign-in needs and what happens after it (`login::mfa`), the pages (`pages`).

pub mod rp;

use crate::domain::{
    AuditEvent, AuditEventId, MAX_PASSKEYS_PER_USER, MfaMethod, Outcome, PasskeyCredentialId,
    PasskeyRecord, UserId, passkey_hardware_bound, passkey_name, to_millis,
};
use crate::http::error::ApiError;
use crate::i18n::{Lang, Msg, Tr};
use crate::login::LoginCtx;
use crate::login::error::LoginError;
use crate::login::flow::{self, Flow, FlowError, FlowId, Stage};
use crate::storage::StorageError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rp::{Ceremony, park, unpark};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tower_sessions::Session;
use webauthn_rs::prelude::{
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

/// Sentences of the passkey endpoints' errors (the script shows them as they are).
pub const SENTENCE_EXPIRED: Msg = Msg::new("passkey-error-expired");
pub const SENTENCE_REJECTED: Msg = Msg::new("passkey-error-rejected");
pub const SENTENCE_UNAVAILABLE: Msg = Msg::new("passkey-error-unavailable");
pub const SENTENCE_NONE: Msg = Msg::new("passkey-error-none");
pub const SENTENCE_TOO_MANY: Msg = Msg::new("passkey-error-too-many");
pub const SENTENCE_BAD_REQUEST: Msg = Msg::new("passkey-error-bad-request");
pub const SENTENCE_WRONG_STEP: Msg = Msg::new("passkey-error-wrong-step");
pub const SENTENCE_SERVER: Msg = Msg::new("passkey-error-server");
pub const SENTENCE_TRY_LATER: Msg = Msg::new("passkey-error-try-later");
/// A passkey's name when the browser gave none.
pub const DEFAULT_NAME: Msg = Msg::new("passkey-default-name");

/// Why a passkey request failed: a JSON error with a stable code and a fixed sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyError {
    /// Not JSON, fields missing or malformed, a credential that is not WebAuthn's JSON.
    BadRequest,
    /// No such flow, it expired, or it belongs to another browser.
    FlowExpired,
    /// The CSRF token does not match the flow's.
    Csrf,
    /// The flow is not at the step this endpoint belongs to.
    WrongStage,
    /// Passkeys cannot work with this public URL (`rp::PasskeyRp::new`).
    Unavailable,
    /// No parked ceremony: never started, expired, or used already (a replay).
    CeremonyExpired,
    /// The authenticator's answer did not verify, or names a credential the user no longer has.
    Rejected,
    /// Authentication asked of a user without passkeys.
    NoPasskeys,
    /// The user has [`MAX_PASSKEYS_PER_USER`] already.
    TooMany,
    /// The state store or the database is down for now.
    TryLater,
    Server,
}

impl PasskeyError {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "invalid_request",
            Self::FlowExpired => "flow_expired",
            Self::Csrf => "csrf",
            Self::WrongStage => "wrong_stage",
            Self::Unavailable => "passkeys_unavailable",
            Self::CeremonyExpired => "ceremony_expired",
            Self::Rejected => "passkey_rejected",
            Self::NoPasskeys => "no_passkeys",
            Self::TooMany => "too_many_passkeys",
            Self::TryLater => "temporarily_unavailable",
            Self::Server => "internal_error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::FlowExpired => StatusCode::GONE,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::WrongStage | Self::NoPasskeys | Self::TooMany => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::NOT_FOUND,
            Self::CeremonyExpired => StatusCode::GONE,
            Self::Rejected => StatusCode::UNAUTHORIZED,
            Self::TryLater => StatusCode::SERVICE_UNAVAILABLE,
            Self::Server => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(self) -> Msg {
        match self {
            Self::BadRequest => SENTENCE_BAD_REQUEST,
            Self::FlowExpired | Self::CeremonyExpired => SENTENCE_EXPIRED,
            Self::Csrf | Self::WrongStage => SENTENCE_WRONG_STEP,
            Self::Unavailable => SENTENCE_UNAVAILABLE,
            Self::Rejected => SENTENCE_REJECTED,
            Self::NoPasskeys => SENTENCE_NONE,
            Self::TooMany => SENTENCE_TOO_MANY,
            Self::TryLater => SENTENCE_TRY_LATER,
            Self::Server => SENTENCE_SERVER,
        }
    }

    /// Every kind, for tests of the sentences.
    pub const ALL: [PasskeyError; 11] = [
        Self::BadRequest,
        Self::FlowExpired,
        Self::Csrf,
        Self::WrongStage,
        Self::Unavailable,
        Self::CeremonyExpired,
        Self::Rejected,
        Self::NoPasskeys,
        Self::TooMany,
        Self::TryLater,
        Self::Server,
    ];

    fn respond(self, lang: Lang) -> Response {
        ApiError::new(
            self.status(),
            self.code(),
            Tr::new(lang).msg(self.message()),
        )
        .into_response()
    }

    fn storage(context: &'static str, e: &StorageError) -> Self {
        tracing::error!(error = %e, context, "storage error in a passkey ceremony");
        if e.is_unavailable() {
            Self::TryLater
        } else {
            Self::Server
        }
    }

    fn state(context: &'static str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, context, "state store error in a passkey ceremony");
        Self::TryLater
    }
}

impl From<FlowError> for PasskeyError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Missing | FlowError::WrongBrowser => Self::FlowExpired,
            FlowError::State(e) => Self::state("loading the flow", &e),
        }
    }
}

/// The body of every passkey request.
#[derive(Deserialize)]
struct Body {
    flow: String,
    csrf: String,
    /// The browser's `PublicKeyCredential` (finish only), parsed by the ceremony.
    #[serde(default)]
    credential: Option<serde_json::Value>,
    /// The name to remember a new passkey by (registration only).
    #[serde(default)]
    name: Option<String>,
    /// "Remember this device" was ticked on the page (finish only).
    #[serde(default)]
    remember: Option<bool>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The request's body, its flow (for this browser) and the CSRF check.
async fn load(
    st: &LoginCtx,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Flow, Body), PasskeyError> {
    if !is_json(headers) {
        return Err(PasskeyError::BadRequest);
    }
    let b: Body = serde_json::from_slice(body).map_err(|_| PasskeyError::BadRequest)?;
    let id = FlowId::parse(&b.flow).ok_or(PasskeyError::FlowExpired)?;
    let flow = flow::load(st, &id, headers).await?;
    if !flow.csrf_ok(Some(&b.csrf)) {
        return Err(PasskeyError::Csrf);
    }
    Ok((flow, b))
}

/// The language of a failure: the flow's `ui_locales`, else the browser's.
fn lang_of(headers: &HeaderMap, flow: Option<&Flow>) -> Lang {
    crate::i18n::negotiate(
        None,
        flow.and_then(Flow::ui_lang),
        crate::i18n::accept_language(headers),
    )
}

/// How long the flow has left (the ceremony never outlives it).
fn flow_left(st: &LoginCtx, flow: &Flow) -> Result<Duration, PasskeyError> {
    let left = flow.expires_at - to_millis(st.clock.now());
    if left <= 0 {
        return Err(PasskeyError::FlowExpired);
    }
    Ok(Duration::from_millis(left as u64))
}

fn webauthn(st: &LoginCtx) -> Result<&webauthn_rs::Webauthn, PasskeyError> {
    st.passkeys.webauthn().ok_or(PasskeyError::Unavailable)
}

fn json_ok(v: &impl serde::Serialize) -> Response {
    let mut res = axum::Json(v).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

/// A route's end: its answer, or the failure as JSON in the request's language.
fn answer(headers: &HeaderMap, lang: Option<Lang>, r: Result<Response, PasskeyError>) -> Response {
    match r {
        Ok(res) => res,
        Err(e) => e.respond(lang.unwrap_or_else(|| lang_of(headers, None))),
    }
}

/// The flow's user when the flow is at `stage` (with its pending second factor).
fn user_at(flow: &Flow, stage: Stage) -> Option<UserId> {
    if flow.stage != stage {
        return None;
    }
    super::pending(flow).map(|(auth, _)| auth.user_id.clone())
}

/// What the second-factor framework answered after the passkey (a redirect: the code to the
/// app, or an OAuth error to it), as `{"redirect": …}` for the script to follow, with the
/// answer's cookies (a remembered device). A failure (the org is no longer allowed, say) is
/// audited and answered as JSON with the sentence its page would show.
async fn continue_as_json(
    st: &LoginCtx,
    headers: &HeaderMap,
    lang: Lang,
    r: Result<Response, LoginError>,
) -> Result<Response, PasskeyError> {
    let res = match r {
        Ok(res) => res,
        Err(mut e) => {
            e.record(st, headers).await;
            let status = e.status();
            return Ok(ApiError::new(status, "sign_in_failed", e.sentence(lang)).into_response());
        }
    };
    let Some(to) = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        tracing::error!(status = %res.status(), "the second factor's continuation did not redirect");
        return Err(PasskeyError::Server);
    };
    let mut out = json_ok(&serde_json::json!({ "redirect": to }));
    for c in res.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    Ok(out)
}

/// What every ceremony request starts from: the flow (a JSON body with its CSRF token), its
/// language, the user pending at the ceremony's stage, and the relying party.
struct Begun<'a> {
    flow: Flow,
    body: Body,
    lang: Lang,
    user: UserId,
    w: &'a webauthn_rs::Webauthn,
}

/// The prelude of every ceremony request: load the flow, note its language in `lang` (for the
/// answer, even an error), check the stage and that passkeys are available.
async fn begin<'a>(
    st: &'a LoginCtx,
    headers: &HeaderMap,
    body: &Bytes,
    stage: Stage,
    lang: &mut Option<Lang>,
) -> Result<Begun<'a>, PasskeyError> {
    let (flow, body) = load(st, headers, body).await?;
    let l = lang_of(headers, Some(&flow));
    *lang = Some(l);
    let user = user_at(&flow, stage).ok_or(PasskeyError::WrongStage)?;
    let w = webauthn(st)?;
    Ok(Begun {
        flow,
        body,
        lang: l,
        user,
        w,
    })
}

/// Parks a ceremony's state for its finish (`context` names it in the log) and answers the
/// options to the browser.
async fn park_and_answer<S: serde::Serialize>(
    st: &LoginCtx,
    ceremony: Ceremony,
    b: &Begun<'_>,
    state: &S,
    options: &impl serde::Serialize,
    context: &'static str,
) -> Result<Response, PasskeyError> {
    park(
        st.ephemeral.as_ref(),
        ceremony,
        &b.flow.id,
        &b.user,
        state,
        flow_left(st, &b.flow)?,
    )
    .await
    .map_err(|e| PasskeyError::state(context, &e))?;
    Ok(json_ok(options))
}

/// A finish's inputs: the browser's credential (taken from the body) and the state its options
/// parked (single use; `context` names it in the log).
async fn finish_inputs<C: DeserializeOwned, S: DeserializeOwned>(
    st: &LoginCtx,
    ceremony: Ceremony,
    b: &mut Begun<'_>,
    context: &'static str,
) -> Result<(C, S), PasskeyError> {
    let credential: C = b
        .body
        .credential
        .take()
        .and_then(|c| serde_json::from_value(c).ok())
        .ok_or(PasskeyError::BadRequest)?;
    let state: S = unpark(st.ephemeral.as_ref(), ceremony, &b.flow.id, &b.user)
        .await
        .map_err(|e| PasskeyError::state(context, &e))?
        .ok_or(PasskeyError::CeremonyExpired)?;
    Ok((credential, state))
}

/// Records a refused passkey as a refused second factor (`mfa.failure`, as refused codes).
async fn audit_refused(st: &LoginCtx, headers: &HeaderMap, flow: &Flow, reason: &str) {
    let Some((auth, m)) = super::pending(flow) else {
        return;
    };
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: format!("user:{}", auth.user_id),
        org_id: Some(m.org_id.clone()),
        action: "mfa.failure".into(),
        target_type: "user".into(),
        target_id: auth.user_id.to_string(),
        outcome: Outcome::Failure,
        details: serde_json::json!({ "reason": reason, "method": "passkey" }),
        request_id: Some(crate::http::params::request_id(headers)),
    };
    if let Err(e) = st.storage.append_audit(&ev).await {
        tracing::error!(error = %e, "cannot record the refused passkey");
    }
}

// ---------------------------------------------------------------------------------------------
// Registration (the enrolment page).

/// `POST /login/mfa/passkey/register/options`.
pub async fn register_options(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut lang = None;
    let r = register_options_work(&st, &headers, &body, &mut lang).await;
    answer(&headers, lang, r)
}

async fn register_options_work(
    st: &LoginCtx,
    headers: &HeaderMap,
    body: &Bytes,
    lang: &mut Option<Lang>,
) -> Result<Response, PasskeyError> {
    let b = begin(st, headers, body, Stage::MfaEnroll, lang).await?;
    let (w, user) = (b.w, &b.user);
    let existing = st
        .storage
        .list_passkeys(user)
        .await
        .map_err(|e| PasskeyError::storage("listing passkeys", &e))?;
    if existing.len() >= MAX_PASSKEYS_PER_USER {
        return Err(PasskeyError::TooMany);
    }
    let profile = st
        .storage
        .get_user(user)
        .await
        .map_err(|e| PasskeyError::storage("reading the user", &e))?
        .ok_or(PasskeyError::FlowExpired)?;
    let email = profile.email.to_string();
    let display = profile.name.clone().unwrap_or_else(|| email.clone());
    // WebAuthn §5.4.3: the credentials this user has already, so an authenticator that
    // holds one does not make a second.
    let exclude: Vec<Vec<u8>> = existing
        .iter()
        .filter_map(rp::passkey_of)
        .map(|p| p.cred_id().clone())
        .collect();
    let (options, state) = w
        .start_passkey_registration(
            rp::user_handle(user),
            &email,
            &display,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "starting a passkey registration");
            PasskeyError::Server
        })?;
    let context = "parking a passkey registration";
    park_and_answer(st, Ceremony::Register, &b, &state, &options, context).await
}

/// `POST /login/mfa/passkey/register/finish`.
pub async fn register_finish(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut lang = None;
    let r = register_finish_work(&st, &sess, &headers, &body, &mut lang).await;
    answer(&headers, lang, r)
}

async fn register_finish_work(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    body: &Bytes,
    lang: &mut Option<Lang>,
) -> Result<Response, PasskeyError> {
    let mut begun = begin(st, headers, body, Stage::MfaEnroll, lang).await?;
    let context = "taking a passkey registration";
    let (credential, state): (RegisterPublicKeyCredential, PasskeyRegistration) =
        finish_inputs(st, Ceremony::Register, &mut begun, context).await?;
    let Begun {
        flow,
        body: b,
        lang: l,
        user,
        w,
    } = begun;
    let passkey = match w.finish_passkey_registration(&credential, &state) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration did not verify");
            audit_refused(st, headers, &flow, "passkey_registration_rejected").await;
            return Err(PasskeyError::Rejected);
        }
    };
    let id = rp::credential_id(&passkey).ok_or(PasskeyError::Rejected)?;
    let hardware = passkey_hardware_bound(rp::backup_eligible(&passkey));
    let record = PasskeyRecord {
        credential_id: id,
        user_id: user.clone(),
        name: passkey_name(b.name.as_deref(), &Tr::new(l).msg(DEFAULT_NAME)),
        credential: serde_json::to_string(&passkey).map_err(|_| PasskeyError::Server)?,
        created_at: st.clock.now(),
        last_used_at: Some(st.clock.now()),
    };
    match st.storage.create_passkey(&record).await {
        Ok(()) => {}
        // WebAuthn §7.1 step 26: a credential id registered already (to anyone) is refused.
        Err(StorageError::Duplicate(_)) => {
            audit_refused(st, headers, &flow, "passkey_already_registered").await;
            return Err(PasskeyError::Rejected);
        }
        Err(e) => return Err(PasskeyError::storage("storing a passkey", &e)),
    }
    let remember = b.remember.unwrap_or(false);
    let method = MfaMethod::Passkey { hardware };
    let r = super::enrollment_completed(st, sess, headers, flow, method, remember).await;
    continue_as_json(st, headers, l, r).await
}

// ---------------------------------------------------------------------------------------------
// Authentication (the challenge page).

/// `POST /login/mfa/passkey/authenticate/options`.
pub async fn authenticate_options(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut lang = None;
    let r = authenticate_options_work(&st, &headers, &body, &mut lang).await;
    answer(&headers, lang, r)
}

async fn authenticate_options_work(
    st: &LoginCtx,
    headers: &HeaderMap,
    body: &Bytes,
    lang: &mut Option<Lang>,
) -> Result<Response, PasskeyError> {
    let b = begin(st, headers, body, Stage::MfaChallenge, lang).await?;
    let passkeys: Vec<_> = st
        .storage
        .list_passkeys(&b.user)
        .await
        .map_err(|e| PasskeyError::storage("listing passkeys", &e))?
        .iter()
        .filter_map(rp::passkey_of)
        .collect();
    if passkeys.is_empty() {
        return Err(PasskeyError::NoPasskeys);
    }
    let (options, state) = b.w.start_passkey_authentication(&passkeys).map_err(|e| {
        tracing::error!(error = %e, "starting a passkey authentication");
        PasskeyError::Server
    })?;
    let context = "parking a passkey authentication";
    park_and_answer(st, Ceremony::Authenticate, &b, &state, &options, context).await
}

/// `POST /login/mfa/passkey/authenticate/finish`.
pub async fn authenticate_finish(
    State(st): State<LoginCtx>,
    sess: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut lang = None;
    let r = authenticate_finish_work(&st, &sess, &headers, &body, &mut lang).await;
    answer(&headers, lang, r)
}

async fn authenticate_finish_work(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    body: &Bytes,
    lang: &mut Option<Lang>,
) -> Result<Response, PasskeyError> {
    let mut begun = begin(st, headers, body, Stage::MfaChallenge, lang).await?;
    let context = "taking a passkey authentication";
    let (credential, state): (PublicKeyCredential, PasskeyAuthentication) =
        finish_inputs(st, Ceremony::Authenticate, &mut begun, context).await?;
    let Begun {
        flow,
        body: b,
        lang: l,
        user,
        w,
    } = begun;
    // Signature, challenge, origin, RP ID hash, user verification, and a credential the
    // ceremony allowed (WebAuthn §7.2), by the library.
    let result = match w.finish_passkey_authentication(&credential, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "a passkey authentication did not verify");
            audit_refused(st, headers, &flow, "passkey_rejected").await;
            return Err(PasskeyError::Rejected);
        }
    };
    let id =
        PasskeyCredentialId::from_bytes(result.cred_id()).map_err(|_| PasskeyError::Rejected)?;
    // The credential as stored now: removed since the options (an admin's reset, say), it
    // no longer counts.
    let Some(record) = st
        .storage
        .get_passkey(&user, &id)
        .await
        .map_err(|e| PasskeyError::storage("reading a passkey", &e))?
    else {
        audit_refused(st, headers, &flow, "passkey_removed").await;
        return Err(PasskeyError::Rejected);
    };
    let mut passkey = rp::passkey_of(&record).ok_or(PasskeyError::Server)?;
    // WebAuthn §7.2 steps 21–22: keep the signature counter and the backup state.
    passkey.update_credential(&result);
    let updated = serde_json::to_string(&passkey).map_err(|_| PasskeyError::Server)?;
    match st
        .storage
        .record_passkey_use(&user, &id, &updated, st.clock.now())
        .await
    {
        Ok(()) => {}
        Err(StorageError::NotFound) => {
            audit_refused(st, headers, &flow, "passkey_removed").await;
            return Err(PasskeyError::Rejected);
        }
        Err(e) => return Err(PasskeyError::storage("updating a passkey", &e)),
    }
    let hardware = passkey_hardware_bound(result.backup_eligible());
    let remember = b.remember.unwrap_or(false);
    let method = MfaMethod::Passkey { hardware };
    let r = super::factor_passed(st, sess, headers, flow, method, remember).await;
    continue_as_json(st, headers, l, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_sentence_in_every_language() {
        for e in PasskeyError::ALL {
            for lang in [Lang::En, Lang::De] {
                let s = e.message().get(lang);
                assert!(s.ends_with('.'), "{e:?} {lang:?}: {s}");
                assert_ne!(s, e.message().key());
            }
            assert!(e.status().is_client_error() || e.status().is_server_error());
        }
        assert_ne!(
            SENTENCE_REJECTED.get(Lang::De),
            SENTENCE_REJECTED.get(Lang::En)
        );
    }

    #[test]
    fn only_json_is_accepted() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(!is_json(&h));
    }
}
