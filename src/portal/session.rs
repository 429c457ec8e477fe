//! The portal's own browser session (tower-sessions, on the SSO session's store): who is
//! signed in to the portal, and [`PortalUser`], the extractor every portal page starts from.
//!
//! Cookie `__Host-lobby-portal` (`Secure; HttpOnly; SameSite=Lax; Path=/`). When the portal URL
//! is plain http on a loopback host (development, the tests), the cookie is `lobby-portal`
//! without `Secure` and without the `__Host-` prefix, as the SSO cookie does: a `__Host-` cookie
//! must be `Secure`, and while Chromium (checked with 156) keeps `Secure` and `__Host-` cookies
//! set over plain http on both `localhost` and `127.0.0.1` (loopback counts as potentially
//! trustworthy), other browsers (Safari) drop `Secure` cookies set over http. Any other portal
//! URL gets the prefixed, `Secure` cookie (`Config::portal_secure_cookies`).
//!
//! The session id changes at sign-in (`auth`: `cycle_id`). A session ends after
//! `LOBBY_PORTAL_IDLE_SECS` without a request (30 min) and `LOBBY_PORTAL_MAX_AGE_SECS` after
//! sign-in (12 h), both checked on every request against Lobby's clock. The person's org roles
//! are read from their *current* membership on every request (like `admin::auth` does for
//! delegated tokens): a membership suspended or stripped of its org roles ends the portal
//! session at the next request.
//!
//! Owns: the session record, its cookie and timeouts, the CSRF token and the one-shot flash.
//! Must not touch: what a person may do in an org (that is `admin::scope`, via `PortalScope`).

use super::PortalCtx;
use super::view::PortalError;
use crate::admin::auth::{Caller, OrgCaller};
use crate::config::Config;
use crate::domain::{MemberStatus, OrgId, OrgRole, OrgStatus, UserId};
use crate::state::sessions::SessionBackend;
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};

/// The cookie over https (or any non-loopback host).
pub const COOKIE_SECURE: &str = "__Host-lobby-portal";
/// The cookie on plain http loopback (development, tests).
pub const COOKIE_PLAIN: &str = "lobby-portal";

pub(super) const KEY: &str = "portal.user";
pub(super) const PENDING: &str = "portal.pending";
const FLASH: &str = "portal.flash";

/// The portal cookie's name for this configuration.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.portal_secure_cookies() {
        COOKIE_SECURE
    } else {
        COOKIE_PLAIN
    }
}

/// The session layer with the portal's cookie settings.
pub fn layer(store: SessionBackend, config: &Config) -> SessionManagerLayer<SessionBackend> {
    let secure = config.portal_secure_cookies();
    let idle = i64::try_from(config.portal_idle_secs).unwrap_or(i64::MAX / 2);
    SessionManagerLayer::new(store)
        .with_name(cookie_name(config))
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(idle)))
}

/// Who is signed in to the portal in this browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    pub user_id: UserId,
    /// The org they signed into: their home org in the portal.
    pub org_id: OrgId,
    /// The session's CSRF token (every form carries it as `_csrf`).
    pub csrf: String,
    /// Unix seconds: sign-in.
    pub started: i64,
    /// Unix seconds: the last request.
    pub last_seen: i64,
}

/// A sign-in in progress (between `/portal/login` and `/portal/callback`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub verifier: String,
    /// A path under `/portal` to go back to.
    pub return_to: String,
}

/// The signed-in person, as they are now.
#[derive(Clone, Debug)]
pub struct PortalUser {
    pub user_id: UserId,
    pub email: String,
    pub name: Option<String>,
    /// The org they signed into.
    pub home: OrgId,
    /// Their org roles in `home`, from the current membership (never empty).
    pub roles: BTreeSet<OrgRole>,
    /// An active `org_admin` of the vendor's own org (`LOBBY_OPERATOR_ORG`).
    pub is_operator: bool,
    /// The session's CSRF token.
    pub csrf: String,
    /// A one-shot message set by the previous POST (taken on GET only).
    pub flash: Option<String>,
    session: Session,
}

