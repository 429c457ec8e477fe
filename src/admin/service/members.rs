//! Memberships: the builder, and creating, updating and deleting members (suspension, role
//! changes and removal revoke refresh tokens for the apps that subscribe to them).
//!
//! Owns: the membership writes. Must not touch: invitations (`invitations`), users (`users`).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, apps_revoking_on, changed_apps,
    check_membership, check_roles_for_org, check_version, require_org, retry, revoke_member,
};
use crate::admin::dto::{MemberCreate, MemberPatch, MemberResponse, into_app_roles};
use crate::domain::{self as d, *};
use crate::storage::Storage;
use time::OffsetDateTime;

pub fn build_membership(
    org: &OrgId,
    req: MemberCreate,
    existing: Option<&Membership>,
    now: OffsetDateTime,
) -> Membership {
    Membership {
        org_id: org.clone(),
        user_id: req.user_id,
        status: req.status.map(Into::into).unwrap_or_default(),
        roles: into_app_roles(req.roles),
        org_roles: req.org_roles.into_iter().map(Into::into).collect(),
        version: existing.map(|m| m.version).unwrap_or(1),
        created_at: existing.map(|m| m.created_at).unwrap_or(now),
        updated_at: existing.map(|m| m.updated_at).unwrap_or(now),
    }
}

pub async fn require_member(s: &dyn Storage, org: &OrgId, user: &UserId) -> SResult<Membership> {
    s.get_membership(org, user)
        .await?
        .ok_or_else(|| ServiceError::not_found("member"))
}

pub async fn create_member(ctx: &Ctx<'_>, org: &OrgId, req: MemberCreate) -> SResult<Membership> {
    require_org(ctx.storage, org).await?;
    let m = build_membership(org, req, None, ctx.now());
    check_membership(&StoreView(ctx.storage), &m).await?;
    if ctx.storage.get_membership(org, &m.user_id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The user is already a member of this organization.",
        )
        .with_field("user_id"));
    }
    ctx.storage.create_membership(&m).await?;
    ctx.audit(
        Some(org),
        "member.create",
        ("member", m.user_id.as_str()),
        None::<&()>,
        Some(&MemberResponse::from(&m)),
    )
    .await?;
    Ok(m)
}

pub async fn update_member(
    ctx: &Ctx<'_>,
    org: &OrgId,
    user: &UserId,
    p: MemberPatch,
) -> SResult<Membership> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_member(ctx.storage, org, user).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(s) = p.status {
            next.status = s.into();
        }
        if let Some(r) = &p.roles {
            next.roles = into_app_roles(r.clone());
        }
        if let Some(r) = &p.org_roles {
            next.org_roles = r.iter().map(|x| (*x).into()).collect();
        }
        next.updated_at = ctx.now();
        next.validate_shape()?;
        if next.roles != cur.roles {
            check_roles_for_org(&StoreView(ctx.storage), org, &next.roles).await?;
        }
        match ctx.storage.update_membership(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "member.update",
                    ("member", user.as_str()),
                    Some(&MemberResponse::from(&cur)),
                    Some(&MemberResponse::from(&stored)),
                )
                .await?;
                if stored.status == d::MemberStatus::Suspended && p.status.is_some() {
                    revoke_member(ctx, org, user, d::MemberEvent::MemberSuspended, None).await?;
                }
                let changed = changed_apps(&cur.roles, &stored.roles);
                if !changed.is_empty() {
                    revoke_member(ctx, org, user, d::MemberEvent::RolesChanged, Some(&changed))
                        .await?;
                }
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_member(ctx: &Ctx<'_>, org: &OrgId, user: &UserId) -> SResult<()> {
    let cur = require_member(ctx.storage, org, user).await?;
    let apps = apps_revoking_on(ctx, org, d::MemberEvent::MemberRemoved, None).await?;
    ctx.storage.delete_membership(org, user).await?;
    if !apps.is_empty() {
        let n = ctx
            .storage
            .revoke_member_families(org, user, Some(&apps), ctx.now())
            .await?;
        crate::ops::metrics::families_revoked("member_removed", n);
    }
    ctx.audit(
        Some(org),
        "member.delete",
        ("member", user.as_str()),
        Some(&MemberResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
