//! Completing an authenticated login: choose the org among the eligible ones
//! ([`complete_login`]), then issue the authorization code and send the browser back to the
//! client ([`issue_code`]).
//!
//! Codes (RFC 6749 §4.1.2, §10.5; DESIGN §6.5): 256 random bits (`random_token`), stored only
//! as `code:<sha256>` in the state store for 60 s, bound to the client, the redirect_uri, the
//! PKCE challenge and the nonce; the token endpoint *takes* the record so a code redeems once.
//! The response carries `iss` (RFC 9207 §2) and `state`.
//!
//! Owns: org selection after authentication (1 eligible org → code, several → chooser unless an
//! eligible `organization` hint or, for `prompt=none`, the session's last org for this app
//! decides; none → "no access"), and code issuance. Must not touch: password checks, tokens.

use super::discovery::{self, EligibleOrg};
use super::flow::{self, Authenticated, Flow, Stage};
use super::session;
use crate::domain::{
    App, AuditEvent, AuditEventId, CODE_TTL_SECS, CodeRecord, Grant, Outcome, code_key,
    random_token, to_millis,
};
use crate::http::redirect::{ErrorCode, error_redirect, redirect_with, see_other};
use crate::login::LoginCtx;
use crate::login::error::LoginError;
use crate::pages::PageError;
use crate::storage::Storage;
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;
use tower_sessions::Session;

/// An audit event that waits to be written together with the sign-in's `login.success` (one
/// INSERT for both). Dropped unwritten (an error path), it is written on its own by a spawned
/// task, so it is never lost; [`PendingAudit::flush`] writes it at once.
pub struct PendingAudit(Option<(AuditEvent, Arc<dyn Storage>)>);

impl PendingAudit {
    pub fn new(event: AuditEvent, storage: Arc<dyn Storage>) -> Self {
        PendingAudit(Some((event, storage)))
    }

    pub fn none() -> Self {
        PendingAudit(None)
    }

    fn take(&mut self) -> Option<AuditEvent> {
        self.0.take().map(|(e, _)| e)
    }

    /// Write it now (the caller will not issue a code).
    pub async fn flush(mut self) {
        if let Some((e, storage)) = self.0.take() {
            record(storage.as_ref(), &[e]).await;
        }
    }
}

impl Drop for PendingAudit {
    fn drop(&mut self) {
        if let Some((e, storage)) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move { record(storage.as_ref(), &[e]).await });
                }
                Err(_) => tracing::error!(action = %e.action, "audit event dropped: no runtime"),
            }
        }
    }
}

async fn record(storage: &dyn Storage, events: &[AuditEvent]) {
    if let Err(e) = storage.append_audits(events).await {
        tracing::error!(error = %e, "cannot record the sign-in audit events");
    }
}

/// Issue a code for `org` and redirect to the client.
pub async fn issue_code(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: &Flow,
    auth: &Authenticated,
    chosen: &EligibleOrg,
) -> Result<Response, LoginError> {
    issue_code_with(st, headers, flow, auth, chosen, PendingAudit::none()).await
}

/// [`issue_code`], recording `pending` in the same write as `login.success`.
pub async fn issue_code_with(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: &Flow,
    auth: &Authenticated,
    chosen: &EligibleOrg,
    mut pending: PendingAudit,
) -> Result<Response, LoginError> {
    // The built-in portal client: only into an org where the person holds an org role.
    if super::builtin::is_portal_client(&flow.client_id) {
        let ok = super::builtin::admits(st.storage.as_ref(), &auth.user_id, &chosen.org.id)
            .await
            .map_err(|e| LoginError::server("checking portal access", &e))?;
        if !ok {
            return Err(not_admin(&chosen.org));
        }
    }
    let grant = Grant {
        user_id: auth.user_id.clone(),
        org_id: chosen.org.id.clone(),
        sid: auth.sid.clone(),
        auth_time: auth.auth_time,
        amr: auth.amr.clone(),
        idp: Some(chosen.connection.id.clone()),
        scope: flow.scope.clone(),
    };
    let now = st.clock.now();
    let rec = CodeRecord {
        client_id: flow.client_id.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        code_challenge: flow.code_challenge.clone(),
        nonce: flow.nonce.clone(),
        grant,
        expires_at: to_millis(now) + CODE_TTL_SECS * 1000,
    };
    let code = random_token();
    let bytes = serde_json::to_vec(&rec).map_err(|_| PageError::Server)?;
    // The code is stored and the end mark read in one step. A password reset since this
    // authentication ended it: the code (never shown to anyone) is deleted and none is given
    // (fail closed).
    let put = crate::state::Put {
        key: &code_key(&code),
        value: &bytes,
        ttl: Duration::from_secs(CODE_TTL_SECS as u64),
        evictable: false,
    };
    match super::session::put_unless_ended(st.ephemeral.as_ref(), put, auth).await {
        Ok(false) => {}
        Ok(true) => {
            let _ = st.ephemeral.delete(&code_key(&code)).await;
            return Err(PageError::FlowExpired.into());
        }
        Err(e) => return Err(LoginError::unavailable("storing an authorization code", &e)),
    }
    audit_login(st, headers, flow, auth, chosen, pending.take()).await;
    let issuer = st.config.issuer();
    let mut pairs: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(s) = &flow.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    Ok(redirect_with(&flow.redirect_uri, &pairs))
}

