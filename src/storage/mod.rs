//! Durable storage: one small trait per aggregate, each returning `Result<Option<T>>` for
//! lookups. Two dialects behind one SQL implementation (`sql/`, one file per aggregate):
//! SQLite (embedded default, `sqlite.rs`) and PostgreSQL (`postgres.rs`), with per-dialect
//! migrations applied at start; what both sides share is in `dialect.rs`. `conformance/` (tests
//! only) is the one suite every backend must pass.
//!
//! Owns: persistence of every aggregate in `domain`, signing keys and refresh-token families.
//! Must not touch: HTTP, business rules beyond uniqueness/referential integrity (those live in
//! `domain`), short-lived state (that is `state`).
//!
//! Every method that reads org-owned data takes the org id and filters by it in the same query:
//! another org's row is simply not found.

pub mod cache;
#[cfg(test)]
pub(crate) mod conformance;
pub mod db;
mod dialect;
pub mod held;
pub(crate) mod lite;
pub mod postgres;
pub mod saml;
pub mod sql;
pub mod sqlite;

pub use saml::{SamlIdpRecord, SamlSpKeyRecord, SamlStore};

use crate::domain::*;
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row to update or delete does not exist (lookups return `Ok(None)` instead).
    #[error("not found")]
    NotFound,
    /// Optimistic-concurrency check failed: the row changed since it was read.
    #[error("the object was changed by someone else; reload and retry")]
    Conflict,
    /// A uniqueness rule was violated; the string names what is duplicated, e.g. "org slug".
    #[error("{0} already exists")]
    Duplicate(String),
    /// Deleting would orphan other rows; the string names them, e.g. "child organizations".
    #[error("still in use by {0}")]
    InUse(String),
    /// A referenced row does not exist (e.g. a parent org id); names it.
    #[error("{0} does not exist")]
    MissingReference(String),
    #[error("storage backend error: {0}")]
    Backend(#[from] anyhow::Error),
}

pub type Result<T> = std::result::Result<T, StorageError>;

impl StorageError {
    /// The database could not be reached or is going away (connection refused or lost, no
    /// pooled connection within the acquire timeout, server shutting down or starting up):
    /// a temporary condition — answered with 503 and `Retry-After`, not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Backend(e) => e
                .downcast_ref::<sqlx::Error>()
                .is_some_and(db::is_unavailable),
            _ => false,
        }
    }
}

/// Keyset pagination: items sorted by their key, `after` is the last key of the previous page.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    /// 1..=500; 0 means the default of 50.
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(500),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Key to pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

#[async_trait]
pub trait AppStore: Send + Sync {
    async fn create_app(&self, app: &App) -> Result<()>;
    async fn get_app(&self, id: &AppId) -> Result<Option<App>>;
    async fn get_app_by_client_id(&self, client_id: &ClientId) -> Result<Option<App>>;
    async fn list_apps(&self, page: &PageRequest) -> Result<Page<App>>;
    /// Compare-and-swap on `app.version`; returns the stored row with the bumped version.
    async fn update_app(&self, app: &App) -> Result<App>;
    /// Refuses with `InUse` while roles, role groups or org links reference the app, unless
    /// `cascade` (then removes them too).
    async fn delete_app(&self, id: &AppId, cascade: bool) -> Result<()>;
}

#[async_trait]
pub trait RoleStore: Send + Sync {
    async fn create_role(&self, role: &Role) -> Result<()>;
    async fn get_role(&self, app: &AppId, value: &RoleValue) -> Result<Option<Role>>;
    async fn list_roles(&self, app: &AppId) -> Result<Vec<Role>>;
    async fn update_role(&self, role: &Role) -> Result<()>;
    async fn delete_role(&self, app: &AppId, value: &RoleValue) -> Result<()>;

