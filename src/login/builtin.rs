//! Lobby's own first-party client, `lobby-portal` (the admin portal): an app that is never
//! stored. It signs in through the real `/authorize` → hosted login → code like any app, but
//! - it is known by id and client id without a row ([`app_by_client_id`], [`app_by_id`]);
//! - every active org is usable by it without a link row: [`link`] answers a synthetic link
//!   (no roles, no JIT, the org's active connections of every kind);
//! - a person may only finish into an org where they hold an org role (`org_admin`,
//!   `member_admin`, `viewer`) in an active membership ([`admits`]); operators are `org_admin`s
//!   of the vendor's own org, so this covers them too.
//!
//! Its code is redeemed in-process by the portal (`provider::token::redeem_in_process`):
//! `/token` never knows the client, so no token is ever issued to it.
//!
//! Owns: the built-in client's synthetic app and links, and who may finish a sign-in with it.
//! Must not touch: the portal's own session (that is `portal`), the rights table (`admin::scope`).

use crate::config::Config;
use crate::domain::{
    AdminApiAccess, App, AppAuthPolicy, AppId, ClientId, ClientType, ConnectionKind,
    LinkAuthPolicy, MemberStatus, OrgAppLink, OrgId, OrgStatus, SigningAlg, TokenLifetimes, UserId,
};
use crate::storage::{Result, Storage};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The client id (and app id) of the portal.
pub const PORTAL_CLIENT_ID: &str = crate::domain::BUILTIN_PORTAL_CLIENT_ID;

/// The portal's redirect URI: `<portal url>/callback`.
pub fn portal_redirect_uri(config: &Config) -> String {
    format!("{}/callback", config.portal_url())
}

/// The portal as an app (never stored).
pub fn portal_app(config: &Config) -> App {
    App {
        id: AppId::parse(PORTAL_CLIENT_ID).expect("static id"),
        name: "Lobby portal".into(),
        client_id: ClientId::parse(PORTAL_CLIENT_ID).expect("static id"),
        client_type: ClientType::Public,
        client_secret_hash: None,
        redirect_uris: vec![portal_redirect_uri(config)],
        post_logout_redirect_uris: vec![],
        signing_alg: SigningAlg::ES256,
        token_lifetimes: TokenLifetimes::default(),
        invite_ttl_secs: 7 * 24 * 3600,
        revoke_on: BTreeSet::new(),
        auth_policy: AppAuthPolicy {
            allowed_kinds: [
                ConnectionKind::Oidc,
                ConnectionKind::Saml,
                ConnectionKind::Password,
            ]
            .into(),
        },
        admin_api: AdminApiAccess::default(),
        backchannel_logout: None,
        mfa: Default::default(),
        version: 1,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

/// Whether `app` is the built-in portal client.
pub fn is_portal(app: &App) -> bool {
    app.id.as_str() == PORTAL_CLIENT_ID
}

/// Whether a client id names the built-in portal client.
pub fn is_portal_client(client_id: &ClientId) -> bool {
    client_id.as_str() == PORTAL_CLIENT_ID
}

/// The app with this client id: the portal, else the stored app.
pub async fn app_by_client_id(
    storage: &dyn Storage,
    config: &Config,
    client_id: &ClientId,
) -> Result<Option<App>> {
    if is_portal_client(client_id) {
        return Ok(Some(portal_app(config)));
    }
    storage.get_app_by_client_id(client_id).await
}

/// The app with this id: the portal, else the stored app.
pub async fn app_by_id(storage: &dyn Storage, config: &Config, id: &AppId) -> Result<Option<App>> {
    if id.as_str() == PORTAL_CLIENT_ID {
        return Ok(Some(portal_app(config)));
    }
    storage.get_app(id).await
}

/// The link of `org` to `app`: for the portal a synthetic one for every org (the caller checks
/// the org's status), else the stored link.
pub async fn link(storage: &dyn Storage, org: &OrgId, app: &App) -> Result<Option<OrgAppLink>> {
    if !is_portal(app) {
        return storage.get_link(org, &app.id).await;
    }
    Ok(Some(OrgAppLink {
        org_id: org.clone(),
        app_id: app.id.clone(),
        allowed_role_groups: BTreeSet::new(),
        auth_policy: LinkAuthPolicy::Inherit,
        jit: false,
        default_roles: BTreeSet::new(),
        mfa: None,
        version: 1,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }))
}

/// Whether `user` may finish a portal sign-in into `org`: the org is active and they hold at
/// least one org role in an active membership of it.
pub async fn admits(storage: &dyn Storage, user: &UserId, org: &OrgId) -> Result<bool> {
    let active = storage
        .get_org(org)
        .await?
        .is_some_and(|o| o.status == OrgStatus::Active);
    if !active {
        return Ok(false);
    }
    Ok(storage
        .get_membership(org, user)
        .await?
        .is_some_and(|m| m.status == MemberStatus::Active && !m.org_roles.is_empty()))
}

/// The sentence of the hosted page when someone who holds no org role tries the portal.
pub const NOT_ADMIN: crate::i18n::Msg = crate::i18n::Msg::new("sso-portal-not-admin");
