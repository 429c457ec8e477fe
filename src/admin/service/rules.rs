//! Cross-object rules (DESIGN §1, §6.6), checked against a [`View`] before a write: role
//! groups stay inside their app, the org hierarchy has no cycles, links fit the parent's role
//! groups and their dependents, member roles lie inside the allowed role groups, connection
//! mappings stay inside what the org may hand out, a verified domain has one owner.
//!
//! Owns: the order of these checks and the field each error names. Must not touch: storage
//! (everything is read through the view), single-object rules (those are in `crate::domain`).

use super::{SResult, ServiceError, View};
use crate::domain::rules;
use crate::domain::*;
use std::collections::{BTreeMap, BTreeSet};

/// Deepest org hierarchy walked when looking for cycles.
const MAX_DEPTH: usize = 64;

/// The roles an org may hand out, per linked app.
pub async fn allowed_roles_by_app(
    view: &dyn View,
    org: &OrgId,
) -> SResult<BTreeMap<AppId, BTreeSet<RoleValue>>> {
    let mut out = BTreeMap::new();
    for link in view.links_for_org(org).await? {
        let groups = view.role_groups(&link.app_id).await?;
        out.insert(link.app_id.clone(), rules::allowed_roles(&link, &groups));
    }
    Ok(out)
}

/// A role group only contains roles of its own app.
pub async fn check_role_group(view: &dyn View, g: &RoleGroup) -> SResult<()> {
    if view.app(&g.app_id).await?.is_none() {
        return Err(ServiceError::not_found("app"));
    }
    validate_name(&g.name)?;
    let values = view.role_values(&g.app_id).await?;
    rules::check_role_group(g, &values)?;
    Ok(())
}

/// The parent exists and is not the org itself or one of its descendants.
/// (See also [`check_org_links_fit_parent`].)
pub async fn check_org(view: &dyn View, org: &Org) -> SResult<()> {
    org.validate()?;
    let Some(parent) = &org.parent_id else {
        return Ok(());
    };
    if view.org(parent).await?.is_none() {
        return Err(ServiceError::ref_not_found(
            "parent_id",
            "parent organization",
            parent.as_str(),
        ));
    }
    let mut ancestors = Vec::new();
    let mut cur = parent.clone();
    while let Some(o) = view.org(&cur).await? {
        match o.parent_id {
            Some(p) if ancestors.len() < MAX_DEPTH => {
                if ancestors.contains(&p) {
                    break;
                }
                ancestors.push(p.clone());
                cur = p;
            }
            _ => break,
        }
    }
    rules::check_parent(&org.id, parent, &ancestors)?;
    Ok(())
}

/// The org's links must fit its parent's role groups (checked when the parent changes).
pub async fn check_org_links_fit_parent(view: &dyn View, org: &Org) -> SResult<()> {
    let Some(parent) = &org.parent_id else {
        return Ok(());
    };
    for link in view.links_for_org(&org.id).await? {
        let parent_link = view.link(parent, &link.app_id).await?;
        rules::check_child_role_groups(
            &link.allowed_role_groups,
            parent_link.as_ref().map(|l| &l.allowed_role_groups),
        )
        .map_err(|e| {
            ServiceError::invalid(
                "parent_id",
                format!(
                    "the new parent organization does not allow what this organization's link to app {} allows ({})",
                    link.app_id, e.message
                ),
            )
        })?;
    }
    Ok(())
}

