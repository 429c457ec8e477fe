//! Who a federated sign-in is (DESIGN §6 rules 1–2), shared by the OIDC (issue 4) and SAML
//! (issue 5) connectors: an upstream IdP has authenticated someone; [`resolve`] turns that into
//! a Lobby user and a membership of the connection's org, or a denial with a reason.
//!
//! The rules, in order:
//! 1. A connection signs users into **its own org only**: the identity must come from this
//!    connection, which must be active, its org active and linked to the app, and the
//!    connection allowed by the link's auth policy (`discovery::policy_connections`).
//! 2. The external identity is the triple (connection, issuer, subject) — never the email. A
//!    known triple is that user; their membership of the connection's org must be active.
//! 3. First sign-in (unknown triple, or a known user without a membership of this org) needs
//!    an email the IdP says is verified (`email_verified=false` — or missing, when the
//!    connection requires it: the connector turns "missing" into `false` per its policy — never
//!    links and never provisions). Then either
//!    - an invitation token carried by the flow (`/authorize?invitation=…`): the invitation must
//!      be pending, unexpired, of **this connection's org**, and addressed to the same email; it
//!      is consumed exactly once with a compare-and-swap on its version; the member gets the
//!      invitation's roles; or
//!    - just-in-time provisioning when the org↔app link has `jit`: the link's default roles.
//!
//!    Otherwise: no access (the org's admins must invite the user).
//! 4. **An email match alone never links to an existing user.** A first sign-in always creates a
//!    new user, even when another user (a password account, or the same person through another
//!    connection) has the same email: linking by email would let any IdP that can assert an
//!    address take over that account. Admins can merge later; Lobby never guesses.
//! 5. An email whose domain is *verified by another org* is stored as an attribute only: kept on
//!    the user with `email_verified = false` (so apps that trust `email_verified` are not
//!    misled), never used for invitations' matching beyond the invitation's own org, and flagged
//!    with an `identity.email_foreign_domain` audit event.
//! 6. Group → role mapping (`role_mapping` of the connection, for connections that name a
//!    `groups` claim): on every sign-in, the roles the mapping *manages* (those named anywhere in
//!    it for an app) follow the IdP's groups, limited to the org's allowed role groups for that
//!    app; roles an admin granted outside the managed set are kept.
//!    On provisioning the same rule applies on top of the link's default roles or the
//!    invitation's roles (a managed role the IdP's groups do not grant is not kept).
//! 7. Every outcome is an audit event `login.federated` (success with `via`, or denied with a
//!    `reason`); storage failures fail closed.
//!
//! Name and email are refreshed from the IdP on every sign-in (the IdP owns the profile).
//!
//! Also here, for both connectors: [`complete`] (start the SSO session with a fresh session id,
//! issue the code through `finish::issue_code_with`) and the federated error page ([`SsoErrorPage`],
//! which can show the IdP's own `error_description`, escaped).
//!
//! Owns: account linking and provisioning of federated sign-ins. Must not touch: protocol
//! validation (the connectors), token contents (provider), pages other than its error page.

use super::discovery::{self, EligibleOrg};
use super::finish::{PendingAudit, issue_code_with};
use super::flow::{AuthMethod, Authenticated, Flow};
use super::session::{self, SsoSession};
use crate::domain::{
    App, AppId, AuditEvent, AuditEventId, Connection, ConnectionState, Email, ExternalIdentity,
    InvitationStatus, MemberStatus, Membership, Org, OrgAppLink, OrgId, OrgStatus, Outcome,
    RoleValue, TokenHash, User, UserId, random_token, rules, trunc_millis,
};
use crate::login::LoginCtx;
use crate::pages::{Chrome, render};
use crate::storage::{Storage, StorageError};
pub use crate::upstream::identity::UpstreamIdentity;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::{BTreeMap, BTreeSet};
use tower_sessions::Session;

/// How the user was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A known external identity.
    Existing,
    /// First sign-in redeeming an invitation.
    Invitation,
    /// First sign-in, provisioned just in time.
    Jit,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Existing => "existing",
            Self::Invitation => "invitation",
            Self::Jit => "jit",
        }
    }
}

/// A federated sign-in that may proceed.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub user: User,
    pub org: Org,
    pub membership: Membership,
    /// This app's roles in the org (inside the allowed role groups).
    pub roles: Vec<RoleValue>,
    pub via: Via,
}

