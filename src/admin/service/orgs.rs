//! Organizations: the builder, and creating, updating (re-parenting, suspending: which
//! revokes refresh tokens) and deleting orgs (with or without their descendants).
//!
//! Owns: the org writes. Must not touch: links, domains, connections and members (their own
//! files), except that a deleted org takes its refresh tokens with it.

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, all_orgs_with_parent, check_org,
    check_org_links_fit_parent, check_version, retry, revoke_org,
};
use crate::admin::dto::{OrgCreate, OrgPatch, OrgResponse};
use crate::domain::{self as d, *};
use crate::storage::{PageRequest, Storage};
use time::OffsetDateTime;

pub fn build_org(req: OrgCreate, existing: Option<&Org>, now: OffsetDateTime) -> SResult<Org> {
    let o = Org {
        id: req
            .id
            .or_else(|| existing.map(|o| o.id.clone()))
            .unwrap_or_else(OrgId::generate),
        slug: req.slug,
        name: req.name,
        status: req.status.map(Into::into).unwrap_or_default(),
        parent_id: req.parent_id,
        branding: req.branding.map(Into::into).unwrap_or_default(),
        version: existing.map(|o| o.version).unwrap_or(1),
        created_at: existing.map(|o| o.created_at).unwrap_or(now),
        updated_at: existing.map(|o| o.updated_at).unwrap_or(now),
    };
    o.validate()?;
    Ok(o)
}

pub async fn require_org(s: &dyn Storage, id: &OrgId) -> SResult<Org> {
    s.get_org(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("organization"))
}

pub async fn create_org(ctx: &Ctx<'_>, req: OrgCreate) -> SResult<Org> {
    let org = build_org(req, None, ctx.now())?;
    if ctx.storage.get_org(&org.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An organization with this id already exists.",
        ));
    }
    if ctx.storage.get_org_by_slug(&org.slug).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An organization with this slug already exists.",
        )
        .with_field("slug"));
    }
    check_org(&StoreView(ctx.storage), &org).await?;
    ctx.storage.create_org(&org).await?;
    ctx.audit(
        Some(&org.id),
        "org.create",
        ("org", org.id.as_str()),
        None::<&()>,
        Some(&OrgResponse::from(&org)),
    )
    .await?;
    Ok(org)
}

pub async fn update_org(ctx: &Ctx<'_>, id: &OrgId, p: OrgPatch) -> SResult<Org> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_org(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(s) = &p.slug {
            next.slug = s.clone();
        }
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(s) = p.status {
            next.status = s.into();
        }
        if let Some(parent) = &p.parent_id {
            next.parent_id = parent.clone();
        }
        if let Some(b) = &p.branding {
            next.branding = b.clone().into();
        }
        next.updated_at = ctx.now();
        if next.parent_id != cur.parent_id {
            check_org(&StoreView(ctx.storage), &next).await?;
            check_org_links_fit_parent(&StoreView(ctx.storage), &next).await?;
        } else {
            next.validate()?;
        }
        if next.slug != cur.slug
            && let Some(other) = ctx.storage.get_org_by_slug(&next.slug).await?
            && other.id != cur.id
        {
            return Err(ServiceError::conflict(
                "duplicate",
                "An organization with this slug already exists.",
            )
            .with_field("slug"));
        }
        match ctx.storage.update_org(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(id),
                    "org.update",
                    ("org", id.as_str()),
                    Some(&OrgResponse::from(&cur)),
                    Some(&OrgResponse::from(&stored)),
                )
                .await?;
                if stored.status == d::OrgStatus::Suspended && p.status.is_some() {
                    revoke_org(ctx, id, d::MemberEvent::OrgSuspended, None).await?;
                }
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_org(ctx: &Ctx<'_>, id: &OrgId, cascade: bool) -> SResult<()> {
    let cur = require_org(ctx.storage, id).await?;
    let mut removed = vec![id.clone()];
    if cascade {
        removed.extend(ctx.storage.org_descendants(id).await?);
    } else {
        // Checked here too (not only by storage) so the message is precise.
        if !all_orgs_with_parent(ctx.storage, Some(id))
            .await?
            .is_empty()
        {
            return Err(ServiceError::conflict(
                "in_use",
                "The organization still has child organizations; delete them first or use ?cascade=true.",
            ));
        }
        let page = ctx.storage.list_members(id, &PageRequest::first(1)).await?;
        if !page.items.is_empty() {
            return Err(ServiceError::conflict(
                "in_use",
                "The organization still has members; remove them first or use ?cascade=true.",
            ));
        }
    }
    // Every refresh token of the removed orgs dies with them, whatever the apps subscribe to.
    let now = ctx.now();
    for o in &removed {
        let n = ctx.storage.revoke_org_families(o, None, now).await?;
        crate::ops::metrics::families_revoked("org_deleted", n);
    }
    ctx.storage.delete_org(id, cascade).await?;
    let before = serde_json::json!({
        "org": OrgResponse::from(&cur),
        "cascade": cascade,
        "removed_orgs": removed.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
    });
    ctx.audit(
        Some(id),
        "org.delete",
        ("org", id.as_str()),
        Some(&before),
        None::<&()>,
    )
    .await
}
