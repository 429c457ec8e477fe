//! The [`View`] the cross-object rules are checked against: read access to the world as it
//! will be after the write. [`StoreView`] is the storage itself (API calls); the declarative
//! import overlays the file's objects on it.
//!
//! Owns: the questions a rule may ask. Must not touch: the rules themselves (`rules`).

use super::{SResult, all_members, all_orgs_with_parent};
use crate::domain::*;
use crate::storage::Storage;
use async_trait::async_trait;
use std::collections::BTreeSet;

/// Read access to the world as it will be after the write: the storage itself for API
/// calls; the storage overlaid with the file's objects for an import.
#[async_trait]
pub trait View: Send + Sync {
    async fn app(&self, id: &AppId) -> SResult<Option<App>>;
    async fn role_values(&self, app: &AppId) -> SResult<BTreeSet<RoleValue>>;
    async fn role_groups(&self, app: &AppId) -> SResult<Vec<RoleGroup>>;
    async fn org(&self, id: &OrgId) -> SResult<Option<Org>>;
    /// Direct children.
    async fn children(&self, org: &OrgId) -> SResult<Vec<OrgId>>;
    async fn link(&self, org: &OrgId, app: &AppId) -> SResult<Option<OrgAppLink>>;
    async fn links_for_org(&self, org: &OrgId) -> SResult<Vec<OrgAppLink>>;
    async fn connection(&self, org: &OrgId, id: &ConnectionId) -> SResult<Option<Connection>>;
    async fn user(&self, id: &UserId) -> SResult<Option<User>>;
    async fn members(&self, org: &OrgId) -> SResult<Vec<Membership>>;
    /// The org that has this domain verified, if any.
    async fn verified_owner(&self, domain: &EmailDomain) -> SResult<Option<OrgId>>;
}

/// The storage as a [`View`].
pub struct StoreView<'a>(pub &'a dyn Storage);

#[async_trait]
impl View for StoreView<'_> {
    async fn app(&self, id: &AppId) -> SResult<Option<App>> {
        Ok(self.0.get_app(id).await?)
    }
    async fn role_values(&self, app: &AppId) -> SResult<BTreeSet<RoleValue>> {
        Ok(self
            .0
            .list_roles(app)
            .await?
            .into_iter()
            .map(|r| r.value)
            .collect())
    }
    async fn role_groups(&self, app: &AppId) -> SResult<Vec<RoleGroup>> {
        Ok(self.0.list_role_groups(app).await?)
    }
    async fn org(&self, id: &OrgId) -> SResult<Option<Org>> {
        Ok(self.0.get_org(id).await?)
    }
    async fn children(&self, org: &OrgId) -> SResult<Vec<OrgId>> {
        Ok(all_orgs_with_parent(self.0, Some(org))
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect())
    }
    async fn link(&self, org: &OrgId, app: &AppId) -> SResult<Option<OrgAppLink>> {
        Ok(self.0.get_link(org, app).await?)
    }
    async fn links_for_org(&self, org: &OrgId) -> SResult<Vec<OrgAppLink>> {
        Ok(self.0.list_links_for_org(org).await?)
    }
    async fn connection(&self, org: &OrgId, id: &ConnectionId) -> SResult<Option<Connection>> {
        Ok(self.0.get_connection(org, id).await?)
    }
    async fn user(&self, id: &UserId) -> SResult<Option<User>> {
        Ok(self.0.get_user(id).await?)
    }
    async fn members(&self, org: &OrgId) -> SResult<Vec<Membership>> {
        all_members(self.0, org).await
    }
    async fn verified_owner(&self, domain: &EmailDomain) -> SResult<Option<OrgId>> {
        Ok(self.0.find_verified_domain_org(domain).await?)
    }
}
