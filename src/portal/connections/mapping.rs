//! The wizard's mapping step, `GET|POST …/connections/{connection_id}/mapping`: which SAML
//! attribute or OIDC claim carries the email, the display name and the groups (a preset
//! picker pre-fills them: `?preset=okta`), and which groups give which roles — only roles the
//! org may grant (the roles of its allowed role groups, per linked app), offered as choices.
//!
//! Form: `email`, `name`, `groups`; row `i` has `group_i` and one checkbox `role_i_k` per
//! grantable role `k` whose value is `<app_id> <role>` (checked again by the service).
//!
//! Owns: this step. Must not touch: the role rules (`admin::service::check_connection`).

use super::presets::{self, find};
use super::setup::FieldError;
use super::views::{Errors, MappingPage, MappingRow, PresetLink, RoleChoice};
use super::{Fields, base, connection_id, field, service_errors};
use crate::admin::dto::{ConnectionConfig as DtoConfig, ConnectionPatch, GroupRoleMapping};
use crate::admin::service::{self, StoreView};
use crate::domain::{AppId, ConnectionConfig, GroupRoleMapping as DomainMapping, RoleValue};
use crate::portal::view::{current_tr, render, see_other};
use crate::portal::{CsrfForm, PortalError, PortalScope, Section};
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Empty rows offered below the saved ones.
const BLANK_ROWS: usize = 3;
/// Rows read from a submitted form.
const MAX_ROWS: usize = 100;

#[derive(Deserialize)]
pub(super) struct MappingQuery {
    preset: Option<String>,
}

/// The roles the org may grant, as `(app_id, app name, role)`, in a stable order.
async fn grantable(scope: &PortalScope) -> Result<Vec<(AppId, String, RoleValue)>, PortalError> {
    let s = scope.scope();
    let ctx = s.ctx();
    let view = StoreView(ctx.storage);
    let allowed = service::allowed_roles_by_app(&view, s.org())
        .await
        .map_err(crate::http::ApiError::from)?;
    let mut out = Vec::new();
    for (app, roles) in allowed {
        let name = service::View::app(&view, &app)
            .await
            .map_err(crate::http::ApiError::from)?
            .map(|a| a.name)
            .unwrap_or_else(|| app.to_string());
        for r in roles {
            out.push((app.clone(), name.clone(), r));
        }
    }
    Ok(out)
}

/// The names of the apps linked to the org, by id (for showing mappings).
pub(super) async fn app_names(scope: &PortalScope) -> Result<BTreeMap<AppId, String>, PortalError> {
    Ok(grantable(scope)
        .await?
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect())
}

/// A group → roles mapping in words: `admins → CRM: finance, sales`.
pub(super) fn mapping_words(m: &DomainMapping, names: &BTreeMap<AppId, String>) -> String {
    let roles: Vec<&str> = m.roles.iter().map(|r| r.as_str()).collect();
    let app = names
        .get(&m.app_id)
        .cloned()
        .unwrap_or_else(|| m.app_id.to_string());
    format!("{} \u{2192} {app}: {}", m.group, roles.join(", "))
}

fn rows_of(saved: &[DomainMapping], choices: &[(AppId, String, RoleValue)]) -> Vec<MappingRow> {
    // One row per group: its roles of every app.
    let mut by_group: BTreeMap<&str, Vec<(&AppId, &RoleValue)>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for m in saved {
        if !by_group.contains_key(m.group.as_str()) {
            order.push(m.group.as_str());
        }
        let e = by_group.entry(m.group.as_str()).or_default();
        e.extend(m.roles.iter().map(|r| (&m.app_id, r)));
    }
    let row = |index: usize, group: &str, picked: &[(&AppId, &RoleValue)]| MappingRow {
        index,
        group: group.to_owned(),
        roles: choices
            .iter()
            .map(|(app, name, role)| RoleChoice {
                value: format!("{app} {role}"),
                label: format!("{name}: {role}"),
                checked: picked.iter().any(|(a, r)| *a == app && *r == role),
            })
            .collect(),
    };
    let mut rows: Vec<MappingRow> = order
        .iter()
        .enumerate()
        .map(|(i, g)| row(i, g, &by_group[g]))
        .collect();
    let n = rows.len();
    rows.extend((0..BLANK_ROWS).map(|k| row(n + k, "", &[])));
    rows
}

struct Mapping {
    email: String,
    name: String,
    groups: Option<String>,
    roles: Vec<DomainMapping>,
}

fn current(c: &ConnectionConfig) -> Option<Mapping> {
    match c {
        ConnectionConfig::Saml(s) => Some(Mapping {
            email: s.attributes.email.clone(),
            name: s.attributes.name.clone(),
            groups: s.attributes.groups.clone(),
            roles: s.role_mapping.clone(),
        }),
        ConnectionConfig::Oidc(o) => Some(Mapping {
            email: o.claims.email.clone(),
            name: o.claims.name.clone(),
            groups: o.claims.groups.clone(),
            roles: o.role_mapping.clone(),
        }),
        ConnectionConfig::Password(_) => None,
    }
}

