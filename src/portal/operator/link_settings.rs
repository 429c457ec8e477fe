//! An org–app link's sign-in settings on the operator's links page
//! (`/portal/admin/orgs/{org_id}/apps`): just-in-time membership, the roles JIT members get,
//! and which of the org's connections the app uses (the API's `PATCH …/apps/{app_id}` fields
//! `jit`, `default_roles`, `auth_policy`).
//!
//! Owns: the settings form's view and its POST. Must not touch: what a link may hold (default
//! roles inside the allowed role groups, connections of the org: `admin::service::update_link`).

use super::Operator;
use super::orgs::{app_in_path, link_refusal, links_page};
use crate::admin::dto::{LinkAuthPolicy, LinkPatch, MfaPolicy};
use crate::admin::service;
use crate::domain::{self as d, Connection, ConnectionId, OrgAppLink, RoleGroup, RoleValue};
use crate::portal::form::many;
use crate::portal::view::{current_tr, see_other};
use crate::portal::{CsrfForm, PortalError};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub fn routes() -> Router<crate::portal::PortalCtx> {
    Router::new().route(
        "/portal/admin/orgs/{org_id}/apps/{app_id}/settings",
        post(save),
    )
}

/// One checkbox (a default role, or a connection).
pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The settings form of one link, as shown.
pub struct LinkSettings {
    pub version: i64,
    pub jit: bool,
    /// Roles inside the link's allowed role groups (and any held default outside them).
    pub default_roles: Vec<Check>,
    /// `true`: only the checked connections; `false`: the app's default over every active one.
    pub only_connections: bool,
    pub connections: Vec<Check>,
    /// The link's second-factor policy: `inherit`, `required`, `optional` or `off`.
    pub mfa: &'static str,
    /// The catalog key naming the app's policy (what `inherit` means).
    pub app_mfa: &'static str,
}

/// The radio buttons of the three policies (`required`, `optional`, `off`), `current` checked.
pub fn mfa_choices(current: Option<d::MfaPolicy>) -> Vec<Check> {
    let tr = current_tr();
    d::MfaPolicy::ALL
        .into_iter()
        .map(|p| Check {
            value: p.as_str().to_owned(),
            label: tr.t(match p {
                d::MfaPolicy::Required => "portal-link-mfa-required",
                d::MfaPolicy::Optional => "portal-link-mfa-optional",
                d::MfaPolicy::Off => "portal-link-mfa-off",
            }),
            checked: current == Some(p),
        })
        .collect()
}

impl LinkSettings {
    /// The link's own policy choices (`inherit` is its own radio).
    pub fn mfa_choices(&self) -> Vec<Check> {
        mfa_choices(d::MfaPolicy::parse(self.mfa))
    }
}

/// The catalog key naming a policy in the portal.
fn policy_key(p: d::MfaPolicy) -> &'static str {
    match p {
        d::MfaPolicy::Required => "portal-mfa-policy-required",
        d::MfaPolicy::Optional => "portal-mfa-policy-optional",
        d::MfaPolicy::Off => "portal-mfa-policy-off",
    }
}

