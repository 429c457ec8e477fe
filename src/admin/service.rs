//! The write logic of the admin API, shared by the HTTP handlers and by the declarative
//! import: turning request shapes into validated domain objects, checking the rules that span
//! several objects (against a [`View`] of the world), storing, auditing, and revoking refresh
//! tokens on the member events apps subscribe to (DESIGN §3).
//!
//! Owns: validation order, before/after audit summaries, revocation triggers.
//! Must not touch: HTTP details (status codes are chosen by `ServiceError`'s kind only),
//! storage internals, authentication (callers are already scoped when they get here).

use super::dns::TxtResolver;
use super::dto::{
    self, AppCreate, AppPatch, AppResponse, ConnectionCreate, ConnectionPatch, ConnectionResponse,
    DomainCreate, DomainPatch, DomainResponse, InvitationCreate, InvitationPatch,
    InvitationResponse, LinkCreate, LinkPatch, LinkResponse, MemberCreate, MemberPatch,
    MemberResponse, OrgCreate, OrgPatch, OrgResponse, RoleCreate, RoleGroupCreate, RoleGroupPatch,
    RoleGroupResponse, RolePatch, RoleResponse, UserCreate, UserPatch, UserResponse,
    into_app_roles,
};
use crate::domain::rules;
use crate::domain::{self as d, *};
use crate::storage::{AuditFilter, Page, PageRequest, Storage, StorageError, UserFilter};
use async_trait::async_trait;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// How many times a PATCH without `version` re-reads and retries after a concurrent write.
const MAX_ATTEMPTS: usize = 10;
/// Default validity of an invitation when no app in it says otherwise.
pub const DEFAULT_INVITE_TTL_SECS: i64 = 7 * 24 * 3600;
/// Deepest org hierarchy walked when looking for cycles.
const MAX_DEPTH: usize = 64;

// ---------------------------------------------------------------------------------------
// Errors

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 422: a field breaks a rule.
    Invalid,
    /// 404: the object, or an object the request refers to, does not exist (in this org).
    NotFound,
    /// 409: duplicates, version mismatches, objects still in use.
    Conflict,
    /// 400: the request itself is malformed (bad query parameter…).
    BadRequest,
    /// 503: a dependency (DNS) did not answer.
    Unavailable,
    /// 500: storage failure; `message` is the cause (logged, never sent to HTTP clients).
    Internal,
}

/// An error of the service layer. `field` is a path into the request (`roles.app_crm`);
/// the import prefixes it with the element's place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

pub type SResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            code: "validation_failed",
            message: message.into(),
            field: Some(field.into()),
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("The {what} was not found."),
            field: None,
        }
    }
    /// A referenced object (named by `field`) does not exist, or belongs to another org.
    pub fn ref_not_found(field: impl Into<String>, what: &str, id: &str) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("The {what} {id} was not found."),
            field: Some(field.into()),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Conflict,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadRequest,
            code: "invalid_request",
            message: message.into(),
            field: None,
        }
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            kind: ErrorKind::Internal,
            code: "internal_error",
            message: cause.to_string(),
            field: None,
        }
    }
    pub fn version_conflict() -> Self {
        Self::conflict(
            "version_conflict",
            "The object was changed by someone else (version mismatch); reload it and retry.",
        )
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// Report under a more specific path: `at("orgs[1].members[0]")`.
    pub fn at(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field.take() {
            Some(f) if !f.is_empty() => format!("{prefix}.{f}"),
            _ => prefix.to_owned(),
        });
        self
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        Self::invalid(e.field, e.message)
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::not_found("object"),
            StorageError::Conflict => Self::version_conflict(),
            StorageError::Duplicate(what) => Self::conflict(
                "duplicate",
                format!("A {what} with this value already exists."),
            ),
            StorageError::InUse(what) => Self::conflict(
                "in_use",
                format!(
                    "The object is still in use by {what}; remove those first or use ?cascade=true."
                ),
            ),
            StorageError::MissingReference(what) => Self {
                kind: ErrorKind::Invalid,
                code: "missing_reference",
                message: format!("The referenced {what} does not exist."),
                field: None,
            },
            StorageError::Backend(cause) => Self::internal(format!("{cause:#}")),
        }
    }
}

impl From<ServiceError> for crate::http::ApiError {
    fn from(e: ServiceError) -> Self {
        use axum::http::StatusCode;
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => return crate::http::ApiError::internal(e.message),
        };
        let mut a = crate::http::ApiError::new(status, e.code, e.message);
        a.field = e.field;
        a
    }
}

// ---------------------------------------------------------------------------------------
// Context, audit

/// Who is writing, and where the writes go.
pub struct Ctx<'a> {
    pub storage: &'a dyn Storage,
    pub clock: &'a dyn Clock,
    /// Seals upstream client secrets before they are stored (`None`: such secrets are refused).
    pub seal: Option<&'a crate::keys::seal::SealKey>,
    /// `operator`, `import`, later `user:<id>`.
    pub actor: String,
    pub request_id: Option<String>,
}

impl Ctx<'_> {
    pub fn now(&self) -> OffsetDateTime {
        trunc_millis(self.clock.now())
    }

    /// Record a successful change with its before/after summary.
    pub async fn audit<B: Serialize, A: Serialize>(
        &self,
        org: Option<&OrgId>,
        action: &str,
        target: (&str, &str),
        before: Option<&B>,
        after: Option<&A>,
    ) -> SResult<()> {
        let e = audit_event(
            &self.actor,
            self.request_id.clone(),
            self.now(),
            org,
            action,
            target,
            summary(before),
            summary(after),
        );
        self.storage.append_audit(&e).await?;
        Ok(())
    }
}

/// JSON summary of an object (a response DTO: never secrets).
pub fn summary<T: Serialize>(v: Option<&T>) -> serde_json::Value {
    v.and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[allow(clippy::too_many_arguments)]
pub fn audit_event(
    actor: &str,
    request_id: Option<String>,
    now: OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    (target_type, target_id): (&str, &str),
    before: serde_json::Value,
    after: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: now,
        actor: actor.to_owned(),
        org_id: org.cloned(),
        action: action.to_owned(),
        target_type: target_type.to_owned(),
        target_id: target_id.to_owned(),
        outcome: Outcome::Success,
        details: serde_json::json!({ "before": before, "after": after }),
        request_id,
    }
}

fn check_version(expected: Option<i64>, current: i64) -> SResult<()> {
    match expected {
        Some(v) if v != current => Err(ServiceError::version_conflict()),
        _ => Ok(()),
    }
}

/// Whether a failed CAS update should be retried with a fresh read.
fn retry(e: &StorageError, expected: Option<i64>, attempt: usize) -> bool {
    matches!(e, StorageError::Conflict) && expected.is_none() && attempt + 1 < MAX_ATTEMPTS
}

// ---------------------------------------------------------------------------------------
// Pagination

/// `?limit=&after=` → a storage page request (limit 1-500, default 50).
pub fn page_request(limit: Option<u32>, after: Option<String>) -> SResult<PageRequest> {
    match limit {
        Some(0) | Some(501..) => {
            Err(ServiceError::bad_request("limit must be between 1 and 500.").with_field("limit"))
        }
        _ => Ok(PageRequest {
            after: after.filter(|a| !a.is_empty()),
            limit: limit.unwrap_or(0),
        }),
    }
}

