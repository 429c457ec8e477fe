//! Declarative configuration: `lobby import tenant.yaml` and `lobby export`.
//!
//! Owns: the YAML document shape (each element is the admin API's create request, with its
//! `id`), parsing with line numbers, planning an import as a diff against what is stored, and
//! a deterministic export. Must not touch: validation rules (it reuses `service`'s builders
//! and checks, against the stored objects overlaid with the file's), storage internals.
//!
//! Import is additive (nothing absent from the file is deleted), idempotent (a second run
//! changes nothing: objects are compared without their versions and timestamps) and
//! all-or-nothing (every change goes to `Storage::apply_changes` in one transaction, after
//! everything was validated).
//!
//! Secrets: `client_secret` (apps) and `password` (users) are accepted in plaintext and
//! hashed; export writes `client_secret_hash` and never passwords or upstream (OIDC) client
//! secrets. An import without an upstream secret or password keeps the stored one.

use super::dto::{
    self, AppAuthPolicy, AppCreate, Branding, ClientType, ConnectionCreate, DomainCreate,
    LinkAuthPolicy, LinkCreate, MemberCreate, MemberEvent, MemberStatus, OrgCreate, OrgStatus,
    RoleCreate, RoleGroupCreate, SigningAlg, TokenLifetimes, UserCreate,
};
use super::service::{
    self, MissingSecret, SResult, ServiceError, View, all_apps, all_members, all_orgs_with_parent,
    all_users, audit_event, summary,
};
use crate::domain::{self as d, *};
use crate::storage::{Change, PageRequest, Storage, StorageError, UserFilter};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------
// The document

/// A tenant configuration file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<DeclApp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<DeclOrg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserCreate>,
}

/// An app: the fields of `POST /api/v1/apps` (with a required `id`), plus its roles and role
/// groups in the shapes of `POST …/roles` and `POST …/role-groups`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclApp {
    #[schema(value_type = String)]
    pub id: AppId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<ClientType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<SigningAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetimes: Option<TokenLifetimes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_on: Option<Vec<MemberEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<AppAuthPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_groups: Vec<RoleGroupCreate>,
}

impl DeclApp {
    fn split(self) -> (AppCreate, Vec<RoleCreate>, Vec<RoleGroupCreate>) {
        (
            AppCreate {
                id: Some(self.id),
                name: self.name,
                client_id: self.client_id,
                client_type: self.client_type,
                client_secret: self.client_secret,
                client_secret_hash: self.client_secret_hash,
                redirect_uris: self.redirect_uris,
                post_logout_redirect_uris: self.post_logout_redirect_uris,
                signing_alg: self.signing_alg,
                token_lifetimes: self.token_lifetimes,
                invite_ttl_secs: self.invite_ttl_secs,
                revoke_on: self.revoke_on,
                auth_policy: self.auth_policy,
            },
            self.roles,
            self.role_groups,
        )
    }
}

/// An organization: the fields of `POST /api/v1/orgs` (with a required `id`), plus its
/// domains, app links (`apps`), connections and members in the shapes of their `POST`s.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclOrg {
    #[schema(value_type = String)]
    pub id: OrgId,
    #[schema(value_type = String)]
    pub slug: Slug,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrgStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<OrgId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<LinkCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberCreate>,
}

// ---------------------------------------------------------------------------------------
// Results and errors

/// What an import did, per kind of object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// kind → (created, updated, unchanged).
    pub by_kind: BTreeMap<&'static str, (usize, usize, usize)>,
}

