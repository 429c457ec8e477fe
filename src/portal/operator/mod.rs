//! The vendor operator's pages under `/portal/admin`: every org (search, create), an org's app
//! links with their allowed role groups, and apps with their settings, roles and role groups.
//!
//! Owns: the [`Operator`] extractor (a signed-in portal user who is an operator; everyone else
//! gets the 404 page, as if the pages did not exist) and these pages. Must not touch: the
//! rules of what may be written (`admin::service`), org-scoped rights (`OrgScope::check` is
//! called with the operator's caller for the org of a link).

mod apps;
mod link_settings;
mod orgs;
mod roles;

use super::view::{NavItem, Section};
use super::{Layout, PortalCtx, PortalError, PortalUser};
use crate::admin::AdminCtx;
use crate::admin::auth::Caller;
use crate::admin::scope::{Need, OrgScope};
use crate::admin::service::Ctx;
use crate::domain::OrgId;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub fn routes() -> Router<PortalCtx> {
    Router::new()
        .merge(orgs::routes())
        .merge(link_settings::routes())
        .merge(apps::routes())
        .merge(roles::routes())
}

/// A signed-in operator: the only way into these pages. Not an operator → 404.
pub struct Operator {
    pub user: PortalUser,
    pub caller: Caller,
    pub admin: AdminCtx,
}

impl FromRequestParts<PortalCtx> for Operator {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, st: &PortalCtx) -> Result<Self, PortalError> {
        let user = PortalUser::from_request_parts(parts, st).await?;
        if !user.is_operator {
            return Err(PortalError::NotFound);
        }
        let caller = user.caller();
        Ok(Self {
            user,
            caller,
            admin: st.admin.clone(),
        })
    }
}

impl Operator {
    /// The service context of a tenant-wide write (apps, roles, new orgs), audited as the
    /// signed-in person.
    pub fn ctx(&self) -> Ctx<'_> {
        let mut c = crate::admin::ctx(&self.admin, &self.caller);
        c.actor = self.user.actor();
        c
    }

    /// The operator's scope on one org (links are `Need::Operator`), audited as the person.
    pub async fn org_scope(&self, org: &str) -> Result<OrgScope, PortalError> {
        let org: OrgId = org.parse().map_err(|_| PortalError::NotFound)?;
        Ok(
            OrgScope::check(&self.admin, self.caller.clone(), org, Need::Operator)
                .await?
                .acting_as(self.user.actor()),
        )
    }

    /// The chrome of an operator page: "All organizations" and "Apps" in the navigation.
    /// `area` is `admin` (organizations) or `apps`.
    pub fn layout(&self, title: &str, area: &str) -> Layout {
        let mut l = Layout::plain(title, Section::Operator, Some(&self.user));
        for n in &mut l.nav {
            n.current = n.id == Section::Operator.id() && area == "admin";
        }
        l.nav.push(NavItem {
            label: super::view::current_tr().t("portal-op-apps"),
            href: "/portal/admin/apps".into(),
            id: "nav-apps",
            current: area == "apps",
        });
        l
    }
}