/// An org↔app link: the org and app exist, the role groups belong to the app, default roles
/// lie inside them, a child org gets only its parent's groups, the policy names the org's
/// own connections. With `dependents`, also: child orgs' links and members' roles still fit.
pub async fn check_link(view: &dyn View, link: &OrgAppLink, dependents: bool) -> SResult<()> {
    let Some(org) = view.org(&link.org_id).await? else {
        return Err(ServiceError::not_found("organization"));
    };
    if view.app(&link.app_id).await?.is_none() {
        return Err(ServiceError::ref_not_found(
            "app_id",
            "app",
            link.app_id.as_str(),
        ));
    }
    let groups = view.role_groups(&link.app_id).await?;
    for g in &link.allowed_role_groups {
        if !groups.iter().any(|x| &x.id == g) {
            return Err(ServiceError::invalid(
                "allowed_role_groups",
                format!("role group {g} is not a role group of app {}", link.app_id),
            ));
        }
    }
    rules::check_link_defaults(link, &groups)?;
    if let Some(parent) = &org.parent_id {
        let parent_link = view.link(parent, &link.app_id).await?;
        rules::check_child_role_groups(
            &link.allowed_role_groups,
            parent_link.as_ref().map(|l| &l.allowed_role_groups),
        )?;
    }
    if let LinkAuthPolicy::Connections { connection_ids } = &link.auth_policy {
        if connection_ids.is_empty() {
            return Err(ServiceError::invalid(
                "auth_policy.connection_ids",
                "list at least one connection, or use {\"mode\": \"inherit\"}",
            ));
        }
        for (i, c) in connection_ids.iter().enumerate() {
            if view.connection(&link.org_id, c).await?.is_none() {
                return Err(ServiceError::ref_not_found(
                    format!("auth_policy.connection_ids[{i}]"),
                    "connection",
                    c.as_str(),
                ));
            }
        }
    }
    if dependents {
        for child in view.children(&link.org_id).await? {
            if let Some(cl) = view.link(&child, &link.app_id).await?
                && let Some(g) = cl
                    .allowed_role_groups
                    .iter()
                    .find(|g| !link.allowed_role_groups.contains(*g))
            {
                return Err(ServiceError::invalid(
                    "allowed_role_groups",
                    format!(
                        "role group {g} is still allowed for the child organization {child}; remove it there first"
                    ),
                ));
            }
        }
        let allowed = rules::allowed_roles(link, &groups);
        for m in view.members(&link.org_id).await? {
            if let Some(r) = m.roles_for(&link.app_id).find(|r| !allowed.contains(*r)) {
                return Err(ServiceError::invalid(
                    "allowed_role_groups",
                    format!(
                        "member {} still has role \"{r}\", which would fall outside the allowed role groups; change their roles first",
                        m.user_id
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Member (or invitation) roles lie inside the role groups allowed on the org's links.
pub async fn check_roles_for_org(view: &dyn View, org: &OrgId, roles: &AppRoles) -> SResult<()> {
    let allowed = allowed_roles_by_app(view, org).await?;
    rules::check_member_roles(roles, &allowed)?;
    Ok(())
}

pub async fn check_membership(view: &dyn View, m: &Membership) -> SResult<()> {
    if view.org(&m.org_id).await?.is_none() {
        return Err(ServiceError::not_found("organization"));
    }
    if view.user(&m.user_id).await?.is_none() {
        return Err(ServiceError::ref_not_found(
            "user_id",
            "user",
            m.user_id.as_str(),
        ));
    }
    m.validate_shape()?;
    check_roles_for_org(view, &m.org_id, &m.roles).await
}

/// Group → role mappings and the IdP-initiated default app must stay inside what the org may
/// hand out.
pub async fn check_connection(view: &dyn View, c: &Connection) -> SResult<()> {
    c.validate()?;
    let (mappings, idp_app) = match &c.config {
        ConnectionConfig::Oidc(o) => (&o.role_mapping, None),
        ConnectionConfig::Saml(s) => (&s.role_mapping, s.idp_initiated_app_id.as_ref()),
        ConnectionConfig::Password(_) => return Ok(()),
    };
    if mappings.is_empty() && idp_app.is_none() {
        return Ok(());
    }
    let allowed = allowed_roles_by_app(view, &c.org_id).await?;
    for (i, m) in mappings.iter().enumerate() {
        let roles: AppRoles = [(m.app_id.clone(), m.roles.iter().cloned().collect())].into();
        rules::check_member_roles(&roles, &allowed).map_err(|e| {
            ServiceError::invalid(format!("config.role_mapping[{i}].{}", e.field), e.message)
        })?;
    }
    if let Some(app) = idp_app {
        if !allowed.contains_key(app) {
            return Err(ServiceError::invalid(
                "config.idp_initiated_app_id",
                "the organization is not linked to this app",
            ));
        }
        if let ConnectionConfig::Saml(SamlConfig {
            idp_initiated_redirect_uri: Some(uri),
            ..
        }) = &c.config
        {
            let ok = view
                .app(app)
                .await?
                .is_some_and(|a| a.redirect_uris.iter().any(|r| r == uri));
            if !ok {
                return Err(ServiceError::invalid(
                    "config.idp_initiated_redirect_uri",
                    "must be one of the app's registered redirect URIs",
                ));
            }
        }
    }
    Ok(())
}

/// A verified domain belongs to one org only.
pub async fn check_domain(view: &dyn View, dom: &OrgDomain) -> SResult<()> {
    if view.org(&dom.org_id).await?.is_none() {
        return Err(ServiceError::not_found("organization"));
    }
    if dom.verified
        && let Some(owner) = view.verified_owner(&dom.domain).await?
        && owner != dom.org_id
    {
        return Err(domain_taken());
    }
    Ok(())
}

pub(super) fn domain_taken() -> ServiceError {
    ServiceError::conflict(
        "domain_taken",
        "Another organization has already verified this domain.",
    )
}
