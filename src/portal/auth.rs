//! Signing in to the portal through Lobby itself: `GET /portal/login` sends the browser to the
//! real `/authorize` as the built-in client `lobby-portal` (PKCE S256, `state`), the hosted
//! login (or the SSO session) signs the person in and picks the org — refusing anyone without
//! an org role there ("You are not an administrator of this organization", `login::builtin`) — and
//! `GET /portal/callback` redeems the code in-process with the same checks as `/token`
//! (`provider::token::redeem_in_process`), then starts the portal session with a NEW session
//! id. `POST /portal/logout` (CSRF) ends the portal session, then sends the browser with a
//! single-use ticket to `GET /portal/logout/lobby/{ticket}` on Lobby's public URL (where the SSO
//! cookie is sent even when the portal has its own host name), which ends this browser's Lobby
//! SSO session the way RP-initiated logout does (`provider::logout::end_sso`).
//!
//! Owns: these three routes. Must not touch: the hosted login, token issuance.

use super::PortalCtx;
use super::form::CsrfForm;
use super::session::{KEY, PENDING, Pending, PortalUser, SignedIn, live};
use super::view::{Layout, PageResult, PortalError, Section, render, see_other};
use crate::domain::{ClientId, random_token};
use crate::i18n::Msg;
use crate::login::builtin::{PORTAL_CLIENT_ID, admits, portal_redirect_uri};
use crate::login::session;
use crate::provider::logout::end_sso;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

pub fn routes() -> Router<PortalCtx> {
    Router::new()
        .route("/portal/login", get(login))
        .route("/portal/callback", get(callback))
        .route("/portal/logout", post(logout))
        .route("/portal/logout/lobby/{ticket}", get(end_lobby_session))
        .route("/portal/signed-out", get(signed_out))
}

const SENTENCE_START_AGAIN: Msg = Msg::new("portal-signin-start-again");
const SENTENCE_REFUSED: Msg = Msg::new("portal-signin-refused");

