//! Users: password checks and hashing, the builder, and creating, updating and deleting users
//! (a deleted user leaves every org, with all their refresh tokens).
//!
//! Owns: the user writes and the uniqueness of emails. Must not touch: memberships (`members`).

use super::{Ctx, MAX_ATTEMPTS, SResult, ServiceError, check_version, retry};
use crate::admin::dto::{UserCreate, UserPatch, UserResponse};
use crate::domain::*;
use crate::storage::{PageRequest, Storage, UserFilter};
use time::OffsetDateTime;

fn check_password(p: &str) -> SResult<()> {
    let n = p.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(ServiceError::invalid(
            "password",
            "must be between 8 and 1024 characters",
        ));
    }
    Ok(())
}

/// Hash a password unless the stored hash already matches it (keeps imports idempotent).
fn password_hash(p: &str, existing: Option<&Secret>) -> SResult<Secret> {
    check_password(p)?;
    if let Some(h) = existing
        && verify_password(h, p)
    {
        return Ok(h.clone());
    }
    hash_password(p).map_err(ServiceError::internal)
}

pub fn build_user(req: UserCreate, existing: Option<&User>, now: OffsetDateTime) -> SResult<User> {
    let password_hash = match &req.password {
        Some(p) => Some(password_hash(
            p.expose(),
            existing.and_then(|u| u.password_hash.as_ref()),
        )?),
        None => existing.and_then(|u| u.password_hash.clone()),
    };
    let u = User {
        id: req
            .id
            .or_else(|| existing.map(|u| u.id.clone()))
            .unwrap_or_else(UserId::generate),
        email: req.email,
        email_verified: req.email_verified.unwrap_or(false),
        name: req.name,
        password_hash,
        version: existing.map(|u| u.version).unwrap_or(1),
        created_at: existing.map(|u| u.created_at).unwrap_or(now),
        updated_at: existing.map(|u| u.updated_at).unwrap_or(now),
    };
    u.validate()?;
    Ok(u)
}

pub async fn require_user(s: &dyn Storage, id: &UserId) -> SResult<User> {
    s.get_user(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("user"))
}

async fn email_taken(s: &dyn Storage, email: &Email, except: Option<&UserId>) -> SResult<bool> {
    let page = s
        .list_users(
            &UserFilter {
                email: Some(email.clone()),
            },
            &PageRequest::first(2),
        )
        .await?;
    Ok(page.items.iter().any(|u| Some(&u.id) != except))
}

fn email_taken_error() -> ServiceError {
    ServiceError::conflict("duplicate", "A user with this email already exists.")
        .with_field("email")
}

pub async fn create_user(ctx: &Ctx<'_>, req: UserCreate) -> SResult<User> {
    let u = build_user(req, None, ctx.now())?;
    if ctx.storage.get_user(&u.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "A user with this id already exists.",
        ));
    }
    if email_taken(ctx.storage, &u.email, None).await? {
        return Err(email_taken_error());
    }
    ctx.storage.create_user(&u).await?;
    ctx.audit(
        None,
        "user.create",
        ("user", u.id.as_str()),
        None::<&()>,
        Some(&UserResponse::from(&u)),
    )
    .await?;
    Ok(u)
}

pub async fn update_user(ctx: &Ctx<'_>, id: &UserId, p: UserPatch) -> SResult<User> {
    // Hash once, outside the retry loop (argon2 is slow on purpose).
    let new_password = match &p.password {
        Some(Some(pw)) => Some(Some(password_hash(pw.expose(), None)?)),
        Some(None) => Some(None),
        None => None,
    };
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_user(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(e) = &p.email {
            next.email = e.clone();
        }
        if let Some(v) = p.email_verified {
            next.email_verified = v;
        }
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(pw) = &new_password {
            next.password_hash = pw.clone();
        }
        next.updated_at = ctx.now();
        next.validate()?;
        if next.email != cur.email && email_taken(ctx.storage, &next.email, Some(id)).await? {
            return Err(email_taken_error());
        }
        match ctx.storage.update_user(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "user.update",
                    ("user", id.as_str()),
                    Some(&UserResponse::from(&cur)),
                    Some(&UserResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_user(ctx: &Ctx<'_>, id: &UserId) -> SResult<()> {
    let cur = require_user(ctx.storage, id).await?;
    // The user disappears from every org: all their refresh tokens die, whatever the apps
    // subscribe to.
    let now = ctx.now();
    for m in ctx.storage.list_memberships_for_user(id).await? {
        let n = ctx
            .storage
            .revoke_member_families(&m.org_id, id, None, now)
            .await?;
        crate::ops::metrics::families_revoked("user_deleted", n);
    }
    ctx.storage.delete_user(id).await?;
    ctx.audit(
        None,
        "user.delete",
        ("user", id.as_str()),
        Some(&UserResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
