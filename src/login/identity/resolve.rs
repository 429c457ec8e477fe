//! [`resolve`]: a validated upstream identity to a user and an active membership of the
//! connection's org. Checks rule 1 (this connection, its org, the link and its policy), reads a
//! snapshot of what storage knows, lets the pure `decision::decide` choose, then carries the
//! decision out: a returning member's profile and mapped roles are refreshed; a first sign-in is
//! one storage transaction (`Storage::provision_first_sign_in`: user, identity, accepted
//! invitation, membership — all or nothing).
//!
//! Owns: the order of reads and writes of a federated sign-in and its audit events. Must not
//! touch: the rules themselves (`decision.rs`), protocol validation (the connectors).

use super::clean;
use super::decision::{Decision, InvitationLookup, Known, Plan, Snapshot, Via, decide};
use super::email::{EmailTrust, email_trust};
use super::errors::{IdentityError, audit, audit_event};
use super::roles::RoleMapping;
use crate::domain::{
    App, AppId, Connection, ConnectionState, Email, MemberStatus, Membership, Org, OrgAppLink,
    OrgStatus, Outcome, RoleValue, TokenHash, User, UserId, rules, trunc_millis,
};
use crate::login::LoginCtx;
use crate::login::discovery;
use crate::login::issue::PendingAudit;
use crate::storage::{Storage, StorageError};
use crate::upstream::identity::UpstreamIdentity;
use std::collections::{BTreeMap, BTreeSet};

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