/// A path under `/portal` to return to after sign-in; anything else is `/portal`.
pub fn safe_return(r: Option<&str>) -> String {
    match r {
        Some(p)
            if (p == "/portal" || p.starts_with("/portal/") || p.starts_with("/portal?"))
                && !p.contains("//")
                && !p.contains('\\')
                && !p.starts_with("/portal/callback")
                && !p.starts_with("/portal/login")
                && p.len() <= 1024
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/portal".to_owned(),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(rename = "return")]
    return_to: Option<String>,
    /// An org (id or slug) to sign in to, passed on as `organization`.
    org: Option<String>,
}

/// `GET /portal/login`: to `/authorize` (or straight back when already signed in).
async fn login(
    State(ctx): State<PortalCtx>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> PageResult {
    let return_to = safe_return(q.return_to.as_deref());
    if live(&session, &ctx).await?.is_some() && q.org.is_none() {
        return Ok(see_other(&return_to));
    }
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_token();
    session
        .insert(
            PENDING,
            Pending {
                state: state.clone(),
                verifier,
                return_to,
            },
        )
        .await
        .map_err(PortalError::internal)?;
    let redirect_uri = portal_redirect_uri(&ctx.config);
    let mut q_out = url::form_urlencoded::Serializer::new(String::new());
    q_out
        .append_pair("response_type", "code")
        .append_pair("client_id", PORTAL_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(o) = q.org.as_deref().filter(|o| !o.is_empty() && o.len() <= 200) {
        q_out.append_pair("organization", o);
    }
    Ok(see_other(&format!(
        "{}?{}",
        ctx.config.url("/authorize"),
        q_out.finish()
    )))
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/signin_problem.html")]
struct SignInProblem {
    l: Layout,
    message: Msg,
}

fn problem(status: StatusCode, message: Msg) -> axum::response::Response {
    let page = SignInProblem {
        l: Layout::plain(
            &super::view::current_tr().t("portal-signin-problem-title"),
            Section::Home,
            None,
        ),
        message,
    };
    render(status, &page)
}

/// `GET /portal/callback`: redeem the code in-process, start the session with a new id.
async fn callback(
    State(ctx): State<PortalCtx>,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    let pending: Option<Pending> = session.remove(PENDING).await.ok().flatten();
    let Some(pending) = pending else {
        return Ok(problem(StatusCode::BAD_REQUEST, SENTENCE_START_AGAIN));
    };
    if !super::form::token_ok(&pending.state, q.state.as_deref()) {
        return Ok(problem(StatusCode::BAD_REQUEST, SENTENCE_START_AGAIN));
    }
    // RFC 9207: the answer comes from this Lobby.
    if q.iss.as_deref() != Some(ctx.config.issuer().as_str()) {
        return Ok(problem(StatusCode::BAD_REQUEST, SENTENCE_START_AGAIN));
    }
    if q.error.is_some() {
        return Ok(problem(StatusCode::FORBIDDEN, SENTENCE_REFUSED));
    }
    let Some(code) = q.code.as_deref() else {
        return Ok(problem(StatusCode::BAD_REQUEST, SENTENCE_START_AGAIN));
    };
    let client = ClientId::parse(PORTAL_CLIENT_ID).map_err(PortalError::internal)?;
    let grant = match crate::provider::token::redeem_in_process(
        &ctx.provider,
        &client,
        code,
        &portal_redirect_uri(&ctx.config),
        &pending.verifier,
    )
    .await
    {
        Ok(g) => g,
        Err(e) => {
            tracing::info!(error = ?e, "portal: code refused");
            return Ok(problem(StatusCode::BAD_REQUEST, SENTENCE_START_AGAIN));
        }
    };
    // The login checked this before issuing the code; the membership may have changed since.
    if !admits(ctx.storage.as_ref(), &grant.user_id, &grant.org_id).await? {
        return Err(PortalError::NotFound);
    }
    // A new session id at sign-in (no fixation): nothing of the anonymous session is kept.
    session.cycle_id().await.map_err(PortalError::internal)?;
    session.clear().await;
    let now = ctx.clock.now().unix_timestamp();
    session
        .insert(
            KEY,
            SignedIn {
                user_id: grant.user_id,
                org_id: grant.org_id,
                csrf: random_token(),
                started: now,
                last_seen: now,
            },
        )
        .await
        .map_err(PortalError::internal)?;
    Ok(see_other(&pending.return_to))
}

#[derive(Deserialize)]
struct Empty {}

/// How long the browser has to reach Lobby's public host after the portal's sign-out.
const LOGOUT_TICKET_TTL: std::time::Duration = std::time::Duration::from_secs(120);

fn logout_key(ticket: &str) -> String {
    format!(
        "portal_logout:{}",
        hex::encode(Sha256::digest(ticket.as_bytes()))
    )
}

/// `POST /portal/logout`: ends the portal session, then sends the browser to Lobby's public
/// URL with a single-use ticket naming the person, where [`end_lobby_session`] ends this
/// browser's SSO session (the portal may live on another host name, where the SSO cookie is
/// not sent).
async fn logout(
    State(ctx): State<PortalCtx>,
    user: PortalUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    user.session()
        .flush()
        .await
        .map_err(PortalError::internal)?;
    let ticket = random_token();
    ctx.provider
        .ephemeral
        .put(
            &logout_key(&ticket),
            user.user_id.as_str().as_bytes(),
            LOGOUT_TICKET_TTL,
        )
        .await
        .map_err(PortalError::internal)?;
    Ok(see_other(
        &ctx.config.url(&format!("/portal/logout/lobby/{ticket}")),
    ))
}

/// `GET /portal/logout/lobby/{ticket}` (on Lobby's public URL): take the ticket (once) and end
/// this browser's SSO session the way RP-initiated logout does
/// (`provider::logout::end_sso`: its refresh tokens revoked, the logout audited) — only when
/// the session is the person's who signed out of the portal (a ticket is no way to sign
/// someone else out). Then the portal's signed-out page.
async fn end_lobby_session(
    State(ctx): State<PortalCtx>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> PageResult {
    let signed_out = format!("{}/signed-out", ctx.config.portal_url());
    let who = match ticket.len() {
        1..=128 => ctx
            .provider
            .ephemeral
            .take(&logout_key(&ticket))
            .await
            .map_err(PortalError::internal)?,
        _ => None,
    };
    let Some(who) = who else {
        return Ok(see_other(&signed_out));
    };
    let secure = ctx.config.secure_cookies();
    let Some(sso) = session::from_cookie(&headers, ctx.sessions.clone(), secure) else {
        return Ok(see_other(&signed_out));
    };
    let now = ctx.clock.now().unix_timestamp();
    let current = session::current(&sso, &*ctx.provider.ephemeral, now)
        .await
        .map_err(PortalError::internal)?;
    if current
        .as_ref()
        .is_some_and(|s| s.user_id.as_str().as_bytes() != who.as_slice())
    {
        // Someone else is signed in to Lobby in this browser now: left as it is.
        return Ok(see_other(&format!("{signed_out}?lobby=other")));
    }
    end_sso(
        &ctx.provider,
        &sso,
        current.as_ref(),
        Some(PORTAL_CLIENT_ID.to_owned()),
        &headers,
    )
    .await
    .map_err(|e| PortalError::internal(format!("{e:?}")))?;
    let mut res = see_other(&signed_out);
    let gone =
        HeaderValue::from_str(&session::removal_cookie(secure)).map_err(PortalError::internal)?;
    res.headers_mut().append(header::SET_COOKIE, gone);
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/signed_out.html")]
struct SignedOutPage {
    l: Layout,
    /// Someone else was signed in to Lobby in this browser: their session was left alone.
    lobby_other: bool,
}

#[derive(Deserialize)]
struct SignedOutQuery {
    lobby: Option<String>,
}

/// `GET /portal/signed-out`.
async fn signed_out(Query(q): Query<SignedOutQuery>) -> axum::response::Response {
    render(
        StatusCode::OK,
        &SignedOutPage {
            l: Layout::plain(
                &super::view::current_tr().t("portal-signed-out-title"),
                Section::Home,
                None,
            ),
            lobby_other: q.lobby.as_deref() == Some("other"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn returns_stay_in_the_portal() {
        assert_eq!(safe_return(Some("/portal/orgs/acme")), "/portal/orgs/acme");
        assert_eq!(safe_return(Some("/portal?x=1")), "/portal?x=1");
        for bad in [
            "https://evil.example/portal",
            "//evil.example/portal",
            "/portal//evil",
            "/portalx",
            "/portal/login?return=/portal",
            "/portal/\\evil",
        ] {
            assert_eq!(safe_return(Some(bad)), "/portal", "{bad}");
        }
        assert_eq!(safe_return(None), "/portal");
    }
}