/// Keyset pagination over a list the storage returns whole.
pub fn page_vec<T>(mut items: Vec<T>, key: impl Fn(&T) -> String, req: &PageRequest) -> Page<T> {
    items.sort_by_key(|a| key(a));
    let limit = req.effective_limit() as usize;
    let mut rest: Vec<T> = match &req.after {
        Some(a) => items.into_iter().filter(|x| key(x) > *a).collect(),
        None => items,
    };
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(&key)
    } else {
        None
    };
    Page { items: rest, next }
}

// ---------------------------------------------------------------------------------------
// The view the cross-object rules are checked against

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

/// Every page of a paginated storage listing.
pub async fn all_orgs_with_parent(s: &dyn Storage, parent: Option<&OrgId>) -> SResult<Vec<Org>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_orgs(parent, &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_members(s: &dyn Storage, org: &OrgId) -> SResult<Vec<Membership>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_members(org, &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_apps(s: &dyn Storage) -> SResult<Vec<App>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_apps(&req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_users(s: &dyn Storage) -> SResult<Vec<User>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_users(&UserFilter::default(), &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// Cross-object rules (DESIGN §1, §6.6)

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

fn domain_taken() -> ServiceError {
    ServiceError::conflict(
        "domain_taken",
        "Another organization has already verified this domain.",
    )
}

// ---------------------------------------------------------------------------------------
// Builders: request shape → validated domain object

/// What to do when a confidential app arrives without any secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingSecret {
    /// Generate one and return it (API create).
    Generate,
    /// Keep the stored one, or refuse (import).
    KeepOrRefuse,
}

fn client_secret_hash(secret: &str) -> SResult<TokenHash> {
    if secret.chars().count() < MIN_CLIENT_SECRET_LEN {
        return Err(ServiceError::invalid(
            "client_secret",
            format!("must be at least {MIN_CLIENT_SECRET_LEN} characters"),
        ));
    }
    if secret.chars().any(|c| c.is_control()) || secret.len() > 512 {
        return Err(ServiceError::invalid(
            "client_secret",
            "must be at most 512 characters without control characters",
        ));
    }
    Ok(TokenHash::of(secret))
}

fn revoke_set(v: Option<Vec<dto::MemberEvent>>) -> BTreeSet<d::MemberEvent> {
    match v {
        Some(v) => v.into_iter().map(Into::into).collect(),
        None => d::MemberEvent::ALL.into_iter().collect(),
    }
}

/// Build an app from its create shape. Returns the app and, when one was generated, the
/// plaintext client secret (to show once).
pub fn build_app(
    req: AppCreate,
    existing: Option<&App>,
    now: OffsetDateTime,
    missing: MissingSecret,
) -> SResult<(App, Option<String>)> {
    let id = req
        .id
        .or_else(|| existing.map(|a| a.id.clone()))
        .unwrap_or_else(AppId::generate);
    let client_type: d::ClientType = req.client_type.map(Into::into).unwrap_or_default();
    let mut shown = None;
    let hash = match (req.client_secret, req.client_secret_hash) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "client_secret_hash",
                "give either client_secret or client_secret_hash, not both",
            ));
        }
        (Some(s), None) => Some(client_secret_hash(s.expose())?),
        (None, Some(h)) => Some(TokenHash::from_hex(&h).ok_or_else(|| {
            ServiceError::invalid(
                "client_secret_hash",
                "must be the 64-character hex SHA-256 of the client secret",
            )
        })?),
        (None, None) if client_type == d::ClientType::Public => None,
        (None, None) => match (existing.and_then(|a| a.client_secret_hash.clone()), missing) {
            (Some(h), _) => Some(h),
            (None, MissingSecret::Generate) => {
                let s = random_token();
                let h = TokenHash::of(&s);
                shown = Some(s);
                Some(h)
            }
            (None, MissingSecret::KeepOrRefuse) => {
                return Err(ServiceError::invalid(
                    "client_secret",
                    "a confidential client needs client_secret or client_secret_hash",
                ));
            }
        },
    };
    let app = App {
        id,
        name: req.name,
        client_id: req
            .client_id
            .or_else(|| existing.map(|a| a.client_id.clone()))
            .unwrap_or_else(ClientId::generate),
        client_type,
        client_secret_hash: hash,
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        signing_alg: req.signing_alg.map(Into::into).unwrap_or_default(),
        token_lifetimes: req.token_lifetimes.map(Into::into).unwrap_or_default(),
        invite_ttl_secs: req.invite_ttl_secs.unwrap_or(DEFAULT_INVITE_TTL_SECS),
        revoke_on: revoke_set(req.revoke_on),
        auth_policy: req.auth_policy.map(Into::into).unwrap_or_default(),
        version: existing.map(|a| a.version).unwrap_or(1),
        created_at: existing.map(|a| a.created_at).unwrap_or(now),
        updated_at: existing.map(|a| a.updated_at).unwrap_or(now),
    };
    app.validate()?;
    Ok((app, shown))
}

pub fn build_role(app: &AppId, req: RoleCreate) -> SResult<Role> {
    let r = Role {
        app_id: app.clone(),
        value: req.value,
        name: req.name,
        description: req.description.unwrap_or_default(),
    };
    r.validate()?;
    Ok(r)
}

pub fn build_role_group(
    app: &AppId,
    req: RoleGroupCreate,
    existing: Option<&RoleGroup>,
    now: OffsetDateTime,
) -> SResult<RoleGroup> {
    validate_name(&req.name)?;
    Ok(RoleGroup {
        id: req
            .id
            .or_else(|| existing.map(|g| g.id.clone()))
            .unwrap_or_else(RoleGroupId::generate),
        app_id: app.clone(),
        name: req.name,
        roles: req.roles.into_iter().collect(),
        version: existing.map(|g| g.version).unwrap_or(1),
        created_at: existing.map(|g| g.created_at).unwrap_or(now),
        updated_at: existing.map(|g| g.updated_at).unwrap_or(now),
    })
}

pub fn build_org(req: OrgCreate, existing: Option<&Org>, now: OffsetDateTime) -> SResult<Org> {
    let o = Org {
        id: req
            .id
            .or_else(|| existing.map(|o| o.id.clone()))
            .unwrap_or_else(OrgId::generate),
        slug: req.slug,
        name: req.name,
        status: req.status.map(Into::into).unwrap_or_default(),
        parent_id: req.parent_id,
        branding: req.branding.map(Into::into).unwrap_or_default(),
        version: existing.map(|o| o.version).unwrap_or(1),
        created_at: existing.map(|o| o.created_at).unwrap_or(now),
        updated_at: existing.map(|o| o.updated_at).unwrap_or(now),
    };
    o.validate()?;
    Ok(o)
}