impl ImportSummary {
    /// Number of objects written.
    pub fn changes(&self) -> usize {
        self.created + self.updated
    }
    fn count(&mut self, kind: &'static str, outcome: Diff) {
        let e = self.by_kind.entry(kind).or_default();
        match outcome {
            Diff::Created => {
                self.created += 1;
                e.0 += 1;
            }
            Diff::Updated => {
                self.updated += 1;
                e.1 += 1;
            }
            Diff::Unchanged => {
                self.unchanged += 1;
                e.2 += 1;
            }
        }
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "import: {} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// Why an import was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The YAML does not parse into the document shape.
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// An element breaks a rule; `field` is its path in the file, e.g.
    /// `orgs[1].members[0].roles.app_crm`, and `line` where that path is (when found).
    Invalid {
        field: String,
        line: Option<usize>,
        message: String,
    },
    /// The storage refused or failed.
    Storage(String),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Parse {
                line,
                column,
                message,
            } => write!(f, "invalid YAML at line {line}, column {column}: {message}"),
            ImportError::Invalid {
                field,
                line: Some(line),
                message,
            } => write!(f, "line {line}: {field}: {message}"),
            ImportError::Invalid {
                field,
                line: None,
                message,
            } => write!(f, "{field}: {message}"),
            ImportError::Storage(m) => write!(f, "storage: {m}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl ImportError {
    fn from_service(e: ServiceError, at: &str) -> Self {
        match e.kind {
            service::ErrorKind::Internal => ImportError::Storage(e.message),
            _ => {
                let e = e.at(at);
                ImportError::Invalid {
                    field: e.field.unwrap_or_default(),
                    line: None,
                    message: e.message,
                }
            }
        }
    }
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError::Invalid {
            field: field.into(),
            line: None,
            message: message.into(),
        }
    }
    /// Fill in the line of the field path.
    fn with_line(self, yaml: &str) -> Self {
        match self {
            ImportError::Invalid {
                field,
                line: None,
                message,
            } => ImportError::Invalid {
                line: locate(yaml, &field),
                field,
                message,
            },
            other => other,
        }
    }
}

/// One path segment: `orgs`, `[1]`.
#[derive(Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key.to_owned()));
        }
        for idx in rest.split('[').filter(|x| !x.is_empty()) {
            match idx.trim_end_matches(']').parse() {
                Ok(n) => out.push(Seg::Index(n)),
                Err(_) => return out,
            }
        }
    }
    out
}

/// The 1-based line of a field path (`orgs[1].members[0].roles`) in a block-style YAML
/// document; the deepest segment found. Best effort: flow collections and unusual layouts
/// stop the walk early.
pub fn locate(yaml: &str, path: &str) -> Option<usize> {
    // Entries: (line, indent, is_dash, text). "- a: 1" at indent i becomes a dash at i and
    // the text "a: 1" at i + 2.
    let mut entries: Vec<(usize, usize, bool, &str)> = Vec::new();
    for (n, raw) in yaml.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut rest = trimmed;
        while rest == "-" || rest.starts_with("- ") {
            entries.push((n + 1, indent, true, ""));
            let after = rest.get(1..).unwrap_or("");
            let t = after.trim_start();
            indent += 1 + (after.len() - t.len());
            rest = t;
        }
        if !rest.is_empty() {
            entries.push((n + 1, indent, false, rest));
        }
    }
    let mut lo = 0usize;
    let mut hi = entries.len();
    let mut found = None;
    for seg in segments(path) {
        let Some(&(_, indent, _, _)) = entries.get(lo) else {
            break;
        };
        if lo >= hi {
            break;
        }
        match seg {
            Seg::Key(k) => {
                let hit = (lo..hi).find(|&j| {
                    let (_, ind, dash, text) = entries[j];
                    !dash
                        && ind == indent
                        && text
                            .strip_prefix(k.as_str())
                            .is_some_and(|r| r.starts_with(':'))
                });
                let Some(j) = hit else { break };
                found = Some(entries[j].0);
                // The value: what follows, deeper than the key, or a sequence at its level.
                let mut end = j + 1;
                while end < hi {
                    let (_, ind, dash, _) = entries[end];
                    if ind > indent || (ind == indent && dash) {
                        end += 1;
                    } else {
                        break;
                    }
                }
                lo = j + 1;
                hi = end;
            }
            Seg::Index(n) => {
                let dashes: Vec<usize> = (lo..hi)
                    .filter(|&j| entries[j].2 && entries[j].1 == indent)
                    .collect();
                let Some(&j) = dashes.get(n) else { break };
                found = Some(entries[j].0);
                let end = dashes.get(n + 1).copied().unwrap_or(hi);
                lo = j + 1;
                hi = end;
            }
        }
    }
    found
}

impl From<StorageError> for ImportError {
    fn from(e: StorageError) -> Self {
        ImportError::Storage(match e {
            StorageError::Backend(c) => format!("{c:#}"),
            other => other.to_string(),
        })
    }
}

/// Parse a document; errors carry the line and column.
pub fn parse(yaml: &str) -> Result<Document, ImportError> {
    if yaml.trim().is_empty() {
        return Ok(Document::default());
    }
    serde_norway::from_str::<Document>(yaml).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let text = e.to_string();
        // The location is reported separately.
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        // Errors raised while converting a value (an invalid slug, say) are placed at the
        // start of the enclosing mapping; the leading `path: field:` finds the exact line.
        let path: Vec<&str> = message
            .split(": ")
            .take_while(|p| !p.is_empty() && !p.contains(' '))
            .collect();
        let line = match locate(yaml, &path.join(".")) {
            Some(l) if l > line => l,
            _ => line,
        };
        ImportError::Parse {
            line,
            column,
            message,
        }
    })
}

// ---------------------------------------------------------------------------------------
// The world as it will be: storage overlaid with the file

