//! Admin handlers for users (tenant-level), their external identities, org memberships and
//! invitations (`/api/v1/users/...`, `/api/v1/orgs/{org_id}/members|invitations/...`).
//!
//! Owns: HTTP ↔ service translation for these resources. Must not touch: validation or
//! storage writes (that is `service`).

use super::auth::Caller;
use super::dto::*;
use super::scope::OrgScope;
use super::service::{self, page_request, page_vec};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::{AppId, Email, InvitationId, RoleValue, UserId};
use crate::http::{ApiError, Json, Path, Query};
use crate::storage::{MemberFilter, UserFilter};
use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeSet;

type R<T> = Result<T, ApiError>;

// ---------------------------------------------------------------------------------------
// Users

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListQuery),
    responses((status = 200, description = "A page of users (by id)", body = UserList)))]
pub async fn list_users(
    State(st): State<AdminCtx>,
    caller: Caller,
    Query(q): Query<UserListQuery>,
) -> R<Json<UserList>> {
    caller.scope_global()?;
    let email = match q.email.as_deref() {
        Some(e) => Some(Email::parse(e).map_err(|e| {
            ApiError::bad_request(format!("The email filter is invalid: {}", e.message))
                .with_field("email")
        })?),
        None => None,
    };
    let page = st
        .storage
        .list_users(&UserFilter { email }, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(UserList {
        items: page.items.iter().map(UserResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserCreate,
    responses((status = 201, description = "Created", body = UserResponse)))]
pub async fn create_user(
    State(st): State<AdminCtx>,
    caller: Caller,
    Json(req): Json<UserCreate>,
) -> R<(StatusCode, Json<UserResponse>)> {
    caller.scope_global()?;
    let u = service::create_user(&ctx(&st, &caller), req).await?;
    Ok((StatusCode::CREATED, Json((&u).into())))
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserResponse)))]
pub async fn get_user(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> R<Json<UserResponse>> {
    caller.scope_global()?;
    let id: UserId = path_id(&user_id, "user")?;
    let u = service::require_user(st.storage.as_ref(), &id).await?;
    Ok(Json((&u).into()))
}

#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")), request_body = UserPatch,
    responses((status = 200, description = "Updated", body = UserResponse)))]
pub async fn update_user(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(user_id): Path<String>,
    Json(p): Json<UserPatch>,
) -> R<Json<UserResponse>> {
    caller.scope_global()?;
    let id: UserId = path_id(&user_id, "user")?;
    let u = service::update_user(&ctx(&st, &caller), &id, p).await?;
    Ok(Json((&u).into()))
}

#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 204, description = "Deleted with their identities and memberships; their refresh tokens are revoked")))]
pub async fn delete_user(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let id: UserId = path_id(&user_id, "user")?;
    service::delete_user(&ctx(&st, &caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}/identities", tag = "users",
    params(("user_id" = String, Path, description = "User id"), ListQuery),
    responses((status = 200, description = "The user's external identities", body = IdentityList)))]
pub async fn list_identities(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(user_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<IdentityList>> {
    caller.scope_global()?;
    let id: UserId = path_id(&user_id, "user")?;
    service::require_user(st.storage.as_ref(), &id).await?;
    let all = st.storage.list_identities(&id).await?;
    let page = page_vec(
        all,
        |i| format!("{}\u{1f}{}\u{1f}{}", i.connection_id, i.issuer, i.subject),
        &page_request(q.limit, q.after)?,
    );
    Ok(Json(IdentityList {
        items: page.items.iter().map(IdentityResponse::from).collect(),
        next_cursor: page.next,
    }))
}

// ---------------------------------------------------------------------------------------
// Members

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), MemberListQuery),
    responses((status = 200, description = "A page of members (by user id), searched and filtered", body = MemberList)))]
pub async fn list_members(
    scope: OrgScope,
    Query(q): Query<MemberListQuery>,
) -> R<Json<MemberList>> {
    let filter = member_filter(&q)?;
    let (page, _) = scope
        .db()
        .search_members(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(MemberList {
        items: page
            .items
            .iter()
            .map(|r| MemberResponse::from(&r.membership))
            .collect(),
        next_cursor: page.next,
    }))
}

/// The API's member filters checked into a storage filter (`role` needs `app`).
fn member_filter(q: &MemberListQuery) -> R<MemberFilter> {
    let app = match q.app.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(
            AppId::parse(a)
                .map_err(|_| ApiError::bad_request("app is not an app id.").with_field("app"))?,
        ),
        None => None,
    };
    let app_role = match (q.role.as_deref().filter(|r| !r.is_empty()), &app) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(
                ApiError::bad_request("role needs app: a role is looked up in one app.")
                    .with_field("role"),
            );
        }
        (Some(r), Some(a)) => Some((
            a.clone(),
            RoleValue::parse(r).map_err(|_| {
                ApiError::bad_request("role is not a role value.").with_field("role")
            })?,
        )),
    };
    Ok(MemberFilter {
        search: q.q.clone().filter(|s| !s.trim().is_empty()),
        status: q.status.map(Into::into),
        org_role: q.org_role.map(Into::into),
        app,
        app_role,
    })
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = String, Path, description = "Organization id")), request_body = MemberCreate,
    responses((status = 201, description = "Created (operator only: org admins invite people)", body = MemberResponse)))]
