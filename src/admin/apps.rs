//! Admin handlers for apps, their roles and their role groups (`/api/v1/apps/...`).
//!
//! Owns: HTTP ↔ service translation for these resources. Must not touch: validation or
//! storage writes (that is `service`).

use super::auth::Caller;
use super::dto::*;
use super::service::{self, page_request, page_vec};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::{AppId, RoleGroupId, RoleValue};
use crate::http::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;

type R<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/api/v1/apps", tag = "apps", params(ListQuery),
    responses((status = 200, description = "A page of apps", body = AppList)))]
pub async fn list_apps(
    State(st): State<AdminCtx>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> R<Json<AppList>> {
    caller.scope_global()?;
    let page = st
        .storage
        .list_apps(&page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(AppList {
        items: page.items.iter().map(AppResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps", tag = "apps", request_body = AppCreate,
    responses((status = 201, description = "Created; `client_secret` is shown this once when generated", body = AppWithSecret)))]
pub async fn create_app(
    State(st): State<AdminCtx>,
    caller: Caller,
    Json(req): Json<AppCreate>,
) -> R<(StatusCode, Json<AppWithSecret>)> {
    caller.scope_global()?;
    let (app, secret) = service::create_app(&ctx(&st, &caller), req).await?;
    Ok((
        StatusCode::CREATED,
        Json(AppWithSecret {
            app: (&app).into(),
            client_secret: secret.map(crate::domain::Secret::new),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id")),
    responses((status = 200, description = "The app", body = AppResponse)))]
pub async fn get_app(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
) -> R<Json<AppResponse>> {
    caller.scope_global()?;
    let id: AppId = path_id(&app_id, "app")?;
    let app = service::require_app(st.storage.as_ref(), &id).await?;
    Ok(Json((&app).into()))
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id")), request_body = AppPatch,
    responses((status = 200, description = "Updated; `client_secret` is shown this once when rotated", body = AppWithSecret)))]
pub async fn update_app(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Json(p): Json<AppPatch>,
) -> R<Json<AppWithSecret>> {
    caller.scope_global()?;
    let id: AppId = path_id(&app_id, "app")?;
    let (app, secret) = service::update_app(&ctx(&st, &caller), &id, p).await?;
    Ok(Json(AppWithSecret {
        app: (&app).into(),
        client_secret: secret.map(crate::domain::Secret::new),
    }))
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), DeleteQuery),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_app(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let id: AppId = path_id(&app_id, "app")?;
    service::delete_app(&ctx(&st, &caller), &id, q.cascade.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Roles

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/roles", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ListQuery),
    responses((status = 200, description = "A page of the app's roles (by value)", body = RoleList)))]
pub async fn list_roles(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<RoleList>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    service::require_app(st.storage.as_ref(), &app).await?;
    let all = st.storage.list_roles(&app).await?;
    let page = page_vec(
        all,
        |r| r.value.to_string(),
        &page_request(q.limit, q.after)?,
    );
    Ok(Json(RoleList {
        items: page.items.iter().map(RoleResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/roles", tag = "apps",
    params(("app_id" = String, Path, description = "App id")), request_body = RoleCreate,
    responses((status = 201, description = "Created", body = RoleResponse)))]
pub async fn create_role(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Json(req): Json<RoleCreate>,
) -> R<(StatusCode, Json<RoleResponse>)> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let role = service::create_role(&ctx(&st, &caller), &app, req).await?;
    Ok((StatusCode::CREATED, Json((&role).into())))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/roles/{value}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("value" = String, Path, description = "Role value")),
    responses((status = 200, description = "The role", body = RoleResponse)))]
pub async fn get_role(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, value)): Path<(String, String)>,
) -> R<Json<RoleResponse>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let value = RoleValue::parse(&value).map_err(|_| ApiError::not_found("role"))?;
    let role = service::require_role(st.storage.as_ref(), &app, &value).await?;
    Ok(Json((&role).into()))
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}/roles/{value}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("value" = String, Path, description = "Role value")),
    request_body = RolePatch,
    responses((status = 200, description = "Updated", body = RoleResponse)))]
pub async fn update_role(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, value)): Path<(String, String)>,
    Json(p): Json<RolePatch>,
) -> R<Json<RoleResponse>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let value = RoleValue::parse(&value).map_err(|_| ApiError::not_found("role"))?;
    let role = service::update_role(&ctx(&st, &caller), &app, &value, p).await?;
    Ok(Json((&role).into()))
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/roles/{value}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("value" = String, Path, description = "Role value")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_role(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, value)): Path<(String, String)>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let value = RoleValue::parse(&value).map_err(|_| ApiError::not_found("role"))?;
    service::delete_role(&ctx(&st, &caller), &app, &value).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Role groups

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/role-groups", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ListQuery),
    responses((status = 200, description = "A page of the app's role groups", body = RoleGroupList)))]
pub async fn list_role_groups(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<RoleGroupList>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    service::require_app(st.storage.as_ref(), &app).await?;
    let all = st.storage.list_role_groups(&app).await?;
    let page = page_vec(all, |g| g.id.to_string(), &page_request(q.limit, q.after)?);
    Ok(Json(RoleGroupList {
        items: page.items.iter().map(RoleGroupResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/role-groups", tag = "apps",
    params(("app_id" = String, Path, description = "App id")), request_body = RoleGroupCreate,
    responses((status = 201, description = "Created", body = RoleGroupResponse)))]
pub async fn create_role_group(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(app_id): Path<String>,
    Json(req): Json<RoleGroupCreate>,
) -> R<(StatusCode, Json<RoleGroupResponse>)> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let g = service::create_role_group(&ctx(&st, &caller), &app, req).await?;
    Ok((StatusCode::CREATED, Json((&g).into())))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/role-groups/{group_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("group_id" = String, Path, description = "Role group id")),
    responses((status = 200, description = "The role group", body = RoleGroupResponse)))]
pub async fn get_role_group(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, group_id)): Path<(String, String)>,
) -> R<Json<RoleGroupResponse>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let id: RoleGroupId = path_id(&group_id, "role group")?;
    let g = service::require_role_group(st.storage.as_ref(), &app, &id).await?;
    Ok(Json((&g).into()))
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}/role-groups/{group_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("group_id" = String, Path, description = "Role group id")),
    request_body = RoleGroupPatch,
    responses((status = 200, description = "Updated", body = RoleGroupResponse)))]
pub async fn update_role_group(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, group_id)): Path<(String, String)>,
    Json(p): Json<RoleGroupPatch>,
) -> R<Json<RoleGroupResponse>> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let id: RoleGroupId = path_id(&group_id, "role group")?;
    let g = service::update_role_group(&ctx(&st, &caller), &app, &id, p).await?;
    Ok(Json((&g).into()))
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/role-groups/{group_id}", tag = "apps",
    params(("app_id" = String, Path, description = "App id"), ("group_id" = String, Path, description = "Role group id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_role_group(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((app_id, group_id)): Path<(String, String)>,
) -> R<StatusCode> {
    caller.scope_global()?;
    let app: AppId = path_id(&app_id, "app")?;
    let id: RoleGroupId = path_id(&group_id, "role group")?;
    service::delete_role_group(&ctx(&st, &caller), &app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
