//! Operator pages about organizations: `/portal/admin` (every org, search, create one) and
//! `/portal/admin/orgs/{org_id}/apps` (the org's app links: link, unlink, allowed role groups).
//!
//! Owns: these pages. Must not touch: link rules (allowed groups inside the parent's,
//! `admin::service::check_link`), the org rules (`admin::service::create_org`).

use super::Operator;
use crate::admin::dto::{LinkCreate, LinkPatch, OrgCreate};
use crate::admin::scope::OrgScope;
use crate::admin::service::{
    self, ServiceError, all_apps, all_orgs_with_parent, page_request, page_vec,
};
use crate::domain::{AppId, Org, OrgId, OrgStatus, RoleGroupId, Slug};
use crate::portal::view::{FieldErrors, see_other};
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
use std::collections::{BTreeMap, BTreeSet};

mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-nav-operator");
    pub const BAD_LIMIT: Msg = Msg::new("portal-children-bad-limit");
    pub const NO_PARENT: Msg = Msg::new("portal-op-no-parent");
    pub const SLUG_TAKEN: Msg = Msg::new("portal-slug-taken");
    pub const LINKED: Msg = Msg::new("portal-op-linked");
    pub const GROUPS_SAVED: Msg = Msg::new("portal-op-groups-saved");
    pub const UNLINKED: Msg = Msg::new("portal-op-unlinked");
    pub const PICK_APP: Msg = Msg::new("portal-op-pick-app");
    pub const UNLINK: Msg = Msg::new("portal-op-unlink-confirm");
}

/// A sentence of this page in the request's language.
fn tx(m: crate::i18n::Msg) -> String {
    crate::portal::view::current_tr().msg(m)
}

pub fn routes() -> Router<crate::portal::PortalCtx> {
    Router::new()
        .route("/portal/admin", get(list))
        .route("/portal/admin/orgs", post(create))
        .route("/portal/admin/orgs/{org_id}/apps", get(links).post(link))
        .route(
            "/portal/admin/orgs/{org_id}/apps/{app_id}",
            post(save_groups),
        )
        .route(
            "/portal/admin/orgs/{org_id}/apps/{app_id}/unlink",
            get(confirm_unlink).post(unlink),
        )
}

// ---------------------------------------------------------------------------------------
// All organizations

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent: Option<String>,
    pub active: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    /// Short name of the parent org (optional).
    #[serde(default)]
    pub parent: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/admin/orgs.html")]
pub struct OrgsPage {
    pub l: Layout,
    pub q: ListParams,
    pub orgs: Vec<OrgRow>,
    pub total: usize,
    pub older: Option<String>,
    /// The first page of the same search.
    pub first: String,
    pub form: CreateForm,
    pub errors: FieldErrors,
}

fn matches(o: &Org, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty()
        || o.name.to_lowercase().contains(&q)
        || o.slug.as_str().contains(&q)
        || o.id.as_str().to_lowercase().contains(&q)
        || o.branding
            .display_name
            .as_deref()
            .is_some_and(|n| n.to_lowercase().contains(&q))
}

async fn orgs_page(op: &Operator, q: &ListParams) -> Result<OrgsPage, PortalError> {
    let req = page_request(q.limit, Some(q.cursor.clone()))
        .map_err(|_| PortalError::bad_request(tx(say::BAD_LIMIT)))?;
    let all = all_orgs_with_parent(op.admin.storage.as_ref(), None).await?;
    let names: BTreeMap<OrgId, String> =
        all.iter().map(|o| (o.id.clone(), o.name.clone())).collect();
    let found: Vec<Org> = all.into_iter().filter(|o| matches(o, &q.q)).collect();
    let total = found.len();
    let page = page_vec(found, |o| o.id.to_string(), &req);
    Ok(OrgsPage {
        l: op.layout(&tx(say::TITLE), "admin"),
        orgs: page
            .items
            .iter()
            .map(|o| OrgRow {
                id: o.id.to_string(),
                name: o.name.clone(),
                slug: o.slug.to_string(),
                parent: o.parent_id.as_ref().and_then(|p| names.get(p).cloned()),
                active: o.status == OrgStatus::Active,
            })
            .collect(),
        total,
        older: page.next.map(|c| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            if !q.q.trim().is_empty() {
                s.append_pair("q", q.q.trim());
            }
            s.append_pair("cursor", &c);
            if let Some(l) = q.limit {
                s.append_pair("limit", &l.to_string());
            }
            format!("/portal/admin?{}", s.finish())
        }),
        first: match q.q.trim() {
            "" => "/portal/admin".to_owned(),
            t => format!(
                "/portal/admin?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("q", t)
                    .finish()
            ),
        },
        q: q.clone(),
        form: CreateForm::default(),
        errors: FieldErrors::default(),
    })
}

async fn list(op: Operator, Query(q): Query<ListParams>) -> Result<Response, PortalError> {
    Ok(orgs_page(&op, &q).await?.into_response())
}

