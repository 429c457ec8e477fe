//! The end of a SAML sign-in: the validated assertion becomes an upstream identity
//! (connection, IdP entity id, NameID Format + value), which the shared `login::identity`
//! code links or provisions (same rules as OIDC); then `identity::complete` starts the SSO
//! session (new session id) and issues the code for the connection's org — a connection only
//! ever signs users into its own org (DESIGN §6.1).
//!
//! Owns: attribute mapping (email, name, groups), the SAML email-verified policy, and the
//! IdP-initiated landing. Must not touch: linking rules (`login::identity`), code issuance
//! (`login::finish`).
//!
//! Email verified: SAML has no `email_verified`. An email is treated as verified only when its
//! domain is a *verified* domain of the connection's own org — the org proved it owns that
//! domain, and its IdP is the authority for it. Any other address is kept as an unverified
//! attribute, so it never links, provisions or redeems an invitation (DESIGN §6.2).
//! Transient NameIDs (a new value on every sign-in, SAML core §8.3.8) are refused: they cannot
//! identify anyone twice.

use super::DoneRecord;
use crate::domain::{App, Connection, ConnectionConfig, Org, SamlConfig, random_token};
use crate::http::redirect::redirect_with;
use crate::login::LoginCtx;
use crate::login::flow::{AuthMethod, Flow};
use crate::login::identity::{self, IdentityError};
use crate::login::session::{self, SsoSession};
use crate::pages::{PageError, error_page};
use crate::upstream::identity::{
    NAMEID_TRANSIENT, UpstreamIdentity, saml_attributes, saml_subject,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::BTreeMap;
use tower_sessions::Session;

async fn identity_of(
    st: &LoginCtx,
    conn: &Connection,
    cfg: &SamlConfig,
    done: &DoneRecord,
    invitation: Option<crate::domain::Secret>,
) -> Result<UpstreamIdentity, crate::storage::StorageError> {
    let (email, name, groups) =
        saml_attributes(cfg, &done.name_id_format, &done.name_id, &done.attributes);
    let email_verified = match &email {
        Some(e) => st
            .storage
            .get_domain(&conn.org_id, &e.domain())
            .await?
            .is_some_and(|d| d.verified),
        None => false,
    };
    Ok(UpstreamIdentity {
        connection_id: conn.id.clone(),
        issuer: done.issuer.clone(),
        subject: saml_subject(&done.name_id_format, &done.name_id),
        email: email.map(|e| e.to_string()),
        email_verified,
        name,
        groups,
        amr: done.amr.clone(),
        invitation_token: invitation,
    })
}

fn identity_error(headers: &HeaderMap, e: &IdentityError) -> Response {
    identity::sso_error_page(headers, None, e.status(), e.message(), None, None)
}

async fn app_of(st: &LoginCtx, id: &crate::domain::AppId) -> Result<Option<App>, ()> {
    st.storage.get_app(id).await.map_err(|e| {
        tracing::error!(error = %e, "storage error loading the app");
    })
}

/// Finish a SAML sign-in. `flow` (already taken, single use) is `None` for IdP-initiated.
pub async fn finish(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    conn: Connection,
    done: DoneRecord,
    flow: Option<Flow>,
) -> Response {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return error_page(PageError::Server, headers, None);
    };
    if done.name_id_format == NAMEID_TRANSIENT {
        identity::audit(
            st.storage.as_ref(),
            st.clock.now(),
            Some(&conn.org_id),
            "login.failure",
            ("connection", conn.id.as_str()),
            crate::domain::Outcome::Failure,
            "anonymous".into(),
            serde_json::json!({ "connection": "saml", "reason": "transient_name_id" }),
        )
        .await;
        return identity::sso_error_page(
            headers,
            None,
            StatusCode::FORBIDDEN,
            identity::SENTENCE_CONNECTION_UNAVAILABLE,
            None,
            None,
        );
    }
    let app_id = match (&flow, &cfg.idp_initiated_app_id) {
        (Some(f), _) => f.app_id.clone(),
        (None, Some(a)) => a.clone(),
        (None, None) => return error_page(PageError::Unknown, headers, None),
    };
    let app = match app_of(st, &app_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return error_page(PageError::UnknownClient, headers, None),
        Err(()) => return error_page(PageError::Server, headers, None),
    };
    let invitation = flow.as_ref().and_then(|f| f.invitation.clone());
    let ident = match identity_of(st, &conn, cfg, &done, invitation).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "storage error reading the org's domains");
            return error_page(PageError::Server, headers, None);
        }
    };
    let (resolved, pending) = match identity::resolve(st, &conn, &app, ident).await {
        Ok(r) => r,
        Err(e) => return identity_error(headers, &e),
    };
    match flow {
        Some(f) => {
            identity::complete(
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
            )
            .await
        }
        None => {
            // No code is issued here: the sign-in's own event is written now.
            pending.flush().await;
            idp_initiated_landing(
                st,
                headers,
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
    headers: &HeaderMap,
    sess: &Session,
    cfg: &SamlConfig,
    app: &App,
    conn: &Connection,
    org: Org,
    user: &crate::domain::UserId,
    amr: &[String],
) -> Response {
    let Some(uri) = cfg
        .idp_initiated_redirect_uri
        .as_ref()
        .filter(|u| app.redirect_uris.iter().any(|r| r == *u))
    else {
        return error_page(PageError::BadRedirectUri, headers, Some(&org));
    };
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), org.id.clone());
    let sso = SsoSession {
        user_id: user.clone(),
        sid: random_token(),
        auth_time: st.clock.now().unix_timestamp(),
        amr: if amr.is_empty() {
            vec!["fed".into()]
        } else {
            amr.to_vec()
        },
        method: AuthMethod::Saml,
        last_org,
        idp: Some(conn.id.clone()),
    };
    if let Err(e) = session::begin(sess, &sso).await {
        tracing::error!(error = %e, "cannot start the SSO session");
        return error_page(PageError::Unavailable, headers, Some(&org));
    }
    let issuer = st.config.issuer();
    redirect_with(uri, &[("iss", &issuer)])
}