pub async fn create_member(
    scope: OrgScope,
    Json(req): Json<MemberCreate>,
) -> R<(StatusCode, Json<MemberResponse>)> {
    let m = service::create_member(&scope.ctx(), scope.org(), req).await?;
    Ok((StatusCode::CREATED, Json((&m).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The membership", body = MemberResponse)))]
pub async fn get_member(
    scope: OrgScope,
    Path((_org, user_id)): Path<(String, String)>,
) -> R<Json<MemberResponse>> {
    let user: UserId = path_id(&user_id, "member")?;
    let m = scope.db().member(&user).await?;
    Ok(Json((&m).into()))
}

fn org_roles(r: &[OrgRole]) -> BTreeSet<crate::domain::OrgRole> {
    r.iter().map(|x| (*x).into()).collect()
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "User id")),
    request_body = MemberPatch,
    responses((status = 200, description = "Updated (suspension and role changes revoke refresh tokens of subscribing apps)", body = MemberResponse)))]
pub async fn update_member(
    scope: OrgScope,
    Path((_org, user_id)): Path<(String, String)>,
    Json(p): Json<MemberPatch>,
) -> R<Json<MemberResponse>> {
    let user: UserId = path_id(&user_id, "member")?;
    let m = change_member(&scope, &user, p).await?;
    Ok(Json((&m).into()))
}

/// Change a membership as the scope's caller (the API and the portal): the org-role limits of
/// the scope, then the service.
pub async fn change_member(
    scope: &OrgScope,
    user: &UserId,
    p: MemberPatch,
) -> R<crate::domain::Membership> {
    let cur = scope.db().member(user).await?;
    let next = p.org_roles.as_deref().map(org_roles);
    scope.check_org_roles(Some(&cur.org_roles), next.as_ref())?;
    Ok(service::update_member(&scope.ctx(), scope.org(), user, p).await?)
}

/// Remove a member as the scope's caller (the API and the portal).
pub async fn remove_member(scope: &OrgScope, user: &UserId) -> R<()> {
    let cur = scope.db().member(user).await?;
    scope.check_org_roles(Some(&cur.org_roles), None)?;
    Ok(service::delete_member(&scope.ctx(), scope.org(), user).await?)
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204, description = "Removed (refresh tokens revoked for subscribing apps)")))]
pub async fn delete_member(
    scope: OrgScope,
    Path((_org, user_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let user: UserId = path_id(&user_id, "member")?;
    remove_member(&scope, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reset a member's second factors as the scope's caller (the API and the portal): the
/// authenticator app, recovery codes, remembered devices and passkeys of the user. Factors
/// belong to the user (one identity in every org), so any admin of an org the user is a member
/// of may reset them — the same rights as removing the member (a `member_admin` may not reset
/// an `org_admin`'s); the audit event `member.mfa_reset` lands in this org.
pub async fn reset_member_mfa(scope: &OrgScope, user: &UserId) -> R<MfaResetResponse> {
    let cur = scope.db().member(user).await?;
    scope.check_org_roles(Some(&cur.org_roles), None)?;
    let c = scope.ctx();
    let removed = MfaResetResponse::from(crate::login::mfa::reset_user(c.storage, user).await?);
    c.audit(
        Some(scope.org()),
        "member.mfa_reset",
        ("user", user.as_str()),
        None::<&()>,
        Some(&removed),
    )
    .await?;
    Ok(removed)
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/members/{user_id}/mfa", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The member's second factors (authenticator app, recovery codes, remembered devices, passkeys) are removed: their next password sign-in to an app that requires a second factor enrols again. Audited as `member.mfa_reset` in this org.", body = MfaResetResponse)))]
pub async fn reset_mfa(
    scope: OrgScope,
    Path((_org, user_id)): Path<(String, String)>,
) -> R<Json<MfaResetResponse>> {
    let user: UserId = path_id(&user_id, "member")?;
    Ok(Json(reset_member_mfa(&scope, &user).await?))
}

// ---------------------------------------------------------------------------------------
// Invitations

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/invitations", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "A page of invitations", body = InvitationList)))]
pub async fn list_invitations(
    scope: OrgScope,
    Query(q): Query<ListQuery>,
) -> R<Json<InvitationList>> {
    let page = scope
        .db()
        .invitations(&page_request(q.limit, q.after)?)
        .await?;
    let now = scope.tools().clock.now();
    Ok(Json(InvitationList {
        items: page
            .items
            .iter()
            .map(|i| InvitationResponse::at(i, now))
            .collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/invitations", tag = "members",
    params(("org_id" = String, Path, description = "Organization id")), request_body = InvitationCreate,
    responses((status = 201, description = "Created, with the invitee's `invited` membership; the email is sent; `token` and `link` are shown this once", body = InvitationWithToken)))]
pub async fn create_invitation(
    scope: OrgScope,
    Json(req): Json<InvitationCreate>,
) -> R<(StatusCode, Json<InvitationWithToken>)> {
    Ok((StatusCode::CREATED, Json(invite(&scope, req).await?)))
}

/// Invite someone as the scope's caller (the API and the portal): the org-role limits, the
/// service, the email.
pub async fn invite(scope: &OrgScope, req: InvitationCreate) -> R<InvitationWithToken> {
    scope.check_org_roles(None, Some(&org_roles(&req.org_roles)))?;
    let c = scope.ctx();
    let t = scope.tools();
    let lang = req
        .locale
        .as_deref()
        .and_then(crate::i18n::Lang::from_tag)
        .unwrap_or_default();
    let (inv, token) = service::create_invitation(&c, scope.org(), req).await?;
    let email_sent = super::invite_mail::deliver(&t, &c, &inv, &token, lang).await?;
    Ok(InvitationWithToken {
        invitation: InvitationResponse::at(&inv, t.clock.now()),
        link: super::invite_mail::link(&t, &token),
        token: crate::domain::Secret::new(token),
        email_sent,
    })
}

/// Send an invitation again with a new token, as the scope's caller (the API and the portal).
/// `lang`: the language of the email (not stored with the invitation).
pub async fn resend(
    scope: &OrgScope,
    id: &InvitationId,
    lang: crate::i18n::Lang,
) -> R<InvitationWithToken> {
    let c = scope.ctx();
    let t = scope.tools();
    let (inv, token) = service::resend_invitation(&c, scope.org(), id).await?;
    let email_sent = super::invite_mail::deliver(&t, &c, &inv, &token, lang).await?;
    Ok(InvitationWithToken {
        invitation: InvitationResponse::at(&inv, t.clock.now()),
        link: super::invite_mail::link(&t, &token),
        token: crate::domain::Secret::new(token),
        email_sent,
    })
}

/// Change an invitation (revoke it, its roles) as the scope's caller (the API and the portal).
pub async fn change_invitation(
    scope: &OrgScope,
    id: &InvitationId,
    p: InvitationPatch,
) -> R<crate::domain::Invitation> {
    if let Some(r) = &p.org_roles {
        scope.check_org_roles(None, Some(&org_roles(r)))?;
    }
    Ok(service::update_invitation(&scope.ctx(), scope.org(), id, p).await?)
}

/// `?locale=de`: the language of the email sent again (not stored with the invitation).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ResendQuery {
    /// A BCP 47 tag (`en`, `de`); default: English.
    pub locale: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/invitations/{invitation_id}/resend", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("invitation_id" = String, Path, description = "Invitation id"), ResendQuery),
    responses((status = 200, description = "A new token (the old one no longer works), a new validity period, the email sent again; `token` and `link` are shown this once", body = InvitationWithToken),
        (status = 409, description = "The invitation was already accepted or revoked")))]
pub async fn resend_invitation(
    scope: OrgScope,
    Path((_org, invitation_id)): Path<(String, String)>,
    Query(q): Query<ResendQuery>,
) -> R<Json<InvitationWithToken>> {
    let id: InvitationId = path_id(&invitation_id, "invitation")?;
    let lang = q
        .locale
        .as_deref()
        .and_then(crate::i18n::Lang::from_tag)
        .unwrap_or_default();
    Ok(Json(resend(&scope, &id, lang).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/invitations/{invitation_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("invitation_id" = String, Path, description = "Invitation id")),
    responses((status = 200, description = "The invitation", body = InvitationResponse)))]
pub async fn get_invitation(
    scope: OrgScope,
    Path((_org, invitation_id)): Path<(String, String)>,
) -> R<Json<InvitationResponse>> {
    let id: InvitationId = path_id(&invitation_id, "invitation")?;
    let i = scope.db().invitation(&id).await?;
    Ok(Json(InvitationResponse::at(&i, scope.tools().clock.now())))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/invitations/{invitation_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("invitation_id" = String, Path, description = "Invitation id")),
    request_body = InvitationPatch,
    responses((status = 200, description = "Updated", body = InvitationResponse)))]
pub async fn update_invitation(
    scope: OrgScope,
    Path((_org, invitation_id)): Path<(String, String)>,
    Json(p): Json<InvitationPatch>,
) -> R<Json<InvitationResponse>> {
    let id: InvitationId = path_id(&invitation_id, "invitation")?;
    let i = change_invitation(&scope, &id, p).await?;
    Ok(Json(InvitationResponse::at(&i, scope.tools().clock.now())))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/invitations/{invitation_id}", tag = "members",
    params(("org_id" = String, Path, description = "Organization id"), ("invitation_id" = String, Path, description = "Invitation id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_invitation(
    scope: OrgScope,
    Path((_org, invitation_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let id: InvitationId = path_id(&invitation_id, "invitation")?;
    service::delete_invitation(&scope.ctx(), scope.org(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