#[derive(Default)]
struct FileObjects {
    apps: BTreeMap<AppId, App>,
    roles: BTreeMap<AppId, BTreeMap<RoleValue, Role>>,
    groups: BTreeMap<AppId, BTreeMap<RoleGroupId, RoleGroup>>,
    orgs: BTreeMap<OrgId, Org>,
    links: BTreeMap<OrgId, BTreeMap<AppId, OrgAppLink>>,
    domains: BTreeMap<OrgId, BTreeMap<EmailDomain, OrgDomain>>,
    connections: BTreeMap<OrgId, BTreeMap<ConnectionId, Connection>>,
    users: BTreeMap<UserId, User>,
    members: BTreeMap<OrgId, BTreeMap<UserId, Membership>>,
}

struct Overlay<'a> {
    store: &'a dyn Storage,
    file: &'a FileObjects,
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
// Planning

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Diff {
    Created,
    Updated,
    Unchanged,
}

/// Compare a desired object with the stored one, ignoring bookkeeping fields; bump the
/// version and `updated_at` of changed objects.
fn diff<T: Clone + PartialEq>(
    desired: &mut T,
    existing: Option<&T>,
    now: OffsetDateTime,
    bookkeeping: impl Fn(&mut T) -> (&mut i64, Option<&mut OffsetDateTime>),
) -> Diff {
    let Some(e) = existing else {
        return Diff::Created;
    };
    if desired == e {
        return Diff::Unchanged;
    }
    let (version, updated_at) = bookkeeping(desired);
    *version += 1;
    if let Some(u) = updated_at {
        *u = now;
    }
    Diff::Updated
}

struct Planner<'a> {
    store: &'a dyn Storage,
    /// Seals upstream client secrets (`None`: a file that sets one is refused).
    seal: Option<&'a crate::keys::seal::SealKey>,
    actor: &'a str,
    now: OffsetDateTime,
    changes: Vec<Change>,
    audits: Vec<Change>,
    summary: ImportSummary,
}

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    fn record<T: Serialize>(
        &mut self,
        kind: &'static str,
        outcome: Diff,
        change: Change,
        org: Option<&OrgId>,
        target: (&str, &str),
        before: Option<&T>,
        after: &T,
    ) {
        self.summary.count(kind, outcome);
        let action = match outcome {
            Diff::Created => "create",
            Diff::Updated => "update",
            Diff::Unchanged => return,
        };
        self.changes.push(change);
        self.audits.push(Change::Audit(audit_event(
            self.actor,
            None,
            self.now,
            org,
            &format!("{}.{action}", target.0),
            target,
            summary(before),
            summary(Some(after)),
        )));
    }
}

fn dup(field: String, what: &str) -> ImportError {
    ImportError::invalid(field, format!("{what} appears more than once in the file"))
}

fn require_id<T: Clone>(id: &Option<T>, field: String) -> Result<T, ImportError> {
    id.clone().ok_or_else(|| {
        ImportError::invalid(
            field,
            "an id is required in a declarative file (it keeps imports idempotent)",
        )
    })
}

/// Import a YAML document: validate everything, then apply all changes in one transaction.
/// Without a seal key, a file that sets an upstream (OIDC) `client_secret` is refused: use
/// [`import_sealed`] (what `lobby import` should call, with `SealKey::from_config`).
pub async fn import(
    storage: &dyn Storage,
    yaml: &str,
    actor: &str,
) -> Result<ImportSummary, ImportError> {
    import_sealed(storage, None, yaml, actor).await
}

/// [`import`] that seals upstream client secrets with `seal` before storing them.
pub async fn import_sealed(
    storage: &dyn Storage,
    seal: Option<&crate::keys::seal::SealKey>,
    yaml: &str,
    actor: &str,
) -> Result<ImportSummary, ImportError> {
    let doc = parse(yaml)?;
    let now = trunc_millis(OffsetDateTime::now_utc());
    let mut p = Planner {
        store: storage,
        seal,
        actor,
        now,
        changes: Vec::new(),
        audits: Vec::new(),
        summary: ImportSummary::default(),
    };
    let (file, existing) = build(&mut p, doc).await.map_err(|e| e.with_line(yaml))?;
    validate(storage, &file, &existing)
        .await
        .map_err(|e| e.with_line(yaml))?;
    plan_changes(&mut p, file, existing)?;
    if !p.changes.is_empty() {
        let mut all = std::mem::take(&mut p.changes);
        all.append(&mut p.audits);
        storage.apply_changes(&all).await?;
    }
    Ok(p.summary)
}

