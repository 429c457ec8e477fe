//! The one place that decides what a caller may do in an org: the rights table, and
//! [`OrgScope`], the handle every org-scoped handler is built on.
//!
//! Owns: which route needs which right ([`need_of`]), what each org role grants
//! ([`Rights::allows`]), which orgs a caller reaches (their org; as `org_admin` also its
//! descendants — never the ancestors), and the field-level limits on org admins (org PATCH,
//! granting org roles). Must not touch: authentication (`auth`), business rules (`service`).
//!
//! An org-scoped handler takes an [`OrgScope`] instead of the admin context: the scope is
//! built once per request from the caller and the path's `{org_id}` after the rights check,
//! and it only hands out reads bound to that org ([`OrgDb`]) and a service context for writes
//! whose org argument is [`OrgScope::org`]. An org the caller does not reach is a 404
//! (DESIGN §6.6); a reached org without the right is a 403 `insufficient_scope`.

use super::auth::{Caller, OrgCaller, insufficient_scope};
use super::service::{self, Ctx, page_vec};
use super::{AdminCtx, ctx, path_id};
use crate::config::Config;
use crate::domain::*;
use crate::http::ApiError;
use crate::storage::{Page, PageRequest, Storage};
use crate::upstream::dns::TxtResolver;
use crate::upstream::oidc::OidcConnector;
use crate::upstream::saml::SamlService;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::Method;
use axum::http::request::Parts;
use std::collections::BTreeSet;

/// What an org-scoped route is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// The org record itself and its child orgs.
    Org,
    /// App links, domains, connections, the org's audit log.
    Settings,
    /// Members and invitations.
    People,
}

/// What a route needs in the org of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read(Area),
    Write(Area),
    /// The operator (or an admin client) only: app links and their allowed role groups, and
    /// adding an existing user as a member (org admins invite people instead).
    Operator,
    /// Deleting an org: `org_admin` of one of its ancestors (never one's own org).
    AncestorAdmin,
}

/// The need of an org-scoped route, from its method and path template (`/orgs/{org_id}/…`).
pub fn need_of(method: &Method, template: &str) -> Need {
    let tail = template
        .split_once("{org_id}")
        .map(|(_, t)| t.trim_start_matches('/'))
        .unwrap_or("");
    let first = tail.split('/').next().unwrap_or("");
    let area = match first {
        "" => Area::Org,
        "members" | "invitations" => Area::People,
        // apps, domains, connections and anything added later: the org admin's business.
        _ => Area::Settings,
    };
    if method == Method::GET || method == Method::HEAD {
        return Need::Read(area);
    }
    match (first, tail) {
        ("apps", _) => Need::Operator,
        (_, "members") if method == Method::POST => Need::Operator,
        ("", _) if method == Method::DELETE => Need::AncestorAdmin,
        _ => Need::Write(area),
    }
}

/// Whether a route (its template, with or without the `/api/v1` prefix) is tenant-wide:
/// the operator's and admin clients' only. `/orgs` and `/audit-events` take an org in the
/// query or body and decide per org; the OpenAPI document is public.
pub fn is_global(template: &str) -> bool {
    let path = template.strip_prefix("/api/v1").unwrap_or(template);
    !path.contains("{org_id}") && !matches!(path, "/orgs" | "/audit-events" | "/openapi.json")
}

/// A caller's rights in one org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rights {
    roles: BTreeSet<OrgRole>,
    /// Reached as a descendant of the caller's own org.
    inherited: bool,
}

impl Rights {
    pub fn is_org_admin(&self) -> bool {
        self.roles.contains(&OrgRole::OrgAdmin)
    }

    /// The rights table: `org_admin` everything, `member_admin` members and invitations (and
    /// reading the org record), `viewer` reading.
    pub fn allows(&self, need: Need) -> bool {
        self.roles.iter().any(|r| match (r, need) {
            (OrgRole::OrgAdmin, Need::Read(_) | Need::Write(_)) => true,
            (OrgRole::OrgAdmin, Need::AncestorAdmin) => self.inherited,
            (OrgRole::MemberAdmin, Need::Read(Area::Org | Area::People)) => true,
            (OrgRole::MemberAdmin, Need::Write(Area::People)) => true,
            (OrgRole::Viewer, Need::Read(_)) => true,
            _ => false,
        })
    }
}

/// What the caller may do in the org of a scope.
#[derive(Clone, Debug)]
enum Grant {
    /// The operator or an admin client (a read-only client never gets past the extractor with
    /// a write).
    Full,
    Org(Rights),
}

