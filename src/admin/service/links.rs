//! Org ↔ app links: the builder, and creating, updating and deleting links (unlinking revokes
//! the refresh tokens of apps that subscribe to it).
//!
//! Owns: the link writes. Must not touch: what a link may allow (`rules::check_link`).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, all_orgs_with_parent, apps_revoking_on,
    check_link, check_version, require_org, retry,
};
use crate::admin::dto::{LinkCreate, LinkPatch, LinkResponse};
use crate::domain::{self as d, *};
use crate::storage::Storage;
use std::collections::BTreeSet;
use time::OffsetDateTime;

pub fn build_link(
    org: &OrgId,
    req: LinkCreate,
    existing: Option<&OrgAppLink>,
    now: OffsetDateTime,
) -> OrgAppLink {
    OrgAppLink {
        org_id: org.clone(),
        app_id: req.app_id,
        allowed_role_groups: req.allowed_role_groups.into_iter().collect(),
        auth_policy: req.auth_policy.map(Into::into).unwrap_or_default(),
        jit: req.jit.unwrap_or(false),
        default_roles: req.default_roles.into_iter().collect(),
        mfa: req.mfa.map(Into::into),
        version: existing.map(|l| l.version).unwrap_or(1),
        created_at: existing.map(|l| l.created_at).unwrap_or(now),
        updated_at: existing.map(|l| l.updated_at).unwrap_or(now),
    }
}

pub async fn require_link(s: &dyn Storage, org: &OrgId, app: &AppId) -> SResult<OrgAppLink> {
    s.get_link(org, app)
        .await?
        .ok_or_else(|| ServiceError::not_found("link between this organization and app"))
}

pub async fn create_link(ctx: &Ctx<'_>, org: &OrgId, req: LinkCreate) -> SResult<OrgAppLink> {
    require_org(ctx.storage, org).await?;
    let link = build_link(org, req, None, ctx.now());
    check_link(&StoreView(ctx.storage), &link, false).await?;
    if ctx.storage.get_link(org, &link.app_id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The organization is already linked to this app.",
        )
        .with_field("app_id"));
    }
    ctx.storage.create_link(&link).await?;
    ctx.audit(
        Some(org),
        "link.create",
        ("link", &format!("{org}/{}", link.app_id)),
        None::<&()>,
        Some(&LinkResponse::from(&link)),
    )
    .await?;
    Ok(link)
}

pub async fn update_link(
    ctx: &Ctx<'_>,
    org: &OrgId,
    app: &AppId,
    p: LinkPatch,
) -> SResult<OrgAppLink> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_link(ctx.storage, org, app).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(g) = &p.allowed_role_groups {
            next.allowed_role_groups = g.iter().cloned().collect();
        }
        if let Some(a) = &p.auth_policy {
            next.auth_policy = a.clone().into();
        }
        if let Some(j) = p.jit {
            next.jit = j;
        }
        if let Some(r) = &p.default_roles {
            next.default_roles = r.iter().cloned().collect();
        }
        if let Some(m) = p.mfa {
            next.mfa = m.map(Into::into);
        }
        next.updated_at = ctx.now();
        check_link(&StoreView(ctx.storage), &next, true).await?;
        match ctx.storage.update_link(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "link.update",
                    ("link", &format!("{org}/{app}")),
                    Some(&LinkResponse::from(&cur)),
                    Some(&LinkResponse::from(&stored)),
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

pub async fn delete_link(ctx: &Ctx<'_>, org: &OrgId, app: &AppId) -> SResult<()> {
    let cur = require_link(ctx.storage, org, app).await?;
    for child in all_orgs_with_parent(ctx.storage, Some(org)).await? {
        if ctx.storage.get_link(&child.id, app).await?.is_some() {
            return Err(ServiceError::conflict(
                "in_use",
                format!(
                    "The child organization {} is still linked to this app; unlink it first.",
                    child.id
                ),
            ));
        }
    }
    // Resolve which apps revoke before the link disappears (the lookup goes through links).
    let only: BTreeSet<AppId> = [app.clone()].into();
    let apps = apps_revoking_on(ctx, org, d::MemberEvent::OrgUnlinked, Some(&only)).await?;
    ctx.storage.delete_link(org, app).await?;
    if !apps.is_empty() {
        let n = ctx
            .storage
            .revoke_org_families(org, Some(&apps), ctx.now())
            .await?;
        crate::ops::metrics::families_revoked("org_unlinked", n);
    }
    ctx.audit(
        Some(org),
        "link.delete",
        ("link", &format!("{org}/{app}")),
        Some(&LinkResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
