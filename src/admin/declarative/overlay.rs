//! The world as it will be after an import: the file's objects ([`FileObjects`]) overlaid on
//! the storage as a `service::View`, and [`validate`], which runs every cross-object rule of
//! the admin API against it (so the file is checked exactly like API calls).
//!
//! Owns: the overlay semantics (the file wins; a stored verification counts unless the file
//! un-verifies it) and the order of the checks. Must not touch: the rules themselves
//! (`service`), writing.

use super::ImportError;
use super::build::Existing;
use crate::admin::service::{self, SResult, View, all_members, all_orgs_with_parent};
use crate::domain::*;
use crate::storage::Storage;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(super) struct FileObjects {
    pub(super) apps: BTreeMap<AppId, App>,
    pub(super) roles: BTreeMap<AppId, BTreeMap<RoleValue, Role>>,
    pub(super) groups: BTreeMap<AppId, BTreeMap<RoleGroupId, RoleGroup>>,
    pub(super) orgs: BTreeMap<OrgId, Org>,
    pub(super) links: BTreeMap<OrgId, BTreeMap<AppId, OrgAppLink>>,
    pub(super) domains: BTreeMap<OrgId, BTreeMap<EmailDomain, OrgDomain>>,
    pub(super) connections: BTreeMap<OrgId, BTreeMap<ConnectionId, Connection>>,
    pub(super) users: BTreeMap<UserId, User>,
    pub(super) members: BTreeMap<OrgId, BTreeMap<UserId, Membership>>,
}

pub(super) struct Overlay<'a> {
    pub(super) store: &'a dyn Storage,
    pub(super) file: &'a FileObjects,
}