/// An org admin's rights in `org`, or `None` when `org` is out of their reach: their own org,
/// and as `org_admin` its descendants.
async fn rights_in(
    s: &dyn Storage,
    c: &OrgCaller,
    org: &OrgId,
) -> Result<Option<Rights>, ApiError> {
    if org == &c.home {
        return Ok(Some(Rights {
            roles: c.roles.clone(),
            inherited: false,
        }));
    }
    if !c.roles.contains(&OrgRole::OrgAdmin) {
        return Ok(None);
    }
    if s.org_ancestors(org).await?.contains(&c.home) {
        Ok(Some(Rights {
            roles: [OrgRole::OrgAdmin].into(),
            inherited: true,
        }))
    } else {
        Ok(None)
    }
}

/// The orgs an org admin reaches, sorted by id: their own, plus its descendants as `org_admin`.
pub async fn reach(s: &dyn Storage, c: &OrgCaller) -> Result<Vec<OrgId>, ApiError> {
    let mut out: BTreeSet<OrgId> = [c.home.clone()].into();
    if c.roles.contains(&OrgRole::OrgAdmin) {
        out.extend(s.org_descendants(&c.home).await?);
    }
    Ok(out.into_iter().collect())
}

/// The connectors, settings and mailer the handlers of connections, domains and invitations
/// need (no storage).
pub struct Tools<'a> {
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub saml: &'a SamlService,
    pub oidc: &'a OidcConnector,
    pub txt_resolver: &'a dyn TxtResolver,
    pub mailer: &'a dyn crate::mail::Mailer,
}

/// Proof that the caller may use one org for what the route needs: built once per request,
/// the only way an org-scoped handler reaches that org's data.
pub struct OrgScope {
    st: AdminCtx,
    caller: Caller,
    org: OrgId,
    grant: Grant,
    /// The audit actor when it is not the caller's own (an operator acting in the portal is a
    /// person: `user:<id>`).
    actor: Option<String>,
}

impl OrgScope {
    /// Check `caller` against `need` in `org` (404 when out of reach, 403 without the right).
    pub async fn check(
        st: &AdminCtx,
        caller: Caller,
        org: OrgId,
        need: Need,
    ) -> Result<Self, ApiError> {
        let grant = match &caller {
            Caller::Operator | Caller::Client { .. } => Grant::Full,
            Caller::OrgAdmin(c) => {
                let Some(rights) = rights_in(st.storage.as_ref(), c, &org).await? else {
                    return Err(ApiError::not_found("organization"));
                };
                if !rights.allows(need) {
                    return Err(insufficient_scope(match need {
                        Need::Operator => {
                            "Only the operator may do this (app links, allowed role groups, adding an existing user; org admins invite people)."
                        }
                        Need::AncestorAdmin => {
                            "Only an org_admin of a parent organization may delete an organization."
                        }
                        _ => "Your org roles do not allow this here.",
                    }));
                }
                Grant::Org(rights)
            }
        };
        Ok(Self {
            st: st.clone(),
            caller,
            org,
            grant,
            actor: None,
        })
    }

    /// Audit this scope's writes as `actor` (the portal: an operator is a person, `user:<id>`).
    pub fn acting_as(mut self, actor: String) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Whether the caller's rights here allow `need` (the portal's navigation shows only the
    /// sections this allows; the check itself stays [`OrgScope::check`]).
    pub fn allows(&self, need: Need) -> bool {
        match &self.grant {
            Grant::Full => true,
            Grant::Org(r) => r.allows(need),
        }
    }