/// Resolve a validated upstream identity to a user and an active membership of the
/// connection's org (see the module docs of `identity` for the rules). A refusal is recorded in
/// the audit log at once; the success event (`login.federated`) comes back unwritten, for
/// [`super::sign_in`] to write with `login.success` in one INSERT (on an error path it is
/// written on its own: [`PendingAudit`]).
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
    let Some(link) = crate::login::builtin::link(storage, &org.id, app).await? else {
        return Err(IdentityError::NotLinked);
    };
    if !discovery::connection_allowed(storage, app, &link, &conn.id).await? {
        return Err(IdentityError::ConnectionNotAllowed);
    }

    // The email: normalized; verified only by the one rule of `email.rs` (the IdP's word and a
    // domain this connection may vouch for); a domain verified by another org is audited.
    let email = ident.email.as_deref().and_then(|e| Email::parse(e).ok());
    let trust = match &email {
        Some(e) => email_trust(storage, conn, e, ident.email_verified).await?,
        None => EmailTrust::IdpDidNotVerify,
    };
    let email_trusted = trust.verified();
    if let (Some(e), EmailTrust::ForeignDomain(owner)) = (&email, &trust) {
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

    // Rule 2: the external identity, with its user and membership of this org in one read.
    // The IdP owns the profile: a known user's name and email follow it before anything else.
    let known = match storage
        .find_identity_member(&conn.id, &ident.issuer, &ident.subject, &org.id)
        .await?
    {
        None => Known::Unknown,
        Some((_, None, _)) => Known::NoUser,
        Some((_, Some(user), membership)) => Known::User {
            user: refresh_profile(storage, user, email.as_ref(), email_trusted, &name, now).await?,
            membership,
        },
    };
    // What a first sign-in may need: the invitation the flow carries and the roles the org may
    // hand out. A returning member needs neither.
    let may_provision = matches!(
        known,
        Known::Unknown
            | Known::User {
                membership: None,
                ..
            }
    );
    let invitation = match &ident.invitation_token {
        Some(token) if may_provision => {
            match storage
                .find_invitation_by_token(&TokenHash::of(token.expose()))
                .await?
            {
                Some(inv) => InvitationLookup::Found(inv),
                None => InvitationLookup::Unknown,
            }
        }
        _ => InvitationLookup::NoToken,
    };
    // The profile the invitation was made with (its membership is `invited`).
    let invited = match &invitation {
        InvitationLookup::Found(inv) => match &inv.user_id {
            Some(u) => storage.get_user(u).await?,
            None => None,
        },
        _ => None,
    };
    let allowed = if may_provision {
        allowed_roles(storage, app, &org, &link, &mapping, &invitation).await?
    } else {
        BTreeMap::new()
    };
    let decision = decide(&Snapshot {
        now,
        app,
        org: &org,
        link: &link,
        ident: &ident,
        email,
        email_trusted,
        name,
        known,
        invitation,
        mapping: &mapping,
        allowed,
        new_user_id: UserId::generate(),
        invited,
    });

    match decision {
        Decision::Deny(e) => Err(e),
        Decision::Existing { user, membership } => {
            let m = sync_roles(storage, membership, &mapping, &ident.groups, now).await?;
            resolved_with_roles(storage, app, &link, user, org, m, Via::Existing).await
        }
        Decision::Provision(plan) => match storage.provision_first_sign_in(&plan.write()).await {
            Ok(()) => {
                provisioned_audits(st, conn, &plan).await;
                let Plan {
                    user,
                    membership,
                    via,
                    ..
                } = *plan;
                resolved_with_roles(storage, app, &link, user, org, membership, via).await
            }
            // A concurrent first sign-in of the same person won: use theirs.
            Err(StorageError::Duplicate(what)) if what == "external identity" => {
                Box::pin(resolve_inner(st, conn, app, ident)).await
            }
            // Created concurrently (same person, two tabs): use the stored one if active.
            Err(StorageError::Duplicate(what)) if what == "membership" => {
                match storage.get_membership(&org.id, &plan.user.id).await? {
                    Some(stored) if stored.status == MemberStatus::Active => {
                        resolved_with_roles(storage, app, &link, plan.user, org, stored, plan.via)
                            .await
                    }
                    _ => Err(IdentityError::MembershipInactive),
                }
            }
            // The invitation was redeemed (or withdrawn) since it was read: exactly once.
            Err(StorageError::Conflict | StorageError::NotFound) if plan.invitation.is_some() => {
                Err(IdentityError::InvitationInvalid)
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// The roles the org may hand out, for every app a provisioned membership may get roles of: the
/// invitation's apps and this app (its link's default roles).
async fn allowed_roles(
    storage: &dyn Storage,
    app: &App,
    org: &Org,
    link: &OrgAppLink,
    mapping: &RoleMapping,
    invitation: &InvitationLookup,
) -> Result<BTreeMap<AppId, BTreeSet<RoleValue>>, StorageError> {
    let mut apps: BTreeSet<&AppId> = BTreeSet::new();
    if let InvitationLookup::Found(inv) = invitation {
        apps.extend(inv.roles.keys());
    }
    if link.jit && !link.default_roles.is_empty() {
        apps.insert(&app.id);
    }
    let mut out = mapping.allowed.clone();
    for a in apps {
        if out.contains_key(a) {
            continue;
        }
        let ok = match storage.get_link(&org.id, a).await? {
            Some(l) => rules::allowed_roles(&l, &storage.list_role_groups(a).await?),
            None => BTreeSet::new(),
        };
        out.insert(a.clone(), ok);
    }
    Ok(out)
}

/// The audit events of a committed first sign-in: the invitation accepted, the member created.
async fn provisioned_audits(st: &LoginCtx, conn: &Connection, plan: &Plan) {
    let storage = st.storage.as_ref();
    let (org, user) = (&plan.membership.org_id, &plan.user.id);
    if let Some(inv) = &plan.invitation {
        audit(
            storage,
            st.clock.now(),
            Some(org),
            "invitation.accept",
            ("invitation", inv.id.as_str()),
            Outcome::Success,
            format!("user:{user}"),
            serde_json::json!({ "user_id": user.as_str(), "connection_id": conn.id.as_str() }),
        )
        .await;
    }
    audit(
        storage,
        st.clock.now(),
        Some(org),
        "member.create",
        ("user", user.as_str()),
        Outcome::Success,
        format!("connection:{}", conn.id),
        serde_json::json!({ "via": plan.via.as_str(), "roles": plan.membership.roles }),
    )
    .await;
}

async fn resolved_with_roles(
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
