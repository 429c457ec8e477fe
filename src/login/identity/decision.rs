//! The decision of a federated sign-in, as a pure function: [`decide`] takes what storage said
//! (a [`Snapshot`] read by `resolve.rs`) and returns [`Decision::Existing`] (a returning member),
//! [`Decision::Provision`] (everything a first sign-in creates, written by storage in one
//! transaction) or [`Decision::Deny`] with the reason. Rules 2–6 of the module docs live here.
//!
//! Owns: which outcome, and what a first sign-in creates. Must not touch: storage, the clock,
//! randomness (the new user's id comes in the snapshot), the audit log.

use super::errors::IdentityError;
use super::roles::RoleMapping;
use crate::domain::{
    App, AppId, AppRoles, Email, ExternalIdentity, Invitation, MemberStatus, Membership, Org,
    OrgAppLink, OrgRole, RoleValue, User, UserId,
};
use crate::storage::FirstSignIn;
use crate::upstream::identity::UpstreamIdentity;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

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

/// What storage knows of the external identity (connection, issuer, subject).
// One per sign-in, moved along: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(super) enum Known {
    /// Never seen: a first sign-in.
    Unknown,
    /// Stored, but its user is missing (an inconsistent store).
    NoUser,
    /// Stored, with its user (profile already refreshed) and their membership of the org.
    User {
        user: User,
        membership: Option<Membership>,
    },
}

/// The invitation the login flow carries, as looked up by its token.
// One per sign-in, moved along: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(super) enum InvitationLookup {
    /// The flow carries no invitation token.
    NoToken,
    /// A token no invitation has.
    Unknown,
    Found(Invitation),
}

/// Everything [`decide`] looks at, read before deciding.
pub(super) struct Snapshot<'a> {
    pub now: OffsetDateTime,
    pub app: &'a App,
    pub org: &'a Org,
    pub link: &'a OrgAppLink,
    pub ident: &'a UpstreamIdentity,
    /// The IdP's email, normalized; `None` when missing or unusable.
    pub email: Option<Email>,
    /// Stored as verified: the IdP vouched for it and no other org verified its domain.
    pub email_trusted: bool,
    pub name: Option<String>,
    pub known: Known,
    /// Only looked up when the sign-in may provision (`NoToken` otherwise).
    pub invitation: InvitationLookup,
    pub mapping: &'a RoleMapping,
    /// The roles the org may hand out, per app a provisioned membership may get roles of
    /// (an app missing here: none).
    pub allowed: BTreeMap<AppId, BTreeSet<RoleValue>>,
    /// The id a new user gets (rule 4: a first sign-in always creates a new user, except the
    /// invitee's profile made with the invitation the flow redeems).
    pub new_user_id: UserId,
    /// The user profile the carried invitation was made with (`Invitation::user_id`), when it
    /// exists: a first sign-in redeeming that invitation becomes this user.
    pub invited: Option<User>,
}

/// What a first sign-in creates; `resolve.rs` has storage write it in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Plan {
    /// The member-to-be: new (see `create_user`) or the identity's existing user.
    pub user: User,
    pub create_user: bool,
    /// The new external identity (`None` when it is stored already).
    pub identity: Option<ExternalIdentity>,
    /// The invitation redeemed, as read (storage accepts it with a compare-and-swap).
    pub invitation: Option<Invitation>,
    pub membership: Membership,
    pub via: Via,
    /// The invitee's profile, rewritten with what the IdP says (verified email, name).
    pub update_user: Option<User>,
    /// The invitation's profile, whose `invited` membership goes when the invitee turned out to
    /// be a user Lobby already knew through this connection.
    pub drop_invited: Option<UserId>,
}

impl Plan {
    /// The one storage write.
    pub fn write(&self) -> FirstSignIn {
        FirstSignIn {
            user: self.create_user.then(|| self.user.clone()),
            identity: self.identity.clone(),
            invitation: self.invitation.clone(),
            membership: self.membership.clone(),
            update_user: self.update_user.clone(),
            drop_invited: self.drop_invited.clone(),
        }
    }
}

// One per sign-in, moved along: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Decision {
    /// A returning member: an active membership of the connection's org.
    Existing {
        user: User,
        membership: Membership,
    },
    Provision(Box<Plan>),
    Deny(IdentityError),
}

/// Rules 2–6 over the snapshot; see the module docs of `identity` for each rule.
pub(super) fn decide(s: &Snapshot<'_>) -> Decision {
    match decide_inner(s) {
        Ok(d) => d,
        Err(e) => Decision::Deny(e),
    }
}

