//! Invitations: creating one (with its single-use token, shown once, and the invitee's
//! `invited` membership), resending (a new token, the old one dead), updating (only revoking or
//! changing roles while pending) and deleting. Revoking or deleting a pending invitation
//! removes the invitee's `invited` membership (never an active one); the user profile stays.
//!
//! Owns: invitation validity and the token. Must not touch: accepting an invitation (the
//! hosted pages do that), the email (the handler sends it).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, audit_event, check_roles_for_org,
    check_version, require_org, retry, summary,
};
use crate::admin::dto::{
    self, InvitationCreate, InvitationPatch, InvitationResponse, into_app_roles,
};
use crate::domain::{self as d, *};
use crate::storage::{Change, PageRequest, Storage};

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

/// Create an invitation; returns it with its single-use token (shown once). The invitee's user
/// profile and an `invited` membership (the invitation's roles) are written with it, in one
/// transaction, so the invitee is listed among the members from now on.
///
/// The profile is the one of an earlier `invited` membership of this org with the same email
/// (a new invitation after one expired), else a new user: an email alone never picks an
/// existing account (identity rule 4), whatever other user has it.
pub async fn create_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    req: InvitationCreate,
) -> SResult<(Invitation, String)> {
    require_org(ctx.storage, org).await?;
    let roles = into_app_roles(req.roles);
    let view = StoreView(ctx.storage);
    check_roles_for_org(&view, org, &roles).await?;
    let app_id = invitation_app(ctx.storage, org, req.app_id, &roles).await?;
    let ttl = match req.expires_in_secs {
        Some(t) => t,
        None => default_ttl(ctx.storage, &app_id, &roles).await?,
    };
    if !(300..=90 * 24 * 3600).contains(&ttl) {
        return Err(ServiceError::invalid(
            "expires_in_secs",
            "must be between 300 seconds and 90 days",
        ));
    }
    let inviter_name = clean_name(req.inviter_name)?;
    let now = ctx.now();
    let existing = ctx.storage.find_member_by_email(org, &req.email).await?;
    let user = match existing {
        Some((u, m)) if m.status == MemberStatus::Invited => {
            if usable_invitation_of(ctx.storage, org, &u.id, now, None)
                .await?
                .is_some()
            {
                return Err(ServiceError::conflict(
                    "already_invited",
                    "This person has a pending invitation to this organization; resend it instead.",
                )
                .with_field("email"));
            }
            u
        }
        Some(_) => {
            return Err(ServiceError::conflict(
                "already_member",
                "A user with this email is already a member of this organization.",
            )
            .with_field("email"));
        }
        None => User {
            id: UserId::generate(),
            email: req.email.clone(),
            email_verified: false,
            name: None,
            password_hash: None,
            version: 1,
            created_at: now,
            updated_at: now,
        },
    };
    let token = random_token();
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
        app_id: Some(app_id),
        inviter_name,
        user_id: Some(user.id.clone()),
    };
    if ctx.storage.get_invitation(org, &inv.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An invitation with this id already exists.",
        ));
    }
    let membership = Membership {
        org_id: org.clone(),
        user_id: user.id.clone(),
        status: MemberStatus::Invited,
        roles: inv.roles.clone(),
        org_roles: inv.org_roles.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let after = InvitationResponse::from(&inv);
    let event = audit_event(
        &ctx.actor,
        ctx.request_id.clone(),
        now,
        Some(org),
        "invitation.create",
        ("invitation", inv.id.as_str()),
        serde_json::Value::Null,
        summary(Some(&after)),
    );
    // The user row is rewritten only when it is new (an existing profile is left as it is).
    let mut changes = Vec::with_capacity(4);
    if ctx.storage.get_user(&user.id).await?.is_none() {
        changes.push(Change::UpsertUser(user));
    }
    changes.push(Change::UpsertMembership(membership));
    changes.push(Change::CreateInvitation(inv.clone()));
    changes.push(Change::Audit(event));
    ctx.storage.apply_changes(&changes).await?;
    Ok((inv, token))
}