pub fn build_link(
    org: &OrgId,
    req: LinkCreate,
    existing: Option<&OrgAppLink>,
    now: OffsetDateTime,
) -> OrgAppLink {
    OrgAppLink {
        org_id: org.clone(),
        app_id: req.app_id,
        allowed_role_groups: req.allowed_role_groups.into_iter().collect(),
        auth_policy: req.auth_policy.map(Into::into).unwrap_or_default(),
        jit: req.jit.unwrap_or(false),
        default_roles: req.default_roles.into_iter().collect(),
        version: existing.map(|l| l.version).unwrap_or(1),
        created_at: existing.map(|l| l.created_at).unwrap_or(now),
        updated_at: existing.map(|l| l.updated_at).unwrap_or(now),
    }
}

pub fn build_domain(
    org: &OrgId,
    req: DomainCreate,
    existing: Option<&OrgDomain>,
    now: OffsetDateTime,
) -> SResult<OrgDomain> {
    let domain = EmailDomain::parse(&req.domain)?;
    let verified = req.verified.unwrap_or(false);
    let verified_at = match (verified, existing) {
        (false, _) => None,
        (true, Some(e)) if e.verified => e.verified_at.or(Some(now)),
        (true, _) => Some(now),
    };
    Ok(OrgDomain {
        org_id: org.clone(),
        domain,
        verified,
        verification_token: existing
            .map(|e| e.verification_token.clone())
            .unwrap_or_else(random_token),
        verified_at,
        created_at: existing.map(|e| e.created_at).unwrap_or(now),
    })
}

fn upstream_secret(c: &Connection) -> Option<&Secret> {
    match &c.config {
        ConnectionConfig::Oidc(o) => o.client_secret.as_ref(),
        _ => None,
    }
}

/// Seal the upstream (OIDC) client secret of `c` before it is stored (issue 4: never at rest
/// in clear). A secret kept from `existing` is already sealed; a plaintext secret equal to what
/// `existing` holds keeps the stored sealed value (so a repeated import changes nothing).
pub fn seal_upstream_secret(
    seal: Option<&crate::keys::seal::SealKey>,
    c: &mut Connection,
    existing: Option<&Connection>,
) -> SResult<()> {
    let ConnectionConfig::Oidc(o) = &mut c.config else {
        return Ok(());
    };
    let Some(secret) = &o.client_secret else {
        return Ok(());
    };
    let stored = existing.and_then(upstream_secret);
    if stored == Some(secret) {
        return Ok(());
    }
    let Some(seal) = seal else {
        return Err(ServiceError::invalid(
            "config.client_secret",
            "an upstream client secret can only be stored where the secret key is available (use the admin API or `lobby import`)",
        ));
    };
    if let Some(st) = stored
        && seal
            .open(st.expose())
            .is_ok_and(|plain| plain == secret.expose().as_bytes())
    {
        o.client_secret = Some(st.clone());
        return Ok(());
    }
    if secret.is_empty() || secret.expose().len() > 1024 {
        return Err(ServiceError::invalid(
            "config.client_secret",
            "must be 1-1024 characters",
        ));
    }
    let sealed = seal
        .seal(secret.expose().as_bytes())
        .map_err(ServiceError::internal)?;
    o.client_secret = Some(Secret::new(sealed));
    Ok(())
}

pub fn build_connection(
    org: &OrgId,
    req: ConnectionCreate,
    existing: Option<&Connection>,
    now: OffsetDateTime,
) -> SResult<Connection> {
    if let Some(e) = existing
        && dto::ConnectionKind::from(e.kind()) != req.config.kind()
    {
        return Err(ServiceError::invalid(
            "config.kind",
            "the kind of a connection cannot change; create a new connection",
        ));
    }
    let c = Connection {
        id: req
            .id
            .or_else(|| existing.map(|c| c.id.clone()))
            .unwrap_or_else(ConnectionId::generate),
        org_id: org.clone(),
        name: req.name,
        state: req.state.map(Into::into).unwrap_or_default(),
        config: req.config.into_domain(existing.and_then(upstream_secret)),
        version: existing.map(|c| c.version).unwrap_or(1),
        created_at: existing.map(|c| c.created_at).unwrap_or(now),
        updated_at: existing.map(|c| c.updated_at).unwrap_or(now),
    };
    c.validate()?;
    Ok(c)
}

fn check_password(p: &str) -> SResult<()> {
    let n = p.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(ServiceError::invalid(
            "password",
            "must be between 8 and 1024 characters",
        ));
    }
    Ok(())
}

/// Hash a password unless the stored hash already matches it (keeps imports idempotent).
fn password_hash(p: &str, existing: Option<&Secret>) -> SResult<Secret> {
    check_password(p)?;
    if let Some(h) = existing
        && verify_password(h, p)
    {
        return Ok(h.clone());
    }
    hash_password(p).map_err(ServiceError::internal)
}

pub fn build_user(req: UserCreate, existing: Option<&User>, now: OffsetDateTime) -> SResult<User> {
    let password_hash = match &req.password {
        Some(p) => Some(password_hash(
            p.expose(),
            existing.and_then(|u| u.password_hash.as_ref()),
        )?),
        None => existing.and_then(|u| u.password_hash.clone()),
    };
    let u = User {
        id: req
            .id
            .or_else(|| existing.map(|u| u.id.clone()))
            .unwrap_or_else(UserId::generate),
        email: req.email,
        email_verified: req.email_verified.unwrap_or(false),
        name: req.name,
        password_hash,
        version: existing.map(|u| u.version).unwrap_or(1),
        created_at: existing.map(|u| u.created_at).unwrap_or(now),
        updated_at: existing.map(|u| u.updated_at).unwrap_or(now),
    };
    u.validate()?;
    Ok(u)
}

pub fn build_membership(
    org: &OrgId,
    req: MemberCreate,
    existing: Option<&Membership>,
    now: OffsetDateTime,
) -> Membership {
    Membership {
        org_id: org.clone(),
        user_id: req.user_id,
        status: req.status.map(Into::into).unwrap_or_default(),
        roles: into_app_roles(req.roles),
        org_roles: req.org_roles.into_iter().map(Into::into).collect(),
        version: existing.map(|m| m.version).unwrap_or(1),
        created_at: existing.map(|m| m.created_at).unwrap_or(now),
        updated_at: existing.map(|m| m.updated_at).unwrap_or(now),
    }
}

// ---------------------------------------------------------------------------------------
// Member events → refresh-token revocation (DESIGN §3)

