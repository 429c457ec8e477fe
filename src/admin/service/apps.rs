//! Apps: building an app from its create shape (client secret generated, hashed, kept or
//! refused), and creating, updating (with secret rotation) and deleting apps.
//!
//! Owns: client secret handling of the admin API. Must not touch: roles and role groups
//! (`roles`), token issuing.

use super::{
    Ctx, DEFAULT_INVITE_TTL_SECS, MAX_ATTEMPTS, SResult, ServiceError, check_version, retry,
};
use crate::admin::dto::{self, AppCreate, AppPatch, AppResponse};
use crate::domain::{self as d, *};
use crate::storage::Storage;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What to do when a confidential app arrives without any secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingSecret {
    /// Generate one and return it (API create).
    Generate,
    /// Keep the stored one, or refuse (import).
    KeepOrRefuse,
}

fn client_secret_hash(secret: &str) -> SResult<TokenHash> {
    if secret.chars().count() < MIN_CLIENT_SECRET_LEN {
        return Err(ServiceError::invalid(
            "client_secret",
            format!("must be at least {MIN_CLIENT_SECRET_LEN} characters"),
        ));
    }
    if secret.chars().any(|c| c.is_control()) || secret.len() > 512 {
        return Err(ServiceError::invalid(
            "client_secret",
            "must be at most 512 characters without control characters",
        ));
    }
    Ok(TokenHash::of(secret))
}

fn revoke_set(v: Option<Vec<dto::MemberEvent>>) -> BTreeSet<d::MemberEvent> {
    match v {
        Some(v) => v.into_iter().map(Into::into).collect(),
        None => d::MemberEvent::ALL.into_iter().collect(),
    }
}

/// Build an app from its create shape. Returns the app and, when one was generated, the
/// plaintext client secret (to show once).
pub fn build_app(
    req: AppCreate,
    existing: Option<&App>,
    now: OffsetDateTime,
    missing: MissingSecret,
) -> SResult<(App, Option<String>)> {
    let id = req
        .id
        .or_else(|| existing.map(|a| a.id.clone()))
        .unwrap_or_else(AppId::generate);
    let client_type: d::ClientType = req.client_type.map(Into::into).unwrap_or_default();
    let mut shown = None;
    let hash = match (req.client_secret, req.client_secret_hash) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "client_secret_hash",
                "give either client_secret or client_secret_hash, not both",
            ));
        }
        (Some(s), None) => Some(client_secret_hash(s.expose())?),
        (None, Some(h)) => Some(TokenHash::from_hex(&h).ok_or_else(|| {
            ServiceError::invalid(
                "client_secret_hash",
                "must be the 64-character hex SHA-256 of the client secret",
            )
        })?),
        (None, None) if client_type == d::ClientType::Public => None,
        (None, None) => match (existing.and_then(|a| a.client_secret_hash.clone()), missing) {
            (Some(h), _) => Some(h),
            (None, MissingSecret::Generate) => {
                let s = random_token();
                let h = TokenHash::of(&s);
                shown = Some(s);
                Some(h)
            }
            (None, MissingSecret::KeepOrRefuse) => {
                return Err(ServiceError::invalid(
                    "client_secret",
                    "a confidential client needs client_secret or client_secret_hash",
                ));
            }
        },
    };
    let app = App {
        id,
        name: req.name,
        client_id: req
            .client_id
            .or_else(|| existing.map(|a| a.client_id.clone()))
            .unwrap_or_else(ClientId::generate),
        client_type,
        client_secret_hash: hash,
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        signing_alg: req.signing_alg.map(Into::into).unwrap_or_default(),
        token_lifetimes: req.token_lifetimes.map(Into::into).unwrap_or_default(),
        invite_ttl_secs: req.invite_ttl_secs.unwrap_or(DEFAULT_INVITE_TTL_SECS),
        revoke_on: revoke_set(req.revoke_on),
        auth_policy: req.auth_policy.map(Into::into).unwrap_or_default(),
        admin_api: req.admin_api.map(Into::into).unwrap_or_default(),
        backchannel_logout: backchannel(
            req.backchannel_logout_uri,
            req.backchannel_logout_session_required,
        )?,
        mfa: req.mfa.map(Into::into).unwrap_or_default(),
        version: existing.map(|a| a.version).unwrap_or(1),
        created_at: existing.map(|a| a.created_at).unwrap_or(now),
        updated_at: existing.map(|a| a.updated_at).unwrap_or(now),
    };
    app.validate()?;
    not_reserved(&app)?;
    Ok((app, shown))
}

