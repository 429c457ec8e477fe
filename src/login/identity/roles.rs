//! Group → role mapping (rule 6): the roles a connection's `role_mapping` manages follow the
//! IdP's groups, limited to the org's allowed role groups; roles granted outside the managed set
//! are kept.
//!
//! Owns: loading the mapping against the org and applying it to a member's roles. Must not
//! touch: where the roles are stored (`resolve.rs` writes them).

use crate::domain::{AppId, AppRoles, Connection, ConnectionConfig, OrgId, RoleValue, rules};
use crate::storage::{Storage, StorageError};
use std::collections::{BTreeMap, BTreeSet};

/// The connection's group → role mapping, resolved against the org's allowed role groups.
pub(super) struct RoleMapping {
    /// Per app: group → roles (only roles the org may hand out).
    pub(super) by_app: BTreeMap<AppId, BTreeMap<String, BTreeSet<RoleValue>>>,
    /// Per app: the roles the mapping manages (named anywhere in it), allowed or not.
    pub(super) managed: BTreeMap<AppId, BTreeSet<RoleValue>>,
    /// Per linked app: the roles the org may hand out.
    pub(super) allowed: BTreeMap<AppId, BTreeSet<RoleValue>>,
    /// Whether the connection names a groups claim at all.
    pub(super) enabled: bool,
}

impl RoleMapping {
    pub(super) async fn load(
        storage: &dyn Storage,
        conn: &Connection,
        org: &OrgId,
    ) -> Result<Self, StorageError> {
        let (entries, claim) = match &conn.config {
            ConnectionConfig::Oidc(c) => (&c.role_mapping, c.claims.groups.is_some()),
            ConnectionConfig::Saml(c) => (&c.role_mapping, c.attributes.groups.is_some()),
            ConnectionConfig::Password(_) => {
                return Ok(Self {
                    by_app: BTreeMap::new(),
                    managed: BTreeMap::new(),
                    allowed: BTreeMap::new(),
                    enabled: false,
                });
            }
        };
        let mut allowed: BTreeMap<AppId, BTreeSet<RoleValue>> = BTreeMap::new();
        let mut by_app: BTreeMap<AppId, BTreeMap<String, BTreeSet<RoleValue>>> = BTreeMap::new();
        let mut managed: BTreeMap<AppId, BTreeSet<RoleValue>> = BTreeMap::new();
        for e in entries {
            managed
                .entry(e.app_id.clone())
                .or_default()
                .extend(e.roles.iter().cloned());
            if !allowed.contains_key(&e.app_id) {
                let ok = match storage.get_link(org, &e.app_id).await? {
                    Some(l) => {
                        rules::allowed_roles(&l, &storage.list_role_groups(&e.app_id).await?)
                    }
                    None => BTreeSet::new(),
                };
                allowed.insert(e.app_id.clone(), ok);
            }
            let ok = &allowed[&e.app_id];
            by_app
                .entry(e.app_id.clone())
                .or_default()
                .entry(e.group.clone())
                .or_default()
                .extend(e.roles.iter().filter(|r| ok.contains(*r)).cloned());
        }
        Ok(Self {
            by_app,
            managed,
            allowed,
            enabled: claim && !entries.is_empty(),
        })
    }

    /// Set the managed roles of every mapped app from `groups`.
    pub(super) fn apply(&self, roles: &mut AppRoles, groups: &[String]) {
        if !self.enabled {
            return;
        }
        for (app, managed) in &self.managed {
            let mut next: BTreeSet<RoleValue> = roles
                .get(app)
                .map(|r| {
                    r.iter()
                        .filter(|v| !managed.contains(*v))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if let Some(map) = self.by_app.get(app) {
                for g in groups {
                    if let Some(r) = map.get(g) {
                        next.extend(r.iter().cloned());
                    }
                }
            }
            if next.is_empty() {
                roles.remove(app);
            } else {
                roles.insert(app.clone(), next);
            }
        }
    }
}