/// Apps linked to `org` (optionally only `only`) that revoke on `event`.
async fn apps_revoking_on(
    ctx: &Ctx<'_>,
    org: &OrgId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<BTreeSet<AppId>> {
    let mut out = BTreeSet::new();
    for link in ctx.storage.list_links_for_org(org).await? {
        if only.is_some_and(|o| !o.contains(&link.app_id)) {
            continue;
        }
        if let Some(app) = ctx.storage.get_app(&link.app_id).await?
            && app.revoke_on.contains(&event)
        {
            out.insert(app.id);
        }
    }
    Ok(out)
}

/// Revoke a member's refresh-token families for the apps that subscribe to `event`.
pub async fn revoke_member(
    ctx: &Ctx<'_>,
    org: &OrgId,
    user: &UserId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<u64> {
    let apps = apps_revoking_on(ctx, org, event, only).await?;
    if apps.is_empty() {
        return Ok(0);
    }
    let n = ctx
        .storage
        .revoke_member_families(org, user, Some(&apps), ctx.now())
        .await?;
    if n > 0 {
        tracing::info!(org = %org, user = %user, event = ?event, revoked = n, "member event revoked refresh tokens");
    }
    Ok(n)
}

/// Revoke every member's refresh-token families of an org for the apps subscribing to `event`.
pub async fn revoke_org(
    ctx: &Ctx<'_>,
    org: &OrgId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<u64> {
    let apps = apps_revoking_on(ctx, org, event, only).await?;
    if apps.is_empty() {
        return Ok(0);
    }
    let n = ctx
        .storage
        .revoke_org_families(org, Some(&apps), ctx.now())
        .await?;
    if n > 0 {
        tracing::info!(org = %org, event = ?event, revoked = n, "org event revoked refresh tokens");
    }
    Ok(n)
}

/// Apps whose member roles differ between two role maps.
fn changed_apps(a: &AppRoles, b: &AppRoles) -> BTreeSet<AppId> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k).filter(|v| !v.is_empty()) != b.get(*k).filter(|v| !v.is_empty()))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------
// Apps

pub async fn require_app(s: &dyn Storage, id: &AppId) -> SResult<App> {
    s.get_app(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("app"))
}

pub async fn create_app(ctx: &Ctx<'_>, req: AppCreate) -> SResult<(App, Option<String>)> {
    let (app, secret) = build_app(req, None, ctx.now(), MissingSecret::Generate)?;
    if ctx.storage.get_app(&app.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An app with this id already exists.",
        ));
    }
    if ctx
        .storage
        .get_app_by_client_id(&app.client_id)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "duplicate",
            "An app with this client_id already exists.",
        )
        .with_field("client_id"));
    }
    ctx.storage.create_app(&app).await?;
    let after = AppResponse::from(&app);
    ctx.audit(
        None,
        "app.create",
        ("app", app.id.as_str()),
        None::<&()>,
        Some(&after),
    )
    .await?;
    Ok((app, secret))
}