/// Why a federated sign-in is refused. `reason()` goes to the audit log, `message()` to the
/// person.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the identity did not come from this connection")]
    WrongConnection,
    #[error("the connection is not active")]
    ConnectionInactive,
    #[error("the organization is missing or suspended")]
    OrgInactive,
    #[error("the organization is not linked to the app")]
    NotLinked,
    #[error("the app's auth policy does not allow this connection")]
    ConnectionNotAllowed,
    #[error("the IdP sent no usable email")]
    MissingEmail,
    #[error("the IdP did not confirm the email is verified")]
    EmailNotVerified,
    #[error("the invitation is unknown, used, revoked or expired")]
    InvitationInvalid,
    #[error("the invitation is for another organization")]
    InvitationWrongOrg,
    #[error("the invitation is for another email address")]
    InvitationEmailMismatch,
    #[error("not a member and just-in-time provisioning is off")]
    NotProvisioned,
    #[error("the membership is suspended or not yet active")]
    MembershipInactive,
    #[error("the stored identity has no user")]
    Inconsistent,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl IdentityError {
    /// Stable reason code for the audit log and tests.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::WrongConnection => "wrong_connection",
            Self::ConnectionInactive => "connection_inactive",
            Self::OrgInactive => "org_inactive",
            Self::NotLinked => "org_not_linked",
            Self::ConnectionNotAllowed => "connection_not_allowed",
            Self::MissingEmail => "email_missing",
            Self::EmailNotVerified => "email_not_verified",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitationWrongOrg => "invitation_wrong_org",
            Self::InvitationEmailMismatch => "invitation_email_mismatch",
            Self::NotProvisioned => "not_provisioned",
            Self::MembershipInactive => "membership_inactive",
            Self::Inconsistent => "inconsistent_identity",
            Self::Storage(_) => "storage_error",
        }
    }

    /// The fixed sentence shown to the person.
    pub fn message(&self) -> &'static str {
        match self {
            Self::WrongConnection | Self::ConnectionInactive | Self::ConnectionNotAllowed => {
                SENTENCE_CONNECTION_UNAVAILABLE
            }
            Self::OrgInactive | Self::NotLinked => {
                "Your organization does not have access to this application. Contact your IT administrator."
            }
            Self::MissingEmail => {
                "Your organization's sign-in did not tell us your email address, so you cannot be signed in. Contact your IT administrator."
            }
            Self::EmailNotVerified => {
                "Your organization's sign-in did not confirm your email address, so you cannot be signed in. Contact your IT administrator."
            }
            Self::InvitationInvalid => {
                "This invitation has already been used, was withdrawn or has expired. Ask your organization's administrator for a new invitation."
            }
            Self::InvitationWrongOrg => {
                "This invitation is for another organization. Sign in with that organization's account, or ask for a new invitation."
            }
            Self::InvitationEmailMismatch => {
                "This invitation was sent to a different email address than the account you signed in with. Sign in with the invited account, or ask for a new invitation."
            }
            Self::NotProvisioned => {
                "You don't have access to this application yet. Ask your organization's administrator to invite you."
            }
            Self::MembershipInactive => {
                "Your access to this organization is suspended. Contact your organization's administrator."
            }
            Self::Inconsistent | Self::Storage(_) => SENTENCE_SERVER,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Inconsistent | Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::WrongConnection | Self::ConnectionInactive => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

pub const SENTENCE_CONNECTION_UNAVAILABLE: &str = "This organization's sign-in is not available for this application. Contact your IT administrator.";
pub const SENTENCE_SERVER: &str = "Something went wrong on our side. Try again in a few minutes.";

fn clean(s: Option<String>, max: usize) -> Option<String> {
    s.map(|v| {
        v.chars()
            .filter(|c| !c.is_control())
            .take(max)
            .collect::<String>()
            .trim()
            .to_owned()
    })
    .filter(|v| !v.is_empty())
}

/// An audit event of a federated sign-in; failures to record are logged, never fatal.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    storage: &dyn Storage,
    now: time::OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    target: (&str, &str),
    outcome: Outcome,
    actor: String,
    details: serde_json::Value,
) {
    let ev = audit_event(now, org, action, target, outcome, actor, details);
    if let Err(e) = storage.append_audit(&ev).await {
        tracing::error!(error = %e, action, "cannot record an audit event");
    }
}

fn audit_event(
    now: time::OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    target: (&str, &str),
    outcome: Outcome,
    actor: String,
    details: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: now,
        actor,
        org_id: org.cloned(),
        action: action.to_owned(),
        target_type: target.0.to_owned(),
        target_id: target.1.to_owned(),
        outcome,
        details,
        request_id: crate::http::current_request_id(),
    }
}

/// Resolve a validated upstream identity to a user and an active membership of the
/// connection's org (see the module docs for the rules). A refusal is recorded in the audit log
/// at once; the success event (`login.federated`) comes back unwritten, for [`complete`] to
/// write with `login.success` in one INSERT (on an error path it is written on its own:
/// [`PendingAudit`]).
pub async fn resolve(
    st: &LoginCtx,
    conn: &Connection,
    app: &App,
    ident: UpstreamIdentity,
) -> Result<(Resolved, PendingAudit), IdentityError> {
    let storage = st.storage.as_ref();
    let base = serde_json::json!({
        "connection_id": conn.id.as_str(),
        "app_id": app.id.as_str(),
        "issuer": ident.issuer,
        "subject": ident.subject,
    });
    let result = resolve_inner(st, conn, app, ident).await;
    let now = st.clock.now();
    match result {
        Ok(r) => {
            let mut d = base;
            d["via"] = r.via.as_str().into();
            d["roles"] = serde_json::json!(r.roles);
            let ev = audit_event(
                now,
                Some(&conn.org_id),
                "login.federated",
                ("user", r.user.id.as_str()),
                Outcome::Success,
                format!("user:{}", r.user.id),
                d,
            );
            Ok((r, PendingAudit::new(ev, st.storage.clone())))
        }
        Err(e) => {
            if let IdentityError::Storage(se) = &e {
                tracing::error!(error = %se, "storage error resolving a federated identity");
            }
            let mut d = base;
            d["reason"] = e.reason().into();
            audit(
                storage,
                now,
                Some(&conn.org_id),
                "login.federated",
                ("connection", conn.id.as_str()),
                Outcome::Denied,
                format!("connection:{}", conn.id),
                d,
            )
            .await;
            Err(e)
        }
    }
}