/// A new token for a pending (or expired) invitation: the old token stops working at once, the
/// validity starts again. Returns the invitation and its new token (shown once).
pub async fn resend_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    id: &InvitationId,
) -> SResult<(Invitation, String)> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_invitation(ctx.storage, org, id).await?;
        if cur.status != d::InvitationStatus::Pending {
            return Err(ServiceError::conflict(
                "invitation_closed",
                "The invitation was already accepted or revoked.",
            ));
        }
        let ttl = match &cur.app_id {
            Some(a) => default_ttl(ctx.storage, a, &cur.roles).await?,
            None => DEFAULT_INVITE_TTL_SECS,
        };
        let token = random_token();
        let now = ctx.now();
        let mut next = cur.clone();
        next.token_hash = TokenHash::of(&token);
        next.expires_at = now + time::Duration::seconds(ttl);
        match ctx.storage.update_invitation(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "invitation.resend",
                    ("invitation", id.as_str()),
                    Some(&InvitationResponse::from(&cur)),
                    Some(&InvitationResponse::from(&stored)),
                )
                .await?;
                return Ok((stored, token));
            }
            Err(e) if retry(&e, None, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

/// The app an invitation is for: the one asked for (it must be linked to the org), else the one
/// app of its roles, else the org's one linked app.
async fn invitation_app(
    s: &dyn Storage,
    org: &OrgId,
    asked: Option<AppId>,
    roles: &AppRoles,
) -> SResult<AppId> {
    let candidate = match asked {
        Some(a) => a,
        None if roles.len() == 1 => roles.keys().next().cloned().expect("one app"),
        None => {
            let links = s.list_links_for_org(org).await?;
            match links.as_slice() {
                [one] => one.app_id.clone(),
                _ => {
                    return Err(ServiceError::invalid(
                        "app_id",
                        "name the app the invitation is for (the roles name none or several, and the organization is linked to several apps)",
                    ));
                }
            }
        }
    };
    if s.get_link(org, &candidate).await?.is_none() {
        return Err(ServiceError::invalid(
            "app_id",
            "the organization is not linked to this app",
        ));
    }
    Ok(candidate)
}

/// The validity of an invitation for `app` with these roles: the shortest `invite_ttl_secs`
/// among them (7 days when none is known).
async fn default_ttl(s: &dyn Storage, app: &AppId, roles: &AppRoles) -> SResult<i64> {
    let mut ttl = None::<i64>;
    for a in roles.keys().chain(std::iter::once(app)) {
        if let Some(a) = s.get_app(a).await? {
            ttl = Some(ttl.map_or(a.invite_ttl_secs, |t| t.min(a.invite_ttl_secs)));
        }
    }
    Ok(ttl.unwrap_or(DEFAULT_INVITE_TTL_SECS))
}

fn clean_name(name: Option<String>) -> SResult<Option<String>> {
    let Some(n) = name else { return Ok(None) };
    let n: String = n.chars().filter(|c| !c.is_control()).collect();
    let n = n.trim();
    if n.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "inviter_name",
            "at most 200 characters",
        ));
    }
    Ok((!n.is_empty()).then(|| n.to_owned()))
}

/// A usable (pending, unexpired) invitation of this org for this user, other than `except`.
async fn usable_invitation_of(
    s: &dyn Storage,
    org: &OrgId,
    user: &UserId,
    now: time::OffsetDateTime,
    except: Option<&InvitationId>,
) -> SResult<Option<Invitation>> {
    let mut page = PageRequest::first(500);
    loop {
        let got = s.list_invitations(org, &page).await?;
        if let Some(i) = got
            .items
            .into_iter()
            .find(|i| i.user_id.as_ref() == Some(user) && i.is_usable(now) && Some(&i.id) != except)
        {
            return Ok(Some(i));
        }
        match got.next {
            Some(c) => page.after = Some(c),
            None => return Ok(None),
        }
    }
}

/// After a pending invitation's roles changed: its invitee's `invited` membership shows them.
async fn sync_invited_membership(ctx: &Ctx<'_>, inv: &Invitation) -> SResult<()> {
    let Some(user) = &inv.user_id else {
        return Ok(());
    };
    match ctx.storage.get_membership(&inv.org_id, user).await? {
        Some(m)
            if m.status == MemberStatus::Invited
                && (m.roles != inv.roles || m.org_roles != inv.org_roles) =>
        {
            let mut next = m;
            next.roles = inv.roles.clone();
            next.org_roles = inv.org_roles.clone();
            next.updated_at = ctx.now();
            ctx.storage.update_membership(&next).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// After an invitation was revoked or deleted: its invitee's `invited` membership goes too,
/// unless another usable invitation of the org still stands for them. An active (or suspended)
/// membership is never touched.
async fn drop_invited_membership(ctx: &Ctx<'_>, inv: &Invitation) -> SResult<()> {
    let Some(user) = &inv.user_id else {
        return Ok(());
    };
    if usable_invitation_of(ctx.storage, &inv.org_id, user, ctx.now(), Some(&inv.id))
        .await?
        .is_some()
    {
        return Ok(());
    }
    ctx.storage
        .apply_changes(&[Change::RemoveInvitedMembership(
            inv.org_id.clone(),
            user.clone(),
        )])
        .await?;
    Ok(())
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
                if stored.status == d::InvitationStatus::Revoked {
                    drop_invited_membership(ctx, &stored).await?;
                } else {
                    sync_invited_membership(ctx, &stored).await?;
                }
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
    if cur.status == d::InvitationStatus::Pending {
        drop_invited_membership(ctx, &cur).await?;
    }
    ctx.audit(
        Some(org),
        "invitation.delete",
        ("invitation", id.as_str()),
        Some(&InvitationResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