/// Where each file object came from (for error paths) and what is stored under its key.
#[derive(Default)]
struct Existing {
    apps: BTreeMap<AppId, (String, Option<App>)>,
    roles: BTreeMap<(AppId, RoleValue), (String, Option<Role>)>,
    groups: BTreeMap<(AppId, RoleGroupId), (String, Option<RoleGroup>)>,
    orgs: BTreeMap<OrgId, (String, Option<Org>)>,
    links: BTreeMap<(OrgId, AppId), (String, Option<OrgAppLink>)>,
    domains: BTreeMap<(OrgId, EmailDomain), (String, Option<OrgDomain>)>,
    connections: BTreeMap<(OrgId, ConnectionId), (String, Option<Connection>)>,
    users: BTreeMap<UserId, (String, Option<User>)>,
    members: BTreeMap<(OrgId, UserId), (String, Option<Membership>)>,
}

/// Turn every element into its domain object (same builders as the API), noting what is
/// stored under the same key. Checks that need no other object happen here.
async fn build(p: &mut Planner<'_>, doc: Document) -> Result<(FileObjects, Existing), ImportError> {
    let s = p.store;
    let now = p.now;
    let mut f = FileObjects::default();
    let mut x = Existing::default();
    let mut client_ids: BTreeMap<ClientId, String> = BTreeMap::new();
    let mut group_ids: BTreeMap<RoleGroupId, String> = BTreeMap::new();

    for (i, a) in doc.apps.into_iter().enumerate() {
        let at = format!("apps[{i}]");
        if x.apps.contains_key(&a.id) {
            return Err(dup(format!("{at}.id"), &format!("app {}", a.id)));
        }
        let stored = s.get_app(&a.id).await?;
        let (req, roles, groups) = a.split();
        let (app, _) = service::build_app(req, stored.as_ref(), now, MissingSecret::KeepOrRefuse)
            .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = client_ids.insert(app.client_id.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.client_id"),
                format!("client_id is already used by {prev}"),
            ));
        }
        if let Some(other) = s.get_app_by_client_id(&app.client_id).await?
            && other.id != app.id
        {
            return Err(ImportError::invalid(
                format!("{at}.client_id"),
                format!("client_id is already used by the stored app {}", other.id),
            ));
        }
        for (j, r) in roles.into_iter().enumerate() {
            let rat = format!("{at}.roles[{j}]");
            let role =
                service::build_role(&app.id, r).map_err(|e| ImportError::from_service(e, &rat))?;
            let key = (app.id.clone(), role.value.clone());
            if x.roles.contains_key(&key) {
                return Err(dup(format!("{rat}.value"), &format!("role {}", role.value)));
            }
            let stored = s.get_role(&app.id, &role.value).await?;
            f.roles
                .entry(app.id.clone())
                .or_default()
                .insert(role.value.clone(), role);
            x.roles.insert(key, (rat, stored));
        }
        for (j, g) in groups.into_iter().enumerate() {
            let gat = format!("{at}.role_groups[{j}]");
            let id = require_id(&g.id, format!("{gat}.id"))?;
            if let Some(prev) = group_ids.insert(id.clone(), gat.clone()) {
                return Err(ImportError::invalid(
                    format!("{gat}.id"),
                    format!("role group id {id} is already used by {prev}"),
                ));
            }
            let stored = s.get_role_group(&app.id, &id).await?;
            let group = service::build_role_group(&app.id, g, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &gat))?;
            f.groups
                .entry(app.id.clone())
                .or_default()
                .insert(id.clone(), group);
            x.groups.insert((app.id.clone(), id), (gat, stored));
        }
        x.apps.insert(app.id.clone(), (at, stored));
        f.apps.insert(app.id.clone(), app);
    }

    let mut slugs: BTreeMap<Slug, String> = BTreeMap::new();
    let mut conn_ids: BTreeMap<ConnectionId, String> = BTreeMap::new();
    for (i, o) in doc.orgs.into_iter().enumerate() {
        let at = format!("orgs[{i}]");
        if x.orgs.contains_key(&o.id) {
            return Err(dup(format!("{at}.id"), &format!("organization {}", o.id)));
        }
        let stored_org = s.get_org(&o.id).await?;
        let org = service::build_org(
            OrgCreate {
                id: Some(o.id.clone()),
                slug: o.slug,
                name: o.name,
                status: o.status,
                parent_id: o.parent_id,
                branding: o.branding,
            },
            stored_org.as_ref(),
            now,
        )
        .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = slugs.insert(org.slug.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.slug"),
                format!("slug is already used by {prev}"),
            ));
        }
        if let Some(other) = s.get_org_by_slug(&org.slug).await?
            && other.id != org.id
        {
            return Err(ImportError::invalid(
                format!("{at}.slug"),
                format!(
                    "slug is already used by the stored organization {}",
                    other.id
                ),
            ));
        }
        for (j, dm) in o.domains.into_iter().enumerate() {
            let dat = format!("{at}.domains[{j}]");
            let parsed = EmailDomain::parse(&dm.domain)
                .map_err(|e| ImportError::from_service(e.into(), &dat))?;
            let key = (org.id.clone(), parsed.clone());
            if x.domains.contains_key(&key) {
                return Err(dup(format!("{dat}.domain"), &format!("domain {parsed}")));
            }
            let stored = if stored_org.is_some() {
                s.get_domain(&org.id, &parsed).await?
            } else {
                None
            };
            let dom = service::build_domain(&org.id, dm, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &dat))?;
            f.domains
                .entry(org.id.clone())
                .or_default()
                .insert(parsed, dom);
            x.domains.insert(key, (dat, stored));
        }
        for (j, l) in o.apps.into_iter().enumerate() {
            let lat = format!("{at}.apps[{j}]");
            let key = (org.id.clone(), l.app_id.clone());
            if x.links.contains_key(&key) {
                return Err(dup(
                    format!("{lat}.app_id"),
                    &format!("link to app {}", l.app_id),
                ));
            }
            let stored = if stored_org.is_some() {
                s.get_link(&org.id, &l.app_id).await?
            } else {
                None
            };
            let link = service::build_link(&org.id, l, stored.as_ref(), now);
            f.links
                .entry(org.id.clone())
                .or_default()
                .insert(link.app_id.clone(), link);
            x.links.insert(key, (lat, stored));
        }
        for (j, c) in o.connections.into_iter().enumerate() {
            let cat = format!("{at}.connections[{j}]");
            let id = require_id(&c.id, format!("{cat}.id"))?;
            if let Some(prev) = conn_ids.insert(id.clone(), cat.clone()) {
                return Err(ImportError::invalid(
                    format!("{cat}.id"),
                    format!("connection id {id} is already used by {prev}"),
                ));
            }
            let stored = s.get_connection_for_callback(&id).await?;
            if let Some(sc) = &stored
                && sc.org_id != org.id
            {
                return Err(ImportError::invalid(
                    format!("{cat}.id"),
                    format!(
                        "connection id {id} already belongs to another organization ({})",
                        sc.org_id
                    ),
                ));
            }
            let mut conn = service::build_connection(&org.id, c, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &cat))?;
            service::seal_upstream_secret(p.seal, &mut conn, stored.as_ref())
                .map_err(|e| ImportError::from_service(e, &cat))?;
            f.connections
                .entry(org.id.clone())
                .or_default()
                .insert(id.clone(), conn);
            x.connections.insert((org.id.clone(), id), (cat, stored));
        }
        for (j, m) in o.members.into_iter().enumerate() {
            let mat = format!("{at}.members[{j}]");
            let key = (org.id.clone(), m.user_id.clone());
            if x.members.contains_key(&key) {
                return Err(dup(
                    format!("{mat}.user_id"),
                    &format!("member {}", m.user_id),
                ));
            }
            let stored = if stored_org.is_some() {
                s.get_membership(&org.id, &m.user_id).await?
            } else {
                None
            };
            let mem = service::build_membership(&org.id, m, stored.as_ref(), now);
            f.members
                .entry(org.id.clone())
                .or_default()
                .insert(mem.user_id.clone(), mem);
            x.members.insert(key, (mat, stored));
        }
        x.orgs.insert(org.id.clone(), (at, stored_org));
        f.orgs.insert(org.id.clone(), org);
    }

    let mut emails: BTreeMap<Email, String> = BTreeMap::new();
    for (i, u) in doc.users.into_iter().enumerate() {
        let at = format!("users[{i}]");
        let id = require_id(&u.id, format!("{at}.id"))?;
        if x.users.contains_key(&id) {
            return Err(dup(format!("{at}.id"), &format!("user {id}")));
        }
        let stored = s.get_user(&id).await?;
        let user = service::build_user(u, stored.as_ref(), now)
            .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = emails.insert(user.email.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.email"),
                format!("email is already used by {prev}"),
            ));
        }
        let same_email = s
            .list_users(
                &UserFilter {
                    email: Some(user.email.clone()),
                },
                &PageRequest::first(2),
            )
            .await?;
        if let Some(other) = same_email.items.iter().find(|o| o.id != user.id) {
            return Err(ImportError::invalid(
                format!("{at}.email"),
                format!("email is already used by the stored user {}", other.id),
            ));
        }
        x.users.insert(id.clone(), (at, stored));
        f.users.insert(id, user);
    }
    Ok((f, x))
}