fn decide_inner(s: &Snapshot<'_>) -> Result<Decision, IdentityError> {
    // Rule 2: a known identity is that user; their membership of this org must be active.
    let existing = match &s.known {
        Known::NoUser => return Err(IdentityError::Inconsistent),
        Known::User {
            user,
            membership: Some(m),
        } => {
            return if m.status == MemberStatus::Active {
                Ok(Decision::Existing {
                    user: user.clone(),
                    membership: m.clone(),
                })
            } else {
                Err(IdentityError::MembershipInactive)
            };
        }
        // Removed from the org since: provisioned again like a first sign-in.
        Known::User {
            user,
            membership: None,
        } => Some(user),
        Known::Unknown => None,
    };

    // Rule 3: a first sign-in needs an email the IdP vouched for.
    let email = first_sign_in_email(s.email.as_ref(), s.ident.email_verified)?;
    // Nothing to create when neither an invitation nor JIT can apply.
    if existing.is_none() && matches!(s.invitation, InvitationLookup::NoToken) && !s.link.jit {
        return Err(IdentityError::NotProvisioned);
    }
    // Rule 3: an invitation of this org for this email, or JIT.
    let redeemed = match &s.invitation {
        InvitationLookup::Found(inv) => {
            if !inv.is_usable(s.now) {
                return Err(IdentityError::InvitationInvalid);
            }
            // A connection signs users into its own org only.
            if inv.org_id != s.org.id {
                return Err(IdentityError::InvitationWrongOrg);
            }
            if inv.email != email {
                return Err(IdentityError::InvitationEmailMismatch);
            }
            Some(inv)
        }
        InvitationLookup::Unknown => return Err(IdentityError::InvitationInvalid),
        InvitationLookup::NoToken => None,
    };
    // The profile made with a redeemed invitation, when it is still there.
    let profile = match (redeemed, &s.invited) {
        (Some(inv), Some(u)) if inv.user_id.as_ref() == Some(&u.id) => Some(u),
        _ => None,
    };
    let (user, identity, create_user, update_user, drop_invited) = match existing {
        // A known identity whose user left the org: that user; the invitation's own profile
        // (if another) loses its `invited` membership.
        Some(u) => {
            let drop = profile.filter(|p| p.id != u.id).map(|p| p.id.clone());
            (u.clone(), None, false, None, drop)
        }
        None => {
            let user = match profile {
                // The invitee's profile: the IdP now vouches for its email.
                Some(p) => User {
                    email: email.clone(),
                    email_verified: s.email_trusted,
                    name: s.name.clone().or_else(|| p.name.clone()),
                    updated_at: s.now,
                    ..p.clone()
                },
                // Rule 4: otherwise always a new user, whatever other user has this email.
                None => User {
                    id: s.new_user_id.clone(),
                    email: email.clone(),
                    email_verified: s.email_trusted,
                    name: s.name.clone(),
                    password_hash: None,
                    version: 1,
                    created_at: s.now,
                    updated_at: s.now,
                },
            };
            let identity = ExternalIdentity {
                connection_id: s.ident.connection_id.clone(),
                issuer: s.ident.issuer.clone(),
                subject: s.ident.subject.clone(),
                user_id: user.id.clone(),
                created_at: s.now,
            };
            if let Err(e) = identity.validate() {
                tracing::warn!(error = %e, "upstream identity has an unusable issuer or subject");
                return Err(IdentityError::WrongConnection);
            }
            let (create, update) = match profile {
                Some(_) => (false, Some(user.clone())),
                None => (true, None),
            };
            (user, Some(identity), create, update, None)
        }
    };
    let (roles, org_roles, via, invitation) = match redeemed {
        Some(inv) => (
            inv.roles.clone(),
            inv.org_roles.clone(),
            Via::Invitation,
            Some(inv.clone()),
        ),
        None if s.link.jit => {
            let roles: AppRoles = if s.link.default_roles.is_empty() {
                BTreeMap::new()
            } else {
                [(s.app.id.clone(), s.link.default_roles.clone())].into()
            };
            (roles, BTreeSet::<OrgRole>::new(), Via::Jit, None)
        }
        None => return Err(IdentityError::NotProvisioned),
    };
    // Rule 6: only roles inside the org's allowed role groups, plus what the IdP's groups map to.
    let mut roles = restrict(roles, &s.allowed);
    s.mapping.apply(&mut roles, &s.ident.groups);
    let membership = Membership {
        org_id: s.org.id.clone(),
        user_id: user.id.clone(),
        status: MemberStatus::Active,
        roles,
        org_roles,
        version: 1,
        created_at: s.now,
        updated_at: s.now,
    };
    Ok(Decision::Provision(Box::new(Plan {
        create_user,
        user,
        identity,
        invitation,
        membership,
        via,
        update_user,
        drop_invited,
    })))
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

/// Drop roles outside the org's allowed role groups (per app).
fn restrict(roles: AppRoles, allowed: &BTreeMap<AppId, BTreeSet<RoleValue>>) -> AppRoles {
    roles
        .into_iter()
        .filter_map(|(app, values)| {
            let ok = allowed.get(&app)?;
            let kept: BTreeSet<RoleValue> = values.into_iter().filter(|r| ok.contains(r)).collect();
            (!kept.is_empty()).then_some((app, kept))
        })
        .collect()
}
