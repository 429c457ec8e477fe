//! Members of an org: the list (search `q`, filters `status`, `role`, `app`; `cursor`/`limit`
//! paging), a member's page with the forms that change their app roles (only roles inside the
//! org's allowed role groups are offered) and org roles, and suspend / reactivate / remove —
//! suspend and remove behind a confirmation page that says what happens to the member's
//! sign-ins in each app (refresh tokens revoked at once when the app subscribes to the event).
//!
//! Every request goes through `PortalScope` (the API's rights table) and every write through
//! the same functions as the admin API (`admin::users::change_member`, `remove_member`: the
//! scope's org-role limits, then `admin::service`).
//!
//! Owns: these pages and their sentences. Must not touch: rights, validation, storage writes.

use super::PortalCtx;
use super::form::{CsrfForm, many};
use super::names::{app_names, apps_in, roles_in_words};
use super::scope::PortalScope;
use super::view::{
    FieldErrors, Layout, PageResult, PortalError, Section, current_tr, render, see_other,
};
use crate::admin::dto::{
    MemberPatch, MemberStatus as DtoStatus, OrgRole as DtoOrgRole, RolesByApp,
};
use crate::admin::service::{self, StoreView, page_request};
use crate::domain::{AppId, AppRoles, MemberEvent, MemberStatus, OrgRole, RoleValue, UserId};
use crate::i18n::{Msg, Tr};
use crate::storage::MemberFilter;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub fn routes() -> Router<PortalCtx> {
    Router::new()
        .route("/portal/orgs/{org_id}/members", get(list))
        .route("/portal/orgs/{org_id}/members/{user_id}", get(detail))
        .route(
            "/portal/orgs/{org_id}/members/{user_id}/roles",
            post(set_roles),
        )
        .route(
            "/portal/orgs/{org_id}/members/{user_id}/org-roles",
            post(set_org_roles),
        )
        .route(
            "/portal/orgs/{org_id}/members/{user_id}/suspend",
            get(confirm_suspend).post(suspend),
        )
        .route(
            "/portal/orgs/{org_id}/members/{user_id}/reactivate",
            post(reactivate),
        )
        .route(
            "/portal/orgs/{org_id}/members/{user_id}/remove",
            get(confirm_remove).post(remove),
        )
}

/// Page sentences (catalog keys, `locales/*.ftl`).
mod text {
    use crate::i18n::Msg;
    pub const LIST_TITLE: Msg = Msg::new("portal-members-title");
    pub const MEMBER_TITLE: Msg = Msg::new("portal-member-title");
    pub const SUSPEND_TITLE: Msg = Msg::new("portal-suspend-title");
    pub const REMOVE_TITLE: Msg = Msg::new("portal-remove-title");
    pub const ROLES_SAVED: Msg = Msg::new("portal-member-roles-saved");
    pub const ORG_ROLES_SAVED: Msg = Msg::new("portal-member-org-roles-saved");
    pub const SUSPENDED: Msg = Msg::new("portal-member-suspended");
    pub const REACTIVATED: Msg = Msg::new("portal-member-reactivated");
    pub const REMOVED: Msg = Msg::new("portal-member-removed");
    pub const BAD_ROLE: Msg = Msg::new("portal-bad-role");
    pub const BAD_LIMIT: Msg = Msg::new("portal-members-limit-invalid");
}

/// A member's status as the pages show it (the badge's text).
fn status_label(s: MemberStatus, tr: Tr) -> String {
    tr.msg(match s {
        MemberStatus::Active => Msg::new("portal-member-status-active"),
        MemberStatus::Suspended => Msg::new("portal-member-status-suspended"),
        MemberStatus::Invited => Msg::new("portal-member-status-invited"),
    })
}

/// What an org role may do, in the member page's language.
pub fn org_role_about(r: OrgRole) -> Msg {
    match r {
        OrgRole::OrgAdmin => Msg::new("portal-org-role-org-admin"),
        OrgRole::MemberAdmin => Msg::new("portal-org-role-member-admin"),
        OrgRole::Viewer => Msg::new("portal-org-role-viewer"),
    }
}

/// The three org roles, with what each may do.
pub const ORG_ROLES: [(OrgRole, Msg); 3] = [
    (OrgRole::OrgAdmin, Msg::new("portal-org-role-org-admin")),
    (
        OrgRole::MemberAdmin,
        Msg::new("portal-org-role-member-admin"),
    ),
    (OrgRole::Viewer, Msg::new("portal-org-role-viewer")),
];

