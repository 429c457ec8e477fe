//! `/authorize` (GET and POST, OIDC Core §3.1.2.1): validates the authorization request,
//! creates the login flow and either finishes at once from the browser's SSO session, sends
//! the browser straight to the org's own IdP (an `organization` hint naming an SSO org), or
//! sends it to the hosted login.
//!
//! Order of checks (RFC 6749 §4.1.2.1): client and redirect_uri first — while either is
//! unknown or not an exact, byte-for-byte match of a registered URI (DESIGN §6.5; RFC 9700
//! §4.1.3), every error is the HTML error page and never a redirect. After that, errors go back
//! to the client with `error`, `state` and `iss` (RFC 9207).
//! Only the code flow (`response_type=code`), only `response_mode=query`, PKCE with S256 for
//! every client (RFC 7636; RFC 9700 §2.1.1: `plain` refused), `scope` must contain `openid`.
//! Free-text parameters are bounded (`params::MAX_PARAM_BYTES`). Scope `lobby:admin` and the
//! RFC 8707 `resource` parameter are decided by `admin_tokens`.
//!
//! Owns: request validation and the SSO shortcut. Must not touch: passwords, token issuance.

use super::admin_tokens;
use super::token::ALL_ALGS;
use crate::domain::admin_token::SCOPE_ADMIN;
use crate::domain::{ClientId, Email, random_token, to_millis};
use crate::http::params::{MAX_PARAM_BYTES, Params, is_form};
use crate::http::redirect::{ErrorCode, error_redirect, see_other};
use crate::keys::VerifyOptions;
use crate::login::discovery::{self, ConnectionDispatch};
use crate::login::error::storage_page;
use crate::login::flow::{self, Flow, Prompt, Stage};
use crate::login::issue::complete_login;
use crate::login::session;
use crate::pages::{PageError, error_page, error_page_in};
use crate::provider::ProviderCtx;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use tower_sessions::Session;

/// The parameters of `/authorize` after `client_id`, `redirect_uri` and `state`: from them on,
/// a repeated one is an error sent back to the client (RFC 6749 §3.1).
pub const CLIENT_PARAMS: [&str; 18] = [
    "response_type",
    "response_mode",
    "scope",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "organization",
    "domain_hint",
    "ui_locales",
    "id_token_hint",
    "request",
    "request_uri",
    "display",
    "acr_values",
    "invitation",
];

/// Scope values Lobby knows; others are ignored (OIDC Core §3.1.2.1). `lobby:admin` is
/// decided apart (`admin_tokens::authorize_admin`).
const KNOWN_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

pub async fn get(
    State(st): State<ProviderCtx>,
    sess: Session,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    authorize(&st, &sess, &headers, Params::from_query(q.as_deref())).await
}

pub async fn post(
    State(st): State<ProviderCtx>,
    sess: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(PageError::BadRequest, &headers, None);
    }
    authorize(&st, &sess, &headers, Params::parse(&body)).await
}

/// A validated redirect target for errors.
struct Back<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: String,
}

impl Back<'_> {
    fn err(&self, code: ErrorCode, description: &str) -> Response {
        error_redirect(
            self.redirect_uri,
            code,
            description,
            self.state,
            &self.issuer,
        )
    }
}

/// `S256` code challenge: BASE64URL(SHA-256) is always 43 characters (RFC 7636 §4.2).
/// (`pub` for the fuzz targets only.)
#[doc(hidden)]
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `prompt` values (OIDC Core §3.1.2.1); `None` when unsupported or `none` is combined.
/// (`pub` for the fuzz targets only.)
#[doc(hidden)]
pub fn parse_prompt(p: Option<&str>) -> Option<Prompt> {
    let mut out = Prompt::default();
    let Some(p) = p else { return Some(out) };
    let mut n = 0;
    for v in p.split(' ').filter(|v| !v.is_empty()) {
        n += 1;
        match v {
            "none" => out.none = true,
            "login" => out.login = true,
            "select_account" => out.select_account = true,
            // Lobby's apps are first-party: there is no consent screen to show.
            "consent" => {}
            _ => return None,
        }
    }
    // OIDC Core §3.1.2.1: `none` must not be combined with other values.
    if out.none && n > 1 {
        return None;
    }
    Some(out)
}