    async fn create_role_group(&self, group: &RoleGroup) -> Result<()>;
    async fn get_role_group(&self, app: &AppId, id: &RoleGroupId) -> Result<Option<RoleGroup>>;
    async fn list_role_groups(&self, app: &AppId) -> Result<Vec<RoleGroup>>;
    async fn update_role_group(&self, group: &RoleGroup) -> Result<RoleGroup>;
    /// `InUse` while an org link allows the group.
    async fn delete_role_group(&self, app: &AppId, id: &RoleGroupId) -> Result<()>;
}

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// `Duplicate("org slug")`, `Duplicate("org id")`, `MissingReference("parent organization")`.
    async fn create_org(&self, org: &Org) -> Result<()>;
    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>>;
    async fn get_org_by_slug(&self, slug: &Slug) -> Result<Option<Org>>;
    /// Paginated by id; `parent` filters to the direct children of one org.
    async fn list_orgs(&self, parent: Option<&OrgId>, page: &PageRequest) -> Result<Page<Org>>;
    async fn update_org(&self, org: &Org) -> Result<Org>;
    /// Without `cascade`: `InUse("child organizations")` or `InUse("members")` when present.
    /// With `cascade`: the org, its descendants and everything they own, in one transaction.
    async fn delete_org(&self, id: &OrgId, cascade: bool) -> Result<()>;
    /// Ancestors of an org, nearest first (recursive query, bounded depth).
    async fn org_ancestors(&self, id: &OrgId) -> Result<Vec<OrgId>>;
    /// Descendants of an org (children, grandchildren…), not including itself.
    async fn org_descendants(&self, id: &OrgId) -> Result<Vec<OrgId>>;
}

#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn create_link(&self, link: &OrgAppLink) -> Result<()>;
    async fn get_link(&self, org: &OrgId, app: &AppId) -> Result<Option<OrgAppLink>>;
    async fn list_links_for_org(&self, org: &OrgId) -> Result<Vec<OrgAppLink>>;
    async fn update_link(&self, link: &OrgAppLink) -> Result<OrgAppLink>;
    async fn delete_link(&self, org: &OrgId, app: &AppId) -> Result<()>;
}

#[async_trait]
pub trait DomainStore: Send + Sync {
    /// `Duplicate("domain")` when the org already has it, or when `verified` and another org
    /// has it verified.
    async fn create_domain(&self, d: &OrgDomain) -> Result<()>;
    async fn get_domain(&self, org: &OrgId, domain: &EmailDomain) -> Result<Option<OrgDomain>>;
    async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>>;
    /// Updates `verified`/`verified_at`/`verification_token`; `Duplicate("verified domain")`.
    async fn update_domain(&self, d: &OrgDomain) -> Result<()>;
    async fn delete_domain(&self, org: &OrgId, domain: &EmailDomain) -> Result<()>;
    /// Discovery: the one verified copy of this domain (with its `shared` mark).
    async fn find_verified_domain(&self, domain: &EmailDomain) -> Result<Option<OrgDomain>>;
    /// The org that has verified this domain (shared or not).
    async fn find_verified_domain_org(&self, domain: &EmailDomain) -> Result<Option<OrgId>> {
        Ok(self.find_verified_domain(domain).await?.map(|d| d.org_id))
    }
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn create_connection(&self, c: &Connection) -> Result<()>;
    async fn get_connection(&self, org: &OrgId, id: &ConnectionId) -> Result<Option<Connection>>;
    async fn list_connections(&self, org: &OrgId) -> Result<Vec<Connection>>;
    async fn update_connection(&self, c: &Connection) -> Result<Connection>;
    async fn delete_connection(&self, org: &OrgId, id: &ConnectionId) -> Result<()>;
    /// For upstream callbacks that only carry the connection id in their path. The caller must
    /// then check the connection's org against its flow.
    async fn get_connection_for_callback(&self, id: &ConnectionId) -> Result<Option<Connection>>;
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub email: Option<Email>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, u: &User) -> Result<()>;
    async fn get_user(&self, id: &UserId) -> Result<Option<User>>;
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>>;
    async fn update_user(&self, u: &User) -> Result<User>;
    /// Removes the user, their identities and memberships.
    async fn delete_user(&self, id: &UserId) -> Result<()>;

    /// `Duplicate("external identity")` when (connection, issuer, subject) is taken.
    async fn create_identity(&self, i: &ExternalIdentity) -> Result<()>;
    /// The identity with its user and the user's membership of `org`, in one read (a
    /// returning federated sign-in); `None` unless the identity exists.
    async fn find_identity_member(
        &self,
        connection: &ConnectionId,
        issuer: &str,
        subject: &str,
        org: &OrgId,
    ) -> Result<Option<IdentityMember>>;
    async fn list_identities(&self, user: &UserId) -> Result<Vec<ExternalIdentity>>;
    /// The one user holding a password for this (normalized) email, by an indexed read that
    /// does not go through the user list (issue 13 item 9: users without a password who share
    /// the email cannot hide it). At most one exists: storing a password for an email that
    /// already has one is `Duplicate("password for this email")`.
    async fn find_password_user(&self, email: &Email) -> Result<Option<User>>;
}