async fn audit_login(
    st: &LoginCtx,
    headers: &HeaderMap,
    flow: &Flow,
    auth: &Authenticated,
    chosen: &EligibleOrg,
    before: Option<AuditEvent>,
) {
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: st.clock.now(),
        actor: format!("user:{}", auth.user_id),
        org_id: Some(chosen.org.id.clone()),
        action: "login.success".into(),
        target_type: "app".into(),
        target_id: flow.app_id.to_string(),
        outcome: Outcome::Success,
        details: serde_json::json!({
            "client_id": flow.client_id.as_str(),
            "connection_id": chosen.connection.id.as_str(),
            "amr": auth.amr,
        }),
        request_id: Some(crate::http::params::request_id(headers)),
    };
    match before {
        Some(b) => record(st.storage.as_ref(), &[b, ev]).await,
        None => record(st.storage.as_ref(), &[ev]).await,
    }
}

/// What the caller should do after authentication is known (fresh login or SSO session).
/// `flow` is the current stored flow (`stored`) or one not stored yet (the SSO shortcut of
/// `/authorize`); it is saved when the chooser is needed, and otherwise consumed atomically
/// before the code is issued, so one flow never yields two codes.
pub async fn complete_login(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    app: &App,
    flow: Flow,
    auth: Authenticated,
    stored: bool,
) -> Response {
    let lang = flow.ui_lang();
    choose_org(st, headers, sess, app, flow, auth, stored)
        .await
        .unwrap_or_else(|e| e.in_lang(lang).render(headers))
}

/// [`complete_login`]'s work (its failures record no audit event).
async fn choose_org(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    app: &App,
    mut flow: Flow,
    auth: Authenticated,
    stored: bool,
) -> Result<Response, LoginError> {
    // A federated session is good for its connection's org only (`login::identity`).
    let eligible = match &auth.idp {
        Some(idp) => {
            super::identity::eligible_federated_orgs(st.storage.as_ref(), app, &auth.user_id, idp)
                .await
        }
        None => discovery::eligible_password_orgs(st.storage.as_ref(), app, &auth.user_id).await,
    };
    let mut eligible = eligible.map_err(|e| LoginError::server("computing eligible orgs", &e))?;
    // The built-in portal client: only the orgs where the person holds an org role.
    if super::builtin::is_portal(app) && !eligible.is_empty() {
        let all = std::mem::take(&mut eligible);
        let first = all[0].org.clone();
        for e in all {
            let ok = super::builtin::admits(st.storage.as_ref(), &auth.user_id, &e.org.id)
                .await
                .map_err(|e| LoginError::server("checking portal access", &e))?;
            if ok {
                eligible.push(e);
            }
        }
        if eligible.is_empty() {
            if stored {
                let _ = flow::take(st, &flow.id, headers).await;
            }
            return Err(not_admin(&first));
        }
    }
    let issuer = st.config.issuer();
    if eligible.is_empty() {
        if flow.prompt.none {
            return Ok(error_redirect(
                &flow.redirect_uri,
                ErrorCode::LoginRequired,
                "The signed-in user has no access to this application.",
                flow.state.as_deref(),
                &issuer,
            ));
        }
        if stored {
            let _ = flow::take(st, &flow.id, headers).await;
        }
        return Err(PageError::NoAccess.into());
    }
    // An explicit `organization` hint is a requirement, not a preference (as WorkOS's
    // `organization` and Keycloak's `kc_idp_hint`): a user who cannot sign into that org ends
    // with `access_denied` to the app, never with a token for another of their orgs.
    if let Some(hint) = &flow.org_hint
        && !eligible.iter().any(|e| &e.org.id == hint)
    {
        if stored {
            let _ = flow::take(st, &flow.id, headers).await;
        }
        return Ok(error_redirect(
            &flow.redirect_uri,
            ErrorCode::AccessDenied,
            "The user cannot sign in to the requested organization.",
            flow.state.as_deref(),
            &issuer,
        ));
    }
    let sso = session::current(sess, &*st.ephemeral, st.clock.now().unix_timestamp())
        .await
        .ok()
        .flatten();
    let last = sso
        .as_ref()
        .filter(|s| s.user_id == auth.user_id)
        .and_then(|s| s.last_org.get(&app.id).cloned());
    let by_hint = flow
        .org_hint
        .as_ref()
        .and_then(|h| eligible.iter().find(|e| &e.org.id == h));
    let chosen = if eligible.len() == 1 && !flow.prompt.select_account {
        eligible.first()
    } else if by_hint.is_some() && !flow.prompt.select_account {
        by_hint
    } else if flow.prompt.none {
        last.as_ref()
            .and_then(|l| eligible.iter().find(|e| &e.org.id == l))
    } else {
        None
    };
    if let Some(c) = chosen {
        return finish(st, headers, sess, app, flow, auth, c, stored).await;
    }
    if flow.prompt.none {
        // OIDC Core §3.1.2.6: the user must choose an org, which needs an interaction.
        return Ok(error_redirect(
            &flow.redirect_uri,
            ErrorCode::InteractionRequired,
            "The user must choose an organization.",
            flow.state.as_deref(),
            &issuer,
        ));
    }
    flow.stage = Stage::Chooser;
    flow.auth = Some(auth);
    flow.eligible = eligible.iter().map(|e| e.org.id.clone()).collect();
    flow::save(st, &flow)
        .await
        .map_err(|e| LoginError::unavailable("storing the flow", &e))?;
    Ok(see_other(&format!("/login/org?flow={}", flow.id)))
}