impl PortalUser {
    /// The admin layer's caller: the operator for operators, else an org admin of `home`.
    pub fn caller(&self) -> Caller {
        if self.is_operator {
            Caller::Operator
        } else {
            Caller::OrgAdmin(OrgCaller {
                user_id: self.user_id.clone(),
                home: self.home.clone(),
                roles: self.roles.clone(),
            })
        }
    }

    /// The audit actor: always the person.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }

    /// Show `message` once, on the next page.
    pub async fn set_flash(&self, message: impl Into<String>) {
        if let Err(e) = self.session.insert(FLASH, message.into()).await {
            tracing::warn!(error = %e, "cannot store the portal flash message");
        }
    }

    /// The portal session itself.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The rejection when nobody (or nobody any more) is signed in: GET → the sign-in, else 403.
fn signed_out(parts: &Parts) -> PortalError {
    let return_to = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/portal".into());
    PortalError::SignedOut {
        return_to,
        get: parts.method == Method::GET || parts.method == Method::HEAD,
    }
}

/// The live record of a session, or `None` (ending a session past a timeout).
pub(super) async fn live(
    session: &Session,
    ctx: &PortalCtx,
) -> Result<Option<SignedIn>, PortalError> {
    let rec: Option<SignedIn> = match session.get(KEY).await {
        Ok(r) => r,
        Err(tower_sessions::session::Error::SerdeJson(_)) => None,
        Err(e) => return Err(PortalError::internal(e)),
    };
    let Some(rec) = rec else { return Ok(None) };
    let now = ctx.clock.now().unix_timestamp();
    let idle = i64::try_from(ctx.config.portal_idle_secs).unwrap_or(i64::MAX / 2);
    let max = i64::try_from(ctx.config.portal_max_age_secs).unwrap_or(i64::MAX / 2);
    if now - rec.last_seen > idle || now - rec.started > max || now < rec.started - 60 {
        session.flush().await.map_err(PortalError::internal)?;
        return Ok(None);
    }
    Ok(Some(rec))
}

impl FromRequestParts<PortalCtx> for PortalUser {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, ctx: &PortalCtx) -> Result<Self, PortalError> {
        let session = Session::from_request_parts(parts, ctx)
            .await
            .map_err(|_| PortalError::internal("the portal session layer is missing"))?;
        let Some(mut rec) = live(&session, ctx).await? else {
            return Err(signed_out(parts));
        };
        let s = ctx.storage.as_ref();
        let user = s.get_user(&rec.user_id).await?;
        let org = s.get_org(&rec.org_id).await?;
        let membership = s.get_membership(&rec.org_id, &rec.user_id).await?;
        let (Some(user), Some(org), Some(m)) = (user, org, membership) else {
            session.flush().await.map_err(PortalError::internal)?;
            return Err(signed_out(parts));
        };
        if org.status != OrgStatus::Active
            || m.status != MemberStatus::Active
            || m.org_roles.is_empty()
        {
            session.flush().await.map_err(PortalError::internal)?;
            return Err(signed_out(parts));
        }
        let is_operator = m.org_roles.contains(&OrgRole::OrgAdmin)
            && ctx
                .config
                .operator_org
                .as_deref()
                .is_some_and(|slug| slug == org.slug.as_str());
        rec.last_seen = ctx.clock.now().unix_timestamp();
        session
            .insert(KEY, &rec)
            .await
            .map_err(PortalError::internal)?;
        let flash = if parts.method == Method::GET {
            session
                .remove::<String>(FLASH)
                .await
                .map_err(PortalError::internal)?
        } else {
            None
        };
        Ok(PortalUser {
            user_id: user.id,
            email: user.email.to_string(),
            name: user.name,
            home: org.id,
            roles: m.org_roles,
            is_operator,
            csrf: rec.csrf,
            flash,
            session,
        })
    }
}