/// What [`MembershipStore::search_members`] keeps; every field narrows (all `None`: every
/// member of the org).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberFilter {
    /// A substring of the user's email or name, compared case-insensitively for ASCII letters
    /// (other characters match as written). `%`, `_` and `\` are matched literally.
    pub search: Option<String>,
    pub status: Option<MemberStatus>,
    /// Holds this org role.
    pub org_role: Option<OrgRole>,
    /// Holds at least one role in this app.
    pub app: Option<AppId>,
    /// Holds this role in this app.
    pub app_role: Option<(AppId, RoleValue)>,
}

/// One member as the member lists show it: the membership and its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub membership: Membership,
    pub user: User,
}

#[async_trait]
pub trait MembershipStore: Send + Sync {
    /// `Duplicate("membership")`, `MissingReference("user")`/`("organization")`.
    async fn create_membership(&self, m: &Membership) -> Result<()>;
    async fn get_membership(&self, org: &OrgId, user: &UserId) -> Result<Option<Membership>>;
    /// Paginated by user id.
    async fn list_members(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Membership>>;
    /// The org's members that pass `filter`, with their users, keyset-paginated by user id (the
    /// search, the filters and the paging run in the database).
    async fn search_members(
        &self,
        org: &OrgId,
        filter: &MemberFilter,
        page: &PageRequest,
    ) -> Result<Page<MemberRow>>;
    /// How many of the org's members pass `filter`.
    async fn count_members(&self, org: &OrgId, filter: &MemberFilter) -> Result<u64>;
    /// Every org the user belongs to (discovery, the chooser).
    async fn list_memberships_for_user(&self, user: &UserId) -> Result<Vec<Membership>>;
    /// The memberships, in every org, of the users with this (normalized) email, sorted by
    /// org then user: the emailed org chooser of a shared domain (`login::shared`), once the
    /// person has proved they hold the address. An indexed read (users by email, memberships by
    /// user); each row names its org.
    async fn list_memberships_for_email(&self, email: &Email) -> Result<Vec<Membership>>;
    /// A member of `org` whose user has this email (password sign-in, invitations).
    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<(User, Membership)>>;
    /// The member, their membership and the org in one read (token issuance and every
    /// refresh recompute claims from these); `None` unless the membership exists.
    async fn get_member_context(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<(User, Membership, Org)>>;
    async fn update_membership(&self, m: &Membership) -> Result<Membership>;
    async fn delete_membership(&self, org: &OrgId, user: &UserId) -> Result<()>;
}

#[async_trait]
pub trait InvitationStore: Send + Sync {
    async fn create_invitation(&self, i: &Invitation) -> Result<()>;
    async fn get_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<Option<Invitation>>;
    async fn list_invitations(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Invitation>>;
    /// The token is the credential, so this lookup is not org-scoped.
    async fn find_invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>>;
    /// The pending invitations for this (normalized) email that are not expired at `now`, in
    /// every org, sorted by org then id: the emailed org chooser of a shared domain, once the
    /// person has proved they hold the address. Served by the index on (email, status); each
    /// row names its org.
    async fn list_pending_invitations_for_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>>;
    /// CAS on version (accepting an invitation must happen once).
    async fn update_invitation(&self, i: &Invitation) -> Result<Invitation>;
    async fn delete_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<()>;
}

/// Which audit events to list; every field set narrows the list (`None`: any).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub org_id: Option<OrgId>,
    /// Exact action, e.g. `org.update`.
    pub action: Option<String>,
    /// Exact actor, e.g. `user:usr_…` or `operator`.
    pub actor: Option<String>,
    /// Events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Events strictly before this time.
    pub until: Option<OffsetDateTime>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, e: &AuditEvent) -> Result<()>;
    /// Several events in one write, all or nothing (a sign-in records two).
    async fn append_audits(&self, events: &[AuditEvent]) -> Result<()>;
    /// Newest first; the cursor is the event id (ULIDs sort by time).
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>>;
}

/// Webhook endpoints (the operator's registrations and their delivery health).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, w: &WebhookEndpoint) -> Result<()>;
    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<WebhookEndpoint>>;
    /// Oldest first; the cursor is the id.
    async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<WebhookEndpoint>>;
    /// Stores url, app, events, enabled, description and updated_at (not the secret, not
    /// the health). `NotFound` when it is gone.
    async fn update_webhook(&self, w: &WebhookEndpoint) -> Result<()>;
    /// The endpoint and every delivery still queued for it, in one transaction.
    async fn delete_webhook(&self, id: &WebhookId) -> Result<()>;
    /// The health after one attempt (a success resets the consecutive failures).
    async fn record_webhook_attempt(
        &self,
        id: &WebhookId,
        result: &AttemptResult,
        at: OffsetDateTime,
    ) -> Result<()>;
    /// Deliveries of this endpoint still waiting for an attempt.
    async fn webhook_pending(&self, id: &WebhookId) -> Result<i64>;
}

