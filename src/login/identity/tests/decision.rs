//! The pure decision of a federated sign-in, as a table: one snapshot per row, changed by the
//! row, and the outcome it must give.

use super::super::UpstreamIdentity;
use super::super::decision::*;
use super::super::roles::RoleMapping;
use crate::domain::*;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

fn rv(s: &str) -> RoleValue {
    RoleValue::parse(s).unwrap()
}

fn t0() -> OffsetDateTime {
    from_millis(1_700_000_000_000)
}

/// What the snapshot borrows, owned, plus the parts a row changes.
struct World {
    app: App,
    org: Org,
    link: OrgAppLink,
    ident: UpstreamIdentity,
    mapping: RoleMapping,
    known: Known,
    invitation: InvitationLookup,
    email: Option<Email>,
    invited: Option<User>,
}

fn world() -> World {
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
        admin_api: AdminApiAccess::default(),
        backchannel_logout: None,
        mfa: Default::default(),
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    };
    let org = Org {
        id: OrgId::parse("acme").unwrap(),
        slug: Slug::parse("acme").unwrap(),
        name: "Acme".into(),
        status: OrgStatus::Active,
        parent_id: None,
        branding: Branding::default(),
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    };
    let link = OrgAppLink {
        org_id: org.id.clone(),
        app_id: app.id.clone(),
        allowed_role_groups: BTreeSet::new(),
        auth_policy: LinkAuthPolicy::Inherit,
        jit: true,
        default_roles: [rv("viewer")].into(),
        mfa: None,
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    };
    let ident = UpstreamIdentity {
        connection_id: ConnectionId::parse("acme-idp").unwrap(),
        issuer: "https://idp.acme.test".into(),
        subject: "sub-1".into(),
        email: Some("alice@acme.test".into()),
        email_verified: true,
        name: Some("Alice".into()),
        groups: vec![],
        amr: vec![],
        invitation_token: None,
    };
    let mapping = RoleMapping {
        by_app: BTreeMap::new(),
        managed: BTreeMap::new(),
        allowed: BTreeMap::new(),
        enabled: false,
    };
    World {
        app,
        org,
        link,
        ident,
        mapping,
        known: Known::Unknown,
        invitation: InvitationLookup::NoToken,
        email: Some(Email::parse("alice@acme.test").unwrap()),
        invited: None,
    }
}

impl World {
    fn decide(&self) -> Decision {
        decide(&Snapshot {
            now: t0(),
            app: &self.app,
            org: &self.org,
            link: &self.link,
            ident: &self.ident,
            email: self.email.clone(),
            email_trusted: self.ident.email_verified,
            name: self.ident.name.clone(),
            known: self.known.clone(),
            invitation: self.invitation.clone(),
            mapping: &self.mapping,
            allowed: [(self.app.id.clone(), [rv("viewer"), rv("sales")].into())].into(),
            new_user_id: UserId::parse("u-new").unwrap(),
            invited: self.invited.clone(),
        })
    }
}