    /// The org this scope proves access to.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The service context for a write; pass [`OrgScope::org`] as its org.
    pub fn ctx(&self) -> Ctx<'_> {
        let mut c = ctx(&self.st, &self.caller);
        if let Some(a) = &self.actor {
            c.actor = a.clone();
        }
        c
    }

    /// Reads bound to this scope's org.
    pub fn db(&self) -> OrgDb<'_> {
        OrgDb {
            s: self.st.storage.as_ref(),
            org: &self.org,
        }
    }

    pub fn tools(&self) -> Tools<'_> {
        Tools {
            config: &self.st.config,
            clock: self.st.clock.as_ref(),
            saml: &self.st.saml,
            oidc: &self.st.oidc,
            txt_resolver: self.st.txt_resolver.as_ref(),
            mailer: self.st.mailer.as_ref(),
        }
    }

    /// The operator or an admin client.
    pub fn is_operator_like(&self) -> bool {
        matches!(self.grant, Grant::Full)
    }

    /// Refuse unless the operator (or an admin client) calls.
    pub fn require_operator(&self, what: &str) -> Result<(), ApiError> {
        if self.is_operator_like() {
            Ok(())
        } else {
            Err(insufficient_scope(format!("Only the operator may {what}.")))
        }
    }

    fn org_admin_here(&self) -> bool {
        match &self.grant {
            Grant::Full => true,
            Grant::Org(r) => r.is_org_admin(),
        }
    }

    /// A membership or invitation change by this caller: whoever is not `org_admin` here (a
    /// `member_admin`) may neither grant `org_admin` nor touch a membership that holds it.
    /// Other org roles (`member_admin`, `viewer`) are at most the caller's own.
    pub fn check_org_roles(
        &self,
        current: Option<&BTreeSet<OrgRole>>,
        next: Option<&BTreeSet<OrgRole>>,
    ) -> Result<(), ApiError> {
        if self.org_admin_here() {
            return Ok(());
        }
        let touches_admin =
            |s: Option<&BTreeSet<OrgRole>>| s.is_some_and(|s| s.contains(&OrgRole::OrgAdmin));
        if touches_admin(current) || touches_admin(next) {
            return Err(insufficient_scope(
                "Only an org_admin may grant org_admin or change an org admin's membership.",
            ));
        }
        Ok(())
    }

    /// What an org admin may change on an org: its name and branding (and a version check);
    /// slug, status and parent stay with the operator.
    pub fn check_org_patch(&self, p: &super::dto::OrgPatch) -> Result<(), ApiError> {
        if self.is_operator_like() {
            return Ok(());
        }
        for (set, field) in [
            (p.slug.is_some(), "slug"),
            (p.status.is_some(), "status"),
            (p.parent_id.is_some(), "parent_id"),
        ] {
            if set {
                return Err(insufficient_scope(format!(
                    "Only the operator may change an organization's {field}."
                ))
                .with_field(field));
            }
        }
        Ok(())
    }
}

impl FromRequestParts<AdminCtx> for OrgScope {
    type Rejection = ApiError;

    /// For routes under `/orgs/{org_id}`: the need comes from the route ([`need_of`]).
    async fn from_request_parts(parts: &mut Parts, st: &AdminCtx) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, st).await?;
        let template = MatchedPath::from_request_parts(parts, st)
            .await
            .map(|m| m.as_str().to_owned())
            .map_err(|_| ApiError::internal("org scope used outside a matched route"))?;
        let params = RawPathParams::from_request_parts(parts, st)
            .await
            .map_err(|_| ApiError::not_found("organization"))?;
        let Some((_, raw)) = params.iter().find(|(k, _)| *k == "org_id") else {
            return Err(ApiError::internal(
                "org scope used on a route without {org_id}",
            ));
        };
        let org: OrgId = path_id(raw, "organization")?;
        Self::check(st, caller, org, need_of(&parts.method, &template)).await
    }
}

/// Reads of one org's data, each bound to the scope's org in the same query.
pub struct OrgDb<'a> {
    s: &'a dyn Storage,
    org: &'a OrgId,
}

type R<T> = Result<T, ApiError>;

