//! Operator forms for an app's roles and role groups (create, edit, delete after a
//! confirmation page), posted from `/portal/admin/apps/{app_id}`; a refused write re-renders
//! that page with the error next to its field or row.
//!
//! Owns: these forms. Must not touch: role rules (a role in a group cannot be deleted, groups
//! only hold the app's roles: `admin::service`).

use super::Operator;
use super::apps::{RoleForm, app_in_path, app_page};
use crate::admin::dto::{RoleCreate, RoleGroupCreate, RoleGroupPatch, RolePatch};
use crate::admin::service::{self, ErrorKind, ServiceError, require_role, require_role_group};
use crate::domain::{AppId, RoleGroupId, RoleValue};
use crate::portal::domains::ConfirmPage;
use crate::portal::view::{FieldErrors, see_other};
use crate::portal::wording::sentence;
use crate::portal::{CsrfForm, PortalError};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;

mod say {
    use crate::i18n::Msg;
    pub const ROLE_ADDED: Msg = Msg::new("portal-op-role-added");
    pub const ROLE_SAVED: Msg = Msg::new("portal-op-role-saved");
    pub const ROLE_DELETED: Msg = Msg::new("portal-op-role-deleted");
    pub const GROUP_ADDED: Msg = Msg::new("portal-op-group-added");
    pub const GROUP_SAVED: Msg = Msg::new("portal-op-group-saved");
    pub const GROUP_DELETED: Msg = Msg::new("portal-op-group-deleted");
    pub const DELETE_ROLE: Msg = Msg::new("portal-op-delete-role-confirm");
    pub const DELETE_GROUP: Msg = Msg::new("portal-op-delete-group-confirm");
}

/// A sentence of this page in the request's language.
fn tx(m: crate::i18n::Msg) -> String {
    crate::portal::view::current_tr().msg(m)
}

pub fn routes() -> Router<crate::portal::PortalCtx> {
    Router::new()
        .route("/portal/admin/apps/{app_id}/roles", post(add_role))
        .route("/portal/admin/apps/{app_id}/roles/{value}", post(save_role))
        .route(
            "/portal/admin/apps/{app_id}/roles/{value}/delete",
            get(confirm_delete_role).post(delete_role),
        )
        .route("/portal/admin/apps/{app_id}/role-groups", post(add_group))
        .route(
            "/portal/admin/apps/{app_id}/role-groups/{group_id}",
            post(save_group),
        )
        .route(
            "/portal/admin/apps/{app_id}/role-groups/{group_id}/delete",
            get(confirm_delete_group).post(delete_group),
        )
}

fn role_in_path(s: &str) -> Result<RoleValue, PortalError> {
    RoleValue::parse(s).map_err(|_| PortalError::NotFound)
}

fn group_in_path(s: &str) -> Result<RoleGroupId, PortalError> {
    s.parse().map_err(|_| PortalError::NotFound)
}

/// A refused write as a sentence (its field named in words); internal errors stay errors.
fn refusal(
    e: ServiceError,
    labels: &[(&str, &str)],
) -> Result<(Option<String>, String), PortalError> {
    if e.kind == ErrorKind::Internal {
        return Err(e.into());
    }
    let field = e
        .field
        .as_deref()
        .and_then(|f| labels.iter().find(|(k, _)| f.starts_with(k)));
    Ok(match field {
        Some((k, label)) => (Some((*k).to_owned()), sentence(label, &e.message)),
        None => (None, sentence("", &e.message)),
    })
}

fn app_url(app: &AppId, anchor: &str) -> String {
    format!("/portal/admin/apps/{app}#{anchor}")
}

// ---------------------------------------------------------------------------------------
// Roles

const ROLE_LABELS: &[(&str, &str)] = &[
    ("value", "value"),
    ("name", "name"),
    ("description", "description"),
];

