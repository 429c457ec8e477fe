//! Operator pages about apps: `/portal/admin/apps` (list, create) and
//! `/portal/admin/apps/{app_id}` (settings, client secret rotation; the page also lists the
//! app's roles and role groups, whose forms post to `roles`).
//!
//! Owns: these pages and the one-time display of a client secret. Must not touch: app rules
//! and secret handling (`admin::service::create_app` / `update_app`).

use super::Operator;
use crate::admin::dto::{AppCreate, AppPatch, ClientType};
use crate::admin::service::{self, ServiceError, page_request, require_app};
use crate::domain::{App, AppId, MemberEvent, RoleGroup};
use crate::portal::view::{FieldErrors, current_tr, see_other};
use crate::portal::wording::sentence;
use crate::portal::{CsrfForm, Layout, PortalError};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-op-apps");
    pub const BAD_LIMIT: Msg = Msg::new("portal-op-apps-bad-limit");
    pub const SAVED: Msg = Msg::new("portal-op-settings-saved");
    pub const CHANGED_MEANWHILE: Msg = Msg::new("portal-op-app-changed-meanwhile");
}

/// A sentence of this page in the request's language.
fn tx(m: crate::i18n::Msg) -> String {
    crate::portal::view::current_tr().msg(m)
}

pub fn routes() -> Router<crate::portal::PortalCtx> {
    Router::new()
        .route("/portal/admin/apps", get(list).post(create))
        .route("/portal/admin/apps/{app_id}", get(show).post(save))
        .route("/portal/admin/apps/{app_id}/rotate-secret", post(rotate))
        .route(
            "/portal/admin/apps/{app_id}/delete",
            get(confirm_delete).post(delete),
        )
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub public: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub name: String,
    /// `confidential` or `public`.
    #[serde(default)]
    pub client_type: String,
    /// One URI per line.
    #[serde(default)]
    pub redirect_uris: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/admin/apps.html")]
pub struct AppsPage {
    pub l: Layout,
    pub apps: Vec<AppRow>,
    pub older: Option<String>,
    pub paged: bool,
    pub form: CreateForm,
    pub errors: FieldErrors,
}

async fn apps_page(op: &Operator, q: &ListParams) -> Result<AppsPage, PortalError> {
    let req = page_request(q.limit, Some(q.cursor.clone()))
        .map_err(|_| PortalError::bad_request(tx(say::BAD_LIMIT)))?;
    let page = op.admin.storage.list_apps(&req).await?;
    Ok(AppsPage {
        l: op.layout(&tx(say::TITLE), "apps"),
        apps: page
            .items
            .iter()
            .map(|a| AppRow {
                id: a.id.to_string(),
                name: a.name.clone(),
                client_id: a.client_id.to_string(),
                public: a.client_type == crate::domain::ClientType::Public,
            })
            .collect(),
        older: page.next.map(|c| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            s.append_pair("cursor", &c);
            if let Some(l) = q.limit {
                s.append_pair("limit", &l.to_string());
            }
            format!("/portal/admin/apps?{}", s.finish())
        }),
        paged: !q.cursor.is_empty(),
        form: CreateForm {
            client_type: "confidential".into(),
            ..CreateForm::default()
        },
        errors: FieldErrors::default(),
    })
}

async fn list(op: Operator, Query(q): Query<ListParams>) -> Result<Response, PortalError> {
    Ok(apps_page(&op, &q).await?.into_response())
}

/// Non-empty trimmed lines.
pub(super) fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form field of an app error's path (`redirect_uris[0]` → `redirect_uris`).
fn app_field(path: &str) -> Option<(&'static str, &'static str)> {
    [
        ("post_logout_redirect_uris", "sign-out redirect URIs"),
        ("redirect_uris", "redirect URIs"),
        ("invite_ttl_secs", "invitation validity"),
        ("client_type", "client type"),
        ("name", "name"),
    ]
    .into_iter()
    .find(|(f, _)| path.starts_with(f))
}

/// Put a refused app write on its field; `None` when it belongs to no field of the form.
fn on_field(e: &ServiceError, errors: &mut FieldErrors) -> bool {
    match e.field.as_deref().and_then(app_field) {
        Some((field, label)) => {
            let at = e
                .field
                .as_deref()
                .and_then(|f| f.split_once('['))
                .and_then(|(_, i)| i.trim_end_matches(']').parse::<usize>().ok());
            let msg = sentence(label, &e.message);
            match at {
                Some(i) => errors.add(
                    field,
                    crate::portal::view::current_tr().t2(
                        "portal-op-line",
                        "line",
                        i + 1,
                        "problem",
                        &msg,
                    ),
                ),
                None => errors.add(field, msg),
            }
            true
        }
        None => false,
    }
}

