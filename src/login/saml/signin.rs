//! The sign-in of a validated SAML assertion: it becomes an upstream identity (connection, IdP
//! entity id, NameID Format + value), which the shared `login::identity` code links or
//! provisions (same rules as OIDC); then `identity::sign_in` starts the SSO session (new
//! session id) and issues the code for the connection's org — a connection only ever signs
//! users into its own org (DESIGN §6.1).
//!
//! Owns: attribute mapping (email, name, groups), the SAML email-verified policy, and the
//! IdP-initiated landing. Must not touch: linking rules (`login::identity`), code issuance
//! (`login::issue`).
//!
//! Email verified: SAML has no `email_verified`, so an asserted address counts as the IdP's
//! word; `login::identity::email_trust` then applies the one rule shared with OIDC (the domain
//! must be one the connection's org verified, unless the operator made the connection an
//! authority for any domain). Any other address is kept as an unverified attribute, so it never
//! links, provisions or redeems an invitation (DESIGN §6.2).
//! Transient NameIDs (a new value on every sign-in, SAML core §8.3.8) are refused: they cannot
//! identify anyone twice.

use super::DoneRecord;
use crate::domain::{App, Connection, ConnectionConfig, Org, Outcome, SamlConfig, SessionId};
use crate::http::redirect::redirect_with;
use crate::login::LoginCtx;
use crate::login::error::{FailureAudit, LoginError};
use crate::login::flow::{AuthMethod, Flow};
use crate::login::identity;
use crate::login::session::{self, SsoSession};
use crate::pages::PageError;
use crate::pages::sso::SENTENCE_CONNECTION_UNAVAILABLE;
use crate::upstream::identity::{
    NAMEID_TRANSIENT, UpstreamIdentity, saml_attributes, saml_subject,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::BTreeMap;
use tower_sessions::Session;

fn identity_of(
    conn: &Connection,
    cfg: &SamlConfig,
    done: &DoneRecord,
    invitation: Option<crate::domain::Secret>,
) -> UpstreamIdentity {
    let (email, name, groups) =
        saml_attributes(cfg, &done.name_id_format, &done.name_id, &done.attributes);
    // SAML has no `email_verified`: an asserted address is the IdP's word; whether it counts
    // is decided with the OIDC path's one rule (`identity::email_trust`).
    let email_verified = email.is_some();
    UpstreamIdentity {
        connection_id: conn.id.clone(),
        issuer: done.issuer.clone(),
        subject: saml_subject(&done.name_id_format, &done.name_id),
        email: email.map(|e| e.to_string()),
        email_verified,
        name,
        groups,
        amr: done.amr.clone(),
        invitation_token: invitation,
    }
}

async fn app_of(st: &LoginCtx, id: &crate::domain::AppId) -> Result<App, LoginError> {
    match crate::login::builtin::app_by_id(st.storage.as_ref(), &st.config, id).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(PageError::UnknownClient.into()),
        Err(e) => Err(LoginError::server("the app", &e)),
    }
}

/// Sign in with a validated SAML assertion. `flow` (already taken, single use) is `None` for
/// IdP-initiated.
pub async fn sign_in_assertion(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    conn: Connection,
    done: DoneRecord,
    flow: Option<Flow>,
) -> Result<Response, LoginError> {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return Err(PageError::Server.into());
    };
    if done.name_id_format == NAMEID_TRANSIENT {
        let page = LoginError::sso(StatusCode::FORBIDDEN, SENTENCE_CONNECTION_UNAVAILABLE);
        return Err(page.audited(FailureAudit {
            org: Some(conn.org_id.clone()),
            action: "login.failure",
            target: ("connection", conn.id.to_string()),
            outcome: Outcome::Failure,
            actor: "anonymous".into(),
            details: serde_json::json!({ "connection": "saml", "reason": "transient_name_id" }),
        }));
    }
    let app_id = match (&flow, &cfg.idp_initiated_app_id) {
        (Some(f), _) => f.app_id.clone(),
        (None, Some(a)) => a.clone(),
        (None, None) => return Err(PageError::Unknown.into()),
    };
    let app = app_of(st, &app_id).await?;
    let invitation = flow.as_ref().and_then(|f| f.invitation.clone());
    let ident = identity_of(&conn, cfg, &done, invitation);
    // `resolve` records its own outcome.
    let (resolved, pending) = identity::resolve(st, &conn, &app, ident)
        .await
        .map_err(|e| LoginError::sso(e.status(), e.message()))?;
    match flow {
        Some(f) => {
            identity::sign_in(
                st,
                sess,
                headers,
                &f,
                &app,
                &conn,
                resolved,
                pending,
                AuthMethod::Saml,
                &done.amr,
                done.authn_instant,
            )
            .await
        }
        None => {
            // No code is issued here: the sign-in's own event is written now.
            pending.flush().await;
            idp_initiated_landing(
                st,
                sess,
                cfg,
                &app,
                &conn,
                resolved.org,
                &resolved.user.id,
                &done.amr,
            )
            .await
        }
    }
}

/// IdP-initiated: sign in to Lobby (SSO session bound to this connection), then send the
/// browser to the configured redirect URI of the app with only `iss` — OIDC Core §4
/// (third-party-initiated login): the app starts its own authorization (state, nonce, PKCE),
/// which completes without a prompt thanks to the session. No code is ever issued unasked.
#[allow(clippy::too_many_arguments)]
async fn idp_initiated_landing(
    st: &LoginCtx,
    sess: &Session,
    cfg: &SamlConfig,
    app: &App,
    conn: &Connection,
    org: Org,
    user: &crate::domain::UserId,
    amr: &[String],
) -> Result<Response, LoginError> {
    let Some(uri) = cfg
        .idp_initiated_redirect_uri
        .as_ref()
        .filter(|u| app.redirect_uris.iter().any(|r| r == *u))
    else {
        return Err(LoginError::page(PageError::BadRedirectUri).branded(Some(&org)));
    };
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), org.id.clone());
    let sso = SsoSession {
        user_id: user.clone(),
        sid: SessionId::generate(),
        auth_time: st.clock.now().unix_timestamp(),
        amr: if amr.is_empty() {
            vec!["fed".into()]
        } else {
            amr.to_vec()
        },
        method: AuthMethod::Saml,
        last_org,
        idp: Some(conn.id.clone()),
        started_ns: session::nanos(st.clock.now()),
        mfa_time: None,
    };
    if let Err(e) = session::begin(sess, &sso).await {
        tracing::error!(error = %e, "cannot start the SSO session");
        return Err(LoginError::page(PageError::Unavailable).branded(Some(&org)));
    }
    let issuer = st.config.issuer();
    Ok(redirect_with(uri, &[("iss", &issuer)]))
}

/// The end of a test sign-in (`login::test_signin`): the assertion's attributes and what the
/// mapping makes of them are shown to the admin; nothing is linked, no session, no code.
pub(super) async fn test_answer(
    st: &LoginCtx,
    conn: &Connection,
    done: &DoneRecord,
    marker: &crate::login::test_signin::TestSignIn,
) -> Result<Response, LoginError> {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return Err(PageError::Server.into());
    };
    let (email, name, groups) =
        saml_attributes(cfg, &done.name_id_format, &done.name_id, &done.attributes);
    let answer = crate::login::test_signin::Answer {
        protocol: "saml",
        issuer: done.issuer.clone(),
        subject: saml_subject(&done.name_id_format, &done.name_id),
        values: done
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        email: email.map(|e| e.to_string()),
        name,
        groups,
    };
    crate::login::test_signin::finish(st, marker, conn, answer).await
}