async fn add_role(
    op: Operator,
    Path(app): Path<String>,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let mut errors = FieldErrors::default();
    match RoleValue::parse(f.value.trim()) {
        Err(e) => errors.add("value", sentence("value", &e.message)),
        Ok(value) => {
            let req = RoleCreate {
                value,
                name: f.name.trim().to_owned(),
                description: Some(f.description.trim().to_owned()).filter(|d| !d.is_empty()),
            };
            match service::create_role(&op.ctx(), &app, req).await {
                Ok(_) => {
                    op.user.set_flash(tx(say::ROLE_ADDED)).await;
                    return Ok(see_other(&app_url(&app, "roles")));
                }
                Err(e) => {
                    let (field, msg) = refusal(e, ROLE_LABELS)?;
                    errors.add(field.as_deref().unwrap_or("value"), msg);
                }
            }
        }
    }
    let mut p = app_page(&op, &app).await?;
    p.role_form = f;
    p.role_errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

#[derive(Deserialize)]
pub struct RoleEdit {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

async fn save_role(
    op: Operator,
    Path((app, value)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<RoleEdit>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let value = role_in_path(&value)?;
    let patch = RolePatch {
        name: Some(f.name.trim().to_owned()),
        description: Some(f.description.trim().to_owned()),
    };
    match service::update_role(&op.ctx(), &app, &value, patch).await {
        Ok(_) => {
            op.user.set_flash(tx(say::ROLE_SAVED)).await;
            Ok(see_other(&app_url(&app, &format!("role-{value}"))))
        }
        Err(e) if e.kind == ErrorKind::NotFound => Err(e.into()),
        Err(e) => {
            let (_, msg) = refusal(e, ROLE_LABELS)?;
            let mut p = app_page(&op, &app).await?;
            if let Some(r) = p.roles.iter_mut().find(|r| r.value == value.as_str()) {
                r.name = f.name;
                r.description = f.description;
                r.error = Some(msg);
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}

async fn confirm_delete_role(
    op: Operator,
    Path((app, value)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let value = role_in_path(&value)?;
    let s = op.admin.storage.as_ref();
    let a = service::require_app(s, &app).await?;
    let role = require_role(s, &app, &value).await?;
    let in_groups: Vec<String> = s
        .list_role_groups(&app)
        .await?
        .into_iter()
        .filter(|g| g.roles.contains(&value))
        .map(|g| g.name)
        .collect();
    let tr = crate::portal::view::current_tr();
    let mut consequences = vec![tr.t1("portal-op-delete-role-tokens", "role", &value)];
    if !in_groups.is_empty() {
        consequences.push(tr.t1(
            "portal-op-delete-role-in-groups",
            "groups",
            in_groups.join(", "),
        ));
    }
    Ok(ConfirmPage {
        l: op.layout(
            &tr.t1("portal-op-delete-role-title", "role", &role.name),
            "apps",
        ),
        question: tr.t3(
            "portal-op-delete-role-question",
            "role",
            &role.name,
            "value",
            &value,
            "app",
            &a.name,
        ),
        consequences,
        action: format!("/portal/admin/apps/{app}/roles/{value}/delete"),
        confirm_label: say::DELETE_ROLE,
        cancel: app_url(&app, "roles"),
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

async fn delete_role(
    op: Operator,
    Path((app, value)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let value = role_in_path(&value)?;
    match service::delete_role(&op.ctx(), &app, &value).await {
        Ok(()) => {
            op.user.set_flash(tx(say::ROLE_DELETED)).await;
            Ok(see_other(&app_url(&app, "roles")))
        }
        Err(e) if e.kind == ErrorKind::Conflict => {
            let mut p = app_page(&op, &app).await?;
            if let Some(r) = p.roles.iter_mut().find(|r| r.value == value.as_str()) {
                r.error = Some(e.message);
            }
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Role groups: `name`, `r.<role value>=on` per checked role, `version`.

fn checked_roles(form: &BTreeMap<String, String>) -> Result<Vec<RoleValue>, PortalError> {
    form.keys()
        .filter_map(|k| k.strip_prefix("r."))
        .map(|v| {
            RoleValue::parse(v).map_err(|_| {
                PortalError::bad_request(tx(crate::i18n::Msg::new("portal-op-no-such-role")))
            })
        })
        .collect()
}

const GROUP_LABELS: &[(&str, &str)] = &[("name", "name"), ("roles", "roles")];

async fn add_group(
    op: Operator,
    Path(app): Path<String>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let roles = checked_roles(&form)?;
    let name = form
        .get("name")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    let req = RoleGroupCreate {
        id: None,
        name: name.clone(),
        roles: roles.clone(),
    };
    match service::create_role_group(&op.ctx(), &app, req).await {
        Ok(g) => {
            op.user.set_flash(tx(say::GROUP_ADDED)).await;
            Ok(see_other(&app_url(&app, &format!("group-{}", g.id))))
        }
        Err(e) => {
            let (field, msg) = refusal(e, GROUP_LABELS)?;
            let mut p = app_page(&op, &app).await?;
            p.group_name = name;
            for r in &mut p.group_roles {
                r.checked = roles.iter().any(|v| v.as_str() == r.value);
            }
            let mut errors = FieldErrors::default();
            errors.add(field.as_deref().unwrap_or("name"), msg);
            p.group_errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}

async fn save_group(
    op: Operator,
    Path((app, group)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let group = group_in_path(&group)?;
    let roles = checked_roles(&form)?;
    let name = form
        .get("name")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    let patch = RoleGroupPatch {
        version: form.get("version").and_then(|v| v.parse().ok()),
        name: Some(name.clone()),
        roles: Some(roles.clone()),
    };
    match service::update_role_group(&op.ctx(), &app, &group, patch).await {
        Ok(_) => {
            op.user.set_flash(tx(say::GROUP_SAVED)).await;
            Ok(see_other(&app_url(&app, &format!("group-{group}"))))
        }
        Err(e) if e.kind == ErrorKind::NotFound && e.field.is_none() => Err(e.into()),
        Err(e) => {
            let conflict = e.code == "version_conflict";
            let (_, msg) = refusal(e, GROUP_LABELS)?;
            let mut p = app_page(&op, &app).await?;
            if let Some(g) = p.groups.iter_mut().find(|g| g.id == group.as_str()) {
                if !conflict {
                    g.name = name;
                    for r in &mut g.roles {
                        r.checked = roles.iter().any(|v| v.as_str() == r.value);
                    }
                }
                g.error = Some(msg);
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}

async fn confirm_delete_group(
    op: Operator,
    Path((app, group)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let group = group_in_path(&group)?;
    let s = op.admin.storage.as_ref();
    let a = service::require_app(s, &app).await?;
    let g = require_role_group(s, &app, &group).await?;
    let tr = crate::portal::view::current_tr();
    Ok(ConfirmPage {
        l: op.layout(
            &tr.t1("portal-op-delete-group-title", "group", &g.name),
            "apps",
        ),
        question: tr.t2(
            "portal-op-delete-group-question",
            "group",
            &g.name,
            "app",
            &a.name,
        ),
        consequences: vec![
            tr.t1("portal-op-delete-group-orgs", "group", &g.name),
            tr.t("portal-op-delete-group-roles-stay"),
        ],
        action: format!("/portal/admin/apps/{app}/role-groups/{group}/delete"),
        confirm_label: say::DELETE_GROUP,
        cancel: app_url(&app, "groups"),
    }
    .into_response())
}

async fn delete_group(
    op: Operator,
    Path((app, group)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let app = app_in_path(&app)?;
    let group = group_in_path(&group)?;
    match service::delete_role_group(&op.ctx(), &app, &group).await {
        Ok(()) => {
            op.user.set_flash(tx(say::GROUP_DELETED)).await;
            Ok(see_other(&app_url(&app, "groups")))
        }
        Err(e) if e.kind == ErrorKind::Conflict => {
            let mut p = app_page(&op, &app).await?;
            if let Some(g) = p.groups.iter_mut().find(|g| g.id == group.as_str()) {
                g.error = Some(e.message);
            }
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