/// Every cross-object rule, against storage overlaid with the file.
async fn validate(
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

/// Parents before children, so that each upsert finds its parent stored.
fn orgs_parent_first(orgs: BTreeMap<OrgId, Org>) -> Vec<Org> {
    let mut placed: BTreeSet<OrgId> = BTreeSet::new();
    let mut pending: Vec<Org> = orgs.into_values().collect();
    let in_file: BTreeSet<OrgId> = pending.iter().map(|o| o.id.clone()).collect();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let (ready, rest): (Vec<Org>, Vec<Org>) = pending.into_iter().partition(|o| {
            o.parent_id
                .as_ref()
                .is_none_or(|p| !in_file.contains(p) || placed.contains(p))
        });
        for o in ready {
            placed.insert(o.id.clone());
            out.push(o);
        }
        pending = rest;
        if pending.len() == before {
            // A cycle would have been refused by validation; keep the rest in id order.
            out.append(&mut pending);
        }
    }
    out
}

fn plan_changes(
    p: &mut Planner<'_>,
    file: FileObjects,
    mut x: Existing,
) -> Result<(), ImportError> {
    let now = p.now;
    for (id, mut app) in file.apps {
        let existing = x.apps.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut app, existing.as_ref(), now, |a| {
            (&mut a.version, Some(&mut a.updated_at))
        });
        let before = existing.as_ref().map(dto::AppResponse::from);
        let after = dto::AppResponse::from(&app);
        p.record(
            "apps",
            o,
            Change::UpsertApp(app),
            None,
            ("app", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (app, roles) in file.roles {
        for (value, role) in roles {
            let existing = x
                .roles
                .remove(&(app.clone(), value.clone()))
                .and_then(|(_, e)| e);
            let o = match &existing {
                None => Diff::Created,
                Some(e) if *e == role => Diff::Unchanged,
                Some(_) => Diff::Updated,
            };
            let before = existing.as_ref().map(dto::RoleResponse::from);
            let after = dto::RoleResponse::from(&role);
            p.record(
                "roles",
                o,
                Change::UpsertRole(role),
                None,
                ("role", &format!("{app}/{value}")),
                before.as_ref(),
                &after,
            );
        }
    }
    for (app, groups) in file.groups {
        for (id, mut g) in groups {
            let existing = x
                .groups
                .remove(&(app.clone(), id.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut g, existing.as_ref(), now, |g| {
                (&mut g.version, Some(&mut g.updated_at))
            });
            let before = existing.as_ref().map(dto::RoleGroupResponse::from);
            let after = dto::RoleGroupResponse::from(&g);
            p.record(
                "role_groups",
                o,
                Change::UpsertRoleGroup(g),
                None,
                ("role_group", id.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for mut org in orgs_parent_first(file.orgs) {
        let id = org.id.clone();
        let existing = x.orgs.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut org, existing.as_ref(), now, |o| {
            (&mut o.version, Some(&mut o.updated_at))
        });
        let before = existing.as_ref().map(dto::OrgResponse::from);
        let after = dto::OrgResponse::from(&org);
        p.record(
            "orgs",
            o,
            Change::UpsertOrg(org),
            Some(&id),
            ("org", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (org, conns) in file.connections {
        for (id, mut c) in conns {
            let existing = x
                .connections
                .remove(&(org.clone(), id.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut c, existing.as_ref(), now, |c| {
                (&mut c.version, Some(&mut c.updated_at))
            });
            let before = existing.as_ref().map(dto::ConnectionResponse::from);
            let after = dto::ConnectionResponse::from(&c);
            p.record(
                "connections",
                o,
                Change::UpsertConnection(c),
                Some(&org),
                ("connection", id.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for (org, links) in file.links {
        for (app, mut l) in links {
            let existing = x
                .links
                .remove(&(org.clone(), app.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut l, existing.as_ref(), now, |l| {
                (&mut l.version, Some(&mut l.updated_at))
            });
            let before = existing.as_ref().map(dto::LinkResponse::from);
            let after = dto::LinkResponse::from(&l);
            p.record(
                "links",
                o,
                Change::UpsertLink(l),
                Some(&org),
                ("link", &format!("{org}/{app}")),
                before.as_ref(),
                &after,
            );
        }
    }
    for (org, doms) in file.domains {
        for (name, dm) in doms {
            let existing = x
                .domains
                .remove(&(org.clone(), name.clone()))
                .and_then(|(_, e)| e);
            let o = match &existing {
                None => Diff::Created,
                Some(e) if *e == dm => Diff::Unchanged,
                Some(_) => Diff::Updated,
            };
            let before = existing.as_ref().map(dto::DomainResponse::from);
            let after = dto::DomainResponse::from(&dm);
            p.record(
                "domains",
                o,
                Change::UpsertDomain(dm),
                Some(&org),
                ("domain", name.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for (id, mut u) in file.users {
        let existing = x.users.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut u, existing.as_ref(), now, |u| {
            (&mut u.version, Some(&mut u.updated_at))
        });
        let before = existing.as_ref().map(dto::UserResponse::from);
        let after = dto::UserResponse::from(&u);
        p.record(
            "users",
            o,
            Change::UpsertUser(u),
            None,
            ("user", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (org, members) in file.members {
        for (user, mut m) in members {
            let existing = x
                .members
                .remove(&(org.clone(), user.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut m, existing.as_ref(), now, |m| {
                (&mut m.version, Some(&mut m.updated_at))
            });
            let before = existing.as_ref().map(dto::MemberResponse::from);
            let after = dto::MemberResponse::from(&m);
            p.record(
                "members",
                o,
                Change::UpsertMembership(m),
                Some(&org),
                ("member", user.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Export

fn none_if_default<T: PartialEq + Default>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

fn export_app(a: &App, roles: Vec<Role>, groups: Vec<RoleGroup>) -> DeclApp {
    let revoke: BTreeSet<d::MemberEvent> = d::MemberEvent::ALL.into_iter().collect();
    DeclApp {
        id: a.id.clone(),
        name: a.name.clone(),
        client_id: Some(a.client_id.clone()),
        client_type: (a.client_type != d::ClientType::Confidential).then(|| a.client_type.into()),
        client_secret: None,
        client_secret_hash: a.client_secret_hash.as_ref().map(|h| h.as_hex().to_owned()),
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
        signing_alg: (a.signing_alg != d::SigningAlg::RS256).then(|| a.signing_alg.into()),
        token_lifetimes: none_if_default(a.token_lifetimes.clone()).map(Into::into),
        invite_ttl_secs: (a.invite_ttl_secs != service::DEFAULT_INVITE_TTL_SECS)
            .then_some(a.invite_ttl_secs),
        revoke_on: (a.revoke_on != revoke)
            .then(|| a.revoke_on.iter().map(|e| (*e).into()).collect()),
        auth_policy: (a.auth_policy != d::AppAuthPolicy::default())
            .then(|| a.auth_policy.clone().into()),
        roles: roles
            .into_iter()
            .map(|r| RoleCreate {
                value: r.value,
                name: r.name,
                description: (!r.description.is_empty()).then_some(r.description),
            })
            .collect(),
        role_groups: groups
            .into_iter()
            .map(|g| RoleGroupCreate {
                id: Some(g.id),
                name: g.name,
                roles: g.roles.into_iter().collect(),
            })
            .collect(),
    }
}

/// Export everything as a document that `import` accepts, in a deterministic order (by id).
pub async fn export(storage: &dyn Storage) -> anyhow::Result<String> {
    let doc = export_document(storage)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_norway::to_string(&doc)?)
}

/// The document `export` serializes.
pub async fn export_document(storage: &dyn Storage) -> SResult<Document> {
    let s = storage;
    let mut doc = Document::default();
    let mut apps = all_apps(s).await?;
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    for a in &apps {
        let mut roles = s.list_roles(&a.id).await?;
        roles.sort_by(|x, y| x.value.cmp(&y.value));
        let mut groups = s.list_role_groups(&a.id).await?;
        groups.sort_by(|x, y| x.id.cmp(&y.id));
        doc.apps.push(export_app(a, roles, groups));
    }
    let mut orgs = all_orgs_with_parent(s, None).await?;
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    for o in &orgs {
        let mut domains = s.list_domains(&o.id).await?;
        domains.sort_by(|x, y| x.domain.cmp(&y.domain));
        let mut links = s.list_links_for_org(&o.id).await?;
        links.sort_by(|x, y| x.app_id.cmp(&y.app_id));
        let mut conns = s.list_connections(&o.id).await?;
        conns.sort_by(|x, y| x.id.cmp(&y.id));
        let mut members = all_members(s, &o.id).await?;
        members.sort_by(|x, y| x.user_id.cmp(&y.user_id));
        doc.orgs.push(DeclOrg {
            id: o.id.clone(),
            slug: o.slug.clone(),
            name: o.name.clone(),
            status: (o.status != d::OrgStatus::Active).then(|| o.status.into()),
            parent_id: o.parent_id.clone(),
            branding: none_if_default(o.branding.clone()).map(Into::into),
            domains: domains
                .into_iter()
                .map(|x| DomainCreate {
                    domain: x.domain.to_string(),
                    verified: x.verified.then_some(true),
                })
                .collect(),
            apps: links
                .into_iter()
                .map(|l| LinkCreate {
                    app_id: l.app_id,
                    allowed_role_groups: l.allowed_role_groups.into_iter().collect(),
                    auth_policy: (l.auth_policy != d::LinkAuthPolicy::Inherit)
                        .then(|| LinkAuthPolicy::from(l.auth_policy)),
                    jit: l.jit.then_some(true),
                    default_roles: l.default_roles.into_iter().collect(),
                })
                .collect(),
            connections: conns
                .into_iter()
                .map(|c| ConnectionCreate {
                    id: Some(c.id.clone()),
                    name: c.name.clone(),
                    state: (c.state != d::ConnectionState::Draft).then(|| c.state.into()),
                    config: dto::ConnectionConfig::from_domain(&c.config),
                })
                .collect(),
            members: members
                .into_iter()
                .map(|m| MemberCreate {
                    user_id: m.user_id.clone(),
                    status: (m.status != d::MemberStatus::Active)
                        .then(|| MemberStatus::from(m.status)),
                    roles: dto::roles_by_app(&m.roles),
                    org_roles: m.org_roles.iter().map(|r| (*r).into()).collect(),
                })
                .collect(),
        });
    }
    let mut users = all_users(s).await?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    doc.users = users
        .into_iter()
        .map(|u| UserCreate {
            id: Some(u.id),
            email: u.email,
            email_verified: u.email_verified.then_some(true),
            name: u.name,
            password: None,
        })
        .collect();
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn props<T: PartialSchema>() -> BTreeSet<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn elements_have_exactly_the_api_create_shapes() {
        let mut app = props::<dto::AppCreate>();
        app.extend(["roles".to_owned(), "role_groups".to_owned()]);
        assert_eq!(props::<DeclApp>(), app);
        let mut org = props::<dto::OrgCreate>();
        org.extend(
            ["domains", "apps", "connections", "members"]
                .iter()
                .map(|s| s.to_string()),
        );
        assert_eq!(props::<DeclOrg>(), org);
    }

    #[test]
    fn parse_errors_name_line_and_path() {
        let yaml =
            "apps:\n  - id: app_crm\n    name: CRM\n    redirect_uris: []\n    colour: red\n";
        match parse(yaml).unwrap_err() {
            ImportError::Parse { line, message, .. } => {
                assert_eq!(line, 5);
                assert!(message.contains("apps[0]"), "{message}");
                assert!(message.contains("colour"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = parse("orgs:\n  - id: acme\n    slug: Not A Slug\n    name: x\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("line 3"), "{s}");
        assert!(s.contains("orgs[0]"), "{s}");
        assert!(s.contains("slug"), "{s}");
        assert!(parse("").unwrap().apps.is_empty());
    }

    #[test]
    fn the_example_parses() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenant.yaml"))
                .unwrap();
        let doc = parse(&text).unwrap();
        assert_eq!(doc.apps.len(), 1);
        assert!(doc.orgs.len() >= 3);
    }

    #[test]
    fn locate_finds_nested_paths() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenant.yaml"))
                .unwrap();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert_eq!(
            locate(&text, "apps[0].roles[1]"),
            Some(line_of("- value: finance"))
        );
        let globex_alice = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("- user_id: usr_alice"))
            .nth(1)
            .unwrap()
            .0
            + 1;
        assert_eq!(locate(&text, "orgs[2].members[0]"), Some(globex_alice));
        assert_eq!(
            locate(&text, "orgs[2].members[0].roles.app_crm"),
            Some(globex_alice + 2)
        );
        assert_eq!(
            locate(&text, "users[3].email"),
            Some(line_of("dave@globex.example"))
        );
        // serde_norway's own layout: sequences at the level of their key.
        let exported = "apps:\n- id: a\n  roles:\n  - value: x\n  - value: y\n";
        assert_eq!(locate(exported, "apps[0].roles[1].value"), Some(5));
        assert_eq!(locate(exported, "nope"), None);
    }

    #[test]
    fn parents_come_first() {
        let mk = |id: &str, parent: Option<&str>| Org {
            id: OrgId::parse(id).unwrap(),
            slug: Slug::parse(&format!("s-{id}")).unwrap(),
            name: id.into(),
            status: d::OrgStatus::Active,
            parent_id: parent.map(|p| OrgId::parse(p).unwrap()),
            branding: Default::default(),
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let orgs: BTreeMap<OrgId, Org> = [
            mk("a-child", Some("z-parent")),
            mk("b", None),
            mk("c-grandchild", Some("a-child")),
            mk("z-parent", None),
        ]
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
        let order: Vec<String> = orgs_parent_first(orgs)
            .into_iter()
            .map(|o| o.id.to_string())
            .collect();
        let pos = |s: &str| order.iter().position(|x| x == s).unwrap();
        assert!(pos("z-parent") < pos("a-child"));
        assert!(pos("a-child") < pos("c-grandchild"));
    }
}