#[async_trait]
impl View for Overlay<'_> {
    async fn app(&self, id: &AppId) -> SResult<Option<App>> {
        match self.file.apps.get(id) {
            Some(a) => Ok(Some(a.clone())),
            None => Ok(self.store.get_app(id).await?),
        }
    }
    async fn role_values(&self, app: &AppId) -> SResult<BTreeSet<RoleValue>> {
        let mut out: BTreeSet<RoleValue> = self
            .store
            .list_roles(app)
            .await?
            .into_iter()
            .map(|r| r.value)
            .collect();
        if let Some(f) = self.file.roles.get(app) {
            out.extend(f.keys().cloned());
        }
        Ok(out)
    }
    async fn role_groups(&self, app: &AppId) -> SResult<Vec<RoleGroup>> {
        let mut by_id: BTreeMap<RoleGroupId, RoleGroup> = self
            .store
            .list_role_groups(app)
            .await?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        if let Some(f) = self.file.groups.get(app) {
            by_id.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(by_id.into_values().collect())
    }
    async fn org(&self, id: &OrgId) -> SResult<Option<Org>> {
        match self.file.orgs.get(id) {
            Some(o) => Ok(Some(o.clone())),
            None => Ok(self.store.get_org(id).await?),
        }
    }
    async fn children(&self, org: &OrgId) -> SResult<Vec<OrgId>> {
        let mut out: BTreeSet<OrgId> = BTreeSet::new();
        for o in all_orgs_with_parent(self.store, Some(org)).await? {
            // The file may move a stored child elsewhere.
            let still = self
                .file
                .orgs
                .get(&o.id)
                .is_none_or(|f| f.parent_id.as_ref() == Some(org));
            if still {
                out.insert(o.id);
            }
        }
        for o in self.file.orgs.values() {
            if o.parent_id.as_ref() == Some(org) {
                out.insert(o.id.clone());
            }
        }
        Ok(out.into_iter().collect())
    }
    async fn link(&self, org: &OrgId, app: &AppId) -> SResult<Option<OrgAppLink>> {
        match self.file.links.get(org).and_then(|m| m.get(app)) {
            Some(l) => Ok(Some(l.clone())),
            None => Ok(self.store.get_link(org, app).await?),
        }
    }
    async fn links_for_org(&self, org: &OrgId) -> SResult<Vec<OrgAppLink>> {
        let mut by_app: BTreeMap<AppId, OrgAppLink> = BTreeMap::new();
        if self.store.get_org(org).await?.is_some() {
            by_app.extend(
                self.store
                    .list_links_for_org(org)
                    .await?
                    .into_iter()
                    .map(|l| (l.app_id.clone(), l)),
            );
        }
        if let Some(f) = self.file.links.get(org) {
            by_app.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(by_app.into_values().collect())
    }
    async fn connection(&self, org: &OrgId, id: &ConnectionId) -> SResult<Option<Connection>> {
        match self.file.connections.get(org).and_then(|m| m.get(id)) {
            Some(c) => Ok(Some(c.clone())),
            None => Ok(self.store.get_connection(org, id).await?),
        }
    }
    async fn user(&self, id: &UserId) -> SResult<Option<User>> {
        match self.file.users.get(id) {
            Some(u) => Ok(Some(u.clone())),
            None => Ok(self.store.get_user(id).await?),
        }
    }
    async fn members(&self, org: &OrgId) -> SResult<Vec<Membership>> {
        let mut by_user: BTreeMap<UserId, Membership> = BTreeMap::new();
        if self.store.get_org(org).await?.is_some() {
            by_user.extend(
                all_members(self.store, org)
                    .await?
                    .into_iter()
                    .map(|m| (m.user_id.clone(), m)),
            );
        }
        if let Some(f) = self.file.members.get(org) {
            by_user.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(by_user.into_values().collect())
    }
    async fn verified_owner(&self, domain: &EmailDomain) -> SResult<Option<OrgId>> {
        // A stored verification counts unless the file un-verifies it.
        if let Some(owner) = self.store.find_verified_domain_org(domain).await? {
            let overridden = self
                .file
                .domains
                .get(&owner)
                .and_then(|m| m.get(domain))
                .is_some_and(|d| !d.verified);
            if !overridden {
                return Ok(Some(owner));
            }
        }
        // Otherwise the first org of the file that verifies it.
        Ok(self
            .file
            .domains
            .iter()
            .find_map(|(org, m)| m.get(domain).filter(|d| d.verified).map(|_| org.clone())))
    }
}

// ---------------------------------------------------------------------------------------
// Validation

/// Every cross-object rule, against storage overlaid with the file.
pub(super) async fn validate(
    storage: &dyn Storage,
    file: &FileObjects,
    x: &Existing,
) -> Result<(), ImportError> {
    let view = Overlay {
        store: storage,
        file,
    };
    for (app, groups) in &file.groups {
        for (id, g) in groups {
            let path = x
                .groups
                .get(&(app.clone(), id.clone()))
                .map(|(a, _)| a.clone())
                .unwrap_or_default();
            service::check_role_group(&view, g)
                .await
                .map_err(|e| ImportError::from_service(e, &path))?;
        }
    }
    for (id, o) in &file.orgs {
        let path = x.orgs.get(id).map(|(a, _)| a.clone()).unwrap_or_default();
        service::check_org(&view, o)
            .await
            .map_err(|e| ImportError::from_service(e, &path))?;
    }
    // Each link on its own first (a child's excess is reported at the child's link)…
    {
        let dependents = false;
        for (org, links) in &file.links {
            for (app, l) in links {
                let path = x
                    .links
                    .get(&(org.clone(), app.clone()))
                    .map(|(a, _)| a.clone())
                    .unwrap_or_default();
                service::check_link(&view, l, dependents)
                    .await
                    .map_err(|e| ImportError::from_service(e, &path))?;
            }
        }
    }
    for (id, o) in &file.orgs {
        let path = x.orgs.get(id).map(|(a, _)| a.clone()).unwrap_or_default();
        service::check_org_links_fit_parent(&view, o)
            .await
            .map_err(|e| ImportError::from_service(e, &path))?;
    }
    for (org, conns) in &file.connections {
        for (id, c) in conns {
            let path = x
                .connections
                .get(&(org.clone(), id.clone()))
                .map(|(a, _)| a.clone())
                .unwrap_or_default();
            service::check_connection(&view, c)
                .await
                .map_err(|e| ImportError::from_service(e, &path))?;
        }
    }
    for (org, doms) in &file.domains {
        for (name, dm) in doms {
            let path = x
                .domains
                .get(&(org.clone(), name.clone()))
                .map(|(a, _)| a.clone())
                .unwrap_or_default();
            service::check_domain(&view, dm)
                .await
                .map_err(|e| ImportError::from_service(e.with_field("verified"), &path))?;
        }
    }
    for (org, members) in &file.members {
        for (user, m) in members {
            let path = x
                .members
                .get(&(org.clone(), user.clone()))
                .map(|(a, _)| a.clone())
                .unwrap_or_default();
            service::check_membership(&view, m)
                .await
                .map_err(|e| ImportError::from_service(e, &path))?;
        }
    }
    // …and last against what depends on it (child links, stored members' roles).
    {
        let dependents = true;
        for (org, links) in &file.links {
            for (app, l) in links {
                let path = x
                    .links
                    .get(&(org.clone(), app.clone()))
                    .map(|(a, _)| a.clone())
                    .unwrap_or_default();
                service::check_link(&view, l, dependents)
                    .await
                    .map_err(|e| ImportError::from_service(e, &path))?;
            }
        }
    }
    Ok(())
}