impl OrgDb<'_> {
    pub async fn org(&self) -> R<Org> {
        Ok(service::require_org(self.s, self.org).await?)
    }
    pub async fn links(&self) -> R<Vec<OrgAppLink>> {
        self.org().await?;
        Ok(self.s.list_links_for_org(self.org).await?)
    }
    pub async fn link(&self, app: &AppId) -> R<OrgAppLink> {
        Ok(service::require_link(self.s, self.org, app).await?)
    }
    pub async fn domains(&self) -> R<Vec<OrgDomain>> {
        self.org().await?;
        Ok(self.s.list_domains(self.org).await?)
    }
    pub async fn domain(&self, d: &EmailDomain) -> R<OrgDomain> {
        Ok(service::require_domain(self.s, self.org, d).await?)
    }
    pub async fn connections(&self) -> R<Vec<Connection>> {
        self.org().await?;
        Ok(self.s.list_connections(self.org).await?)
    }
    pub async fn connection(&self, id: &ConnectionId) -> R<Connection> {
        Ok(service::require_connection(self.s, self.org, id).await?)
    }
    pub async fn members(&self, page: &PageRequest) -> R<Page<Membership>> {
        self.org().await?;
        Ok(self.s.list_members(self.org, page).await?)
    }
    /// The org's members (with their users) that pass `filter`: searched, filtered and paged
    /// in the database, with how many pass it.
    pub async fn search_members(
        &self,
        filter: &crate::storage::MemberFilter,
        page: &PageRequest,
    ) -> R<(Page<crate::storage::MemberRow>, u64)> {
        self.org().await?;
        let rows = self.s.search_members(self.org, filter, page).await?;
        let total = self.s.count_members(self.org, filter).await?;
        Ok((rows, total))
    }
    pub async fn member(&self, user: &UserId) -> R<Membership> {
        Ok(service::require_member(self.s, self.org, user).await?)
    }
    pub async fn invitations(&self, page: &PageRequest) -> R<Page<Invitation>> {
        self.org().await?;
        Ok(self.s.list_invitations(self.org, page).await?)
    }
    pub async fn invitation(&self, id: &InvitationId) -> R<Invitation> {
        Ok(service::require_invitation(self.s, self.org, id).await?)
    }
    pub async fn audit(&self, action: Option<String>, page: &PageRequest) -> R<Page<AuditEvent>> {
        Ok(service::list_audit(self.s, Some(self.org.clone()), action, page).await?)
    }
    /// The org's audit log narrowed by `filter` (its `org_id` is replaced by this org's).
    pub async fn audit_where(
        &self,
        mut filter: crate::storage::AuditFilter,
        page: &PageRequest,
    ) -> R<Page<AuditEvent>> {
        filter.org_id = Some(self.org.clone());
        Ok(service::list_audit_where(self.s, &filter, page).await?)
    }
    /// The org's children; for an org admin only those in their reach.
    pub async fn children(&self, caller: &Caller, page: &PageRequest) -> R<Page<Org>> {
        self.org().await?;
        match caller {
            Caller::OrgAdmin(c) => {
                let reach = reach(self.s, c).await?;
                let all = service::all_orgs_with_parent(self.s, Some(self.org)).await?;
                let mine: Vec<Org> = all.into_iter().filter(|o| reach.contains(&o.id)).collect();
                Ok(page_vec(mine, |o| o.id.to_string(), page))
            }
            _ => Ok(self.s.list_orgs(Some(self.org), page).await?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_org_route_has_a_need_and_links_are_the_operators() {
        for r in super::super::route_table() {
            if !r.path.contains("{org_id}") {
                continue;
            }
            let need = need_of(&r.method, r.path);
            if r.path.starts_with("/orgs/{org_id}/apps") && r.method != Method::GET {
                assert_eq!(need, Need::Operator, "{} {}", r.method, r.path);
            }
            if r.method == Method::GET {
                assert!(matches!(need, Need::Read(_)), "{} {}", r.method, r.path);
            }
        }
        assert_eq!(
            need_of(&Method::DELETE, "/api/v1/orgs/{org_id}"),
            Need::AncestorAdmin
        );
        assert_eq!(
            need_of(&Method::PATCH, "/api/v1/orgs/{org_id}/members/{user_id}"),
            Need::Write(Area::People)
        );
        assert_eq!(
            need_of(&Method::POST, "/orgs/{org_id}/members"),
            Need::Operator
        );
        assert_eq!(
            need_of(
                &Method::POST,
                "/orgs/{org_id}/connections/{connection_id}/refresh-metadata"
            ),
            Need::Write(Area::Settings)
        );
    }

    #[test]
    fn rights_table() {
        let r = |roles: &[OrgRole], inherited| Rights {
            roles: roles.iter().copied().collect(),
            inherited,
        };
        let all = [
            Need::Read(Area::Org),
            Need::Read(Area::Settings),
            Need::Read(Area::People),
            Need::Write(Area::Org),
            Need::Write(Area::Settings),
            Need::Write(Area::People),
            Need::Operator,
            Need::AncestorAdmin,
        ];
        let allowed = |x: &Rights| all.iter().filter(|n| x.allows(**n)).count();
        assert_eq!(allowed(&r(&[OrgRole::OrgAdmin], false)), 6);
        assert_eq!(allowed(&r(&[OrgRole::OrgAdmin], true)), 7);
        assert!(r(&[OrgRole::MemberAdmin], false).allows(Need::Write(Area::People)));
        assert!(!r(&[OrgRole::MemberAdmin], false).allows(Need::Write(Area::Settings)));
        assert!(!r(&[OrgRole::MemberAdmin], false).allows(Need::Read(Area::Settings)));
        assert_eq!(allowed(&r(&[OrgRole::Viewer], false)), 3);
        assert_eq!(allowed(&r(&[], false)), 0);
    }
}
