//! The `refresh_token` grant of `/token` (RFC 6749 §6): rotation of the presented token,
//! reuse detection (`REUSE_GRACE_SECS`), narrowing the scope, the hand-over to `org_switch`
//! when `organization` is asked for, and the eligibility check at every refresh (DESIGN §3).
//! The bookkeeping it relies on is described in the parent module's doc.
//!
//! Owns: the refresh grant. Must not touch: client authentication, codes, or how tokens are
//! signed and shaped (it issues through `super::issue`).

use super::{REUSE_GRACE_SECS, issue};
use crate::domain::{App, Grant, TokenHash, random_token};
use crate::http::params::Params;
use crate::http::redirect::ErrorCode;
use crate::provider::ProviderCtx;
use crate::provider::admin_tokens;
use crate::provider::claims::{self, Subject};
use crate::provider::error::OAuthError;
use crate::storage::{RefreshFamily, RotateOutcome};
use serde_json::Value;
use time::OffsetDateTime;

pub(super) async fn refresh_grant(
    st: &ProviderCtx,
    app: &App,
    p: &Params,
) -> Result<Value, OAuthError> {
    const BAD: &str = "The refresh token is invalid, expired, or revoked.";
    let presented = p
        .get("refresh_token")
        .ok()
        .flatten()
        .ok_or(OAuthError::invalid_request("refresh_token is required."))?;
    if presented.len() > 256 {
        return Err(OAuthError::invalid_grant(BAD));
    }
    let hash = TokenHash::of(presented);
    let now = st.clock.now();
    // The common refresh (no `scope`, `organization` or `resource`: nothing to check against
    // the family before the token is used) rotates and reads in one round trip to the
    // database. Any other outcome wrote nothing and falls through to the step-by-step path
    // below, which finds out why (unknown, another app's, revoked, expired, reused).
    if ["scope", "organization", "resource"]
        .iter()
        .all(|n| matches!(p.get(n), Ok(None)))
    {
        let next_secret = random_token();
        let next = TokenHash::of(&next_secret);
        if let Some((true, (_, family, member))) = st
            .storage
            .rotate_refresh_in_context(&hash, &next, &app.id, now)
            .await?
        {
            let scope = admin_tokens::token_scope(
                app,
                family.scope.clone(),
                false,
                p,
                &st.config.issuer(),
            )?;
            let subject = eligible_or_revoke(st, app, member, &family, now).await?;
            return refreshed(st, app, &subject, &family, scope, &next_secret);
        }
    }
    // The token, its family and the member it speaks for, in one read.
    let Some((token, family, member)) = st.storage.find_refresh_in_context(&hash).await? else {
        return Err(OAuthError::invalid_grant(BAD));
    };
    // RFC 6749 §6: the token was issued to this client.
    if family.app_id != app.id {
        return Err(OAuthError::invalid_grant(BAD));
    }
    if family.revoked_at.is_some() || family.expires_at <= now {
        return Err(OAuthError::invalid_grant(BAD));
    }
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
    let scope = match p.get("scope").ok().flatten() {
        None => family.scope.clone(),
        Some(s) => {
            let granted: Vec<&str> = family.scope.split(' ').collect();
            if !s.split(' ').all(|v| granted.contains(&v)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "The requested scope exceeds the scope originally granted.",
                ));
            }
            s.to_owned()
        }
    };
    let explicit = p.get("scope").ok().flatten().is_some();
    let scope = admin_tokens::token_scope(app, scope, explicit, p, &st.config.issuer())?;
    // Issue 16: `organization` switches org in a new family (`org_switch`).
    if let Some(org) = p.get("organization").ok().flatten() {
        return crate::provider::org_switch::switch(st, app, org, scope, &token, &family).await;
    }
    let subject = eligible_or_revoke(st, app, member, &family, now).await?;
    let next_secret = random_token();
    let next = TokenHash::of(&next_secret);
    match st.storage.rotate_refresh(&hash, &next, now).await? {
        RotateOutcome::Rotated => {}
        RotateOutcome::AlreadyUsed { family, used_at } => {
            if now - used_at <= time::Duration::seconds(REUSE_GRACE_SECS) {
                return Err(OAuthError::invalid_grant(
                    "The refresh token was just used; use the newest one.",
                ));
            }
            // Reuse of a rotated token: assume theft and revoke the whole family.
            tracing::warn!(family = %family.id, "refresh token reuse: family revoked");
            st.storage.revoke_family(&family.id, now).await?;
            crate::ops::metrics::families_revoked("refresh_reuse", 1);
            return Err(OAuthError::invalid_grant(BAD));
        }
        RotateOutcome::Invalid => return Err(OAuthError::invalid_grant(BAD)),
    };
    refreshed(st, app, &subject, &family, scope, &next_secret)
}

/// DESIGN §3: claims are recomputed from the current membership at every refresh; a member
/// who is no longer eligible gets nothing, and the family is revoked.
async fn eligible_or_revoke(
    st: &ProviderCtx,
    app: &App,
    member: Option<(
        crate::domain::User,
        crate::domain::Membership,
        crate::domain::Org,
    )>,
    family: &RefreshFamily,
    now: OffsetDateTime,
) -> Result<Subject, OAuthError> {
    match claims::subject_for(st.storage.as_ref(), app, member, family.idp.as_ref()).await? {
        Ok(s) => Ok(s),
        Err(why) => {
            tracing::info!(?why, family = %family.id, "refresh refused: no longer eligible; family revoked");
            st.storage.revoke_family(&family.id, now).await?;
            crate::ops::metrics::families_revoked("no_longer_eligible", 1);
            Err(OAuthError::invalid_grant(
                "The user no longer has access to this application in this organization.",
            ))
        }
    }
}

/// The tokens of a refresh, once the presented token was rotated to `next_secret`.
fn refreshed(
    st: &ProviderCtx,
    app: &App,
    subject: &Subject,
    family: &RefreshFamily,
    scope: String,
    next_secret: &str,
) -> Result<Value, OAuthError> {
    let grant = Grant {
        user_id: family.user_id.clone(),
        org_id: family.org_id.clone(),
        sid: family.session_id.clone().into(),
        auth_time: family.auth_time.unix_timestamp(),
        amr: family.amr.clone(),
        idp: family.idp.clone(),
        scope,
    };
    // OIDC Core §12.2: the refreshed ID token has no nonce.
    issue(st, app, subject, &grant, None, &random_token(), next_secret)
}