/// The org is chosen: the second factor the sign-in needs (`mfa::gate`: the flow may go to
/// the enrolment or challenge page instead), then the code. `stored` as for
/// [`complete_login`]: a stored flow is taken before the code is issued.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    st: &LoginCtx,
    headers: &HeaderMap,
    sess: &Session,
    app: &App,
    flow: Flow,
    auth: Authenticated,
    chosen: &EligibleOrg,
    stored: bool,
) -> Result<Response, LoginError> {
    let (flow, gate) = super::mfa::gate(st, headers, sess, app, flow, auth, chosen).await?;
    let auth = match gate {
        super::mfa::Gate::Pass(a) => a,
        super::mfa::Gate::Ask(r) => return Ok(r),
    };
    if stored {
        flow::take(st, &flow.id, headers).await?;
    }
    remember_org(st, sess, app, &auth, chosen).await;
    issue_code(st, headers, &flow, &auth, chosen).await
}

/// The hosted page for someone who holds no org role in `org` and tried the portal.
fn not_admin(org: &crate::domain::Org) -> LoginError {
    LoginError::sso(axum::http::StatusCode::FORBIDDEN, super::builtin::NOT_ADMIN).branded(Some(org))
}

/// Remember the chosen org for this app in the SSO session (for a later `prompt=none`).
pub async fn remember_org(
    st: &LoginCtx,
    sess: &Session,
    app: &App,
    auth: &Authenticated,
    chosen: &EligibleOrg,
) {
    if let Ok(Some(mut s)) =
        session::current(sess, &*st.ephemeral, st.clock.now().unix_timestamp()).await
        && s.user_id == auth.user_id
        && s.sid == auth.sid
    {
        s.last_org.insert(app.id.clone(), chosen.org.id.clone());
        if let Err(e) = session::update(sess, &s).await {
            tracing::warn!(error = %e, "cannot remember the chosen org in the session");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AuditFilter, PageRequest};

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(),
            time: time::OffsetDateTime::now_utc(),
            actor: "user:u".into(),
            org_id: None,
            action: action.into(),
            target_type: "user".into(),
            target_id: "u".into(),
            outcome: Outcome::Success,
            details: serde_json::json!({}),
            request_id: None,
        }
    }

    async fn actions(s: &Arc<dyn Storage>) -> Vec<String> {
        s.list_audit(&AuditFilter::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// A deferred event is never lost: flushed, or written by a spawned task when dropped.
    #[tokio::test]
    async fn pending_audit_is_written_when_flushed_or_dropped() {
        let s = crate::storage::open("sqlite::memory:").await.unwrap();
        PendingAudit::new(event("a.flushed"), s.clone())
            .flush()
            .await;
        assert_eq!(actions(&s).await, ["a.flushed"]);

        drop(PendingAudit::new(event("b.dropped"), s.clone()));
        let mut seen = vec![];
        for _ in 0..200 {
            seen = actions(&s).await;
            if seen.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Newest first: ids are monotonic, even within one millisecond.
        assert_eq!(seen, ["b.dropped", "a.flushed"]);

        // Taken for the sign-in's own write: nothing more is written.
        let mut p = PendingAudit::new(event("c.taken"), s.clone());
        assert_eq!(p.take().map(|e| e.action), Some("c.taken".into()));
        assert!(p.0.is_none(), "nothing left for the drop to write");
        drop(p);
        drop(PendingAudit::none());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(actions(&s).await.len(), 2);
    }
}
