//! Org switch without signing in again: the refresh grant with `organization` (an org id or
//! slug; issue 16 item 2, as WorkOS and Logto offer it). The presented refresh token proves the
//! SSO session; if its user is an active member of the named org, the org is active and linked
//! to the app, and the org accepts the way this session authenticated, Lobby issues tokens for
//! that org in a NEW refresh family bound to it. The presented token is not rotated and its
//! family is left untouched, so two tabs on two orgs never clobber each other; every family
//! stays bound to one org for its life.
//!
//! The new family keeps the session's `sid`, `auth_time` and `amr` (so sign-out and
//! Back-Channel Logout cover it); its `idp` is the connection the session counts as in the new
//! org (the same federated connection, or that org's password connection); it ends no later
//! than the old family (a switch never extends a session). RFC 6749 §6: `scope` may narrow,
//! never widen.
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
    App, ConnectionId, ConnectionKind, OrgId, RefreshFamilyId, Slug, TokenHash, random_token,
    trunc_millis,
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

/// How the session signed in, from the family's `idp`: a password (the family names its
/// org's password connection, or nothing) or a federated connection.
async fn signed_in_with_password(
    st: &ProviderCtx,
    family: &RefreshFamily,
) -> Result<bool, OAuthError> {
    let Some(idp) = &family.idp else {
        return Ok(true);
    };
    Ok(st
        .storage
        .get_connection(&family.org_id, idp)
        .await?
        .is_some_and(|c| c.kind() == ConnectionKind::Password))
}

/// The connection a password session gets in `org` for `app`: the first password connection
/// the org's policy allows (as a sign-in there would pick), if any.
async fn password_connection(
    st: &ProviderCtx,
    app: &App,
    org: &OrgId,
) -> Result<Option<ConnectionId>, OAuthError> {
    let Some(link) = st.storage.get_link(org, &app.id).await? else {
        return Ok(None);
    };
    let conns = st.storage.list_connections(org).await?;
    Ok(
        crate::login::discovery::policy_connections(app, &link, &conns)
            .into_iter()
            .find(|c| c.kind() == ConnectionKind::Password)
            .map(|c| c.id.clone()),
    )
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
    // A password session may enter any org whose policy for this app allows a password
    // connection (the user's password is theirs, not the org's); a federated session only
    // the org of its own connection (connections belong to one org).
    let password = signed_in_with_password(st, family).await?;
    let subject = match claims::load_subject(
        st.storage.as_ref(),
        app,
        &family.user_id,
        &org.id,
        if password { None } else { family.idp.as_ref() },
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
    let idp = if password {
        match password_connection(st, app, &org.id).await? {
            Some(c) => Some(c),
            None => {
                tracing::info!(org = %org.id, "org switch refused: no password sign-in there");
                return Err(OAuthError::invalid_grant(OTHER_IDP));
            }
        }
    } else {
        family.idp.clone()
    };
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
        idp,
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