async fn page(
    scope: &PortalScope,
    c: &crate::domain::Connection,
    preset: Option<&str>,
    m: &Mapping,
    errors: Errors,
) -> Result<Response, PortalError> {
    let kind = c.kind();
    let choices = grantable(scope).await?;
    let p = preset.and_then(|id| find(kind, id));
    let (email, name, groups) = match p {
        Some(p) => (p.email.to_owned(), p.name.to_owned(), p.groups.to_owned()),
        None => (
            m.email.clone(),
            m.name.clone(),
            m.groups.clone().unwrap_or_default(),
        ),
    };
    let page = MappingPage {
        l: scope.layout(
            &scope.tr().t("portal-wizard-step-mapping"),
            Section::Connections,
        ),
        base: base(scope.scope().org()),
        id: c.id.to_string(),
        saml: kind == crate::domain::ConnectionKind::Saml,
        presets: presets::presets(kind)
            .iter()
            .map(|x| PresetLink {
                id: x.id,
                label: scope.tr().msg(x.label),
                current: p.is_some_and(|p| p.id == x.id),
            })
            .collect(),
        preset_hint: p.map(|p| scope.tr().msg(p.hint)),
        email,
        name,
        groups,
        no_roles: choices.is_empty(),
        rows: rows_of(&m.roles, &choices),
        errors: errors.clone(),
    };
    let status = errors.status();
    Ok(render(status, &page))
}

/// `GET …/{connection_id}/mapping[?preset=]`.
pub(super) async fn get(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    Query(q): Query<MappingQuery>,
) -> Result<Response, PortalError> {
    super::writer(&scope)?;
    let c = scope.scope().db().connection(&connection_id(&raw)?).await?;
    let Some(m) = current(&c.config) else {
        return Err(PortalError::NotFound);
    };
    page(&scope, &c, q.preset.as_deref(), &m, Errors::default()).await
}

/// The submitted mapping, and the first problem with it.
fn parse(f: &Fields, choices: &[(AppId, String, RoleValue)]) -> (Mapping, Option<FieldError>) {
    let text = |n: &str| field(f, n).trim().to_owned();
    let mut roles: Vec<DomainMapping> = Vec::new();
    let mut problem = None;
    for i in 0..MAX_ROWS {
        let group = text(&format!("group_{i}"));
        let mut picked: BTreeMap<AppId, Vec<RoleValue>> = BTreeMap::new();
        for k in 0..choices.len() {
            let v = field(f, &format!("role_{i}_{k}"));
            if v.is_empty() {
                continue;
            }
            // The value names the role; it must be one the org may grant.
            match choices.iter().find(|(a, _, r)| format!("{a} {r}") == v) {
                Some((a, _, r)) => picked.entry(a.clone()).or_default().push(r.clone()),
                None => {
                    problem.get_or_insert(FieldError::new(
                        "mapping",
                        current_tr().t("portal-mapping-role-not-grantable"),
                    ));
                }
            }
        }
        if group.is_empty() {
            if !picked.is_empty() {
                problem.get_or_insert(FieldError::new(
                    "mapping",
                    current_tr().t1("portal-mapping-row-no-group", "row", i + 1),
                ));
            }
            continue;
        }
        if group.len() > 256 {
            problem.get_or_insert(FieldError::new(
                "mapping",
                current_tr().t1("portal-mapping-row-group-too-long", "row", i + 1),
            ));
        }
        if picked.is_empty() {
            problem.get_or_insert(FieldError::new(
                "mapping",
                current_tr().t2("portal-mapping-row-no-role", "row", i + 1, "group", &group),
            ));
        }
        for (app_id, rs) in picked {
            roles.push(DomainMapping {
                group: group.clone(),
                app_id,
                roles: rs,
            });
        }
    }
    let groups = Some(text("groups")).filter(|g| !g.is_empty());
    let m = Mapping {
        email: text("email"),
        name: text("name"),
        groups,
        roles,
    };
    let first = if m.email.is_empty() {
        Some(FieldError::new(
            "email",
            current_tr().t("portal-mapping-email-missing"),
        ))
    } else if m.name.is_empty() {
        Some(FieldError::new(
            "name",
            current_tr().t("portal-mapping-name-missing"),
        ))
    } else if m.groups.is_none() && !m.roles.is_empty() {
        Some(FieldError::new(
            "groups",
            current_tr().t("portal-mapping-groups-missing"),
        ))
    } else {
        problem
    };
    (m, first)
}

/// `POST …/{connection_id}/mapping`: save, then on to the test.
pub(super) async fn post(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let c = s.db().connection(&connection_id(&raw)?).await?;
    if current(&c.config).is_none() {
        return Err(PortalError::NotFound);
    }
    let choices = grantable(&scope).await?;
    let (m, problem) = parse(&f, &choices);
    if let Some(e) = problem {
        return page(&scope, &c, None, &m, Errors::field(e)).await;
    }
    let mut dto = DtoConfig::from_domain(&c.config);
    let mapped: Vec<GroupRoleMapping> = m.roles.iter().cloned().map(Into::into).collect();
    match &mut dto {
        DtoConfig::Saml(cfg) => {
            cfg.attributes.email = m.email.clone();
            cfg.attributes.name = m.name.clone();
            cfg.attributes.groups = m.groups.clone();
            cfg.role_mapping = mapped;
        }
        DtoConfig::Oidc(cfg) => {
            cfg.claims.email = m.email.clone();
            cfg.claims.name = m.name.clone();
            cfg.claims.groups = m.groups.clone();
            cfg.role_mapping = mapped;
        }
        DtoConfig::Password(_) => return Err(PortalError::NotFound),
    }
    let patch = ConnectionPatch {
        version: Some(c.version),
        config: Some(dto),
        ..Default::default()
    };
    match service::update_connection(&s.ctx(), s.org(), &c.id, patch).await {
        Ok(saved) => Ok(see_other(&format!("{}/{}/test", base(s.org()), saved.id))),
        Err(e) => {
            let errors = service_errors(e)?;
            page(&scope, &c, None, &m, errors).await
        }
    }
}