fn dto_org_role(r: OrgRole) -> DtoOrgRole {
    r.into()
}

/// One role checkbox.
pub struct RoleChoice {
    /// `app:role`, the form value.
    pub value: String,
    pub label: String,
    pub checked: bool,
    /// Held, but outside the org's allowed role groups now (uncheck to drop it).
    pub outside: bool,
    /// A stable element id.
    pub id: String,
}

/// The role checkboxes of one app.
pub struct AppChoices {
    pub app_id: String,
    pub app_name: String,
    pub roles: Vec<RoleChoice>,
}

/// The app roles the org may hand out (linked apps, allowed role groups), with `held` checked;
/// roles held outside them are listed too, marked.
pub async fn app_role_choices(
    p: &PortalScope,
    held: &AppRoles,
) -> Result<Vec<AppChoices>, PortalError> {
    let c = p.scope().ctx();
    let s = c.storage;
    let allowed = service::allowed_roles_by_app(&StoreView(s), p.org_id()).await?;
    let apps: BTreeSet<&AppId> = allowed.keys().chain(held.keys()).collect();
    let mut out = Vec::new();
    for app in apps {
        let names: BTreeMap<RoleValue, String> = s
            .list_roles(app)
            .await?
            .into_iter()
            .map(|r| (r.value, r.name))
            .collect();
        let app_name = s
            .get_app(app)
            .await?
            .map_or_else(|| app.to_string(), |a| a.name);
        let ok = allowed.get(app).cloned().unwrap_or_default();
        let mine = held.get(app).cloned().unwrap_or_default();
        let mut roles = Vec::new();
        for v in ok.union(&mine) {
            let label = match names.get(v) {
                Some(n) if n != v.as_str() => format!("{n} ({v})"),
                _ => v.to_string(),
            };
            roles.push(RoleChoice {
                value: format!("{app}:{v}"),
                label,
                checked: mine.contains(v),
                outside: !ok.contains(v),
                id: format!("role-{app}-{v}"),
            });
        }
        if !roles.is_empty() {
            out.push(AppChoices {
                app_id: app.to_string(),
                app_name,
                roles,
            });
        }
    }
    Ok(out)
}

/// `app:role` form values → roles per app; a malformed value is a field error on `roles`.
pub fn parse_roles(values: &[String]) -> Result<RolesByApp, PortalError> {
    let mut out: RolesByApp = BTreeMap::new();
    for v in values {
        let (a, r) = v
            .split_once(':')
            .ok_or_else(|| PortalError::invalid("roles", current_tr().msg(text::BAD_ROLE)))?;
        let app = AppId::parse(a)
            .map_err(|_| PortalError::invalid("roles", current_tr().msg(text::BAD_ROLE)))?;
        let role = RoleValue::parse(r)
            .map_err(|_| PortalError::invalid("roles", current_tr().msg(text::BAD_ROLE)))?;
        out.entry(app).or_default().push(role);
    }
    Ok(out)
}

/// Org role form values → org roles.
pub fn parse_org_roles(values: &[String]) -> Result<Vec<DtoOrgRole>, PortalError> {
    values
        .iter()
        .map(|v| {
            ORG_ROLES
                .iter()
                .find(|(r, _)| r.as_str() == v)
                .map(|(r, _)| dto_org_role(*r))
                .ok_or_else(|| PortalError::invalid("org_roles", current_tr().msg(text::BAD_ROLE)))
        })
        .collect()
}

