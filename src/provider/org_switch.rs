//! Org switch without signing in again: the refresh grant with `organization` (an org id or
//! slug; issue 16 item 2, as WorkOS and Logto offer it). The presented refresh token proves the
//! SSO session; if its user is an active member of the named org, the org is active and linked
//! to the app, and the org accepts the way this session authenticated, Lobby issues tokens for
//! that org in a NEW refresh family bound to it. The presented token is not rotated and its
//! family is left untouched, so two tabs on two orgs never clobber each other; every family
//! stays bound to one org for its life.
//!
//! The new family keeps the session's `sid`, `auth_time`, `amr` and `idp` (so sign-out and
//! Back-Channel Logout cover it) and the old family's absolute expiry (a switch never extends
//! a session). RFC 6749 §6: `scope` may narrow, never widen.
//!
//! Refusals are `invalid_grant` (RFC 6749 §5.2: the grant is not valid for this request) with a
//! fixed description: not a member (also for an unknown org, so org names are not probed),
//! org suspended, org not linked to the app, or the org needs another way of signing in than
//! this session used (a federated session counts only for its own connection; a password
//! session only for an org whose policy for this app allows its password connection). The app
//! then sends the user to `/authorize?organization=…`.
//!
//! Owns: the switch. Must not touch: the ordinary rotation (`token`), claims (`claims`).

use super::claims::{self, Ineligible};
use super::token::{REUSE_GRACE_SECS, issue};
use crate::domain::{
    App, ConnectionKind, OrgId, RefreshFamilyId, Slug, TokenHash, random_token, trunc_millis,
};
use crate::provider::ProviderCtx;
use crate::provider::error::OAuthError;
use crate::storage::{RefreshFamily, RefreshToken};
use serde_json::Value;

const NOT_MEMBER: &str = "The user is not an active member of that organization.";
const SUSPENDED: &str = "That organization is suspended.";
const NOT_LINKED: &str = "That organization does not use this application.";
const OTHER_IDP: &str = "That organization requires signing in through its own identity provider: send the user to /authorize with organization set to it.";

/// The org named by `hint`: an org id, else a slug.
async fn find_org(st: &ProviderCtx, hint: &str) -> Result<Option<crate::domain::Org>, OAuthError> {
    if hint.len() > 128 {
        return Ok(None);
    }
    if let Ok(id) = OrgId::parse(hint)
        && let Some(o) = st.storage.get_org(&id).await?
    {
        return Ok(Some(o));
    }
    match Slug::parse(hint) {
        Ok(slug) => Ok(st.storage.get_org_by_slug(&slug).await?),
        Err(_) => Ok(None),
    }
}

/// Whether `org` accepts the session's authentication for `app`: the same connection for a
/// federated session (connections belong to one org), an allowed password connection for a
/// password session (`idp` is `None`).
async fn accepts_session(
    st: &ProviderCtx,
    app: &App,
    org: &OrgId,
    family: &RefreshFamily,
) -> Result<bool, OAuthError> {
    if family.idp.is_some() {
        // `load_subject` checked the connection against the org's policy already.
        return Ok(true);
    }
    let Some(link) = st.storage.get_link(org, &app.id).await? else {
        return Ok(false);
    };
    let conns = st.storage.list_connections(org).await?;
    Ok(crate::login::discovery::policy_connections(app, &link, &conns)
        .iter()
        .any(|c| c.kind() == ConnectionKind::Password))
}

/// The refresh grant with `organization` (see the module doc). `token` and `family` were
/// read and checked (client, revoked, expired) by the caller.
pub(super) async fn switch(
    st: &ProviderCtx,
    app: &App,
    hint: &str,
    scope: String,
    token: &RefreshToken,
    family: &RefreshFamily,
) -> Result<Value, OAuthError> {
    let now = st.clock.now();
    // Only the family's current token may start a switch; a rotated one is handled like a
    // reused token (RFC 9700 §4.14.2): within the grace window refused, later the family is
    // revoked.
    if let Some(used_at) = token.used_at {
        if now - used_at <= time::Duration::seconds(REUSE_GRACE_SECS) {
            return Err(OAuthError::invalid_grant(
                "The refresh token was just used; use the newest one.",
            ));
        }
        tracing::warn!(family = %family.id, "refresh token reuse (org switch): family revoked");
        st.storage.revoke_family(&family.id, now).await?;
        crate::ops::metrics::families_revoked("refresh_reuse", 1);
        return Err(OAuthError::invalid_grant(
            "The refresh token is invalid, expired, or revoked.",
        ));
    }
    let Some(org) = find_org(st, hint).await? else {
        return Err(OAuthError::invalid_grant(NOT_MEMBER));
    };
    let subject = match claims::load_subject(
        st.storage.as_ref(),
        app,
        &family.user_id,
        &org.id,
        family.idp.as_ref(),
    )
    .await?
    {
        Ok(s) => s,
        Err(why) => {
            tracing::info!(?why, org = %org.id, "org switch refused");
            return Err(OAuthError::invalid_grant(match why {
                Ineligible::NotAMember | Ineligible::MembershipInactive => NOT_MEMBER,
                Ineligible::OrgSuspended => SUSPENDED,
                Ineligible::NotLinked => NOT_LINKED,
                Ineligible::ConnectionNotAllowed => OTHER_IDP,
            }));
        }
    };
    if !accepts_session(st, app, &org.id, family).await? {
        tracing::info!(org = %org.id, "org switch refused: the org does not accept this session's sign-in");
        return Err(OAuthError::invalid_grant(OTHER_IDP));
    }
    let refresh = random_token();
    let lifetime = time::Duration::seconds(app.token_lifetimes.refresh_token_secs);
    let next = RefreshFamily {
        id: RefreshFamilyId::generate(),
        app_id: app.id.clone(),
        user_id: family.user_id.clone(),
        org_id: org.id.clone(),
        session_id: family.session_id.clone(),
        auth_time: family.auth_time,
        amr: family.amr.clone(),
        scope: scope.clone(),
        idp: family.idp.clone(),
        created_at: trunc_millis(now),
        expires_at: trunc_millis(family.expires_at.min(now + lifetime)),
        revoked_at: None,
    };
    st.storage
        .create_family(&next, &TokenHash::of(&refresh))
        .await?;
    let grant = crate::domain::Grant {
        user_id: next.user_id.clone(),
        org_id: next.org_id.clone(),
        sid: next.session_id.clone().into(),
        auth_time: next.auth_time.unix_timestamp(),
        amr: next.amr.clone(),
        idp: next.idp.clone(),
        scope,
    };
    // OIDC Core §12.2: no nonce in a refreshed ID token.
    issue(st, app, &subject, &grant, None, &random_token(), &refresh)
}