fn client_type(s: &str) -> ClientType {
    if s == "public" {
        ClientType::Public
    } else {
        ClientType::Confidential
    }
}

/// The page that shows a new client secret, once.
#[derive(Template, WebTemplate)]
#[template(path = "portal/admin/secret.html")]
pub struct SecretPage {
    pub l: Layout,
    pub app_id: String,
    pub app_name: String,
    pub client_id: String,
    pub secret: Option<String>,
    pub created: bool,
}

async fn create(op: Operator, CsrfForm(f): CsrfForm<CreateForm>) -> Result<Response, PortalError> {
    let req = AppCreate {
        name: f.name.trim().to_owned(),
        client_type: Some(client_type(&f.client_type)),
        redirect_uris: lines(&f.redirect_uris),
        ..AppCreate::default()
    };
    match service::create_app(&op.ctx(), req).await {
        Ok((app, secret)) => Ok(SecretPage {
            l: op.layout(&format!("{} created", app.name), "apps"),
            app_id: app.id.to_string(),
            app_name: app.name.clone(),
            client_id: app.client_id.to_string(),
            secret,
            created: true,
        }
        .into_response()),
        Err(e) => {
            let mut errors = FieldErrors::default();
            if !on_field(&e, &mut errors) {
                return Err(e.into());
            }
            let mut p = apps_page(&op, &ListParams::default()).await?;
            p.form = f;
            p.errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------
// One app

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub redirect_uris: String,
    #[serde(default)]
    pub post_logout_redirect_uris: String,
    /// Days.
    #[serde(default)]
    pub invite_ttl_days: String,
    /// The app version the form was rendered from (form fields are text).
    #[serde(default)]
    pub version: String,
    /// The member events that revoke refresh tokens (`member_removed`…), checked.
    #[serde(default, deserialize_with = "crate::portal::form::many")]
    pub revoke_on: Vec<String>,
    /// Set by the form that shows the `revoke_on` boxes: without it, `revoke_on` is left as
    /// it is (no box checked must mean "none", not "not on this form").
    #[serde(default)]
    pub revoke_on_shown: Option<String>,
    /// The second-factor policy (`required`, `optional`, `off`); absent: left as it is.
    #[serde(default)]
    pub mfa: Option<String>,
}

/// One `revoke_on` checkbox of the settings form.
pub struct RevokeChoice {
    pub value: &'static str,
    pub label: String,
    pub checked: bool,
}

impl SettingsForm {
    fn of(a: &App) -> Self {
        Self {
            name: a.name.clone(),
            redirect_uris: a.redirect_uris.join("\n"),
            post_logout_redirect_uris: a.post_logout_redirect_uris.join("\n"),
            invite_ttl_days: format!("{}", a.invite_ttl_secs / 86_400),
            version: a.version.to_string(),
            revoke_on: a.revoke_on.iter().map(|e| e.as_str().to_owned()).collect(),
            revoke_on_shown: None,
            mfa: Some(a.mfa.as_str().to_owned()),
        }
    }

    /// The second-factor policy's radio buttons.
    pub fn mfa_choices(&self) -> Vec<super::link_settings::Check> {
        super::link_settings::mfa_choices(
            self.mfa
                .as_deref()
                .and_then(crate::domain::MfaPolicy::parse),
        )
    }

    /// The posted policy, when the form sent one.
    fn mfa_patch(&self) -> Result<Option<crate::admin::dto::MfaPolicy>, PortalError> {
        match self.mfa.as_deref() {
            None => Ok(None),
            Some(v) => crate::domain::MfaPolicy::parse(v)
                .map(|p| Some(p.into()))
                .ok_or_else(|| {
                    PortalError::bad_request(current_tr().t("portal-form-unknown-mfa-policy"))
                }),
        }
    }

    /// The `revoke_on` checkboxes.
    pub fn revoke_choices(&self) -> Vec<RevokeChoice> {
        let tr = current_tr();
        MemberEvent::ALL
            .iter()
            .map(|e| {
                let value = e.as_str();
                let key = match e {
                    MemberEvent::MemberRemoved => "portal-app-revoke-member-removed",
                    MemberEvent::MemberSuspended => "portal-app-revoke-member-suspended",
                    MemberEvent::RolesChanged => "portal-app-revoke-roles-changed",
                    MemberEvent::OrgSuspended => "portal-app-revoke-org-suspended",
                    MemberEvent::OrgUnlinked => "portal-app-revoke-org-unlinked",
                };
                RevokeChoice {
                    value,
                    label: tr.t(key),
                    checked: self.revoke_on.iter().any(|x| x == value),
                }
            })
            .collect()
    }

    /// The posted `revoke_on`, when the form showed it.
    fn revoke_patch(&self) -> Result<Option<Vec<crate::admin::dto::MemberEvent>>, PortalError> {
        if self.revoke_on_shown.is_none() {
            return Ok(None);
        }
        self.revoke_on
            .iter()
            .map(|v| {
                MemberEvent::ALL
                    .iter()
                    .find(|e| e.as_str() == v)
                    .map(|e| (*e).into())
                    .ok_or_else(|| {
                        PortalError::bad_request(
                            crate::portal::view::current_tr().t("portal-form-unknown-event"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

pub struct RoleRow {
    pub value: String,
    pub name: String,
    pub description: String,
    pub error: Option<String>,
}

pub struct RoleCheck {
    pub value: String,
    pub name: String,
    pub checked: bool,
}

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub roles: Vec<RoleCheck>,
    pub version: i64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/admin/app.html")]
pub struct AppPage {
    pub l: Layout,
    pub app_id: String,
    pub app_name: String,
    pub client_id: String,
    pub public: bool,
    pub settings: SettingsForm,
    pub settings_errors: FieldErrors,
    pub settings_note: Option<String>,
    pub roles: Vec<RoleRow>,
    pub role_form: RoleForm,
    pub role_errors: FieldErrors,
    pub groups: Vec<GroupRow>,
    /// The new group's name and its checked roles.
    pub group_name: String,
    pub group_roles: Vec<RoleCheck>,
    pub group_errors: FieldErrors,
}

pub(super) fn app_in_path(s: &str) -> Result<AppId, PortalError> {
    s.parse().map_err(|_| PortalError::NotFound)
}

pub(super) fn group_row(g: &RoleGroup, all: &[crate::domain::Role]) -> GroupRow {
    GroupRow {
        id: g.id.to_string(),
        name: g.name.clone(),
        roles: all
            .iter()
            .map(|r| RoleCheck {
                value: r.value.to_string(),
                name: r.name.clone(),
                checked: g.roles.contains(&r.value),
            })
            .collect(),
        version: g.version,
        error: None,
    }
}

/// The app page with empty forms; callers fill in what a refused write needs.
pub(super) async fn app_page(op: &Operator, id: &AppId) -> Result<AppPage, PortalError> {
    let s = op.admin.storage.as_ref();
    let app = require_app(s, id).await?;
    let mut roles = s.list_roles(id).await?;
    roles.sort_by(|a, b| a.value.as_str().cmp(b.value.as_str()));
    let mut groups = s.list_role_groups(id).await?;
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(AppPage {
        l: op.layout(&app.name, "apps"),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        client_id: app.client_id.to_string(),
        public: app.client_type == crate::domain::ClientType::Public,
        settings: SettingsForm::of(&app),
        settings_errors: FieldErrors::default(),
        settings_note: None,
        roles: roles
            .iter()
            .map(|r| RoleRow {
                value: r.value.to_string(),
                name: r.name.clone(),
                description: r.description.clone(),
                error: None,
            })
            .collect(),
        role_form: RoleForm::default(),
        role_errors: FieldErrors::default(),
        groups: groups.iter().map(|g| group_row(g, &roles)).collect(),
        group_name: String::new(),
        group_roles: roles
            .iter()
            .map(|r| RoleCheck {
                value: r.value.to_string(),
                name: r.name.clone(),
                checked: false,
            })
            .collect(),
        group_errors: FieldErrors::default(),
    })
}

async fn show(op: Operator, Path(app): Path<String>) -> Result<Response, PortalError> {
    let id = app_in_path(&app)?;
    Ok(app_page(&op, &id).await?.into_response())
}

async fn save(
    op: Operator,
    Path(app): Path<String>,
    CsrfForm(f): CsrfForm<SettingsForm>,
) -> Result<Response, PortalError> {
    let id = app_in_path(&app)?;
    let mut errors = FieldErrors::default();
    let ttl = match f.invite_ttl_days.trim().parse::<i64>() {
        Ok(d) if (1..=90).contains(&d) => Some(d * 86_400),
        _ => {
            errors.add(
                "invite_ttl_days",
                crate::portal::view::current_tr().t("portal-op-ttl-invalid"),
            );
            None
        }
    };
    if errors.is_empty() {
        let patch = AppPatch {
            version: f.version.trim().parse().ok(),
            name: Some(f.name.trim().to_owned()),
            redirect_uris: Some(lines(&f.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&f.post_logout_redirect_uris)),
            invite_ttl_secs: ttl,
            revoke_on: f.revoke_patch()?,
            mfa: f.mfa_patch()?,
            ..AppPatch::default()
        };
        match service::update_app(&op.ctx(), &id, patch).await {
            Ok(_) => {
                op.user.set_flash(tx(say::SAVED)).await;
                return Ok(see_other(&format!("/portal/admin/apps/{id}")));
            }
            Err(e) if e.code == "version_conflict" => {
                let mut p = app_page(&op, &id).await?;
                p.settings_note = Some(tx(say::CHANGED_MEANWHILE));
                return Ok((StatusCode::CONFLICT, p).into_response());
            }
            Err(e) => {
                if !on_field(&e, &mut errors) {
                    return Err(e.into());
                }
                if errors.has("invite_ttl_secs") {
                    let m = errors.get("invite_ttl_secs").unwrap_or_default().to_owned();
                    errors.add("invite_ttl_days", m);
                }
            }
        }
    }
    let mut p = app_page(&op, &id).await?;
    p.settings = f;
    p.settings_errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

async fn rotate(
    op: Operator,
    Path(app): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let id = app_in_path(&app)?;
    let patch = AppPatch {
        rotate_client_secret: Some(true),
        ..AppPatch::default()
    };
    let (app, secret) = service::update_app(&op.ctx(), &id, patch).await?;
    Ok(SecretPage {
        l: op.layout(
            &crate::portal::view::current_tr().t1("portal-op-new-secret-title", "app", &app.name),
            "apps",
        ),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        client_id: app.client_id.to_string(),
        secret,
        created: false,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Deleting an app

/// `GET /portal/admin/apps/{app_id}/delete`: what deleting the app takes with it.
async fn confirm_delete(op: Operator, Path(app): Path<String>) -> Result<Response, PortalError> {
    let id = app_in_path(&app)?;
    let s = op.admin.storage.as_ref();
    let a = require_app(s, &id).await?;
    let tr = current_tr();
    let mut orgs = Vec::new();
    for o in crate::admin::service::all_orgs_with_parent(s, None).await? {
        if s.get_link(&o.id, &id).await?.is_some() {
            orgs.push(o.name);
        }
    }
    orgs.sort();
    let roles = s.list_roles(&id).await?.len();
    let groups = s.list_role_groups(&id).await?.len();
    let mut consequences = Vec::new();
    if orgs.is_empty() {
        consequences.push(tr.t1("portal-app-delete-no-orgs", "app", &a.name));
    } else {
        consequences.push(tr.t3(
            "portal-app-delete-orgs",
            "app",
            &a.name,
            "count",
            orgs.len(),
            "orgs",
            orgs.join(", "),
        ));
    }
    consequences.push(tr.t3(
        "portal-app-delete-roles",
        "app",
        &a.name,
        "roles",
        roles,
        "groups",
        groups,
    ));
    consequences.push(tr.t2(
        "portal-app-delete-tokens",
        "app",
        &a.name,
        "client",
        &a.client_id,
    ));
    consequences.push(tr.t("portal-app-delete-final"));
    Ok(crate::portal::confirm::Confirm {
        l: op.layout(&tr.t1("portal-app-delete-title", "app", &a.name), "apps"),
        question: tr.t1("portal-app-delete-question", "app", &a.name),
        consequences,
        action: format!("/portal/admin/apps/{id}/delete"),
        confirm_label: tr.t("portal-app-delete-button"),
        cancel: format!("/portal/admin/apps/{id}"),
    }
    .into_response())
}

/// `POST /portal/admin/apps/{app_id}/delete`: the API's `DELETE /apps/{id}?cascade=true`
/// (`admin::service::delete_app`), audited as the person.
async fn delete(
    op: Operator,
    Path(app): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let id = app_in_path(&app)?;
    let a = require_app(op.admin.storage.as_ref(), &id).await?;
    service::delete_app(&op.ctx(), &id, true).await?;
    op.user
        .set_flash(current_tr().t1("portal-app-deleted", "app", &a.name))
        .await;
    Ok(see_other("/portal/admin/apps"))
}