/// A field error's form field: `roles.app_crm` → `roles`.
pub fn form_field(f: &str) -> String {
    f.split(['.', '[']).next().unwrap_or(f).to_owned()
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    role: Option<String>,
    app: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

pub struct Row {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    /// The status badge's text.
    pub status_label: String,
    pub org_roles: Vec<&'static str>,
    pub roles: String,
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/members.html")]
struct ListPage {
    l: Layout,
    base: String,
    rows: Vec<Row>,
    q: String,
    statuses: Vec<Opt>,
    roles: Vec<Opt>,
    apps: Vec<Opt>,
    next: Option<String>,
    first_page: Option<String>,
    can_invite: bool,
    invitations: String,
    total: usize,
}

/// The list's query values → the storage filter. `role` is an org role (`org_admin`) or
/// `app:role`; values that parse as neither are left out.
fn member_filter(
    q: Option<&str>,
    status: Option<&str>,
    role: Option<&str>,
    app: Option<&str>,
) -> MemberFilter {
    let status = status.and_then(|st| {
        [
            MemberStatus::Active,
            MemberStatus::Suspended,
            MemberStatus::Invited,
        ]
        .into_iter()
        .find(|x| x.as_str() == st)
    });
    let (mut org_role, mut app_role) = (None, None);
    if let Some(r) = role {
        match r.split_once(':') {
            Some((a, v)) => {
                app_role = AppId::parse(a).ok().zip(RoleValue::parse(v).ok());
            }
            None => org_role = ORG_ROLES.iter().map(|(o, _)| *o).find(|o| o.as_str() == r),
        }
    }
    MemberFilter {
        search: q
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        status,
        org_role,
        app: app.and_then(|a| AppId::parse(a).ok()),
        app_role,
    }
}

fn opt(value: &str, label: &str, current: Option<&str>) -> Opt {
    Opt {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: current == Some(value),
    }
}

/// `GET /portal/orgs/{org_id}/members`.
async fn list(p: PortalScope, Query(q): Query<ListQuery>) -> PageResult {
    let tr = p.tr();
    let c = p.scope().ctx();
    let s = c.storage;
    let limit = match q.limit.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<u32>()
                .map_err(|_| PortalError::invalid("limit", tr.msg(text::BAD_LIMIT)))?,
        ),
        None => None,
    };
    let page_req = page_request(limit, q.cursor.clone())?;
    let filt = |v: &Option<String>| v.as_deref().filter(|x| !x.is_empty()).map(str::to_owned);
    let (status, role, app) = (filt(&q.status), filt(&q.role), filt(&q.app));
    // Search, filters and paging run in the database (`MembershipStore::search_members`); a
    // value no form offers (hand-edited URL) filters nothing.
    let filter = member_filter(
        q.q.as_deref(),
        status.as_deref(),
        role.as_deref(),
        app.as_deref(),
    );
    let (page, total) = p.scope().db().search_members(&filter, &page_req).await?;
    let apps = apps_in(page.items.iter().map(|r| &r.membership.roles));
    let names = app_names(s, &apps).await?;
    let rows = page
        .items
        .iter()
        .map(|r| {
            let m = &r.membership;
            Row {
                user_id: m.user_id.to_string(),
                email: r.user.email.to_string(),
                name: r.user.name.clone().unwrap_or_default(),
                status: m.status.as_str(),
                status_label: status_label(m.status, tr),
                org_roles: m.org_roles.iter().map(|r| r.as_str()).collect(),
                roles: roles_in_words(&m.roles, &names),
            }
        })
        .collect();
    // The filter choices.
    let statuses = vec![
        opt(
            "",
            &tr.t("portal-members-any-status"),
            status.as_deref().or(Some("")),
        ),
        opt(
            "active",
            &tr.t("portal-members-filter-active"),
            status.as_deref(),
        ),
        opt(
            "suspended",
            &tr.t("portal-members-filter-suspended"),
            status.as_deref(),
        ),
        opt(
            "invited",
            &tr.t("portal-members-filter-invited"),
            status.as_deref(),
        ),
    ];
    let allowed = service::allowed_roles_by_app(&StoreView(s), p.org_id()).await?;
    let mut roles = vec![opt(
        "",
        &tr.t("portal-members-any-role"),
        role.as_deref().or(Some("")),
    )];
    for (r, _) in ORG_ROLES {
        roles.push(opt(
            r.as_str(),
            &tr.t1("portal-members-org-role-option", "role", r.as_str()),
            role.as_deref(),
        ));
    }
    let mut apps = vec![opt(
        "",
        &tr.t("portal-members-any-app"),
        app.as_deref().or(Some("")),
    )];
    for (a, vs) in &allowed {
        let name = s
            .get_app(a)
            .await?
            .map_or_else(|| a.to_string(), |x| x.name);
        apps.push(opt(a.as_str(), &name, app.as_deref()));
        for v in vs {
            roles.push(opt(
                &format!("{a}:{v}"),
                &format!("{name}: {v}"),
                role.as_deref(),
            ));
        }
    }
    // Links keep the filters.
    let base = p.href(Section::Members);
    let mut keep_q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("q", &q.q),
        ("status", &status),
        ("role", &role),
        ("app", &app),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            keep_q.append_pair(k, v);
        }
    }
    if let Some(l) = limit {
        keep_q.append_pair("limit", &l.to_string());
    }
    let kept = keep_q.finish();
    let next = page.next.map(|n| {
        let mut s = url::form_urlencoded::Serializer::new(kept.clone());
        s.append_pair("cursor", &n);
        format!("{base}?{}", s.finish())
    });
    let first_page = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|_| format!("{base}?{kept}"));
    let page = ListPage {
        l: p.layout(&tr.msg(text::LIST_TITLE), Section::Members),
        base,
        rows,
        q: q.q.clone().unwrap_or_default(),
        statuses,
        roles,
        apps,
        next,
        first_page,
        can_invite: p.may_change(Section::Invitations),
        invitations: p.href(Section::Invitations),
        total: usize::try_from(total).unwrap_or(usize::MAX),
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------
// One member

pub struct OrgRoleChoice {
    pub value: &'static str,
    pub about: String,
    pub checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/member.html")]
struct MemberPage {
    l: Layout,
    base: String,
    user_id: String,
    email: String,
    name: String,
    status: &'static str,
    status_label: String,
    version: i64,
    apps: Vec<AppChoices>,
    org_roles: Vec<OrgRoleChoice>,
    can_edit: bool,
    is_self: bool,
    errors: FieldErrors,
}

fn user_of(raw: &str) -> Result<UserId, PortalError> {
    UserId::parse(raw).map_err(|_| PortalError::NotFound)
}

async fn member_page(
    p: &PortalScope,
    user: &UserId,
    errors: FieldErrors,
    status: StatusCode,
) -> PageResult {
    let m = p.scope().db().member(user).await?;
    let u = p.scope().ctx().storage.get_user(user).await?;
    let apps = app_role_choices(p, &m.roles).await?;
    let tr = p.tr();
    let page = MemberPage {
        l: p.layout(&tr.msg(text::MEMBER_TITLE), Section::Members),
        base: p.href(Section::Members),
        user_id: m.user_id.to_string(),
        email: u.as_ref().map(|u| u.email.to_string()).unwrap_or_default(),
        name: u.and_then(|u| u.name).unwrap_or_default(),
        status: m.status.as_str(),
        status_label: status_label(m.status, tr),
        version: m.version,
        apps,
        org_roles: ORG_ROLES
            .iter()
            .map(|(r, _)| OrgRoleChoice {
                value: r.as_str(),
                about: tr.msg(org_role_about(*r)),
                checked: m.org_roles.contains(r),
            })
            .collect(),
        can_edit: p.may_change(Section::Members),
        is_self: &p.user().user_id == user,
        errors,
    };
    Ok(render(status, &page))
}

/// `GET /portal/orgs/{org_id}/members/{user_id}`.
async fn detail(p: PortalScope, Path((_, user_id)): Path<(String, String)>) -> PageResult {
    member_page(&p, &user_of(&user_id)?, FieldErrors::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct RolesForm {
    #[serde(default, deserialize_with = "many")]
    roles: Vec<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct OrgRolesForm {
    #[serde(default, deserialize_with = "many")]
    org_roles: Vec<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct VersionForm {
    version: Option<String>,
}

fn version(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|v| v.parse().ok())
}

/// A change's failure: a field error re-renders the member page with it; others are pages.
async fn or_rerender(
    p: &PortalScope,
    user: &UserId,
    r: Result<(), PortalError>,
    saved: Msg,
) -> PageResult {
    match r {
        Ok(()) => {
            p.user().set_flash(p.tr().msg(saved)).await;
            Ok(see_other(&format!("{}/{}", p.href(Section::Members), user)))
        }
        Err(PortalError::Invalid {
            message,
            field,
            status,
        }) => {
            let mut e = FieldErrors::new();
            e.add(field.as_deref().map_or("form".into(), form_field), message);
            member_page(p, user, e, status).await
        }
        Err(e) => Err(e),
    }
}

async fn patch(p: &PortalScope, user: &UserId, patch: MemberPatch) -> Result<(), PortalError> {
    crate::admin::users::change_member(p.scope(), user, patch).await?;
    Ok(())
}

/// `POST …/members/{user_id}/roles`.
async fn set_roles(
    p: PortalScope,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<RolesForm>,
) -> PageResult {
    let user = user_of(&user_id)?;
    let r = match parse_roles(&f.roles) {
        Ok(roles) => {
            patch(
                &p,
                &user,
                MemberPatch {
                    version: version(&f.version),
                    roles: Some(roles),
                    ..MemberPatch::default()
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    or_rerender(&p, &user, r, text::ROLES_SAVED).await
}

/// `POST …/members/{user_id}/org-roles`.
async fn set_org_roles(
    p: PortalScope,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<OrgRolesForm>,
) -> PageResult {
    let user = user_of(&user_id)?;
    let r = match parse_org_roles(&f.org_roles) {
        Ok(org_roles) => {
            patch(
                &p,
                &user,
                MemberPatch {
                    version: version(&f.version),
                    org_roles: Some(org_roles),
                    ..MemberPatch::default()
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    or_rerender(&p, &user, r, text::ORG_ROLES_SAVED).await
}

/// What happens to a member's sign-ins in one app on an event.
pub struct Consequence {
    pub app_name: String,
    pub revoked_now: bool,
    pub access_minutes: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/member_confirm.html")]
struct ConfirmPage {
    l: Layout,
    base: String,
    user_id: String,
    email: String,
    action: &'static str,
    removing: bool,
    version: i64,
    consequences: Vec<Consequence>,
    is_self: bool,
}

async fn confirm(p: &PortalScope, user_id: &str, removing: bool) -> PageResult {
    let user = user_of(user_id)?;
    let m = p.scope().db().member(&user).await?;
    let c = p.scope().ctx();
    let event = if removing {
        MemberEvent::MemberRemoved
    } else {
        MemberEvent::MemberSuspended
    };
    let mut consequences = Vec::new();
    for link in p.scope().db().links().await? {
        if let Some(app) = c.storage.get_app(&link.app_id).await? {
            consequences.push(Consequence {
                app_name: app.name.clone(),
                revoked_now: app.revoke_on.contains(&event),
                access_minutes: (app.token_lifetimes.access_token_secs + 59) / 60,
            });
        }
    }
    let email = c
        .storage
        .get_user(&user)
        .await?
        .map(|u| u.email.to_string())
        .unwrap_or_default();
    let (title, action) = if removing {
        (text::REMOVE_TITLE, "remove")
    } else {
        (text::SUSPEND_TITLE, "suspend")
    };
    let page = ConfirmPage {
        l: p.layout(&p.tr().msg(title), Section::Members),
        base: p.href(Section::Members),
        user_id: user.to_string(),
        email,
        action,
        removing,
        version: m.version,
        consequences,
        is_self: p.user().user_id == user,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET …/members/{user_id}/suspend`: what suspending does, and the button.
async fn confirm_suspend(p: PortalScope, Path((_, u)): Path<(String, String)>) -> PageResult {
    confirm(&p, &u, false).await
}

/// `GET …/members/{user_id}/remove`: what removing does, and the button.
async fn confirm_remove(p: PortalScope, Path((_, u)): Path<(String, String)>) -> PageResult {
    confirm(&p, &u, true).await
}

async fn set_status(
    p: PortalScope,
    user_id: &str,
    f: VersionForm,
    status: MemberStatus,
    saved: Msg,
) -> PageResult {
    let user = user_of(user_id)?;
    let r = patch(
        &p,
        &user,
        MemberPatch {
            version: version(&f.version),
            status: Some(DtoStatus::from(status)),
            ..MemberPatch::default()
        },
    )
    .await;
    or_rerender(&p, &user, r, saved).await
}

/// `POST …/members/{user_id}/suspend`.
async fn suspend(
    p: PortalScope,
    Path((_, u)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<VersionForm>,
) -> PageResult {
    set_status(p, &u, f, MemberStatus::Suspended, text::SUSPENDED).await
}

/// `POST …/members/{user_id}/reactivate`.
async fn reactivate(
    p: PortalScope,
    Path((_, u)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<VersionForm>,
) -> PageResult {
    set_status(p, &u, f, MemberStatus::Active, text::REACTIVATED).await
}

/// `POST …/members/{user_id}/remove`.
async fn remove(
    p: PortalScope,
    Path((_, u)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<VersionForm>,
) -> PageResult {
    let user = user_of(&u)?;
    crate::admin::users::remove_member(p.scope(), &user).await?;
    p.user().set_flash(p.tr().msg(text::REMOVED)).await;
    Ok(see_other(&p.href(Section::Members)))
}