/// The Back-Channel Logout registration from the API's two flat fields (as in OIDC Dynamic
/// Client Registration); the session flag without a URI is refused.
fn backchannel(
    uri: Option<String>,
    required: Option<bool>,
) -> SResult<Option<d::BackchannelLogout>> {
    match (uri, required) {
        (Some(uri), required) => Ok(Some(d::BackchannelLogout {
            uri,
            session_required: required.unwrap_or(false),
        })),
        (None, Some(true)) => Err(ServiceError::invalid(
            "backchannel_logout_session_required",
            "needs backchannel_logout_uri",
        )),
        (None, _) => Ok(None),
    }
}

/// The built-in portal client's id is Lobby's own: an app taking it would be shadowed at
/// sign-in by the portal.
fn not_reserved(app: &App) -> SResult<()> {
    for (value, field) in [
        (app.id.as_str(), "id"),
        (app.client_id.as_str(), "client_id"),
    ] {
        if value == BUILTIN_PORTAL_CLIENT_ID {
            return Err(ServiceError::invalid(
                field,
                "lobby-portal is reserved for Lobby's own admin portal; choose another value.",
            ));
        }
    }
    Ok(())
}

pub async fn require_app(s: &dyn Storage, id: &AppId) -> SResult<App> {
    s.get_app(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("app"))
}

pub async fn create_app(ctx: &Ctx<'_>, req: AppCreate) -> SResult<(App, Option<String>)> {
    let (app, secret) = build_app(req, None, ctx.now(), MissingSecret::Generate)?;
    if ctx.storage.get_app(&app.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An app with this id already exists.",
        ));
    }
    if ctx
        .storage
        .get_app_by_client_id(&app.client_id)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "duplicate",
            "An app with this client_id already exists.",
        )
        .with_field("client_id"));
    }
    ctx.storage.create_app(&app).await?;
    let after = AppResponse::from(&app);
    ctx.audit(
        None,
        "app.create",
        ("app", app.id.as_str()),
        None::<&()>,
        Some(&after),
    )
    .await?;
    Ok((app, secret))
}