/// The form's view of `link`: `groups` are the app's role groups, `names` its role names,
/// `connections` the org's.
pub fn view(
    link: &OrgAppLink,
    app_mfa: d::MfaPolicy,
    groups: &[RoleGroup],
    names: &BTreeMap<RoleValue, String>,
    connections: &[Connection],
) -> LinkSettings {
    let mut offered: BTreeSet<&RoleValue> = groups
        .iter()
        .filter(|g| link.allowed_role_groups.contains(&g.id))
        .flat_map(|g| g.roles.iter())
        .collect();
    offered.extend(link.default_roles.iter());
    let (only, picked): (bool, Vec<&ConnectionId>) = match &link.auth_policy {
        d::LinkAuthPolicy::Inherit => (false, Vec::new()),
        d::LinkAuthPolicy::Connections { connection_ids } => {
            (true, connection_ids.iter().collect())
        }
    };
    LinkSettings {
        version: link.version,
        jit: link.jit,
        default_roles: offered
            .into_iter()
            .map(|v| Check {
                value: v.to_string(),
                label: match names.get(v) {
                    Some(n) if n != v.as_str() => format!("{n} ({v})"),
                    _ => v.to_string(),
                },
                checked: link.default_roles.contains(v),
            })
            .collect(),
        only_connections: only,
        connections: connections
            .iter()
            .map(|c| Check {
                value: c.id.to_string(),
                label: c.name.clone(),
                checked: picked.contains(&&c.id),
            })
            .collect(),
        mfa: link.mfa.map_or("inherit", |m| m.as_str()),
        app_mfa: policy_key(app_mfa),
    }
}

/// The posted form: `version`, `jit=on`, `policy=inherit|connections`, `role=<value>` and
/// `connection=<id>` (each repeated per checked box).
#[derive(Deserialize)]
struct SettingsForm {
    version: Option<String>,
    jit: Option<String>,
    policy: Option<String>,
    #[serde(default, deserialize_with = "many")]
    role: Vec<String>,
    #[serde(default, deserialize_with = "many")]
    connection: Vec<String>,
    /// `inherit`, `required`, `optional` or `off`; absent leaves it.
    mfa: Option<String>,
}

fn patch_of(f: &SettingsForm) -> Result<LinkPatch, PortalError> {
    let bad = || {
        PortalError::bad_request(
            crate::portal::view::current_tr().t("portal-form-unknown-role-or-connection"),
        )
    };
    let roles = f
        .role
        .iter()
        .map(|v| RoleValue::parse(v).map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    let auth_policy = match f.policy.as_deref() {
        Some("connections") => LinkAuthPolicy::Connections {
            connection_ids: f
                .connection
                .iter()
                .map(|v| v.parse::<ConnectionId>().map_err(|_| bad()))
                .collect::<Result<Vec<_>, _>>()?,
        },
        _ => LinkAuthPolicy::Inherit,
    };
    let mfa = match f.mfa.as_deref() {
        None => None,
        Some("inherit") => Some(None),
        Some(v) => Some(Some(
            d::MfaPolicy::parse(v)
                .map(MfaPolicy::from)
                .ok_or_else(bad)?,
        )),
    };
    Ok(LinkPatch {
        version: f.version.as_deref().and_then(|v| v.trim().parse().ok()),
        allowed_role_groups: None,
        auth_policy: Some(auth_policy),
        jit: Some(f.jit.is_some()),
        default_roles: Some(roles),
        mfa,
    })
}

/// `POST …/apps/{app_id}/settings`: through `admin::service::update_link`, as the API.
async fn save(
    op: Operator,
    Path((org, app)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PortalError> {
    let scope = op.org_scope(&org).await?;
    let app = app_in_path(&app)?;
    scope.db().link(&app).await?;
    let patch = patch_of(&form)?;
    match service::update_link(&scope.ctx(), scope.org(), &app, patch).await {
        Ok(_) => {
            op.user
                .set_flash(&current_tr().t("portal-link-settings-saved"))
                .await;
            Ok(see_other(&format!(
                "/portal/admin/orgs/{}/apps#link-{app}",
                scope.org()
            )))
        }
        Err(e) if e.kind == service::ErrorKind::Internal => Err(e.into()),
        Err(e) => {
            let status = if e.code == "version_conflict" {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut p = links_page(&op, &scope).await?;
            if let Some(row) = p.links.iter_mut().find(|r| r.app_id == app.as_str()) {
                row.error = Some(if e.code == "version_conflict" {
                    current_tr().t("portal-link-changed-meanwhile")
                } else {
                    link_refusal(&e)
                });
            }
            Ok((status, p).into_response())
        }
    }
}
