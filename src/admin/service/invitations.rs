//! Invitations: creating one (with its single-use token, shown once), updating (only
//! revoking or changing roles while pending) and deleting.
//!
//! Owns: invitation validity and the token. Must not touch: accepting an invitation (the
//! hosted pages do that).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, check_roles_for_org, check_version,
    require_org, retry,
};
use crate::admin::dto::{
    self, InvitationCreate, InvitationPatch, InvitationResponse, into_app_roles,
};
use crate::domain::{self as d, *};
use crate::storage::Storage;

/// Default validity of an invitation when no app in it says otherwise.
pub const DEFAULT_INVITE_TTL_SECS: i64 = 7 * 24 * 3600;

pub async fn require_invitation(
    s: &dyn Storage,
    org: &OrgId,
    id: &InvitationId,
) -> SResult<Invitation> {
    s.get_invitation(org, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("invitation"))
}

/// Create an invitation; returns it with its single-use token (shown once).
pub async fn create_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    req: InvitationCreate,
) -> SResult<(Invitation, String)> {
    require_org(ctx.storage, org).await?;
    let roles = into_app_roles(req.roles);
    let view = StoreView(ctx.storage);
    check_roles_for_org(&view, org, &roles).await?;
    let ttl = match req.expires_in_secs {
        Some(t) => t,
        None => {
            let mut ttl = None::<i64>;
            for app in roles.keys() {
                if let Some(a) = ctx.storage.get_app(app).await? {
                    ttl = Some(ttl.map_or(a.invite_ttl_secs, |t| t.min(a.invite_ttl_secs)));
                }
            }
            ttl.unwrap_or(DEFAULT_INVITE_TTL_SECS)
        }
    };
    if !(300..=90 * 24 * 3600).contains(&ttl) {
        return Err(ServiceError::invalid(
            "expires_in_secs",
            "must be between 300 seconds and 90 days",
        ));
    }
    if ctx
        .storage
        .find_member_by_email(org, &req.email)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "already_member",
            "A user with this email is already a member of this organization.",
        )
        .with_field("email"));
    }
    let token = random_token();
    let now = ctx.now();
    let inv = Invitation {
        id: req.id.unwrap_or_else(InvitationId::generate),
        org_id: org.clone(),
        email: req.email,
        roles,
        org_roles: req.org_roles.into_iter().map(Into::into).collect(),
        token_hash: TokenHash::of(&token),
        status: d::InvitationStatus::Pending,
        expires_at: now + time::Duration::seconds(ttl),
        invited_by: ctx.actor.clone(),
        version: 1,
        created_at: now,
    };
    if ctx.storage.get_invitation(org, &inv.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An invitation with this id already exists.",
        ));
    }
    ctx.storage.create_invitation(&inv).await?;
    ctx.audit(
        Some(org),
        "invitation.create",
        ("invitation", inv.id.as_str()),
        None::<&()>,
        Some(&InvitationResponse::from(&inv)),
    )
    .await?;
    Ok((inv, token))
}

pub async fn update_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    id: &InvitationId,
    p: InvitationPatch,
) -> SResult<Invitation> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_invitation(ctx.storage, org, id).await?;
        check_version(p.version, cur.version)?;
        if cur.status != d::InvitationStatus::Pending {
            return Err(ServiceError::conflict(
                "invitation_closed",
                "The invitation was already accepted or revoked.",
            ));
        }
        let mut next = cur.clone();
        match p.status {
            None | Some(dto::InvitationStatus::Pending) => {}
            Some(dto::InvitationStatus::Revoked) => next.status = d::InvitationStatus::Revoked,
            Some(dto::InvitationStatus::Accepted) => {
                return Err(ServiceError::invalid(
                    "status",
                    "an invitation is accepted by its invitee, not set to accepted; only \"revoked\" may be set",
                ));
            }
        }
        if let Some(r) = &p.roles {
            next.roles = into_app_roles(r.clone());
            check_roles_for_org(&StoreView(ctx.storage), org, &next.roles).await?;
        }
        if let Some(r) = &p.org_roles {
            next.org_roles = r.iter().map(|x| (*x).into()).collect();
        }
        match ctx.storage.update_invitation(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "invitation.update",
                    ("invitation", id.as_str()),
                    Some(&InvitationResponse::from(&cur)),
                    Some(&InvitationResponse::from(&stored)),
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

pub async fn delete_invitation(ctx: &Ctx<'_>, org: &OrgId, id: &InvitationId) -> SResult<()> {
    let cur = require_invitation(ctx.storage, org, id).await?;
    ctx.storage.delete_invitation(org, id).await?;
    ctx.audit(
        Some(org),
        "invitation.delete",
        ("invitation", id.as_str()),
        Some(&InvitationResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