fn user() -> User {
    User {
        id: UserId::parse("u-old").unwrap(),
        email: Email::parse("alice@acme.test").unwrap(),
        email_verified: true,
        name: None,
        password_hash: None,
        version: 3,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn member(status: MemberStatus) -> Membership {
    Membership {
        org_id: OrgId::parse("acme").unwrap(),
        user_id: UserId::parse("u-old").unwrap(),
        status,
        roles: BTreeMap::new(),
        org_roles: BTreeSet::new(),
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn invitation() -> Invitation {
    Invitation {
        id: InvitationId::parse("inv-1").unwrap(),
        org_id: OrgId::parse("acme").unwrap(),
        email: Email::parse("alice@acme.test").unwrap(),
        roles: [(
            AppId::parse("crm").unwrap(),
            [rv("sales"), rv("admin")].into(),
        )]
        .into(),
        org_roles: [OrgRole::MemberAdmin].into(),
        token_hash: TokenHash::of("t"),
        status: InvitationStatus::Pending,
        expires_at: t0() + time::Duration::days(1),
        invited_by: "operator".into(),
        version: 4,
        created_at: t0(),
        app_id: None,
        inviter_name: None,
        user_id: None,
    }
}

/// The outcome in one word: `existing`, `jit`/`invitation` (provisioned), or the reason.
fn outcome(d: &Decision) -> String {
    match d {
        Decision::Existing { .. } => "existing".into(),
        Decision::Provision(p) => p.via.as_str().into(),
        Decision::Deny(e) => e.reason().into(),
    }
}

#[test]
fn decision_table() {
    type Row = (&'static str, fn(&mut World), &'static str);
    let rows: &[Row] = &[
        ("first sign-in, JIT", |_| {}, "jit"),
        (
            "known identity, active member",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: Some(member(MemberStatus::Active)),
                }
            },
            "existing",
        ),
        (
            "known identity, suspended member",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: Some(member(MemberStatus::Suspended)),
                }
            },
            "membership_inactive",
        ),
        (
            "known identity, suspended member, with an invitation",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: Some(member(MemberStatus::Suspended)),
                };
                w.invitation = InvitationLookup::Found(invitation());
            },
            "membership_inactive",
        ),
        (
            "identity without its user",
            |w| w.known = Known::NoUser,
            "inconsistent_identity",
        ),
        (
            "known identity, no membership: provisioned again",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: None,
                }
            },
            "jit",
        ),
        (
            "known identity, no membership, unverified email",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: None,
                };
                w.ident.email_verified = false;
            },
            "email_not_verified",
        ),
        (
            "known identity, no membership, no JIT",
            |w| {
                w.known = Known::User {
                    user: user(),
                    membership: None,
                };
                w.link.jit = false;
            },
            "not_provisioned",
        ),
        ("no email", |w| w.email = None, "email_missing"),
        (
            "unverified email",
            |w| w.ident.email_verified = false,
            "email_not_verified",
        ),
        (
            "no email beats no JIT",
            |w| {
                w.email = None;
                w.link.jit = false;
            },
            "email_missing",
        ),
        (
            "no JIT, no invitation",
            |w| w.link.jit = false,
            "not_provisioned",
        ),
        (
            "unusable subject",
            |w| w.ident.subject = "x".repeat(1025),
            "wrong_connection",
        ),
        (
            "no JIT beats an unusable subject",
            |w| {
                w.ident.subject = "x".repeat(1025);
                w.link.jit = false;
            },
            "not_provisioned",
        ),
        (
            "unknown invitation token",
            |w| w.invitation = InvitationLookup::Unknown,
            "invitation_invalid",
        ),
        (
            "invitation, no JIT needed",
            |w| {
                w.link.jit = false;
                w.invitation = InvitationLookup::Found(invitation());
            },
            "invitation",
        ),
        (
            "expired invitation",
            |w| {
                let mut i = invitation();
                i.expires_at = t0();
                w.invitation = InvitationLookup::Found(i);
            },
            "invitation_invalid",
        ),
        (
            "accepted invitation",
            |w| {
                let mut i = invitation();
                i.status = InvitationStatus::Accepted;
                w.invitation = InvitationLookup::Found(i);
            },
            "invitation_invalid",
        ),
        (
            "another org's invitation",
            |w| {
                let mut i = invitation();
                i.org_id = OrgId::parse("globex").unwrap();
                w.invitation = InvitationLookup::Found(i);
            },
            "invitation_wrong_org",
        ),
        (
            "invitation for another email",
            |w| {
                let mut i = invitation();
                i.email = Email::parse("bob@acme.test").unwrap();
                w.invitation = InvitationLookup::Found(i);
            },
            "invitation_email_mismatch",
        ),
        (
            "unusable invitation beats another org",
            |w| {
                let mut i = invitation();
                i.status = InvitationStatus::Revoked;
                i.org_id = OrgId::parse("globex").unwrap();
                w.invitation = InvitationLookup::Found(i);
            },
            "invitation_invalid",
        ),
    ];
    for (name, change, want) in rows {
        let mut w = world();
        change(&mut w);
        assert_eq!(outcome(&w.decide()), *want, "{name}");
    }
}

#[test]
fn a_first_sign_in_plans_a_new_user_identity_and_membership() {
    let Decision::Provision(p) = world().decide() else {
        panic!("provisions")
    };
    assert!(p.create_user);
    assert_eq!(p.user.id.as_str(), "u-new");
    assert_eq!(p.user.email.as_str(), "alice@acme.test");
    assert_eq!(p.user.name.as_deref(), Some("Alice"));
    let i = p.identity.as_ref().unwrap();
    assert_eq!((i.subject.as_str(), &i.user_id), ("sub-1", &p.user.id));
    assert_eq!(p.invitation, None);
    assert_eq!(p.membership.user_id, p.user.id);
    assert_eq!(p.membership.status, MemberStatus::Active);
    assert_eq!(
        p.membership.roles,
        [(AppId::parse("crm").unwrap(), [rv("viewer")].into())].into()
    );
    let write = p.write();
    assert_eq!(write.user.as_ref(), Some(&p.user));
    assert_eq!(write.identity.as_ref(), Some(i));
}