async fn resolve_inner(
    st: &LoginCtx,
    conn: &Connection,
    app: &App,
    ident: UpstreamIdentity,
) -> Result<Resolved, IdentityError> {
    let storage = st.storage.as_ref();
    let now = trunc_millis(st.clock.now());
    // Rule 1: this connection, active, of an active org linked to the app, allowed by policy.
    if ident.connection_id != conn.id || ident.subject.is_empty() || ident.issuer.is_empty() {
        return Err(IdentityError::WrongConnection);
    }
    if conn.state != ConnectionState::Active {
        return Err(IdentityError::ConnectionInactive);
    }
    let org = match storage.get_org(&conn.org_id).await? {
        Some(o) if o.status == OrgStatus::Active => o,
        _ => return Err(IdentityError::OrgInactive),
    };
    let Some(link) = storage.get_link(&org.id, &app.id).await? else {
        return Err(IdentityError::NotLinked);
    };
    if !discovery::connection_allowed(storage, app, &link, &conn.id).await? {
        return Err(IdentityError::ConnectionNotAllowed);
    }

    // The email: normalized; a domain verified by another org makes it an attribute only.
    let email = ident.email.as_deref().and_then(|e| Email::parse(e).ok());
    let mut email_trusted = ident.email_verified;
    if let Some(e) = &email
        && let Some(owner) = storage.find_verified_domain_org(&e.domain()).await?
        && owner != org.id
    {
        email_trusted = false;
        audit(
            storage,
            st.clock.now(),
            Some(&org.id),
            "identity.email_foreign_domain",
            ("connection", conn.id.as_str()),
            Outcome::Denied,
            format!("connection:{}", conn.id),
            serde_json::json!({
                "connection_id": conn.id.as_str(),
                "issuer": ident.issuer,
                "subject": ident.subject,
                "domain": e.domain().as_str(),
                "verified_by_org": owner.as_str(),
                "note": "stored as an unverified attribute only",
            }),
        )
        .await;
    }
    let name = clean(ident.name.clone(), 200);
    let mapping = RoleMapping::load(storage, conn, &org.id).await?;

    // Rule 2: the external identity.
    // The identity with its user and membership of this org in one read.
    if let Some((_, user, membership)) = storage
        .find_identity_member(&conn.id, &ident.issuer, &ident.subject, &org.id)
        .await?
    {
        let Some(user) = user else {
            return Err(IdentityError::Inconsistent);
        };
        let user =
            refresh_profile(storage, user, email.as_ref(), email_trusted, &name, now).await?;
        return match membership {
            Some(m) if m.status == MemberStatus::Active => {
                let m = sync_roles(storage, m, &mapping, &ident.groups, now).await?;
                finish(storage, app, &link, user, org, m, Via::Existing).await
            }
            Some(_) => Err(IdentityError::MembershipInactive),
            // Removed from the org since: provisioned again like a first sign-in.
            None => {
                let email = first_sign_in_email(email.as_ref(), ident.email_verified)?;
                provision(st, app, &link, org, user, &email, &ident, &mapping, now).await
            }
        };
    }

    // Rule 3: first sign-in.
    let email = first_sign_in_email(email.as_ref(), ident.email_verified)?;
    // Fail early (before creating anything) when neither an invitation nor JIT can apply.
    if ident.invitation_token.is_none() && !link.jit {
        return Err(IdentityError::NotProvisioned);
    }
    // Rule 4: always a new user, whatever other user has this email.
    let user = User {
        id: UserId::generate(),
        email: email.clone(),
        email_verified: email_trusted,
        name: name.clone(),
        password_hash: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    storage.create_user(&user).await?;
    let identity = ExternalIdentity {
        connection_id: conn.id.clone(),
        issuer: ident.issuer.clone(),
        subject: ident.subject.clone(),
        user_id: user.id.clone(),
        created_at: now,
    };
    if let Err(e) = identity.validate() {
        let _ = storage.delete_user(&user.id).await;
        tracing::warn!(error = %e, "upstream identity has an unusable issuer or subject");
        return Err(IdentityError::WrongConnection);
    }
    match storage.create_identity(&identity).await {
        Ok(()) => {}
        Err(StorageError::Duplicate(_)) => {
            // A concurrent first sign-in of the same person won: use theirs.
            let _ = storage.delete_user(&user.id).await;
            return Box::pin(resolve_inner(st, conn, app, ident)).await;
        }
        Err(e) => {
            let _ = storage.delete_user(&user.id).await;
            return Err(e.into());
        }
    }
    let res = provision(
        st,
        app,
        &link,
        org,
        user.clone(),
        &email,
        &ident,
        &mapping,
        now,
    )
    .await;
    if res.is_err() {
        // Nothing may be left half-made: the new user (and its identity) goes again.
        if let Err(e) = storage.delete_user(&user.id).await {
            tracing::error!(error = %e, "cannot remove a half-provisioned user");
        }
    }
    res
}

/// A first sign-in needs an email the IdP vouched for (rule 3).
fn first_sign_in_email(email: Option<&Email>, verified: bool) -> Result<Email, IdentityError> {
    let Some(e) = email else {
        return Err(IdentityError::MissingEmail);
    };
    if !verified {
        return Err(IdentityError::EmailNotVerified);
    }
    Ok(e.clone())
}

/// Give `user` a membership of `org`: by invitation (when the flow carries one) or JIT.
#[allow(clippy::too_many_arguments)]
async fn provision(
    st: &LoginCtx,
    app: &App,
    link: &OrgAppLink,
    org: Org,
    user: User,
    email: &Email,
    ident: &UpstreamIdentity,
    mapping: &RoleMapping,
    now: time::OffsetDateTime,
) -> Result<Resolved, IdentityError> {
    let storage = st.storage.as_ref();
    let (roles, org_roles, via) = if let Some(token) = &ident.invitation_token {
        let Some(inv) = storage
            .find_invitation_by_token(&TokenHash::of(token.expose()))
            .await?
        else {
            return Err(IdentityError::InvitationInvalid);
        };
        if !inv.is_usable(st.clock.now()) {
            return Err(IdentityError::InvitationInvalid);
        }
        // A connection signs users into its own org only.
        if inv.org_id != org.id {
            return Err(IdentityError::InvitationWrongOrg);
        }
        if &inv.email != email {
            return Err(IdentityError::InvitationEmailMismatch);
        }
        // Consumed exactly once: compare-and-swap on the version read above.
        let mut accepted = inv.clone();
        accepted.status = InvitationStatus::Accepted;
        match storage.update_invitation(&accepted).await {
            Ok(_) => {}
            Err(StorageError::Conflict | StorageError::NotFound) => {
                return Err(IdentityError::InvitationInvalid);
            }
            Err(e) => return Err(e.into()),
        }
        audit(
            storage,
            st.clock.now(),
            Some(&org.id),
            "invitation.accept",
            ("invitation", inv.id.as_str()),
            Outcome::Success,
            format!("user:{}", user.id),
            serde_json::json!({ "user_id": user.id.as_str(), "connection_id": ident.connection_id.as_str() }),
        )
        .await;
        (inv.roles.clone(), inv.org_roles.clone(), Via::Invitation)
    } else if link.jit {
        let roles: crate::domain::AppRoles = if link.default_roles.is_empty() {
            BTreeMap::new()
        } else {
            [(app.id.clone(), link.default_roles.clone())].into()
        };
        (roles, BTreeSet::new(), Via::Jit)
    } else {
        return Err(IdentityError::NotProvisioned);
    };
    // Only roles inside the org's allowed role groups, plus what the IdP's groups map to.
    let mut roles = mapping.restrict(storage, &org.id, roles).await?;
    mapping.apply(&mut roles, &ident.groups);
    let m = Membership {
        org_id: org.id.clone(),
        user_id: user.id.clone(),
        status: MemberStatus::Active,
        roles,
        org_roles,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    match storage.create_membership(&m).await {
        Ok(()) => {}
        Err(StorageError::Duplicate(_)) => {
            // Created concurrently (same person, two tabs): use the stored one if active.
            match storage.get_membership(&org.id, &user.id).await? {
                Some(stored) if stored.status == MemberStatus::Active => {
                    return finish(storage, app, link, user, org, stored, via).await;
                }
                _ => return Err(IdentityError::MembershipInactive),
            }
        }
        Err(e) => return Err(e.into()),
    }
    audit(
        storage,
        st.clock.now(),
        Some(&org.id),
        "member.create",
        ("user", user.id.as_str()),
        Outcome::Success,
        format!("connection:{}", ident.connection_id),
        serde_json::json!({ "via": via.as_str(), "roles": m.roles }),
    )
    .await;
    finish(storage, app, link, user, org, m, via).await
}

async fn finish(
    storage: &dyn Storage,
    app: &App,
    link: &OrgAppLink,
    user: User,
    org: Org,
    membership: Membership,
    via: Via,
) -> Result<Resolved, IdentityError> {
    let groups = storage.list_role_groups(&app.id).await?;
    let allowed = rules::allowed_roles(link, &groups);
    let roles = membership
        .roles_for(&app.id)
        .filter(|r| allowed.contains(*r))
        .cloned()
        .collect();
    Ok(Resolved {
        user,
        org,
        membership,
        roles,
        via,
    })
}

/// The IdP owns the profile: name and email follow it on every sign-in.
async fn refresh_profile(
    storage: &dyn Storage,
    user: User,
    email: Option<&Email>,
    email_trusted: bool,
    name: &Option<String>,
    now: time::OffsetDateTime,
) -> Result<User, IdentityError> {
    let mut next = user.clone();
    if let Some(e) = email {
        next.email = e.clone();
        next.email_verified = email_trusted;
    }
    if name.is_some() {
        next.name = name.clone();
    }
    if next == user {
        return Ok(user);
    }
    next.updated_at = now;
    match storage.update_user(&next).await {
        Ok(u) => Ok(u),
        // Someone changed the user meanwhile: keep what is stored, the profile catches up next
        // time.
        Err(StorageError::Conflict) => Ok(user),
        Err(e) => Err(e.into()),
    }
}

/// The connection's group → role mapping, resolved against the org's allowed role groups.
struct RoleMapping {
    /// Per app: group → roles (only roles the org may hand out).
    by_app: BTreeMap<AppId, BTreeMap<String, BTreeSet<RoleValue>>>,
    /// Per app: the roles the mapping manages (named anywhere in it), allowed or not.
    managed: BTreeMap<AppId, BTreeSet<RoleValue>>,
    /// Per linked app: the roles the org may hand out.
    allowed: BTreeMap<AppId, BTreeSet<RoleValue>>,
    /// Whether the connection names a groups claim at all.
    enabled: bool,
}

impl RoleMapping {
    async fn load(
        storage: &dyn Storage,
        conn: &Connection,
        org: &OrgId,
    ) -> Result<Self, StorageError> {
        let (entries, claim) = match &conn.config {
            crate::domain::ConnectionConfig::Oidc(c) => {
                (&c.role_mapping, c.claims.groups.is_some())
            }
            crate::domain::ConnectionConfig::Saml(c) => {
                (&c.role_mapping, c.attributes.groups.is_some())
            }
            crate::domain::ConnectionConfig::Password(_) => {
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

    /// Drop roles outside the org's allowed role groups (per app).
    async fn restrict(
        &self,
        storage: &dyn Storage,
        org: &OrgId,
        roles: crate::domain::AppRoles,
    ) -> Result<crate::domain::AppRoles, StorageError> {
        let mut out = BTreeMap::new();
        for (app, values) in roles {
            let ok = match self.allowed.get(&app) {
                Some(a) => a.clone(),
                None => match storage.get_link(org, &app).await? {
                    Some(l) => rules::allowed_roles(&l, &storage.list_role_groups(&app).await?),
                    None => BTreeSet::new(),
                },
            };
            let kept: BTreeSet<RoleValue> = values.into_iter().filter(|r| ok.contains(r)).collect();
            if !kept.is_empty() {
                out.insert(app, kept);
            }
        }
        Ok(out)
    }

    /// Set the managed roles of every mapped app from `groups`.
    fn apply(&self, roles: &mut crate::domain::AppRoles, groups: &[String]) {
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

/// Rule 6 on every sign-in of an existing member.
async fn sync_roles(
    storage: &dyn Storage,
    m: Membership,
    mapping: &RoleMapping,
    groups: &[String],
    now: time::OffsetDateTime,
) -> Result<Membership, IdentityError> {
    if !mapping.enabled {
        return Ok(m);
    }
    let mut next = m.clone();
    mapping.apply(&mut next.roles, groups);
    if next.roles == m.roles {
        return Ok(m);
    }
    next.updated_at = now;
    match storage.update_membership(&next).await {
        Ok(stored) => {
            audit(
                storage,
                now,
                Some(&m.org_id),
                "member.roles_sync",
                ("user", m.user_id.as_str()),
                Outcome::Success,
                "system".into(),
                serde_json::json!({ "before": m.roles, "after": stored.roles }),
            )
            .await;
            Ok(stored)
        }
        // Changed meanwhile by an admin: keep theirs for this sign-in.
        Err(StorageError::Conflict) => Ok(m),
        Err(e) => Err(e.into()),
    }
}

/// The orgs a federated SSO session is good for in `app`: the session connection's org, when
/// the user is an active member there, the org is active and linked to the app, and the link's
/// policy still allows the connection.
pub async fn eligible_federated_orgs(
    storage: &dyn Storage,
    app: &App,
    user: &UserId,
    idp: &crate::domain::ConnectionId,
) -> Result<Vec<EligibleOrg>, StorageError> {
    let Some(conn) = storage.get_connection_for_callback(idp).await? else {
        return Ok(vec![]);
    };
    if conn.state != ConnectionState::Active {
        return Ok(vec![]);
    }
    let Some(org) = storage.get_org(&conn.org_id).await? else {
        return Ok(vec![]);
    };
    if org.status != OrgStatus::Active {
        return Ok(vec![]);
    }
    let Some(link) = storage.get_link(&org.id, &app.id).await? else {
        return Ok(vec![]);
    };
    if !discovery::connection_allowed(storage, app, &link, &conn.id).await? {
        return Ok(vec![]);
    }
    match storage.get_membership(&org.id, user).await? {
        Some(m) if m.status == MemberStatus::Active => Ok(vec![EligibleOrg {
            org,
            connection: conn,
        }]),
        _ => Ok(vec![]),
    }
}

/// `amr` values passed on to the app: short tokens only (RFC 8176 style), at most 8.
fn token_amr(upstream: &[String]) -> Vec<String> {
    let v: Vec<String> = upstream
        .iter()
        .filter(|a| {
            !a.is_empty()
                && a.len() <= 32
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .take(8)
        .cloned()
        .collect();
    if v.is_empty() { vec!["fed".into()] } else { v }
}

/// End a federated sign-in: a new SSO session (fresh session id, DESIGN §6.7) bound to the
/// connection, then the authorization code for the flow's app. `flow` must already be taken
/// out of the store (single use).
#[allow(clippy::too_many_arguments)]
pub async fn complete(
    st: &LoginCtx,
    sess: &Session,
    headers: &HeaderMap,
    flow: &Flow,
    app: &App,
    conn: &Connection,
    resolved: Resolved,
    pending: PendingAudit,
    method: AuthMethod,
    upstream_amr: &[String],
) -> Response {
    let now = st.clock.now().unix_timestamp();
    let mut last_org = BTreeMap::new();
    last_org.insert(app.id.clone(), resolved.org.id.clone());
    let sso = SsoSession {
        user_id: resolved.user.id.clone(),
        sid: random_token(),
        auth_time: now,
        amr: token_amr(upstream_amr),
        method,
        last_org,
        idp: Some(conn.id.clone()),
    };
    if let Err(e) = session::begin(sess, &sso).await {
        pending.flush().await;
        tracing::error!(error = %e, "cannot start the SSO session");
        return sso_error_page(
            headers,
            Some(&resolved.org),
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is temporarily unavailable. Try again in a few minutes.",
            None,
            None,
        );
    }
    let auth = Authenticated {
        user_id: sso.user_id.clone(),
        sid: sso.sid.clone(),
        auth_time: sso.auth_time,
        amr: sso.amr.clone(),
        method,
        idp: Some(conn.id.clone()),
    };
    let chosen = EligibleOrg {
        org: resolved.org,
        connection: conn.clone(),
    };
    issue_code_with(st, headers, flow, &auth, &chosen, pending).await
}

/// The error page of a federated sign-in: a fixed sentence, optionally what the IdP itself
/// said (escaped by the template, bounded) and a link back to the app carrying an OAuth error.
#[derive(Template, WebTemplate)]
#[template(path = "sso_error.html")]
pub struct SsoErrorPage {
    pub c: Chrome,
    pub message: &'static str,
    pub detail: Option<String>,
    pub back_url: Option<String>,
}

/// Render [`SsoErrorPage`]. `detail` is cut to 300 characters without control characters.
pub fn sso_error_page(
    headers: &HeaderMap,
    org: Option<&Org>,
    status: StatusCode,
    message: &'static str,
    detail: Option<&str>,
    back_url: Option<String>,
) -> Response {
    let title = if status.is_server_error() {
        "Sign-in unavailable"
    } else if status == StatusCode::FORBIDDEN {
        "Access denied"
    } else {
        "Sign-in problem"
    };
    let page = SsoErrorPage {
        c: Chrome::new(title, headers).branded(org),
        message,
        detail: clean(detail.map(str::to_owned), 300),
        back_url,
    };
    render(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::*;
    use crate::storage::{AuditFilter, PageRequest};
    use std::sync::Arc;

    #[test]
    fn amr_is_sanitized() {
        assert_eq!(token_amr(&[]), vec!["fed".to_string()]);
        assert_eq!(
            token_amr(&["pwd".into(), "mfa".into(), "<x>".into()]),
            vec!["pwd".to_string(), "mfa".to_string()]
        );
    }

    #[test]
    fn error_page_escapes_the_idp_text() {
        let h = HeaderMap::new();
        let page = SsoErrorPage {
            c: Chrome::new("Sign-in problem", &h),
            message: "m.",
            detail: clean(Some("<script>alert(1)</script>\u{7}".into()), 300),
            back_url: Some("https://app.example.com/cb?error=access_denied&state=x".into()),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("alert(1)"));
        assert!(!html.contains('\u{7}'));
        assert!(html.contains("id=\"idp-detail\""));
        assert!(html.contains("id=\"back-to-app\""));
    }

    #[test]
    fn every_denial_has_a_reason_and_a_sentence() {
        for e in [
            IdentityError::WrongConnection,
            IdentityError::ConnectionInactive,
            IdentityError::OrgInactive,
            IdentityError::NotLinked,
            IdentityError::ConnectionNotAllowed,
            IdentityError::MissingEmail,
            IdentityError::EmailNotVerified,
            IdentityError::InvitationInvalid,
            IdentityError::InvitationWrongOrg,
            IdentityError::InvitationEmailMismatch,
            IdentityError::NotProvisioned,
            IdentityError::MembershipInactive,
            IdentityError::Inconsistent,
        ] {
            assert!(!e.reason().is_empty());
            assert!(e.message().ends_with('.'));
        }
    }

    // ---- resolve() against a real (SQLite in memory) storage ----

    const ISS: &str = "https://idp.acme.test";

    fn rv(s: &str) -> RoleValue {
        RoleValue::parse(s).unwrap()
    }

    struct Fx {
        st: LoginCtx,
        app: App,
        conn: Connection,
        other_conn: Connection,
        _dir: tempfile::TempDir,
    }

    fn t0() -> time::OffsetDateTime {
        trunc_millis(time::OffsetDateTime::now_utc())
    }

    fn org(id: &str) -> Org {
        Org {
            id: OrgId::parse(id).unwrap(),
            slug: Slug::parse(id).unwrap(),
            name: id.to_uppercase(),
            status: OrgStatus::Active,
            parent_id: None,
            branding: Branding::default(),
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    fn oidc_conn(id: &str, org: &str) -> Connection {
        Connection {
            id: ConnectionId::parse(id).unwrap(),
            org_id: OrgId::parse(org).unwrap(),
            name: id.into(),
            state: ConnectionState::Active,
            config: ConnectionConfig::Oidc(OidcConfig {
                issuer: ISS.into(),
                client_id: "lobby".into(),
                client_secret: None,
                scopes: vec!["openid".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                allowed_algs: vec!["RS256".into()],
                claims: ClaimMapping {
                    groups: Some("groups".into()),
                    ..ClaimMapping::default()
                },
                role_mapping: vec![
                    GroupRoleMapping {
                        group: "sales-team".into(),
                        app_id: AppId::parse("crm").unwrap(),
                        roles: vec![rv("sales")],
                    },
                    GroupRoleMapping {
                        group: "finance-team".into(),
                        app_id: AppId::parse("crm").unwrap(),
                        // `admin` is not in acme's allowed role groups: never granted.
                        roles: vec![rv("finance"), rv("admin")],
                    },
                ],
                require_email_verified: true,
            }),
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    async fn link(st: &LoginCtx, org: &str, jit: bool) {
        st.storage
            .create_link(&OrgAppLink {
                org_id: OrgId::parse(org).unwrap(),
                app_id: AppId::parse("crm").unwrap(),
                allowed_role_groups: [RoleGroupId::parse("std").unwrap()].into(),
                auth_policy: LinkAuthPolicy::Inherit,
                jit,
                default_roles: [rv("viewer")].into(),
                version: 1,
                created_at: t0(),
                updated_at: t0(),
            })
            .await
            .unwrap();
    }

    async fn fixture(jit: bool) -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let storage = crate::storage::open(&url).await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = crate::state::open(None, clock).await.unwrap();
        let app = crate::app::Server::build(
            Config::for_tests(&url, dir.path()),
            crate::app::Boot {
                storage: Some(storage),
                state: Some(state),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let st = <LoginCtx as axum::extract::FromRef<_>>::from_ref(&app.state);
        let s = st.storage.as_ref();
        let app = App {
            id: AppId::parse("crm").unwrap(),
            name: "CRM".into(),
            client_id: ClientId::parse("crm").unwrap(),
            client_type: ClientType::Public,
            client_secret_hash: None,
            redirect_uris: vec!["https://crm.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            signing_alg: SigningAlg::ES256,
            token_lifetimes: TokenLifetimes::default(),
            invite_ttl_secs: 86400,
            revoke_on: Default::default(),
            auth_policy: AppAuthPolicy::default(),
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        };
        s.create_app(&app).await.unwrap();
        for r in ["viewer", "sales", "finance", "admin"] {
            s.create_role(&Role {
                app_id: app.id.clone(),
                value: rv(r),
                name: r.into(),
                description: String::new(),
            })
            .await
            .unwrap();
        }
        s.create_role_group(&RoleGroup {
            id: RoleGroupId::parse("std").unwrap(),
            app_id: app.id.clone(),
            name: "Standard".into(),
            roles: [rv("viewer"), rv("sales"), rv("finance")].into(),
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        })
        .await
        .unwrap();
        s.create_org(&org("acme")).await.unwrap();
        s.create_org(&org("globex")).await.unwrap();
        link(&st, "acme", jit).await;
        link(&st, "globex", true).await;
        for (o, d) in [("acme", "acme.test"), ("globex", "globex.test")] {
            s.create_domain(&OrgDomain {
                org_id: OrgId::parse(o).unwrap(),
                domain: EmailDomain::parse(d).unwrap(),
                verified: true,
                verification_token: "t".into(),
                verified_at: Some(t0()),
                created_at: t0(),
            })
            .await
            .unwrap();
        }
        let conn = oidc_conn("acme-idp", "acme");
        let other_conn = oidc_conn("globex-idp", "globex");
        s.create_connection(&conn).await.unwrap();
        s.create_connection(&other_conn).await.unwrap();
        Fx {
            st,
            app,
            conn,
            other_conn,
            _dir: dir,
        }
    }

    fn ident(conn: &Connection, sub: &str, email: &str, verified: bool) -> UpstreamIdentity {
        UpstreamIdentity {
            connection_id: conn.id.clone(),
            issuer: ISS.into(),
            subject: sub.into(),
            email: Some(email.into()),
            email_verified: verified,
            name: Some("Alice Example".into()),
            groups: vec![],
            amr: vec![],
            invitation_token: None,
        }
    }

    async fn audits(st: &LoginCtx, action: &str) -> Vec<AuditEvent> {
        st.storage
            .list_audit(
                &AuditFilter {
                    org_id: None,
                    action: Some(action.into()),
                },
                &PageRequest::first(100),
            )
            .await
            .unwrap()
            .items
    }

    /// [`resolve`], with its success event written at once.
    async fn resolve_now(
        st: &LoginCtx,
        conn: &Connection,
        app: &App,
        ident: UpstreamIdentity,
    ) -> Result<Resolved, IdentityError> {
        let (resolved, pending) = resolve(st, conn, app, ident).await?;
        pending.flush().await;
        Ok(resolved)
    }

    async fn user_count(st: &LoginCtx) -> usize {
        st.storage
            .list_users(&Default::default(), &PageRequest::first(500))
            .await
            .unwrap()
            .items
            .len()
    }

    async fn invite(fx: &Fx, org: &str, email: &str) -> (Invitation, String) {
        let token = random_token();
        let inv = Invitation {
            id: InvitationId::generate(),
            org_id: OrgId::parse(org).unwrap(),
            email: Email::parse(email).unwrap(),
            roles: [(fx.app.id.clone(), [rv("viewer"), rv("finance")].into())].into(),
            org_roles: [OrgRole::MemberAdmin].into(),
            token_hash: TokenHash::of(&token),
            status: InvitationStatus::Pending,
            expires_at: t0() + time::Duration::days(1),
            invited_by: "operator".into(),
            version: 1,
            created_at: t0(),
        };
        fx.st.storage.create_invitation(&inv).await.unwrap();
        (inv, token)
    }

    #[tokio::test]
    async fn jit_then_the_same_external_identity_is_the_same_user() {
        let fx = fixture(true).await;
        let mut i = ident(&fx.conn, "sub-1", "Alice@ACME.test", true);
        i.groups = vec!["sales-team".into(), "unknown".into()];
        let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
            .await
            .unwrap();
        assert_eq!(r.via, Via::Jit);
        assert_eq!(r.org.id.as_str(), "acme");
        assert_eq!(r.user.email.as_str(), "alice@acme.test");
        assert!(r.user.email_verified);
        assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
        let again = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
        assert_eq!(again.via, Via::Existing);
        assert_eq!(again.user.id, r.user.id);
        let ev = audits(&fx.st, "login.federated").await;
        assert_eq!(ev.len(), 2);
        assert!(ev.iter().all(|e| e.outcome == Outcome::Success));
        // Audit ids order by millisecond only (ULID), so both events may share one: compare
        // as a set.
        let mut via: Vec<_> = ev.iter().map(|e| e.details["via"].clone()).collect();
        via.sort_by_key(|v| v.to_string());
        assert_eq!(via, ["existing", "jit"]);
    }

    #[tokio::test]
    async fn unverified_or_missing_email_never_provisions() {
        let fx = fixture(true).await;
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "bob@acme.test", false),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::EmailNotVerified), "{e:?}");
        let mut i = ident(&fx.conn, "s", "x", true);
        i.email = None;
        let e = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err();
        assert!(matches!(e, IdentityError::MissingEmail));
        let mut i = ident(&fx.conn, "s", "not an email", true);
        i.email = Some("not an email".into());
        assert!(matches!(
            resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err(),
            IdentityError::MissingEmail
        ));
        assert_eq!(user_count(&fx.st).await, 0);
        let ev = audits(&fx.st, "login.federated").await;
        assert_eq!(ev.len(), 3);
        assert!(ev.iter().all(|e| e.outcome == Outcome::Denied));
        // Order within one millisecond is not defined (ULID ids): compare as a set.
        let mut reasons: Vec<_> = ev.iter().map(|e| e.details["reason"].clone()).collect();
        reasons.sort_by_key(|v| v.to_string());
        assert_eq!(
            reasons,
            ["email_missing", "email_missing", "email_not_verified"]
        );
    }

    #[tokio::test]
    async fn an_email_match_alone_never_links_to_an_existing_user() {
        let fx = fixture(true).await;
        let s = fx.st.storage.as_ref();
        let existing = User {
            id: UserId::parse("u-pw").unwrap(),
            email: Email::parse("alice@acme.test").unwrap(),
            email_verified: true,
            name: None,
            password_hash: None,
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        };
        s.create_user(&existing).await.unwrap();
        let r = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s1", "alice@acme.test", true),
        )
        .await
        .unwrap();
        assert_ne!(r.user.id, existing.id);
        // A second IdP asserting the same email is yet another user.
        let mut i = ident(&fx.conn, "s2", "alice@acme.test", true);
        i.issuer = "https://other-issuer.test".into();
        let r2 = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
        assert_ne!(r2.user.id, r.user.id);
        assert_eq!(user_count(&fx.st).await, 3);
    }

    #[tokio::test]
    async fn no_jit_and_no_invitation_is_no_access() {
        let fx = fixture(false).await;
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "bob@acme.test", true),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::NotProvisioned));
        assert_eq!(user_count(&fx.st).await, 0);
    }

    #[tokio::test]
    async fn invitations_are_redeemed_once_in_their_own_org_for_their_own_email() {
        let fx = fixture(false).await;
        let (inv, token) = invite(&fx, "acme", "carol@acme.test").await;
        let with = |sub: &str, email: &str, tok: &str| {
            let mut i = ident(&fx.conn, sub, email, true);
            i.invitation_token = Some(Secret::new(tok));
            i
        };
        // Another email: refused, invitation untouched, nothing created.
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            with("s0", "mallory@acme.test", &token),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::InvitationEmailMismatch));
        assert_eq!(user_count(&fx.st).await, 0);
        // Unverified email: refused even with the token.
        let mut i = with("s0", "carol@acme.test", &token);
        i.email_verified = false;
        assert!(matches!(
            resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap_err(),
            IdentityError::EmailNotVerified
        ));
        let mut i = with("s1", "carol@acme.test", &token);
        i.groups = vec!["sales-team".into()];
        let r = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
        assert_eq!(r.via, Via::Invitation);
        // The invitation's roles, except those the IdP's groups manage (finance is mapped from
        // a group carol is not in), plus the mapped ones.
        assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
        assert!(r.membership.org_roles.contains(&OrgRole::MemberAdmin));
        let stored = fx
            .st
            .storage
            .get_invitation(&inv.org_id, &inv.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, InvitationStatus::Accepted);
        // Used once: a second person with the same link gets nothing.
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            with("s2", "carol@acme.test", &token),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::InvitationInvalid));
        assert_eq!(user_count(&fx.st).await, 1);
        // An invitation of globex cannot be redeemed through acme's IdP.
        let (_, gtoken) = invite(&fx, "globex", "dave@acme.test").await;
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            with("s3", "dave@acme.test", &gtoken),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::InvitationWrongOrg));
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            with("s4", "dave@acme.test", "bogus"),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::InvitationInvalid));
        assert_eq!(user_count(&fx.st).await, 1);
    }

    #[tokio::test]
    async fn a_connection_signs_users_into_its_own_org_only() {
        let fx = fixture(true).await;
        // An identity that arrived on globex's connection cannot be resolved against acme's.
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.other_conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::WrongConnection));
        // globex's IdP asserting an acme address: a globex member whose email is only an
        // attribute (unverified), flagged in the audit log.
        let r = resolve_now(
            &fx.st,
            &fx.other_conn,
            &fx.app,
            ident(&fx.other_conn, "s", "ceo@acme.test", true),
        )
        .await
        .unwrap();
        assert_eq!(r.org.id.as_str(), "globex");
        assert!(!r.user.email_verified);
        let flagged = audits(&fx.st, "identity.email_foreign_domain").await;
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].details["verified_by_org"], "acme");
        assert_eq!(flagged[0].org_id.as_ref().unwrap().as_str(), "globex");
        // acme has no membership for that user.
        assert!(
            fx.st
                .storage
                .get_membership(&OrgId::parse("acme").unwrap(), &r.user.id)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn inactive_connection_org_or_membership_is_refused() {
        let fx = fixture(true).await;
        let s = fx.st.storage.as_ref();
        let r = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap();
        let mut m = r.membership.clone();
        m.status = MemberStatus::Suspended;
        s.update_membership(&m).await.unwrap();
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::MembershipInactive));
        let mut c = fx.conn.clone();
        c.state = ConnectionState::Disabled;
        let e = resolve_now(
            &fx.st,
            &c,
            &fx.app,
            ident(&fx.conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::ConnectionInactive));
        let mut o = s.get_org(&fx.conn.org_id).await.unwrap().unwrap();
        o.status = OrgStatus::Suspended;
        s.update_org(&o).await.unwrap();
        let e = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, IdentityError::OrgInactive));
    }

    #[tokio::test]
    async fn mapped_roles_follow_the_idp_groups_and_keep_admin_grants() {
        let fx = fixture(true).await;
        let s = fx.st.storage.as_ref();
        let mut i = ident(&fx.conn, "s", "a@acme.test", true);
        i.groups = vec!["finance-team".into()];
        let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
            .await
            .unwrap();
        // `admin` is mapped but outside acme's allowed role groups.
        assert_eq!(r.roles, vec![rv("finance"), rv("viewer")]);
        // The IdP moves the user to sales: finance (managed) goes, viewer (a default, not
        // managed) stays.
        i.groups = vec!["sales-team".into()];
        let r = resolve_now(&fx.st, &fx.conn, &fx.app, i.clone())
            .await
            .unwrap();
        assert_eq!(r.roles, vec![rv("sales"), rv("viewer")]);
        let stored = s
            .get_membership(&fx.conn.org_id, &r.user.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.roles[&fx.app.id], [rv("sales"), rv("viewer")].into());
        assert_eq!(audits(&fx.st, "member.roles_sync").await.len(), 1);
        // Name and email follow the IdP.
        i.name = Some("Alice Renamed".into());
        let r = resolve_now(&fx.st, &fx.conn, &fx.app, i).await.unwrap();
        assert_eq!(r.user.name.as_deref(), Some("Alice Renamed"));
    }

    #[tokio::test]
    async fn federated_sessions_are_eligible_only_for_their_connection_org() {
        let fx = fixture(true).await;
        let r = resolve_now(
            &fx.st,
            &fx.conn,
            &fx.app,
            ident(&fx.conn, "s", "a@acme.test", true),
        )
        .await
        .unwrap();
        let s = fx.st.storage.as_ref();
        let e = eligible_federated_orgs(s, &fx.app, &r.user.id, &fx.conn.id)
            .await
            .unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].org.id.as_str(), "acme");
        // The same user is not eligible through globex's connection.
        let e = eligible_federated_orgs(s, &fx.app, &r.user.id, &fx.other_conn.id)
            .await
            .unwrap();
        assert!(e.is_empty());
    }
}
