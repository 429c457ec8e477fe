//! Roles and role groups of an app: their builders, and creating, updating and deleting them
//! (a role still in a role group cannot be deleted).
//!
//! Owns: the role and role-group writes. Must not touch: which roles an org may hand out
//! (`rules`).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, check_role_group, check_version,
    require_app, retry,
};
use crate::admin::dto::{
    RoleCreate, RoleGroupCreate, RoleGroupPatch, RoleGroupResponse, RolePatch, RoleResponse,
};
use crate::domain::*;
use crate::storage::Storage;
use time::OffsetDateTime;

pub fn build_role(app: &AppId, req: RoleCreate) -> SResult<Role> {
    let r = Role {
        app_id: app.clone(),
        value: req.value,
        name: req.name,
        description: req.description.unwrap_or_default(),
    };
    r.validate()?;
    Ok(r)
}

pub fn build_role_group(
    app: &AppId,
    req: RoleGroupCreate,
    existing: Option<&RoleGroup>,
    now: OffsetDateTime,
) -> SResult<RoleGroup> {
    validate_name(&req.name)?;
    Ok(RoleGroup {
        id: req
            .id
            .or_else(|| existing.map(|g| g.id.clone()))
            .unwrap_or_else(RoleGroupId::generate),
        app_id: app.clone(),
        name: req.name,
        roles: req.roles.into_iter().collect(),
        version: existing.map(|g| g.version).unwrap_or(1),
        created_at: existing.map(|g| g.created_at).unwrap_or(now),
        updated_at: existing.map(|g| g.updated_at).unwrap_or(now),
    })
}

// ---------------------------------------------------------------------------------------
// Roles

pub async fn require_role(s: &dyn Storage, app: &AppId, v: &RoleValue) -> SResult<Role> {
    s.get_role(app, v)
        .await?
        .ok_or_else(|| ServiceError::not_found("role"))
}

pub async fn create_role(ctx: &Ctx<'_>, app: &AppId, req: RoleCreate) -> SResult<Role> {
    require_app(ctx.storage, app).await?;
    let role = build_role(app, req)?;
    if ctx.storage.get_role(app, &role.value).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The app already has a role with this value.",
        )
        .with_field("value"));
    }
    ctx.storage.create_role(&role).await?;
    ctx.audit(
        None,
        "role.create",
        ("role", &format!("{app}/{}", role.value)),
        None::<&()>,
        Some(&RoleResponse::from(&role)),
    )
    .await?;
    Ok(role)
}

pub async fn update_role(
    ctx: &Ctx<'_>,
    app: &AppId,
    value: &RoleValue,
    p: RolePatch,
) -> SResult<Role> {
    let cur = require_role(ctx.storage, app, value).await?;
    let mut next = cur.clone();
    if let Some(n) = p.name {
        next.name = n;
    }
    if let Some(dsc) = p.description {
        next.description = dsc;
    }
    next.validate()?;
    ctx.storage.update_role(&next).await?;
    ctx.audit(
        None,
        "role.update",
        ("role", &format!("{app}/{value}")),
        Some(&RoleResponse::from(&cur)),
        Some(&RoleResponse::from(&next)),
    )
    .await?;
    Ok(next)
}

pub async fn delete_role(ctx: &Ctx<'_>, app: &AppId, value: &RoleValue) -> SResult<()> {
    let cur = require_role(ctx.storage, app, value).await?;
    let users: Vec<String> = ctx
        .storage
        .list_role_groups(app)
        .await?
        .into_iter()
        .filter(|g| g.roles.contains(value))
        .map(|g| g.id.to_string())
        .collect();
    if !users.is_empty() {
        return Err(ServiceError::conflict(
            "in_use",
            format!(
                "The role is still part of role group(s) {}; remove it there first.",
                users.join(", ")
            ),
        ));
    }
    ctx.storage.delete_role(app, value).await?;
    ctx.audit(
        None,
        "role.delete",
        ("role", &format!("{app}/{value}")),
        Some(&RoleResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Role groups

pub async fn require_role_group(
    s: &dyn Storage,
    app: &AppId,
    id: &RoleGroupId,
) -> SResult<RoleGroup> {
    s.get_role_group(app, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("role group"))
}

pub async fn create_role_group(
    ctx: &Ctx<'_>,
    app: &AppId,
    req: RoleGroupCreate,
) -> SResult<RoleGroup> {
    require_app(ctx.storage, app).await?;
    let g = build_role_group(app, req, None, ctx.now())?;
    check_role_group(&StoreView(ctx.storage), &g).await?;
    if ctx.storage.get_role_group(app, &g.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "A role group with this id already exists.",
        ));
    }
    ctx.storage.create_role_group(&g).await?;
    ctx.audit(
        None,
        "role_group.create",
        ("role_group", g.id.as_str()),
        None::<&()>,
        Some(&RoleGroupResponse::from(&g)),
    )
    .await?;
    Ok(g)
}

pub async fn update_role_group(
    ctx: &Ctx<'_>,
    app: &AppId,
    id: &RoleGroupId,
    p: RoleGroupPatch,
) -> SResult<RoleGroup> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_role_group(ctx.storage, app, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(r) = &p.roles {
            next.roles = r.iter().cloned().collect();
        }
        next.updated_at = ctx.now();
        check_role_group(&StoreView(ctx.storage), &next).await?;
        match ctx.storage.update_role_group(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "role_group.update",
                    ("role_group", id.as_str()),
                    Some(&RoleGroupResponse::from(&cur)),
                    Some(&RoleGroupResponse::from(&stored)),
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

pub async fn delete_role_group(ctx: &Ctx<'_>, app: &AppId, id: &RoleGroupId) -> SResult<()> {
    let cur = require_role_group(ctx.storage, app, id).await?;
    ctx.storage.delete_role_group(app, id).await?;
    ctx.audit(
        None,
        "role_group.delete",
        ("role_group", id.as_str()),
        Some(&RoleGroupResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