/// The profile an invitation was made with (no password, email not yet verified).
fn invited_profile() -> User {
    User {
        id: UserId::parse("u-invited").unwrap(),
        email: Email::parse("alice@acme.test").unwrap(),
        email_verified: false,
        name: None,
        password_hash: None,
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    }
}

#[test]
fn redeeming_an_invitation_makes_its_profile_the_member() {
    let mut w = world();
    let mut inv = invitation();
    inv.user_id = Some(UserId::parse("u-invited").unwrap());
    w.invitation = InvitationLookup::Found(inv);
    w.invited = Some(invited_profile());
    let Decision::Provision(p) = w.decide() else {
        panic!("provisions")
    };
    assert_eq!(p.via, Via::Invitation);
    assert!(!p.create_user, "the profile exists already");
    assert_eq!(p.user.id.as_str(), "u-invited");
    assert!(p.user.email_verified, "the IdP vouched for the email");
    assert_eq!(p.user.name.as_deref(), Some("Alice"));
    assert_eq!(p.identity.as_ref().unwrap().user_id.as_str(), "u-invited");
    assert_eq!(p.membership.user_id.as_str(), "u-invited");
    let write = p.write();
    assert_eq!(write.user, None);
    assert_eq!(write.update_user.as_ref(), Some(&p.user));
    assert_eq!(write.drop_invited, None);

    // Another email: refused before anything is planned.
    w.email = Some(Email::parse("mallory@acme.test").unwrap());
    assert_eq!(outcome(&w.decide()), "invitation_email_mismatch");
}

#[test]
fn a_known_user_redeeming_an_invitation_drops_the_invited_profile() {
    let mut w = world();
    let mut inv = invitation();
    inv.user_id = Some(UserId::parse("u-invited").unwrap());
    w.invitation = InvitationLookup::Found(inv);
    w.invited = Some(invited_profile());
    w.known = Known::User {
        user: user(),
        membership: None,
    };
    let Decision::Provision(p) = w.decide() else {
        panic!("provisions")
    };
    assert_eq!(p.user.id.as_str(), "u-old");
    assert_eq!(
        p.write().drop_invited.map(|u| u.to_string()).as_deref(),
        Some("u-invited")
    );
}

#[test]
fn an_invitation_plans_its_roles_within_the_allowed_groups() {
    let mut w = world();
    w.invitation = InvitationLookup::Found(invitation());
    w.known = Known::User {
        user: user(),
        membership: None,
    };
    let Decision::Provision(p) = w.decide() else {
        panic!("provisions")
    };
    // The existing user: nothing new but the membership (and the accepted invitation).
    assert!(!p.create_user);
    assert_eq!(p.identity, None);
    assert_eq!(p.user.id.as_str(), "u-old");
    assert_eq!(p.write().user, None);
    assert_eq!(p.invitation.as_ref().map(|i| i.version), Some(4));
    // `admin` is outside the allowed role groups.
    assert_eq!(
        p.membership.roles,
        [(AppId::parse("crm").unwrap(), [rv("sales")].into())].into()
    );
    assert_eq!(p.membership.org_roles, [OrgRole::MemberAdmin].into());
}

#[test]
fn mapped_groups_apply_on_top_of_the_provisioned_roles() {
    let mut w = world();
    let crm = AppId::parse("crm").unwrap();
    w.mapping = RoleMapping {
        by_app: [(
            crm.clone(),
            [("sales-team".into(), [rv("sales")].into())].into(),
        )]
        .into(),
        managed: [(crm.clone(), [rv("sales"), rv("viewer")].into())].into(),
        allowed: BTreeMap::new(),
        enabled: true,
    };
    w.ident.groups = vec!["sales-team".into()];
    let Decision::Provision(p) = w.decide() else {
        panic!("provisions")
    };
    // `viewer` (a default) is managed by the mapping and no group grants it.
    assert_eq!(p.membership.roles, [(crm, [rv("sales")].into())].into());
}
