//! Fixtures of the storage conformance suite: valid objects with fresh ids and millisecond
//! timestamps, a seeded member, and assertions on the error a call must return.
//!
//! Owns: building test data through the public domain types. Must not touch: backends.

use crate::domain::*;
use crate::storage::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

pub(super) fn now() -> OffsetDateTime {
    trunc_millis(OffsetDateTime::now_utc())
}

pub(super) fn fresh(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

pub(crate) fn org(parent: Option<&OrgId>) -> Org {
    let t = now();
    Org {
        id: OrgId::generate(),
        slug: Slug::parse(&fresh("o")).unwrap(),
        name: "Acme".into(),
        status: OrgStatus::Active,
        parent_id: parent.cloned(),
        branding: Branding {
            display_name: Some("Acme Corp".into()),
            logo_url: Some("https://acme.example/logo.png".into()),
            primary_color: Some("#1a2b3c".into()),
        },
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn app() -> App {
    let t = now();
    App {
        id: AppId::generate(),
        name: "CRM".into(),
        client_id: ClientId::generate(),
        client_type: ClientType::Confidential,
        client_secret_hash: Some(TokenHash::of(&random_token())),
        redirect_uris: vec![
            "https://crm.example.com/cb".into(),
            "http://127.0.0.1:3000/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://crm.example.com/bye".into()],
        signing_alg: SigningAlg::ES256,
        token_lifetimes: TokenLifetimes::default(),
        invite_ttl_secs: 86_400,
        revoke_on: [MemberEvent::MemberRemoved, MemberEvent::OrgSuspended].into(),
        auth_policy: AppAuthPolicy::default(),
        admin_api: AdminApiAccess::default(),
        backchannel_logout: None,
        mfa: Default::default(),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn rv(s: &str) -> RoleValue {
    RoleValue::parse(s).unwrap()
}

pub(super) fn role(app: &AppId, value: &str) -> Role {
    Role {
        app_id: app.clone(),
        value: rv(value),
        name: format!("Role {value}"),
        description: "does things".into(),
    }
}

pub(super) fn group(app: &AppId, roles: &[&str]) -> RoleGroup {
    let t = now();
    RoleGroup {
        id: RoleGroupId::generate(),
        app_id: app.clone(),
        name: "Group".into(),
        roles: roles.iter().map(|r| rv(r)).collect(),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn link(org: &OrgId, app: &AppId, groups: &[&RoleGroupId]) -> OrgAppLink {
    let t = now();
    OrgAppLink {
        org_id: org.clone(),
        app_id: app.clone(),
        allowed_role_groups: groups.iter().map(|g| (*g).clone()).collect(),
        auth_policy: LinkAuthPolicy::Inherit,
        jit: true,
        default_roles: BTreeSet::new(),
        mfa: None,
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn domain(org: &OrgId, name: &str, verified: bool) -> OrgDomain {
    let t = now();
    OrgDomain {
        org_id: org.clone(),
        domain: EmailDomain::parse(name).unwrap(),
        verified,
        verification_token: random_token(),
        verified_at: verified.then_some(t),
        created_at: t,
        shared: false,
    }
}

pub(super) fn unique_domain() -> String {
    format!("{}.example", fresh("d"))
}

pub(super) fn connection(org: &OrgId) -> Connection {
    let t = now();
    Connection {
        id: ConnectionId::generate(),
        org_id: org.clone(),
        name: "Okta".into(),
        state: ConnectionState::Active,
        config: ConnectionConfig::Oidc(OidcConfig {
            issuer: "https://idp.example.com".into(),
            client_id: "lobby".into(),
            client_secret: Some(Secret::new("upstream-secret")),
            scopes: vec!["openid".into(), "email".into()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            allowed_algs: vec!["RS256".into()],
            claims: ClaimMapping::default(),
            role_mapping: vec![],
            require_email_verified: true,
            email_authority: Default::default(),
        }),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn user(email: &str) -> User {
    let t = now();
    User {
        id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        email_verified: true,
        name: Some("Alice".into()),
        password_hash: Some(Secret::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn membership(org: &OrgId, user: &UserId) -> Membership {
    let t = now();
    Membership {
        org_id: org.clone(),
        user_id: user.clone(),
        status: MemberStatus::Active,
        roles: BTreeMap::new(),
        org_roles: [OrgRole::MemberAdmin].into(),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(super) fn invitation(org: &OrgId) -> Invitation {
    let t = now();
    Invitation {
        id: InvitationId::generate(),
        org_id: org.clone(),
        email: Email::parse(&format!("{}@invited.example", fresh("i"))).unwrap(),
        roles: BTreeMap::new(),
        org_roles: BTreeSet::new(),
        token_hash: TokenHash::of(&random_token()),
        status: InvitationStatus::Pending,
        expires_at: t + Duration::days(7),
        invited_by: "operator".into(),
        version: 1,
        created_at: t,
        app_id: None,
        inviter_name: None,
        user_id: None,
    }
}

pub(super) fn audit(id: &str, org: Option<&OrgId>, action: &str) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::parse(id).unwrap(),
        time: now(),
        actor: "operator".into(),
        org_id: org.cloned(),
        action: action.into(),
        target_type: "org".into(),
        target_id: "x".into(),
        outcome: Outcome::Success,
        details: serde_json::json!({"before": {"name": "a"}, "after": {"name": "b"}}),
        request_id: Some("req-1".into()),
    }
}

pub(super) fn family(app: &AppId, org: &OrgId, user: &UserId, session: &str) -> RefreshFamily {
    let t = now();
    RefreshFamily {
        id: RefreshFamilyId::parse(&fresh("fam")).unwrap(),
        app_id: app.clone(),
        user_id: user.clone(),
        org_id: org.clone(),
        session_id: session.into(),
        auth_time: t,
        amr: vec!["pwd".into(), "mfa".into()],
        scope: "openid email".into(),
        idp: None,
        created_at: t,
        expires_at: t + Duration::days(30),
        revoked_at: None,
    }
}

/// The identity alone, through the joined read (any org: the membership does not matter here).
pub(super) async fn identity_of(
    s: &Arc<dyn Storage>,
    connection: &ConnectionId,
    issuer: &str,
    subject: &str,
) -> Option<ExternalIdentity> {
    s.find_identity_member(connection, issuer, subject, &OrgId::generate())
        .await
        .unwrap()
        .map(|(i, _, _)| i)
}

/// The first token of `f`, as `create_family` stores it.
pub(super) fn first_token(f: &RefreshFamily) -> RefreshToken {
    RefreshToken {
        hash: TokenHash::of(&random_token()),
        family_id: f.id.clone(),
        created_at: f.created_at,
        used_at: None,
    }
}

pub(super) fn token(family: &RefreshFamilyId) -> RefreshToken {
    RefreshToken {
        hash: TokenHash::of(&random_token()),
        family_id: family.clone(),
        created_at: now(),
        used_at: None,
    }
}

/// An app, an org and a user who is a member of it.
pub(super) async fn seed_member(s: &Arc<dyn Storage>) -> (App, Org, User) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let u = user(&format!("{}@acme.example", fresh("u")));
    s.create_user(&u).await.unwrap();
    s.create_membership(&membership(&o.id, &u.id))
        .await
        .unwrap();
    (a, o, u)
}

#[track_caller]
pub(super) fn assert_duplicate<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::Duplicate(w)) => assert_eq!(w, what, "duplicate names what"),
        other => panic!("expected Duplicate({what:?}), got {other:?}"),
    }
}

#[track_caller]
pub(super) fn assert_missing<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::MissingReference(w)) => assert_eq!(w, what),
        other => panic!("expected MissingReference({what:?}), got {other:?}"),
    }
}

#[track_caller]
pub(super) fn assert_in_use<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::InUse(w)) => assert_eq!(w, what),
        other => panic!("expected InUse({what:?}), got {other:?}"),
    }
}

#[track_caller]
pub(super) fn assert_not_found<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StorageError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

#[track_caller]
pub(super) fn assert_conflict<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StorageError::Conflict)),
        "expected Conflict, got {r:?}"
    );
}
