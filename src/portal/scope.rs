//! [`PortalScope`]: the extractor of every `/portal/orgs/{org_id}/…` route. It takes the
//! signed-in [`PortalUser`], turns them into the admin layer's `Caller` (an org admin of their
//! home org, or the operator) and asks `admin::scope::OrgScope::check` with the need of the
//! route (`need_of(method, matched template)`) — the API's rights table, nothing of its own.
//! An org out of reach and a right the person lacks are the same 404 page (a `member_admin`
//! gets 404 on connection URLs). Operators' writes are audited as the person (`user:<id>`).
//!
//! Owns: the mapping from a portal request to an `OrgScope`, and the org pages' navigation
//! (only the sections the rights allow). Must not touch: the rights table itself.

use super::PortalCtx;
use super::session::PortalUser;
use super::view::{Layout, NavItem, OrgHeader, PortalError, Section};
use crate::admin::scope::{Need, OrgScope, need_of};
use crate::domain::{Org, OrgId};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};

/// Proof that the signed-in person may use this org for what the route needs.
pub struct PortalScope {
    scope: OrgScope,
    user: PortalUser,
    org: Org,
}

impl PortalScope {
    /// Build the scope for `org` and `need` (for handlers that check a second need, or tests).
    pub async fn check(
        ctx: &PortalCtx,
        user: PortalUser,
        org: OrgId,
        need: Need,
    ) -> Result<Self, PortalError> {
        // Out of reach (404) and lacking the right (403) look the same: no oracle.
        let mut scope = OrgScope::check(&ctx.admin, user.caller(), org, need)
            .await
            .map_err(|e| match e.status {
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => PortalError::NotFound,
                _ => PortalError::from(e),
            })?;
        if user.is_operator {
            scope = scope.acting_as(user.actor());
        }
        let org = scope.db().org().await?;
        Ok(Self { scope, user, org })
    }

    /// The admin layer's handle: reads of this org (`db()`), the service context (`ctx()`).
    pub fn scope(&self) -> &OrgScope {
        &self.scope
    }

    pub fn user(&self) -> &PortalUser {
        &self.user
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    pub fn org_id(&self) -> &OrgId {
        &self.org.id
    }

    /// Whether the person's rights here allow `need` (to show or hide a form).
    pub fn allows(&self, need: Need) -> bool {
        self.scope.allows(need)
    }

    /// Whether a GET of this section would be allowed (the navigation's rule).
    pub fn sees(&self, section: Section) -> bool {
        let template = format!("/portal/orgs/{{org_id}}{}", section.tail());
        self.allows(need_of(&Method::GET, &template))
    }

    /// Whether a POST under this section would be allowed (to show its forms).
    pub fn may_change(&self, section: Section) -> bool {
        let template = format!("/portal/orgs/{{org_id}}{}/x", section.tail());
        self.allows(need_of(&Method::POST, &template))
    }

    /// The language of this request's pages.
    pub fn tr(&self) -> crate::i18n::Tr {
        super::view::current_tr()
    }

    /// The path of a section of this org: `/portal/orgs/<id>/members`.
    pub fn href(&self, section: Section) -> String {
        format!("/portal/orgs/{}{}", self.org.id, section.tail())
    }

    /// The page chrome: `"<title> · <org> · Lobby portal"`, the org's branding, the sections
    /// the rights allow.
    pub fn layout(&self, title: &str, section: Section) -> Layout {
        let mut l = Layout::plain(title, section, Some(&self.user));
        let header = OrgHeader::of(&self.org);
        l.title = format!("{title} · {} · {}", header.name, l.tr.t("portal-name"));
        for s in Section::ORG {
            if self.sees(s) {
                l.nav.push(NavItem {
                    label: s.label(),
                    href: self.href(s),
                    id: s.id(),
                    current: s == section,
                });
            }
        }
        l.org = Some(header);
        l
    }
}

impl FromRequestParts<PortalCtx> for PortalScope {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, ctx: &PortalCtx) -> Result<Self, PortalError> {
        let user = PortalUser::from_request_parts(parts, ctx).await?;
        let template = MatchedPath::from_request_parts(parts, ctx)
            .await
            .map(|m| m.as_str().to_owned())
            .map_err(|_| PortalError::internal("portal scope used outside a matched route"))?;
        let params = RawPathParams::from_request_parts(parts, ctx)
            .await
            .map_err(|_| PortalError::NotFound)?;
        let Some((_, raw)) = params.iter().find(|(k, _)| *k == "org_id") else {
            return Err(PortalError::internal(
                "portal scope used on a route without {org_id}",
            ));
        };
        let org: OrgId = raw.parse().map_err(|_| PortalError::NotFound)?;
        Self::check(ctx, user, org, need_of(&parts.method, &template)).await
    }
}