/// The durable delivery outbox (webhooks now; any other kind of delivery later). Rows for
/// audit-derived webhook events are queued by `append_audit(s)` and `apply_changes` in the
/// same write as the audit event itself, so an event is queued exactly when it is recorded.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queue rows; a row whose (kind, target, event_id) is already queued is skipped.
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<()>;
    /// Raised (in this process) after a committed write that may have queued rows, so the
    /// worker sends them at once instead of at its next poll. `None`: the backend has no such
    /// signal and the worker only polls. Rows queued by another instance are sent by that
    /// instance's own worker; the poll picks up those of an instance that died meanwhile.
    fn queued_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
    /// Lease up to `limit` due rows (pending, `next_attempt_at <= now`, no live lease) to
    /// `owner` until `now + lease`. Two callers never get the same row while its lease lives.
    async fn claim_due(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>>;
    /// Record an attempt on a row `owner` holds and release the lease: delivered, given up,
    /// or due again at the time of [`next_attempt`]. `false`: the lease was lost (another
    /// instance took the row after it ran out) and nothing was written.
    async fn finish_attempt(
        &self,
        id: &OutboxId,
        owner: &str,
        result: &AttemptResult,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Delete delivered and given-up rows created before `before` (retention); returns how
    /// many. Pending rows are never pruned.
    async fn prune_outbox(&self, before: OffsetDateTime) -> Result<u64>;
    /// A target's rows, newest first; the cursor is the row id.
    async fn list_outbox(
        &self,
        kind: OutboxKind,
        target: &str,
        page: &PageRequest,
    ) -> Result<Page<OutboxItem>>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Published in JWKS, not yet used to sign.
    Next,
    /// Signs new tokens. At most one per algorithm.
    Active,
    /// No longer signs; published until `retire_until`.
    Retired,
}

/// A token-signing key. The private key is PKCS#8 DER, encrypted at rest by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: KeyId,
    pub alg: SigningAlg,
    pub status: KeyStatus,
    pub private_key: Secret,
    pub public_jwk: String,
    pub created_at: OffsetDateTime,
    /// For retired keys: the key leaves JWKS after this time.
    pub retire_until: Option<OffsetDateTime>,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn create_key(&self, k: &SigningKeyRecord) -> Result<()>;
    async fn list_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Sets status (and retire_until) of one key.
    async fn set_key_status(
        &self,
        kid: &KeyId,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> Result<()>;
    async fn delete_key(&self, kid: &KeyId) -> Result<()>;
}

/// A refresh-token family: everything one authorization issued, rotated on each use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: RefreshFamilyId,
    pub app_id: AppId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub session_id: String,
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    pub scope: String,
    pub idp: Option<ConnectionId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// One refresh token of a family (only its hash is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub hash: TokenHash,
    pub family_id: RefreshFamilyId,
    pub created_at: OffsetDateTime,
    /// Set when the token was exchanged for its successor.
    pub used_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was unused; it is now marked used and `next` is stored in its family (the
    /// caller already holds the family from [`RefreshStore::find_refresh_in_context`]; its
    /// identity fields never change).
    Rotated,
    /// The token had already been used at `used_at` (reuse; the caller decides on the grace
    /// window and may revoke the family). Nothing was stored.
    AlreadyUsed {
        family: Box<RefreshFamily>,
        used_at: OffsetDateTime,
    },
    /// Unknown token, or its family is revoked or expired.
    Invalid,
}

/// What [`UserStore::find_identity_member`] returns: the identity, its user (`None` only if
/// the store is inconsistent) and the user's membership of the org, if any.
pub type IdentityMember = (ExternalIdentity, Option<User>, Option<Membership>);

/// What [`RefreshStore::find_refresh_in_context`] returns.
pub type RefreshInContext = (RefreshToken, RefreshFamily, Option<(User, Membership, Org)>);

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// A new family with its first token (`first`), created with the family and unused: one
    /// atomic write.
    async fn create_family(&self, f: &RefreshFamily, first: &TokenHash) -> Result<()>;
    /// [`RefreshStore::create_family`], then the family's member as
    /// [`MembershipStore::get_member_context`] reads it, in one round trip to the database (a code
    /// exchange). The member is `None` when the membership does not exist (the family is
    /// stored all the same).
    async fn create_family_in_context(
        &self,
        f: &RefreshFamily,
        first: &TokenHash,
    ) -> Result<Option<(User, Membership, Org)>>;
    async fn get_family(&self, id: &RefreshFamilyId) -> Result<Option<RefreshFamily>>;
    /// Atomically: if `presented` is an unused token of a live family, mark it used at `now`
    /// and store the token hashed `next` in the same family, created at `now`.
    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome>;
    async fn find_refresh(&self, hash: &TokenHash)
    -> Result<Option<(RefreshToken, RefreshFamily)>>;
    /// [`RefreshStore::find_refresh`] and the family's member in the same read: the user, their
    /// membership in the family's org and the org (a refresh recomputes its claims from these).
    /// The member part is `None` when the membership no longer exists.
    async fn find_refresh_in_context(&self, hash: &TokenHash) -> Result<Option<RefreshInContext>>;
    /// [`RefreshStore::rotate_refresh`] and [`RefreshStore::find_refresh_in_context`] in one
    /// round trip to the database (the common refresh): rotates `presented` to `next` when it
    /// is an unused token of a live family of `app`, then reads the token in context. The
    /// `bool` says whether this call rotated it (the token then reads as used at `now`).
    /// `None`: no such token. Not rotated, nothing was written: the caller finds out why with
    /// the separate calls.
    async fn rotate_refresh_in_context(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        app: &AppId,
        now: OffsetDateTime,
    ) -> Result<Option<(bool, RefreshInContext)>>;
    async fn revoke_family(&self, id: &RefreshFamilyId, now: OffsetDateTime) -> Result<()>;
    /// Revokes every live family of this member, for the given apps (all apps when `None`).
    /// Returns how many were revoked.
    async fn revoke_member_families(
        &self,
        org: &OrgId,
        user: &UserId,
        apps: Option<&BTreeSet<AppId>>,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// Revokes every live family of an org for the given apps (org suspended / unlinked).
    async fn revoke_org_families(
        &self,
        org: &OrgId,
        apps: Option<&BTreeSet<AppId>>,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// Revokes every family of one browser session (logout).
    async fn revoke_session_families(&self, session_id: &str, now: OffsetDateTime) -> Result<u64>;
    /// Revokes every live family of a user, in every org and app (password reset).
    async fn revoke_user_families(&self, user: &UserId, now: OffsetDateTime) -> Result<u64>;
}

#[async_trait]
pub trait PasswordResetStore: Send + Sync {
    /// `MissingReference("user")` when the user is gone.
    async fn create_password_reset(&self, r: &PasswordReset) -> Result<()>;
    async fn get_password_reset(&self, hash: &TokenHash) -> Result<Option<PasswordReset>>;
    /// Atomically, in one transaction: if the token is unused and not expired at `now`, mark
    /// it used, store `new_hash` as the user's password and void every other unused reset of
    /// the user. Of any number of concurrent calls with one token, at most one is `Done`.
    async fn complete_password_reset(
        &self,
        hash: &TokenHash,
        new_hash: &Secret,
        now: OffsetDateTime,
    ) -> Result<ResetOutcome>;
}

/// A user's second factors (`domain::mfa`): the TOTP factor with its recovery codes, and the
/// browsers remembered after a second factor. Factors belong to the user (the global identity),
/// not to an org. Passkeys are stored apart (`login::mfa::hooks`).
#[async_trait]
pub trait MfaStore: Send + Sync {
    async fn get_totp(&self, user: &UserId) -> Result<Option<TotpFactor>>;
    /// Enrol: store the TOTP factor (replacing one the user had) and replace the user's recovery
    /// codes with `recovery` (hashes), in one transaction. `MissingReference("user")`.
    async fn enroll_totp(&self, f: &TotpFactor, recovery: &[TokenHash]) -> Result<()>;
    /// Record that the code of time step `step` was accepted, atomically and only if it is
    /// later than the last accepted step: `false` when it is not (a replay, or a concurrent use
    /// of the same code) or the factor is gone.
    async fn use_totp_step(&self, user: &UserId, step: i64) -> Result<bool>;
    /// The hashes of the user's unused recovery codes.
    async fn list_recovery_codes(&self, user: &UserId) -> Result<Vec<TokenHash>>;
    /// Burn one recovery code: `true` when it was unused (now deleted), `false` otherwise —
    /// of concurrent uses of one code exactly one gets `true`.
    async fn burn_recovery_code(&self, user: &UserId, hash: &TokenHash) -> Result<bool>;
    async fn remember_device(&self, d: &RememberedDevice) -> Result<()>;
    /// The user's remembered device with this token hash, if it has not expired at `now`.
    async fn find_remembered_device(
        &self,
        user: &UserId,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RememberedDevice>>;
    /// Remove the user's TOTP factor, recovery codes and remembered devices in one
    /// transaction (an admin's reset); `passkeys` is left 0 (`login::mfa::hooks`).
    async fn delete_mfa_for_user(&self, user: &UserId) -> Result<crate::domain::mfa::MfaRemoved>;
}

/// Passkeys, the WebAuthn second factor (issue 16 item 4): a user's registered credentials.
/// A passkey belongs to a user (the same in every org), not to an org: the org admin's reset
/// removes the member's passkeys after the admin layer checked the membership.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// `Duplicate("passkey credential")` when the credential id is registered already (to
    /// anyone: WebAuthn §7.1 step 26), `MissingReference("user")` when the user is gone.
    async fn create_passkey(&self, p: &PasskeyRecord) -> Result<()>;
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRecord>>;
    /// One of the user's passkeys (another user's credential id is not found).
    async fn get_passkey(
        &self,
        user: &UserId,
        id: &PasskeyCredentialId,
    ) -> Result<Option<PasskeyRecord>>;
    /// After an authentication with it: store the credential as updated (signature counter,
    /// backup state) and `last_used_at`. `NotFound` when the user no longer has it (removed or
    /// reset meanwhile): the caller must then refuse the sign-in.
    async fn record_passkey_use(
        &self,
        user: &UserId,
        id: &PasskeyCredentialId,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<()>;
    /// `NotFound` when the user has no such passkey.
    async fn delete_passkey(&self, user: &UserId, id: &PasskeyCredentialId) -> Result<()>;
    /// Removes every passkey of the user (the org admin's second-factor reset); how many.
    async fn delete_all_passkeys_for_user(&self, user: &UserId) -> Result<u64>;
}

/// One write of a declarative import. Upserts overwrite whatever is stored (no version check).
#[derive(Clone, Debug)]
pub enum Change {
    UpsertApp(App),
    UpsertRole(Role),
    UpsertRoleGroup(RoleGroup),
    UpsertOrg(Org),
    UpsertLink(OrgAppLink),
    UpsertDomain(OrgDomain),
    UpsertConnection(Connection),
    UpsertUser(User),
    UpsertMembership(Membership),
    /// A new invitation (inserted; a duplicate id or token is an error).
    CreateInvitation(Invitation),
    /// Remove the membership of (org, user) if it is `invited` (any other status is kept).
    RemoveInvitedMembership(OrgId, UserId),
    Audit(AuditEvent),
}

/// Everything a first federated sign-in creates, written by
/// [`Storage::provision_first_sign_in`] in one transaction.
#[derive(Clone, Debug)]
pub struct FirstSignIn {
    /// The new user, or `None` when the user exists (a known identity without a membership).
    pub user: Option<User>,
    /// The user's new external identity, or `None` when it is stored already.
    pub identity: Option<ExternalIdentity>,
    /// The invitation redeemed, as it was read: stored as accepted, with a compare-and-swap on
    /// its version (an invitation is accepted once).
    pub invitation: Option<Invitation>,
    /// The membership: inserted; or, when an invitation is redeemed, the invitee's `invited`
    /// membership of the org made active (an existing membership in any other status is a
    /// `Duplicate("membership")`, so an active or suspended member is never overwritten).
    pub membership: Membership,
    /// An existing user rewritten in the same transaction (the invitee's profile made with the
    /// invitation: verified email, name, or the password they chose).
    pub update_user: Option<User>,
    /// An `invited` membership of the org to remove in the same transaction (the profile made
    /// with the invitation, when the invitee turned out to be a user Lobby already knew).
    pub drop_invited: Option<UserId>,
}

#[async_trait]
pub trait Storage:
    AppStore
    + RoleStore
    + OrgStore
    + LinkStore
    + DomainStore
    + ConnectionStore
    + UserStore
    + MembershipStore
    + InvitationStore
    + AuditStore
    + KeyStore
    + RefreshStore
    + PasswordResetStore
    + SamlStore
    + WebhookStore
    + OutboxStore
    + MfaStore
    + PasskeyStore
    + Send
    + Sync
    + 'static
{
    /// `/readyz`: a trivial query.
    async fn ping(&self) -> Result<()>;
    /// Applies all changes in one transaction, in order: all or nothing.
    async fn apply_changes(&self, changes: &[Change]) -> Result<()>;
    /// A first sign-in, all or nothing: creates the user and the identity (when given), accepts
    /// the invitation (when given) and creates the membership. On any error nothing is stored
    /// and the invitation is untouched: `Duplicate("external identity")` (another sign-in
    /// created it first), `Duplicate("membership")`, `Conflict`/`NotFound` (the invitation
    /// changed or is gone since it was read), `MissingReference(..)`.
    async fn provision_first_sign_in(&self, p: &FirstSignIn) -> Result<()>;
    /// "sqlite" or "postgres".
    fn dialect(&self) -> &'static str;
    /// The same storage without the per-process cache of configuration rows: every read goes
    /// to the database. The admin API uses it, so an admin reads what was last written even
    /// when another instance wrote it a moment ago (and version checks do not trip on a cached
    /// copy). Writes through either view invalidate the shared cache.
    fn uncached(&self) -> std::sync::Arc<dyn Storage>;
}

/// Open the storage named by a database URL (`sqlite:…` or `postgres://…`) and migrate it.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(sql::SqlStore::connect(url).await?))
}