async fn authorize(st: &ProviderCtx, sess: &Session, headers: &HeaderMap, p: Params) -> Response {
    // 1. The client. Until it and the redirect_uri are known, answer with the error page only.
    // The error pages follow the request's `ui_locales`, when it has a usable one.
    let ui = crate::i18n::from_ui_locales(p.get("ui_locales").ok().flatten());
    let client_id = match p.get("client_id") {
        Ok(Some(c)) => c,
        Ok(None) => return error_page_in(PageError::UnknownClient, headers, None, ui),
        Err(_) => return error_page_in(PageError::BadRequest, headers, None, ui),
    };
    let Ok(client_id) = ClientId::parse(client_id) else {
        return error_page_in(PageError::UnknownClient, headers, None, ui);
    };
    let app =
        match crate::login::builtin::app_by_client_id(st.storage.as_ref(), &st.config, &client_id)
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => return error_page_in(PageError::UnknownClient, headers, None, ui),
            Err(e) => {
                tracing::error!(error = %e, "storage error in /authorize");
                return error_page_in(storage_page(&e), headers, None, ui);
            }
        };
    // 2. The redirect_uri: required (OIDC Core §3.1.2.1) and an exact string match.
    let redirect_uri = match p.get("redirect_uri") {
        Ok(Some(r)) => r,
        Ok(None) => return error_page_in(PageError::BadRedirectUri, headers, None, ui),
        Err(_) => return error_page_in(PageError::BadRequest, headers, None, ui),
    };
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return error_page_in(PageError::BadRedirectUri, headers, None, ui);
    }
    // `state` is echoed: a repeated or oversized one cannot be echoed faithfully.
    let state = match p.get("state") {
        Ok(s) => s,
        Err(_) => return error_page_in(PageError::BadRequest, headers, None, ui),
    };
    if state.is_some_and(|s| s.len() > MAX_PARAM_BYTES) {
        return error_page_in(PageError::TooLarge, headers, None, ui);
    }
    let back = Back {
        redirect_uri,
        state,
        issuer: st.config.issuer(),
    };

    // 3. From here on, errors go back to the client.
    if p.first_repeated(&CLIENT_PARAMS).is_some() {
        return back.err(
            ErrorCode::InvalidRequest,
            "A parameter was sent more than once.",
        );
    }
    let g = |n: &str| p.get(n).ok().flatten();
    // OIDC Core §6: request objects are not supported.
    if g("request").is_some() {
        return back.err(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported.",
        );
    }
    if g("request_uri").is_some() {
        return back.err(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported.",
        );
    }
    match g("response_type") {
        Some("code") => {}
        None => {
            return back.err(ErrorCode::InvalidRequest, "response_type is required.");
        }
        // No implicit or hybrid flows (DESIGN §6.5; RFC 9700 §2.1.2).
        Some(_) => {
            return back.err(
                ErrorCode::UnsupportedResponseType,
                "Only response_type=code is supported.",
            );
        }
    }
    if g("response_mode").is_some_and(|m| m != "query") {
        return back.err(
            ErrorCode::InvalidRequest,
            "Only response_mode=query is supported.",
        );
    }
    let scope_in = g("scope").unwrap_or("");
    if scope_in.len() > MAX_PARAM_BYTES {
        return back.err(ErrorCode::InvalidRequest, "scope is too long.");
    }
    if !scope_in.split(' ').any(|s| s == "openid") {
        return back.err(ErrorCode::InvalidScope, "The scope must include openid.");
    }
    let mut scope: Vec<&str> = Vec::new();
    for s in scope_in.split(' ') {
        if KNOWN_SCOPES.contains(&s) && !scope.contains(&s) {
            scope.push(s);
        }
    }
    // Lobby's admin API: scope `lobby:admin` or RFC 8707 `resource` (`admin_tokens`).
    match admin_tokens::authorize_admin(&app, scope_in, &p, &back.issuer) {
        Ok(true) => scope.push(SCOPE_ADMIN),
        Ok(false) => {}
        Err((code, description)) => return back.err(code, description),
    }
    // PKCE S256 for every client (RFC 7636 §4.3, RFC 9700 §2.1.1).
    let Some(challenge) = g("code_challenge") else {
        return back.err(
            ErrorCode::InvalidRequest,
            "code_challenge is required (PKCE with S256).",
        );
    };
    if g("code_challenge_method") != Some("S256") {
        return back.err(
            ErrorCode::InvalidRequest,
            "code_challenge_method must be S256.",
        );
    }
    if !valid_challenge(challenge) {
        return back.err(
            ErrorCode::InvalidRequest,
            "code_challenge must be a base64url SHA-256 value (43 characters).",
        );
    }
    for n in [
        "nonce",
        "login_hint",
        "organization",
        "domain_hint",
        "ui_locales",
        "display",
        "acr_values",
        "invitation",
    ] {
        if g(n).is_some_and(|v| v.len() > MAX_PARAM_BYTES) {
            return back.err(ErrorCode::InvalidRequest, "A parameter is too long.");
        }
    }
    if g("id_token_hint").is_some_and(|v| v.len() > 8 * 1024) {
        return back.err(ErrorCode::InvalidRequest, "id_token_hint is too long.");
    }
    // OIDC Core §3.1.2.1: an `id_token_hint` names the user the client expects. It must be an ID
    // token Lobby issued to this client (signature by a published key, current or previous);
    // its expiry does not matter. `None`: no hint; `Some(None)`: a hint that names nobody.
    let hinted_sub: Option<Option<String>> =
        g("id_token_hint").map(|t| hint_subject(st, t, app.client_id.as_str()));
    let Some(prompt) = parse_prompt(g("prompt")) else {
        return back.err(
            ErrorCode::InvalidRequest,
            "prompt has an unsupported value.",
        );
    };
    let max_age = match g("max_age") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(i64::from(n)),
            Err(_) => {
                return back.err(
                    ErrorCode::InvalidRequest,
                    "max_age must be a number of seconds.",
                );
            }
        },
    };
    let org_hint = match g("organization") {
        Some(h) => match discovery::resolve_org_hint(st.storage.as_ref(), &app, h).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "storage error resolving the organization hint");
                return if e.is_unavailable() {
                    back.err(
                        ErrorCode::TemporarilyUnavailable,
                        "The service is temporarily unavailable.",
                    )
                } else {
                    back.err(ErrorCode::ServerError, "Internal error.")
                };
            }
        },
        None => None,
    };

    // 4. The flow.
    let now = st.clock.now();
    let (secret, set_cookie) = flow::browser_binding(&st.login, headers);
    let flow = Flow {
        id: flow::FlowId::generate(),
        client_id: app.client_id.clone(),
        app_id: app.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        nonce: g("nonce").map(str::to_owned),
        code_challenge: challenge.to_owned(),
        scope: scope.join(" "),
        prompt,
        max_age,
        login_hint: g("login_hint").map(str::to_owned),
        org_hint: org_hint.as_ref().map(|o| o.org.id.clone()),
        domain_hint: g("domain_hint").map(str::to_owned),
        ui_locales: g("ui_locales").map(str::to_owned),
        csrf: crate::domain::Secret::new(random_token()),
        binding: flow::binding_hash(&secret),
        stage: Stage::Identifier,
        email: None,
        target_org: None,
        auth: None,
        eligible: Vec::new(),
        invitation: g("invitation").map(crate::domain::Secret::new),
        invite_accept: false,
        test: None,
        upstream: None,
        acr_mfa: crate::domain::mfa::acr_demands_mfa(g("acr_values")),
        mfa: None,
        expires_at: to_millis(now) + flow::FLOW_TTL.as_millis() as i64,
    };

    // 5. A live SSO session finishes without a password, unless the client asks for a fresh
    // login (prompt=login) or the authentication is older than max_age (OIDC Core §3.1.2.1).
    let now_s = now.unix_timestamp();
    let sso = match session::current(sess, &*st.ephemeral, now_s).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "session store error in /authorize");
            return with_cookie(
                error_page_in(PageError::Unavailable, headers, None, ui),
                set_cookie,
            );
        }
    };
    if let Some(s) = sso {
        // max_age=0 always re-authenticates (as Keycloak and Auth0 treat it: like prompt=login).
        let fresh_enough = max_age.is_none_or(|m| m > 0 && now_s - s.auth_time <= m);
        // A login_hint naming someone else than the signed-in user asks for that other user
        // (OIDC Core §3.1.2.1): no SSO then.
        let same_user = match g("login_hint").and_then(|h| Email::parse(h).ok()) {
            None => true,
            Some(hint) => match st.storage.get_user(&s.user_id).await {
                Ok(Some(u)) => u.email == hint,
                Ok(None) => false,
                Err(e) => {
                    tracing::error!(error = %e, "storage error in /authorize");
                    return with_cookie(
                        error_page_in(storage_page(&e), headers, None, ui),
                        set_cookie,
                    );
                }
            },
        };
        // The session's user must be the one the hint names (a hint that does not verify names
        // nobody): else no silent sign-in — `login_required` for prompt=none, a fresh login
        // otherwise.
        let same_user = same_user
            && hinted_sub
                .as_ref()
                .is_none_or(|sub| sub.as_deref() == Some(s.user_id.as_str()));
        if !prompt.login && fresh_enough && same_user {
            let res = complete_login(
                &st.login,
                headers,
                sess,
                &app,
                flow,
                s.authenticated(),
                false,
            )
            .await;
            return with_cookie(res, set_cookie);
        }
    }
    if prompt.none {
        // OIDC Core §3.1.2.6.
        return back.err(
            ErrorCode::LoginRequired,
            "The user is not signed in (or must sign in again).",
        );
    }
    // 6. The app named the org (`organization`), or a domain an org has verified
    // (`domain_hint`, routed as that domain's email would be), and the org signs in through its
    // own IdP: straight there, as WorkOS (`organization`, `domain_hint`) and Keycloak
    // (`kc_idp_hint`) do; to "Sign in with …" when it has several. The email page would only
    // pick the org and become the IdP's `login_hint`; the app's own `login_hint` is passed on
    // instead. (An org that signs in with passwords still gets the email page, branded.)
    let routed = match &org_hint {
        Some(o) => Some(o.clone()),
        None => match domain_hint_org(st, &app, flow.domain_hint.as_deref()).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "storage error routing the domain hint");
                return with_cookie(
                    error_page_in(PageError::Server, headers, None, ui),
                    set_cookie,
                );
            }
        },
    };
    if let Some(target) = &routed {
        let dispatch = match discovery::dispatch(st.storage.as_ref(), &app, target).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "storage error routing the organization hint");
                return with_cookie(
                    error_page_in(storage_page(&e), headers, None, ui),
                    set_cookie,
                );
            }
        };
        let hint = flow
            .login_hint
            .as_deref()
            .and_then(|h| Email::parse(h).ok());
        if !matches!(dispatch, ConnectionDispatch::Password) {
            let r = crate::login::sso_choice::continue_to(
                &st.login, headers, flow, hint, target, dispatch,
            )
            .await;
            let r = match r {
                Ok(Some(r)) => r,
                Ok(None) => error_page_in(PageError::Server, headers, None, ui),
                Err(e) => e.render(headers),
            };
            return with_cookie(r, set_cookie);
        }
    }
    if let Err(e) = flow::create(&st.login, &flow).await {
        tracing::error!(error = %e, "cannot store the flow");
        return with_cookie(
            error_page_in(PageError::Unavailable, headers, None, ui),
            set_cookie,
        );
    }
    with_cookie(see_other(&format!("/login?flow={}", flow.id)), set_cookie)
}