async fn create(op: Operator, CsrfForm(f): CsrfForm<CreateForm>) -> Result<Response, PortalError> {
    let mut errors = FieldErrors::default();
    let slug = Slug::parse(f.slug.trim())
        .map_err(|e| errors.add("slug", sentence("short name", &e.message)))
        .ok();
    if let Err(e) = crate::domain::validate_name(f.name.trim()) {
        errors.add("name", sentence("name", &e.message));
    }
    let parent = match f.parent.trim() {
        "" => None,
        p => match Slug::parse(p) {
            Ok(s) => match op.admin.storage.get_org_by_slug(&s).await? {
                Some(o) => Some(o.id),
                None => {
                    errors.add("parent", tx(say::NO_PARENT));
                    None
                }
            },
            Err(_) => {
                errors.add("parent", tx(say::NO_PARENT));
                None
            }
        },
    };
    if let (Some(slug), true) = (slug, errors.is_empty()) {
        let req = OrgCreate {
            id: None,
            slug,
            name: f.name.trim().to_owned(),
            status: None,
            parent_id: parent,
            branding: None,
        };
        match service::create_org(&op.ctx(), req).await {
            Ok(o) => {
                op.user
                    .set_flash(crate::portal::view::current_tr().t1(
                        "portal-children-created",
                        "name",
                        &o.name,
                    ))
                    .await;
                return Ok(see_other(&format!("/portal/admin/orgs/{}/apps", o.id)));
            }
            Err(e) if e.field.as_deref() == Some("slug") => errors.add("slug", tx(say::SLUG_TAKEN)),
            Err(e) if e.field.as_deref() == Some("name") => {
                errors.add("name", sentence("name", &e.message))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut p = orgs_page(&op, &ListParams::default()).await?;
    p.form = f;
    p.errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

// ---------------------------------------------------------------------------------------
// An org's app links

pub struct GroupChoice {
    pub id: String,
    pub name: String,
    pub roles: String,
    pub allowed: bool,
}

pub struct LinkRow {
    pub app_id: String,
    pub app_name: String,
    pub groups: Vec<GroupChoice>,
    /// A refused change of this link, in plain words.
    pub error: Option<String>,
    /// JIT, default roles, connections (`link_settings`).
    pub settings: super::link_settings::LinkSettings,
}

pub struct AppChoice {
    pub id: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/admin/links.html")]
pub struct LinksPage {
    pub l: Layout,
    pub org_id: String,
    pub org_name: String,
    pub parent_name: Option<String>,
    pub links: Vec<LinkRow>,
    pub unlinked: Vec<AppChoice>,
    pub errors: FieldErrors,
}

pub(super) fn app_in_path(s: &str) -> Result<AppId, PortalError> {
    s.parse().map_err(|_| PortalError::NotFound)
}

pub(super) async fn links_page(op: &Operator, scope: &OrgScope) -> Result<LinksPage, PortalError> {
    let s = op.admin.storage.as_ref();
    let org = scope.db().org().await?;
    let parent_name = match &org.parent_id {
        Some(p) => s.get_org(p).await?.map(|o| o.name),
        None => None,
    };
    let mut links = Vec::new();
    let apps = all_apps(s).await?;
    let app_name = |id: &AppId| {
        apps.iter()
            .find(|a| &a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let linked = scope.db().links().await?;
    let mut connections = scope.db().connections().await?;
    connections.sort_by(|a, b| a.name.cmp(&b.name));
    for l in &linked {
        let app_groups = s.list_role_groups(&l.app_id).await?;
        let role_names: BTreeMap<_, _> = s
            .list_roles(&l.app_id)
            .await?
            .into_iter()
            .map(|r| (r.value, r.name))
            .collect();
        let app_mfa = apps
            .iter()
            .find(|a| a.id == l.app_id)
            .map(|a| a.mfa)
            .unwrap_or_default();
        let settings =
            super::link_settings::view(l, app_mfa, &app_groups, &role_names, &connections);
        let groups = app_groups
            .into_iter()
            .map(|g| GroupChoice {
                allowed: l.allowed_role_groups.contains(&g.id),
                id: g.id.to_string(),
                roles: g
                    .roles
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                name: g.name,
            })
            .collect();
        links.push(LinkRow {
            app_id: l.app_id.to_string(),
            app_name: app_name(&l.app_id),
            groups,
            error: None,
            settings,
        });
    }
    let taken: BTreeSet<&AppId> = linked.iter().map(|l| &l.app_id).collect();
    Ok(LinksPage {
        l: op.layout(
            &crate::portal::view::current_tr().t1("portal-op-apps-of", "org", &org.name),
            "admin",
        ),
        org_id: org.id.to_string(),
        org_name: org.name.clone(),
        parent_name,
        links,
        unlinked: apps
            .iter()
            .filter(|a| !taken.contains(&a.id))
            .map(|a| AppChoice {
                id: a.id.to_string(),
                name: a.name.clone(),
            })
            .collect(),
        errors: FieldErrors::default(),
    })
}

async fn links(op: Operator, Path(org): Path<String>) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    Ok(links_page(&op, &scope).await?.into_response())
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    pub app_id: String,
}

/// A refused link change, in words for the page.
pub(super) fn link_refusal(e: &ServiceError) -> String {
    let m = e.message.trim();
    match e.field.as_deref() {
        Some(f) if f.contains("allowed_role_groups") => sentence("allowed role groups", m),
        _ => {
            let m = crate::portal::service_text::localize(m);
            if m.ends_with('.') { m } else { format!("{m}.") }
        }
    }
}

async fn link(
    op: Operator,
    Path(org): Path<String>,
    CsrfForm(f): CsrfForm<LinkForm>,
) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    let refused = match f.app_id.parse::<AppId>() {
        Err(_) => tx(say::PICK_APP),
        Ok(app) => {
            let req = LinkCreate {
                app_id: app.clone(),
                allowed_role_groups: Vec::new(),
                auth_policy: None,
                jit: None,
                default_roles: Vec::new(),
                mfa: None,
            };
            match service::create_link(&scope.ctx(), scope.org(), req).await {
                Ok(_) => {
                    op.user.set_flash(tx(say::LINKED)).await;
                    return Ok(see_other(&format!(
                        "/portal/admin/orgs/{}/apps#link-{app}",
                        scope.org()
                    )));
                }
                Err(e) if e.kind == service::ErrorKind::Internal => return Err(e.into()),
                Err(e) => link_refusal(&e),
            }
        }
    };
    let mut p = links_page(&op, &scope).await?;
    p.errors.add("app_id", refused);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

/// `g.<group id>=on` for every checked group (plus `_csrf`).
async fn save_groups(
    op: Operator,
    Path((org, app)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    let app = app_in_path(&app)?;
    scope.db().link(&app).await?;
    let mut groups = Vec::new();
    for k in form.keys() {
        if let Some(id) = k.strip_prefix("g.") {
            groups.push(id.parse::<RoleGroupId>().map_err(|_| {
                PortalError::bad_request(
                    crate::portal::view::current_tr().t("portal-op-no-such-group"),
                )
            })?);
        }
    }
    let patch = LinkPatch {
        allowed_role_groups: Some(groups),
        ..LinkPatch::default()
    };
    match service::update_link(&scope.ctx(), scope.org(), &app, patch).await {
        Ok(_) => {
            op.user.set_flash(tx(say::GROUPS_SAVED)).await;
            Ok(see_other(&format!(
                "/portal/admin/orgs/{}/apps#link-{app}",
                scope.org()
            )))
        }
        Err(e) if e.kind == service::ErrorKind::Internal => Err(e.into()),
        Err(e) => {
            let mut p = links_page(&op, &scope).await?;
            if let Some(row) = p.links.iter_mut().find(|r| r.app_id == app.as_str()) {
                row.error = Some(link_refusal(&e));
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}

async fn confirm_unlink(
    op: Operator,
    Path((org, app)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    let app = app_in_path(&app)?;
    scope.db().link(&app).await?;
    let o = scope.db().org().await?;
    let a = service::require_app(op.admin.storage.as_ref(), &app).await?;
    let revokes = a
        .revoke_on
        .contains(&crate::domain::MemberEvent::OrgUnlinked);
    let tr = crate::portal::view::current_tr();
    let mut consequences = vec![tr.t2(
        "portal-op-unlink-no-sign-in",
        "org",
        &o.name,
        "app",
        &a.name,
    )];
    consequences.push(if revokes {
        tr.t1("portal-op-unlink-revoked", "app", &a.name)
    } else {
        tr.t1("portal-op-unlink-not-revoked", "app", &a.name)
    });
    Ok(crate::portal::domains::ConfirmPage {
        l: op.layout(&tr.t1("portal-op-unlink-title", "app", &a.name), "admin"),
        question: tr.t2("portal-op-unlink-question", "app", &a.name, "org", &o.name),
        consequences,
        action: format!("/portal/admin/orgs/{}/apps/{}/unlink", o.id, a.id),
        confirm_label: say::UNLINK,
        cancel: format!("/portal/admin/orgs/{}/apps", o.id),
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

async fn unlink(
    op: Operator,
    Path((org, app)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    let app = app_in_path(&app)?;
    match service::delete_link(&scope.ctx(), scope.org(), &app).await {
        Ok(()) => {
            op.user.set_flash(tx(say::UNLINKED)).await;
            Ok(see_other(&format!(
                "/portal/admin/orgs/{}/apps",
                scope.org()
            )))
        }
        Err(e) if e.code == "in_use" => {
            let mut p = links_page(&op, &scope).await?;
            if let Some(row) = p.links.iter_mut().find(|r| r.app_id == app.as_str()) {
                row.error = Some(link_refusal(&e));
            }
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