pub async fn update_app(ctx: &Ctx<'_>, id: &AppId, p: AppPatch) -> SResult<(App, Option<String>)> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_app(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        let mut shown = None;
        if let Some(v) = &p.name {
            next.name = v.clone();
        }
        if let Some(v) = &p.client_id {
            next.client_id = v.clone();
        }
        if let Some(v) = &p.redirect_uris {
            next.redirect_uris = v.clone();
        }
        if let Some(v) = &p.post_logout_redirect_uris {
            next.post_logout_redirect_uris = v.clone();
        }
        if let Some(v) = p.signing_alg {
            next.signing_alg = v.into();
        }
        if let Some(v) = &p.token_lifetimes {
            next.token_lifetimes = v.clone().into();
        }
        if let Some(v) = p.invite_ttl_secs {
            next.invite_ttl_secs = v;
        }
        if let Some(v) = &p.revoke_on {
            next.revoke_on = revoke_set(Some(v.clone()));
        }
        if let Some(v) = &p.auth_policy {
            next.auth_policy = v.clone().into();
        }
        if let Some(t) = p.client_type {
            next.client_type = t.into();
            if next.client_type == d::ClientType::Public {
                next.client_secret_hash = None;
            }
        }
        let rotate = p.rotate_client_secret.unwrap_or(false);
        if rotate && p.client_secret.is_some() {
            return Err(ServiceError::invalid(
                "rotate_client_secret",
                "give either client_secret or rotate_client_secret, not both",
            ));
        }
        if let Some(s) = &p.client_secret {
            next.client_secret_hash = Some(client_secret_hash(s.expose())?);
        }
        let needs_secret =
            next.client_type == d::ClientType::Confidential && next.client_secret_hash.is_none();
        if (rotate || needs_secret) && p.client_secret.is_none() {
            if next.client_type == d::ClientType::Public {
                return Err(ServiceError::invalid(
                    "rotate_client_secret",
                    "a public client has no client secret",
                ));
            }
            let s = random_token();
            next.client_secret_hash = Some(TokenHash::of(&s));
            shown = Some(s);
        }
        next.updated_at = ctx.now();
        next.validate()?;
        if next.client_id != cur.client_id
            && let Some(other) = ctx.storage.get_app_by_client_id(&next.client_id).await?
            && other.id != cur.id
        {
            return Err(ServiceError::conflict(
                "duplicate",
                "An app with this client_id already exists.",
            )
            .with_field("client_id"));
        }
        match ctx.storage.update_app(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "app.update",
                    ("app", id.as_str()),
                    Some(&AppResponse::from(&cur)),
                    Some(&AppResponse::from(&stored)),
                )
                .await?;
                return Ok((stored, shown));
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_app(ctx: &Ctx<'_>, id: &AppId, cascade: bool) -> SResult<()> {
    let cur = require_app(ctx.storage, id).await?;
    ctx.storage.delete_app(id, cascade).await?;
    ctx.audit(
        None,
        "app.delete",
        ("app", id.as_str()),
        Some(&AppResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Roles

pub async fn require_role(s: &dyn Storage, app: &AppId, v: &RoleValue) -> SResult<Role> {
    s.get_role(app, v)
        .await?
        .ok_or_else(|| ServiceError::not_found("role"))
}

pub async fn create_role(ctx: &Ctx<'_>, app: &AppId, req: RoleCreate) -> SResult<Role> {
    require_app(ctx.storage, app).await?;
    let role = build_role(app, req)?;
    if ctx.storage.get_role(app, &role.value).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The app already has a role with this value.",
        )
        .with_field("value"));
    }
    ctx.storage.create_role(&role).await?;
    ctx.audit(
        None,
        "role.create",
        ("role", &format!("{app}/{}", role.value)),
        None::<&()>,
        Some(&RoleResponse::from(&role)),
    )
    .await?;
    Ok(role)
}

pub async fn update_role(
    ctx: &Ctx<'_>,
    app: &AppId,
    value: &RoleValue,
    p: RolePatch,
) -> SResult<Role> {
    let cur = require_role(ctx.storage, app, value).await?;
    let mut next = cur.clone();
    if let Some(n) = p.name {
        next.name = n;
    }
    if let Some(dsc) = p.description {
        next.description = dsc;
    }
    next.validate()?;
    ctx.storage.update_role(&next).await?;
    ctx.audit(
        None,
        "role.update",
        ("role", &format!("{app}/{value}")),
        Some(&RoleResponse::from(&cur)),
        Some(&RoleResponse::from(&next)),
    )
    .await?;
    Ok(next)
}

pub async fn delete_role(ctx: &Ctx<'_>, app: &AppId, value: &RoleValue) -> SResult<()> {
    let cur = require_role(ctx.storage, app, value).await?;
    let users: Vec<String> = ctx
        .storage
        .list_role_groups(app)
        .await?
        .into_iter()
        .filter(|g| g.roles.contains(value))
        .map(|g| g.id.to_string())
        .collect();
    if !users.is_empty() {
        return Err(ServiceError::conflict(
            "in_use",
            format!(
                "The role is still part of role group(s) {}; remove it there first.",
                users.join(", ")
            ),
        ));
    }
    ctx.storage.delete_role(app, value).await?;
    ctx.audit(
        None,
        "role.delete",
        ("role", &format!("{app}/{value}")),
        Some(&RoleResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Role groups

pub async fn require_role_group(
    s: &dyn Storage,
    app: &AppId,
    id: &RoleGroupId,
) -> SResult<RoleGroup> {
    s.get_role_group(app, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("role group"))
}

pub async fn create_role_group(
    ctx: &Ctx<'_>,
    app: &AppId,
    req: RoleGroupCreate,
) -> SResult<RoleGroup> {
    require_app(ctx.storage, app).await?;
    let g = build_role_group(app, req, None, ctx.now())?;
    check_role_group(&StoreView(ctx.storage), &g).await?;
    if ctx.storage.get_role_group(app, &g.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "A role group with this id already exists.",
        ));
    }
    ctx.storage.create_role_group(&g).await?;
    ctx.audit(
        None,
        "role_group.create",
        ("role_group", g.id.as_str()),
        None::<&()>,
        Some(&RoleGroupResponse::from(&g)),
    )
    .await?;
    Ok(g)
}

pub async fn update_role_group(
    ctx: &Ctx<'_>,
    app: &AppId,
    id: &RoleGroupId,
    p: RoleGroupPatch,
) -> SResult<RoleGroup> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_role_group(ctx.storage, app, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(r) = &p.roles {
            next.roles = r.iter().cloned().collect();
        }
        next.updated_at = ctx.now();
        check_role_group(&StoreView(ctx.storage), &next).await?;
        match ctx.storage.update_role_group(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "role_group.update",
                    ("role_group", id.as_str()),
                    Some(&RoleGroupResponse::from(&cur)),
                    Some(&RoleGroupResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_role_group(ctx: &Ctx<'_>, app: &AppId, id: &RoleGroupId) -> SResult<()> {
    let cur = require_role_group(ctx.storage, app, id).await?;
    ctx.storage.delete_role_group(app, id).await?;
    ctx.audit(
        None,
        "role_group.delete",
        ("role_group", id.as_str()),
        Some(&RoleGroupResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Organizations

pub async fn require_org(s: &dyn Storage, id: &OrgId) -> SResult<Org> {
    s.get_org(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("organization"))
}

pub async fn create_org(ctx: &Ctx<'_>, req: OrgCreate) -> SResult<Org> {
    let org = build_org(req, None, ctx.now())?;
    if ctx.storage.get_org(&org.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An organization with this id already exists.",
        ));
    }
    if ctx.storage.get_org_by_slug(&org.slug).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An organization with this slug already exists.",
        )
        .with_field("slug"));
    }
    check_org(&StoreView(ctx.storage), &org).await?;
    ctx.storage.create_org(&org).await?;
    ctx.audit(
        Some(&org.id),
        "org.create",
        ("org", org.id.as_str()),
        None::<&()>,
        Some(&OrgResponse::from(&org)),
    )
    .await?;
    Ok(org)
}

pub async fn update_org(ctx: &Ctx<'_>, id: &OrgId, p: OrgPatch) -> SResult<Org> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_org(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(s) = &p.slug {
            next.slug = s.clone();
        }
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(s) = p.status {
            next.status = s.into();
        }
        if let Some(parent) = &p.parent_id {
            next.parent_id = parent.clone();
        }
        if let Some(b) = &p.branding {
            next.branding = b.clone().into();
        }
        next.updated_at = ctx.now();
        if next.parent_id != cur.parent_id {
            check_org(&StoreView(ctx.storage), &next).await?;
            check_org_links_fit_parent(&StoreView(ctx.storage), &next).await?;
        } else {
            next.validate()?;
        }
        if next.slug != cur.slug
            && let Some(other) = ctx.storage.get_org_by_slug(&next.slug).await?
            && other.id != cur.id
        {
            return Err(ServiceError::conflict(
                "duplicate",
                "An organization with this slug already exists.",
            )
            .with_field("slug"));
        }
        match ctx.storage.update_org(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(id),
                    "org.update",
                    ("org", id.as_str()),
                    Some(&OrgResponse::from(&cur)),
                    Some(&OrgResponse::from(&stored)),
                )
                .await?;
                if stored.status == d::OrgStatus::Suspended && p.status.is_some() {
                    revoke_org(ctx, id, d::MemberEvent::OrgSuspended, None).await?;
                }
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_org(ctx: &Ctx<'_>, id: &OrgId, cascade: bool) -> SResult<()> {
    let cur = require_org(ctx.storage, id).await?;
    let mut removed = vec![id.clone()];
    if cascade {
        removed.extend(ctx.storage.org_descendants(id).await?);
    } else {
        // Checked here too (not only by storage) so the message is precise.
        if !all_orgs_with_parent(ctx.storage, Some(id))
            .await?
            .is_empty()
        {
            return Err(ServiceError::conflict(
                "in_use",
                "The organization still has child organizations; delete them first or use ?cascade=true.",
            ));
        }
        let page = ctx.storage.list_members(id, &PageRequest::first(1)).await?;
        if !page.items.is_empty() {
            return Err(ServiceError::conflict(
                "in_use",
                "The organization still has members; remove them first or use ?cascade=true.",
            ));
        }
    }
    // Every refresh token of the removed orgs dies with them, whatever the apps subscribe to.
    let now = ctx.now();
    for o in &removed {
        ctx.storage.revoke_org_families(o, None, now).await?;
    }
    ctx.storage.delete_org(id, cascade).await?;
    let before = serde_json::json!({
        "org": OrgResponse::from(&cur),
        "cascade": cascade,
        "removed_orgs": removed.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
    });
    ctx.audit(
        Some(id),
        "org.delete",
        ("org", id.as_str()),
        Some(&before),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Links

pub async fn require_link(s: &dyn Storage, org: &OrgId, app: &AppId) -> SResult<OrgAppLink> {
    s.get_link(org, app)
        .await?
        .ok_or_else(|| ServiceError::not_found("link between this organization and app"))
}

pub async fn create_link(ctx: &Ctx<'_>, org: &OrgId, req: LinkCreate) -> SResult<OrgAppLink> {
    require_org(ctx.storage, org).await?;
    let link = build_link(org, req, None, ctx.now());
    check_link(&StoreView(ctx.storage), &link, false).await?;
    if ctx.storage.get_link(org, &link.app_id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The organization is already linked to this app.",
        )
        .with_field("app_id"));
    }
    ctx.storage.create_link(&link).await?;
    ctx.audit(
        Some(org),
        "link.create",
        ("link", &format!("{org}/{}", link.app_id)),
        None::<&()>,
        Some(&LinkResponse::from(&link)),
    )
    .await?;
    Ok(link)
}

pub async fn update_link(
    ctx: &Ctx<'_>,
    org: &OrgId,
    app: &AppId,
    p: LinkPatch,
) -> SResult<OrgAppLink> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_link(ctx.storage, org, app).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(g) = &p.allowed_role_groups {
            next.allowed_role_groups = g.iter().cloned().collect();
        }
        if let Some(a) = &p.auth_policy {
            next.auth_policy = a.clone().into();
        }
        if let Some(j) = p.jit {
            next.jit = j;
        }
        if let Some(r) = &p.default_roles {
            next.default_roles = r.iter().cloned().collect();
        }
        next.updated_at = ctx.now();
        check_link(&StoreView(ctx.storage), &next, true).await?;
        match ctx.storage.update_link(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "link.update",
                    ("link", &format!("{org}/{app}")),
                    Some(&LinkResponse::from(&cur)),
                    Some(&LinkResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_link(ctx: &Ctx<'_>, org: &OrgId, app: &AppId) -> SResult<()> {
    let cur = require_link(ctx.storage, org, app).await?;
    for child in all_orgs_with_parent(ctx.storage, Some(org)).await? {
        if ctx.storage.get_link(&child.id, app).await?.is_some() {
            return Err(ServiceError::conflict(
                "in_use",
                format!(
                    "The child organization {} is still linked to this app; unlink it first.",
                    child.id
                ),
            ));
        }
    }
    // Resolve which apps revoke before the link disappears (the lookup goes through links).
    let only: BTreeSet<AppId> = [app.clone()].into();
    let apps = apps_revoking_on(ctx, org, d::MemberEvent::OrgUnlinked, Some(&only)).await?;
    ctx.storage.delete_link(org, app).await?;
    if !apps.is_empty() {
        ctx.storage
            .revoke_org_families(org, Some(&apps), ctx.now())
            .await?;
    }
    ctx.audit(
        Some(org),
        "link.delete",
        ("link", &format!("{org}/{app}")),
        Some(&LinkResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Domains

pub async fn require_domain(
    s: &dyn Storage,
    org: &OrgId,
    domain: &EmailDomain,
) -> SResult<OrgDomain> {
    s.get_domain(org, domain)
        .await?
        .ok_or_else(|| ServiceError::not_found("domain"))
}

pub async fn create_domain(ctx: &Ctx<'_>, org: &OrgId, req: DomainCreate) -> SResult<OrgDomain> {
    require_org(ctx.storage, org).await?;
    let dom = build_domain(org, req, None, ctx.now())?;
    if ctx.storage.get_domain(org, &dom.domain).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The organization already has this domain.",
        )
        .with_field("domain"));
    }
    check_domain(&StoreView(ctx.storage), &dom).await?;
    ctx.storage.create_domain(&dom).await.map_err(|e| match e {
        StorageError::Duplicate(_) if dom.verified => domain_taken(),
        e => e.into(),
    })?;
    ctx.audit(
        Some(org),
        "domain.create",
        ("domain", dom.domain.as_str()),
        None::<&()>,
        Some(&DomainResponse::from(&dom)),
    )
    .await?;
    Ok(dom)
}

async fn set_domain_verified(
    ctx: &Ctx<'_>,
    cur: OrgDomain,
    verified: bool,
    action: &str,
) -> SResult<OrgDomain> {
    if cur.verified == verified {
        return Ok(cur);
    }
    let mut next = cur.clone();
    next.verified = verified;
    next.verified_at = verified.then(|| ctx.now());
    check_domain(&StoreView(ctx.storage), &next).await?;
    ctx.storage
        .update_domain(&next)
        .await
        .map_err(|e| match e {
            StorageError::Duplicate(_) => domain_taken(),
            e => e.into(),
        })?;
    ctx.audit(
        Some(&cur.org_id),
        action,
        ("domain", cur.domain.as_str()),
        Some(&DomainResponse::from(&cur)),
        Some(&DomainResponse::from(&next)),
    )
    .await?;
    Ok(next)
}

pub async fn update_domain(
    ctx: &Ctx<'_>,
    org: &OrgId,
    domain: &EmailDomain,
    p: DomainPatch,
) -> SResult<OrgDomain> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    match p.verified {
        Some(v) => set_domain_verified(ctx, cur, v, "domain.update").await,
        None => Ok(cur),
    }
}

/// Check the DNS TXT record `_lobby-challenge.<domain>` for
/// `lobby-domain-verification=<token>` and mark the domain verified.
pub async fn verify_domain(
    ctx: &Ctx<'_>,
    resolver: &dyn TxtResolver,
    org: &OrgId,
    domain: &EmailDomain,
) -> SResult<OrgDomain> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    if cur.verified {
        return Ok(cur);
    }
    let name = cur.txt_record_name();
    let expected = cur.txt_record_value();
    let records = resolver.txt(&name).await.map_err(|e| {
        tracing::warn!(domain = %domain, error = %e, "domain verification: DNS lookup failed");
        ServiceError {
            kind: ErrorKind::Unavailable,
            code: "dns_unavailable",
            message: "The DNS lookup failed; try again in a few minutes.".into(),
            field: None,
        }
    })?;
    if !records.iter().any(|r| r.trim() == expected) {
        return Err(ServiceError {
            kind: ErrorKind::Invalid,
            code: "verification_failed",
            message: format!(
                "No TXT record {name} with the value {expected} was found. Publish it and retry (DNS changes can take a while to appear)."
            ),
            field: None,
        });
    }
    set_domain_verified(ctx, cur, true, "domain.verify").await
}

pub async fn delete_domain(ctx: &Ctx<'_>, org: &OrgId, domain: &EmailDomain) -> SResult<()> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    ctx.storage.delete_domain(org, domain).await?;
    ctx.audit(
        Some(org),
        "domain.delete",
        ("domain", domain.as_str()),
        Some(&DomainResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Connections

pub async fn require_connection(
    s: &dyn Storage,
    org: &OrgId,
    id: &ConnectionId,
) -> SResult<Connection> {
    s.get_connection(org, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("connection"))
}

pub async fn create_connection(
    ctx: &Ctx<'_>,
    org: &OrgId,
    req: ConnectionCreate,
) -> SResult<Connection> {
    require_org(ctx.storage, org).await?;
    let mut c = build_connection(org, req, None, ctx.now())?;
    seal_upstream_secret(ctx.seal, &mut c, None)?;
    check_connection(&StoreView(ctx.storage), &c).await?;
    if ctx
        .storage
        .get_connection_for_callback(&c.id)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "duplicate",
            "A connection with this id already exists.",
        ));
    }
    ctx.storage.create_connection(&c).await?;
    ctx.audit(
        Some(org),
        "connection.create",
        ("connection", c.id.as_str()),
        None::<&()>,
        Some(&ConnectionResponse::from(&c)),
    )
    .await?;
    Ok(c)
}

pub async fn update_connection(
    ctx: &Ctx<'_>,
    org: &OrgId,
    id: &ConnectionId,
    p: ConnectionPatch,
) -> SResult<Connection> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_connection(ctx.storage, org, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(s) = p.state {
            next.state = s.into();
        }
        if let Some(c) = &p.config {
            if c.kind() != cur.kind().into() {
                return Err(ServiceError::invalid(
                    "config.kind",
                    "the kind of a connection cannot change; create a new connection",
                ));
            }
            next.config = c.clone().into_domain(upstream_secret(&cur));
            seal_upstream_secret(ctx.seal, &mut next, Some(&cur))?;
        }
        next.updated_at = ctx.now();
        check_connection(&StoreView(ctx.storage), &next).await?;
        match ctx.storage.update_connection(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "connection.update",
                    ("connection", id.as_str()),
                    Some(&ConnectionResponse::from(&cur)),
                    Some(&ConnectionResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_connection(ctx: &Ctx<'_>, org: &OrgId, id: &ConnectionId) -> SResult<()> {
    let cur = require_connection(ctx.storage, org, id).await?;
    for link in ctx.storage.list_links_for_org(org).await? {
        if let LinkAuthPolicy::Connections { connection_ids } = &link.auth_policy
            && connection_ids.contains(id)
        {
            return Err(ServiceError::conflict(
                "in_use",
                format!(
                    "The auth policy of the link to app {} still uses this connection; change it first.",
                    link.app_id
                ),
            ));
        }
    }
    ctx.storage.delete_connection(org, id).await?;
    ctx.audit(
        Some(org),
        "connection.delete",
        ("connection", id.as_str()),
        Some(&ConnectionResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Users

pub async fn require_user(s: &dyn Storage, id: &UserId) -> SResult<User> {
    s.get_user(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("user"))
}

async fn email_taken(s: &dyn Storage, email: &Email, except: Option<&UserId>) -> SResult<bool> {
    let page = s
        .list_users(
            &UserFilter {
                email: Some(email.clone()),
            },
            &PageRequest::first(2),
        )
        .await?;
    Ok(page.items.iter().any(|u| Some(&u.id) != except))
}

fn email_taken_error() -> ServiceError {
    ServiceError::conflict("duplicate", "A user with this email already exists.")
        .with_field("email")
}

pub async fn create_user(ctx: &Ctx<'_>, req: UserCreate) -> SResult<User> {
    let u = build_user(req, None, ctx.now())?;
    if ctx.storage.get_user(&u.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "A user with this id already exists.",
        ));
    }
    if email_taken(ctx.storage, &u.email, None).await? {
        return Err(email_taken_error());
    }
    ctx.storage.create_user(&u).await?;
    ctx.audit(
        None,
        "user.create",
        ("user", u.id.as_str()),
        None::<&()>,
        Some(&UserResponse::from(&u)),
    )
    .await?;
    Ok(u)
}

pub async fn update_user(ctx: &Ctx<'_>, id: &UserId, p: UserPatch) -> SResult<User> {
    // Hash once, outside the retry loop (argon2 is slow on purpose).
    let new_password = match &p.password {
        Some(Some(pw)) => Some(Some(password_hash(pw.expose(), None)?)),
        Some(None) => Some(None),
        None => None,
    };
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_user(ctx.storage, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(e) = &p.email {
            next.email = e.clone();
        }
        if let Some(v) = p.email_verified {
            next.email_verified = v;
        }
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(pw) = &new_password {
            next.password_hash = pw.clone();
        }
        next.updated_at = ctx.now();
        next.validate()?;
        if next.email != cur.email && email_taken(ctx.storage, &next.email, Some(id)).await? {
            return Err(email_taken_error());
        }
        match ctx.storage.update_user(&next).await {
            Ok(stored) => {
                ctx.audit(
                    None,
                    "user.update",
                    ("user", id.as_str()),
                    Some(&UserResponse::from(&cur)),
                    Some(&UserResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_user(ctx: &Ctx<'_>, id: &UserId) -> SResult<()> {
    let cur = require_user(ctx.storage, id).await?;
    // The user disappears from every org: all their refresh tokens die, whatever the apps
    // subscribe to.
    let now = ctx.now();
    for m in ctx.storage.list_memberships_for_user(id).await? {
        ctx.storage
            .revoke_member_families(&m.org_id, id, None, now)
            .await?;
    }
    ctx.storage.delete_user(id).await?;
    ctx.audit(
        None,
        "user.delete",
        ("user", id.as_str()),
        Some(&UserResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Members

pub async fn require_member(s: &dyn Storage, org: &OrgId, user: &UserId) -> SResult<Membership> {
    s.get_membership(org, user)
        .await?
        .ok_or_else(|| ServiceError::not_found("member"))
}

pub async fn create_member(ctx: &Ctx<'_>, org: &OrgId, req: MemberCreate) -> SResult<Membership> {
    require_org(ctx.storage, org).await?;
    let m = build_membership(org, req, None, ctx.now());
    check_membership(&StoreView(ctx.storage), &m).await?;
    if ctx.storage.get_membership(org, &m.user_id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The user is already a member of this organization.",
        )
        .with_field("user_id"));
    }
    ctx.storage.create_membership(&m).await?;
    ctx.audit(
        Some(org),
        "member.create",
        ("member", m.user_id.as_str()),
        None::<&()>,
        Some(&MemberResponse::from(&m)),
    )
    .await?;
    Ok(m)
}

pub async fn update_member(
    ctx: &Ctx<'_>,
    org: &OrgId,
    user: &UserId,
    p: MemberPatch,
) -> SResult<Membership> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_member(ctx.storage, org, user).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(s) = p.status {
            next.status = s.into();
        }
        if let Some(r) = &p.roles {
            next.roles = into_app_roles(r.clone());
        }
        if let Some(r) = &p.org_roles {
            next.org_roles = r.iter().map(|x| (*x).into()).collect();
        }
        next.updated_at = ctx.now();
        next.validate_shape()?;
        if next.roles != cur.roles {
            check_roles_for_org(&StoreView(ctx.storage), org, &next.roles).await?;
        }
        match ctx.storage.update_membership(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "member.update",
                    ("member", user.as_str()),
                    Some(&MemberResponse::from(&cur)),
                    Some(&MemberResponse::from(&stored)),
                )
                .await?;
                if stored.status == d::MemberStatus::Suspended && p.status.is_some() {
                    revoke_member(ctx, org, user, d::MemberEvent::MemberSuspended, None).await?;
                }
                let changed = changed_apps(&cur.roles, &stored.roles);
                if !changed.is_empty() {
                    revoke_member(ctx, org, user, d::MemberEvent::RolesChanged, Some(&changed))
                        .await?;
                }
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_member(ctx: &Ctx<'_>, org: &OrgId, user: &UserId) -> SResult<()> {
    let cur = require_member(ctx.storage, org, user).await?;
    let apps = apps_revoking_on(ctx, org, d::MemberEvent::MemberRemoved, None).await?;
    ctx.storage.delete_membership(org, user).await?;
    if !apps.is_empty() {
        ctx.storage
            .revoke_member_families(org, user, Some(&apps), ctx.now())
            .await?;
    }
    ctx.audit(
        Some(org),
        "member.delete",
        ("member", user.as_str()),
        Some(&MemberResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Invitations

pub async fn require_invitation(
    s: &dyn Storage,
    org: &OrgId,
    id: &InvitationId,
) -> SResult<Invitation> {
    s.get_invitation(org, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("invitation"))
}

/// Create an invitation; returns it with its single-use token (shown once).
pub async fn create_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    req: InvitationCreate,
) -> SResult<(Invitation, String)> {
    require_org(ctx.storage, org).await?;
    let roles = into_app_roles(req.roles);
    let view = StoreView(ctx.storage);
    check_roles_for_org(&view, org, &roles).await?;
    let ttl = match req.expires_in_secs {
        Some(t) => t,
        None => {
            let mut ttl = None::<i64>;
            for app in roles.keys() {
                if let Some(a) = ctx.storage.get_app(app).await? {
                    ttl = Some(ttl.map_or(a.invite_ttl_secs, |t| t.min(a.invite_ttl_secs)));
                }
            }
            ttl.unwrap_or(DEFAULT_INVITE_TTL_SECS)
        }
    };
    if !(300..=90 * 24 * 3600).contains(&ttl) {
        return Err(ServiceError::invalid(
            "expires_in_secs",
            "must be between 300 seconds and 90 days",
        ));
    }
    if ctx
        .storage
        .find_member_by_email(org, &req.email)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "already_member",
            "A user with this email is already a member of this organization.",
        )
        .with_field("email"));
    }
    let token = random_token();
    let now = ctx.now();
    let inv = Invitation {
        id: req.id.unwrap_or_else(InvitationId::generate),
        org_id: org.clone(),
        email: req.email,
        roles,
        org_roles: req.org_roles.into_iter().map(Into::into).collect(),
        token_hash: TokenHash::of(&token),
        status: d::InvitationStatus::Pending,
        expires_at: now + time::Duration::seconds(ttl),
        invited_by: ctx.actor.clone(),
        version: 1,
        created_at: now,
    };
    if ctx.storage.get_invitation(org, &inv.id).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "An invitation with this id already exists.",
        ));
    }
    ctx.storage.create_invitation(&inv).await?;
    ctx.audit(
        Some(org),
        "invitation.create",
        ("invitation", inv.id.as_str()),
        None::<&()>,
        Some(&InvitationResponse::from(&inv)),
    )
    .await?;
    Ok((inv, token))
}

pub async fn update_invitation(
    ctx: &Ctx<'_>,
    org: &OrgId,
    id: &InvitationId,
    p: InvitationPatch,
) -> SResult<Invitation> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_invitation(ctx.storage, org, id).await?;
        check_version(p.version, cur.version)?;
        if cur.status != d::InvitationStatus::Pending {
            return Err(ServiceError::conflict(
                "invitation_closed",
                "The invitation was already accepted or revoked.",
            ));
        }
        let mut next = cur.clone();
        match p.status {
            None | Some(dto::InvitationStatus::Pending) => {}
            Some(dto::InvitationStatus::Revoked) => next.status = d::InvitationStatus::Revoked,
            Some(dto::InvitationStatus::Accepted) => {
                return Err(ServiceError::invalid(
                    "status",
                    "an invitation is accepted by its invitee, not set to accepted; only \"revoked\" may be set",
                ));
            }
        }
        if let Some(r) = &p.roles {
            next.roles = into_app_roles(r.clone());
            check_roles_for_org(&StoreView(ctx.storage), org, &next.roles).await?;
        }
        if let Some(r) = &p.org_roles {
            next.org_roles = r.iter().map(|x| (*x).into()).collect();
        }
        match ctx.storage.update_invitation(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "invitation.update",
                    ("invitation", id.as_str()),
                    Some(&InvitationResponse::from(&cur)),
                    Some(&InvitationResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_invitation(ctx: &Ctx<'_>, org: &OrgId, id: &InvitationId) -> SResult<()> {
    let cur = require_invitation(ctx.storage, org, id).await?;
    ctx.storage.delete_invitation(org, id).await?;
    ctx.audit(
        Some(org),
        "invitation.delete",
        ("invitation", id.as_str()),
        Some(&InvitationResponse::from(&cur)),
        None::<&()>,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Audit

pub async fn list_audit(
    s: &dyn Storage,
    org: Option<OrgId>,
    action: Option<String>,
    page: &PageRequest,
) -> SResult<Page<AuditEvent>> {
    Ok(s.list_audit(
        &AuditFilter {
            org_id: org,
            action,
        },
        page,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_vec_is_keyset_paginated() {
        let items: Vec<u32> = (0..7).rev().collect();
        let req = PageRequest::first(3);
        let p = page_vec(items.clone(), |x| format!("{x:03}"), &req);
        assert_eq!(p.items, vec![0, 1, 2]);
        assert_eq!(p.next.as_deref(), Some("002"));
        let p2 = page_vec(
            items.clone(),
            |x| format!("{x:03}"),
            &PageRequest {
                after: p.next,
                limit: 3,
            },
        );
        assert_eq!(p2.items, vec![3, 4, 5]);
        let p3 = page_vec(
            items,
            |x| format!("{x:03}"),
            &PageRequest {
                after: p2.next,
                limit: 3,
            },
        );
        assert_eq!(p3.items, vec![6]);
        assert!(p3.next.is_none());
    }

    #[test]
    fn limits_are_checked() {
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(501), None).is_err());
        assert_eq!(page_request(None, None).unwrap().effective_limit(), 50);
    }

    #[test]
    fn app_builder_generates_a_secret_once_and_never_for_public_clients() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let req = AppCreate {
            name: "CRM".into(),
            redirect_uris: vec!["https://crm.example.com/cb".into()],
            ..Default::default()
        };
        let (app, secret) = build_app(req.clone(), None, now, MissingSecret::Generate).unwrap();
        let secret = secret.unwrap();
        assert!(app.client_secret_hash.as_ref().unwrap().verify(&secret));
        assert!(build_app(req.clone(), None, now, MissingSecret::KeepOrRefuse).is_err());
        let (kept, none) =
            build_app(req.clone(), Some(&app), now, MissingSecret::KeepOrRefuse).unwrap();
        assert_eq!(kept.client_secret_hash, app.client_secret_hash);
        assert!(none.is_none());
        let public = AppCreate {
            client_type: Some(dto::ClientType::Public),
            ..req.clone()
        };
        let (p, s) = build_app(public, None, now, MissingSecret::Generate).unwrap();
        assert!(p.client_secret_hash.is_none() && s.is_none());
        let short = AppCreate {
            client_secret: Some(Secret::new("short")),
            ..req
        };
        let e = build_app(short, None, now, MissingSecret::Generate).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("client_secret"));
    }

    #[test]
    fn request_secrets_are_redacted_in_debug() {
        let req: AppCreate = serde_json::from_value(serde_json::json!({
            "name": "x", "redirect_uris": [], "client_secret": "plaintext-client-secret-0123456789"
        }))
        .unwrap();
        assert!(!format!("{req:?}").contains("plaintext-client-secret"));
        let u: UserCreate = serde_json::from_value(serde_json::json!({
            "email": "a@b.example", "password": "hunter2-hunter2"
        }))
        .unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
        // The wire format is unchanged.
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["client_secret"], "plaintext-client-secret-0123456789");
    }

    #[test]
    fn changed_apps_ignores_empty_sets() {
        let a = AppId::parse("a").unwrap();
        let b = AppId::parse("b").unwrap();
        let r = |s: &str| RoleValue::parse(s).unwrap();
        let x: AppRoles = [(a.clone(), [r("x")].into()), (b.clone(), BTreeSet::new())].into();
        let y: AppRoles = [(a.clone(), [r("x")].into())].into();
        assert!(changed_apps(&x, &y).is_empty());
        let z: AppRoles = [(a.clone(), [r("y")].into())].into();
        assert_eq!(changed_apps(&x, &z), [a].into());
    }
}