/// The `sub` of an `id_token_hint` Lobby issued to `client_id`, `None` when it is not one.
fn hint_subject(st: &ProviderCtx, token: &str, client_id: &str) -> Option<String> {
    let issuer = st.config.issuer();
    let opts = VerifyOptions {
        issuer: Some(&issuer),
        audience: Some(client_id),
        typ: Some("JWT"),
        // Expiry is ignored for a hint (OIDC Core §3.1.2.1: an expired ID token may be sent).
        leeway_secs: i64::MAX,
    };
    match st.keys.verify(token, &ALL_ALGS, &opts) {
        Ok(claims) => claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        Err(e) => {
            tracing::info!(error = %e, "id_token_hint does not verify");
            None
        }
    }
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The org that verified the `domain_hint` domain and is linked to the app, if any: the same
/// routing an email of that domain gets on the identifier page (DESIGN §2 step 2).
async fn domain_hint_org(
    st: &ProviderCtx,
    app: &crate::domain::App,
    hint: Option<&str>,
) -> crate::storage::Result<Option<discovery::LinkedOrg>> {
    let Some(domain) = hint.and_then(|h| crate::domain::EmailDomain::parse(h).ok()) else {
        return Ok(None);
    };
    let Ok(probe) = Email::parse(&format!("x@{domain}")) else {
        return Ok(None);
    };
    discovery::org_for_email(st.storage.as_ref(), app, &probe).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(parse_prompt(None), Some(Prompt::default()));
        assert!(parse_prompt(Some("none")).unwrap().none);
        assert!(parse_prompt(Some("login consent")).unwrap().login);
        assert!(parse_prompt(Some("none login")).is_none());
        assert!(parse_prompt(Some("bogus")).is_none());
    }

    #[test]
    fn challenges() {
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge("plain-verifier"));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