pub async fn update_app(ctx: &Ctx<'_>, id: &AppId, p: AppPatch) -> SResult<(App, Option<String>)> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_app(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        let mut shown = None;
        if let Some(v) = &p.name {
            next.name = v.clone();
        }
        if let Some(v) = &p.client_id {
            next.client_id = v.clone();
        }
        if let Some(v) = &p.redirect_uris {
            next.redirect_uris = v.clone();
        }
        if let Some(v) = &p.post_logout_redirect_uris {
            next.post_logout_redirect_uris = v.clone();
        }
        if let Some(v) = p.signing_alg {
            next.signing_alg = v.into();
        }
        if let Some(v) = &p.token_lifetimes {
            next.token_lifetimes = v.clone().into();
        }
        if let Some(v) = p.invite_ttl_secs {
            next.invite_ttl_secs = v;
        }
        if let Some(v) = &p.revoke_on {
            next.revoke_on = revoke_set(Some(v.clone()));
        }
        if let Some(v) = &p.auth_policy {
            next.auth_policy = v.clone().into();
        }
        if let Some(v) = &p.admin_api {
            next.admin_api = v.clone().into();
        }
        if let Some(v) = p.mfa {
            next.mfa = v.into();
        }
        match (
            &p.backchannel_logout_uri,
            p.backchannel_logout_session_required,
        ) {
            (None, None) => {}
            (Some(None), _) => next.backchannel_logout = None,
            (Some(Some(uri)), req) => {
                let kept = next
                    .backchannel_logout
                    .as_ref()
                    .is_some_and(|b| b.session_required);
                next.backchannel_logout =
                    backchannel(Some(uri.clone()), Some(req.unwrap_or(kept)))?;
            }
            (None, Some(req)) => match &mut next.backchannel_logout {
                Some(b) => b.session_required = req,
                None => {
                    return Err(ServiceError::invalid(
                        "backchannel_logout_session_required",
                        "set backchannel_logout_uri first",
                    ));
                }
            },
        }
        if let Some(t) = p.client_type {
            next.client_type = t.into();
            if next.client_type == d::ClientType::Public {
                next.client_secret_hash = None;
            }
        }
        let rotate = p.rotate_client_secret.unwrap_or(false);
        if rotate && p.client_secret.is_some() {
            return Err(ServiceError::invalid(
                "rotate_client_secret",
                "give either client_secret or rotate_client_secret, not both",
            ));
        }
        if let Some(s) = &p.client_secret {
            next.client_secret_hash = Some(client_secret_hash(s.expose())?);
        }
        let needs_secret =
            next.client_type == d::ClientType::Confidential && next.client_secret_hash.is_none();
        if (rotate || needs_secret) && p.client_secret.is_none() {
            if next.client_type == d::ClientType::Public {
                return Err(ServiceError::invalid(
                    "rotate_client_secret",
                    "a public client has no client secret",
                ));
            }
            let s = random_token();
            next.client_secret_hash = Some(TokenHash::of(&s));
            shown = Some(s);
        }
        next.updated_at = ctx.now();
        next.validate()?;
        not_reserved(&next)?;
        if next.client_id != cur.client_id
            && let Some(other) = ctx.storage.get_app_by_client_id(&next.client_id).await?
            && other.id != cur.id
        {
            return Err(ServiceError::conflict(
                "duplicate",
                "An app with this client_id already exists.",
            )
            .with_field("client_id"));
        }
        match ctx.storage.update_app(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "app.update",
                    ("app", id.as_str()),
                    Some(&AppResponse::from(&cur)),
                    Some(&AppResponse::from(&stored)),
                )
                .await?;
                return Ok((stored, shown));
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_app(ctx: &Ctx<'_>, id: &AppId, cascade: bool) -> SResult<()> {
    let cur = require_app(ctx.storage, id).await?;
    ctx.storage.delete_app(id, cascade).await?;
    ctx.audit(
        None,
        "app.delete",
        ("app", id.as_str()),
        Some(&AppResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_builder_generates_a_secret_once_and_never_for_public_clients() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let req = AppCreate {
            name: "CRM".into(),
            redirect_uris: vec!["https://crm.example.com/cb".into()],
            ..Default::default()
        };
        let (app, secret) = build_app(req.clone(), None, now, MissingSecret::Generate).unwrap();
        let secret = secret.unwrap();
        assert!(app.client_secret_hash.as_ref().unwrap().verify(&secret));
        assert!(build_app(req.clone(), None, now, MissingSecret::KeepOrRefuse).is_err());
        let (kept, none) =
            build_app(req.clone(), Some(&app), now, MissingSecret::KeepOrRefuse).unwrap();
        assert_eq!(kept.client_secret_hash, app.client_secret_hash);
        assert!(none.is_none());
        let public = AppCreate {
            client_type: Some(dto::ClientType::Public),
            ..req.clone()
        };
        let (p, s) = build_app(public, None, now, MissingSecret::Generate).unwrap();
        assert!(p.client_secret_hash.is_none() && s.is_none());
        let short = AppCreate {
            client_secret: Some(Secret::new("short")),
            ..req
        };
        let e = build_app(short, None, now, MissingSecret::Generate).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("client_secret"));
    }
}
