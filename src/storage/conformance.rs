//! The one conformance suite every storage backend must pass: each `pub async fn` is a case
//! that takes a fresh, empty `Arc<dyn Storage>` and panics on a violation. The `tests` module
//! runs every case against a SQLite temp file, SQLite in memory, and PostgreSQL when
//! `LOBBY_TEST_DATABASE_URL` is set (each case in a database it creates and drops).
//!
//! Owns: the behaviour the storage traits promise. Must not touch: backend internals (only
//! the traits are used, so the suite runs unchanged against any new backend).
//!
//! This is test code, compiled always so integration tests can run it too: it unwraps and
//! asserts freely.

use super::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Fixtures: valid objects with fresh ids and millisecond timestamps

fn now() -> OffsetDateTime {
    trunc_millis(OffsetDateTime::now_utc())
}

fn fresh(prefix: &str) -> String {
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

fn app() -> App {
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
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

fn rv(s: &str) -> RoleValue {
    RoleValue::parse(s).unwrap()
}

fn role(app: &AppId, value: &str) -> Role {
    Role {
        app_id: app.clone(),
        value: rv(value),
        name: format!("Role {value}"),
        description: "does things".into(),
    }
}

fn group(app: &AppId, roles: &[&str]) -> RoleGroup {
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

fn link(org: &OrgId, app: &AppId, groups: &[&RoleGroupId]) -> OrgAppLink {
    let t = now();
    OrgAppLink {
        org_id: org.clone(),
        app_id: app.clone(),
        allowed_role_groups: groups.iter().map(|g| (*g).clone()).collect(),
        auth_policy: LinkAuthPolicy::Inherit,
        jit: true,
        default_roles: BTreeSet::new(),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

fn domain(org: &OrgId, name: &str, verified: bool) -> OrgDomain {
    let t = now();
    OrgDomain {
        org_id: org.clone(),
        domain: EmailDomain::parse(name).unwrap(),
        verified,
        verification_token: random_token(),
        verified_at: verified.then_some(t),
        created_at: t,
    }
}

fn unique_domain() -> String {
    format!("{}.example", fresh("d"))
}

fn connection(org: &OrgId) -> Connection {
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
        }),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

fn user(email: &str) -> User {
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

fn membership(org: &OrgId, user: &UserId) -> Membership {
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

fn invitation(org: &OrgId) -> Invitation {
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
    }
}

fn audit(id: &str, org: Option<&OrgId>, action: &str) -> AuditEvent {
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

fn family(app: &AppId, org: &OrgId, user: &UserId, session: &str) -> RefreshFamily {
    let t = now();
    RefreshFamily {
        id: fresh("fam"),
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
async fn identity_of(
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
fn first_token(f: &RefreshFamily) -> RefreshToken {
    RefreshToken {
        hash: TokenHash::of(&random_token()),
        family_id: f.id.clone(),
        created_at: f.created_at,
        used_at: None,
    }
}

fn token(family: &str) -> RefreshToken {
    RefreshToken {
        hash: TokenHash::of(&random_token()),
        family_id: family.into(),
        created_at: now(),
        used_at: None,
    }
}

/// An app, an org and a user who is a member of it.
async fn seed_member(s: &Arc<dyn Storage>) -> (App, Org, User) {
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
fn assert_duplicate<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::Duplicate(w)) => assert_eq!(w, what, "duplicate names what"),
        other => panic!("expected Duplicate({what:?}), got {other:?}"),
    }
}

#[track_caller]
fn assert_missing<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::MissingReference(w)) => assert_eq!(w, what),
        other => panic!("expected MissingReference({what:?}), got {other:?}"),
    }
}

#[track_caller]
fn assert_in_use<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StorageError::InUse(w)) => assert_eq!(w, what),
        other => panic!("expected InUse({what:?}), got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StorageError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StorageError::Conflict)),
        "expected Conflict, got {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Cases

pub async fn ping_and_dialect(s: Arc<dyn Storage>) {
    s.ping().await.unwrap();
    assert!(matches!(s.dialect(), "sqlite" | "postgres"));
}

pub async fn apps_crud(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(
        s.get_app_by_client_id(&a.client_id).await.unwrap().as_ref(),
        Some(&a)
    );
    assert_eq!(s.get_app(&AppId::generate()).await.unwrap(), None);
    assert_eq!(
        s.get_app_by_client_id(&ClientId::generate()).await.unwrap(),
        None
    );

    let mut same_id = app();
    same_id.id = a.id.clone();
    assert_duplicate(s.create_app(&same_id).await, "app id");
    let mut same_client = app();
    same_client.client_id = a.client_id.clone();
    assert_duplicate(s.create_app(&same_client).await, "client_id");

    let mut public = app();
    public.client_type = ClientType::Public;
    public.client_secret_hash = None;
    public.signing_alg = SigningAlg::EdDSA;
    public.revoke_on = BTreeSet::new();
    s.create_app(&public).await.unwrap();
    assert_eq!(s.get_app(&public.id).await.unwrap(), Some(public.clone()));

    let mut changed = a.clone();
    changed.name = "CRM 2".into();
    changed
        .redirect_uris
        .push("https://crm.example.com/cb2".into());
    changed.updated_at = now() + Duration::seconds(5);
    let stored = s.update_app(&changed).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored,
        App {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(s.get_app(&a.id).await.unwrap(), Some(stored.clone()));
    assert_conflict(s.update_app(&changed).await);
    let mut taken = stored.clone();
    taken.client_id = public.client_id.clone();
    assert_duplicate(s.update_app(&taken).await, "client_id");
    assert_not_found(s.update_app(&app()).await);

    let page = s.list_apps(&PageRequest::first(10)).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|a| a.id.clone()).collect();
    let mut want = vec![a.id.clone(), public.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(page.next, None);

    s.delete_app(&a.id, false).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert_not_found(s.delete_app(&a.id, false).await);
    assert_not_found(s.delete_app(&a.id, true).await);
}

pub async fn roles_and_groups(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let (sales, finance) = (role(&a.id, "sales"), role(&a.id, "finance:read"));
    s.create_role(&sales).await.unwrap();
    s.create_role(&finance).await.unwrap();
    assert_duplicate(s.create_role(&sales).await, "role");
    assert_missing(s.create_role(&role(&AppId::generate(), "x")).await, "app");
    assert_eq!(
        s.get_role(&a.id, &sales.value).await.unwrap(),
        Some(sales.clone())
    );
    assert_eq!(s.get_role(&a.id, &rv("nope")).await.unwrap(), None);
    assert_eq!(
        s.list_roles(&a.id).await.unwrap(),
        vec![finance.clone(), sales.clone()]
    );
    let mut renamed = sales.clone();
    renamed.name = "Sales people".into();
    s.update_role(&renamed).await.unwrap();
    assert_eq!(
        s.get_role(&a.id, &sales.value).await.unwrap(),
        Some(renamed)
    );
    assert_not_found(s.update_role(&role(&a.id, "ghost")).await);

    let g = group(&a.id, &["sales", "finance:read"]);
    s.create_role_group(&g).await.unwrap();
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert_duplicate(s.create_role_group(&g).await, "role group");
    let empty = group(&a.id, &[]);
    s.create_role_group(&empty).await.unwrap();
    assert_eq!(
        s.get_role_group(&a.id, &empty.id).await.unwrap(),
        Some(empty.clone())
    );
    // A group can only hold existing roles of its app, and nothing is left of a failed create.
    let bad = group(&a.id, &["sales", "ghost"]);
    assert_missing(s.create_role_group(&bad).await, "role");
    assert_eq!(s.get_role_group(&a.id, &bad.id).await.unwrap(), None);
    assert_missing(
        s.create_role_group(&group(&AppId::generate(), &[])).await,
        "app",
    );
    // Scoped by app.
    assert_eq!(
        s.get_role_group(&AppId::generate(), &g.id).await.unwrap(),
        None
    );
    let mut listed = s.list_role_groups(&a.id).await.unwrap();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    let mut want = vec![g.clone(), empty.clone()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(listed, want);

    let mut narrowed = g.clone();
    narrowed.roles = [rv("sales")].into();
    narrowed.name = "Narrow".into();
    let stored = s.update_role_group(&narrowed).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.roles, narrowed.roles);
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_conflict(s.update_role_group(&narrowed).await);
    assert_not_found(s.update_role_group(&group(&a.id, &[])).await);
    let mut with_ghost = stored.clone();
    with_ghost.roles.insert(rv("ghost"));
    assert_missing(s.update_role_group(&with_ghost).await, "role");
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(stored.clone()),
        "a failed update leaves the group as it was"
    );

    // A role inside a group cannot go; one outside can.
    assert_in_use(s.delete_role(&a.id, &sales.value).await, "role groups");
    s.delete_role(&a.id, &finance.value).await.unwrap();
    assert_not_found(s.delete_role(&a.id, &finance.value).await);

    // A group allowed by a link cannot go.
    let o = org(None);
    s.create_org(&o).await.unwrap();
    s.create_link(&link(&o.id, &a.id, &[&g.id])).await.unwrap();
    assert_in_use(
        s.delete_role_group(&a.id, &g.id).await,
        "organization links",
    );
    s.delete_role_group(&a.id, &empty.id).await.unwrap();
    assert_not_found(s.delete_role_group(&a.id, &empty.id).await);

    // The app is in use by its link, groups and roles; cascade removes all of them.
    assert_in_use(s.delete_app(&a.id, false).await, "organization links");
    s.delete_link(&o.id, &a.id).await.unwrap();
    assert_in_use(s.delete_app(&a.id, false).await, "role groups");
    s.delete_role_group(&a.id, &g.id).await.unwrap();
    assert_in_use(s.delete_app(&a.id, false).await, "roles");
    s.create_role_group(&group(&a.id, &["sales"]))
        .await
        .unwrap();
    s.create_link(&link(&o.id, &a.id, &[])).await.unwrap();
    s.delete_app(&a.id, true).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert!(s.list_roles(&a.id).await.unwrap().is_empty());
    assert!(s.list_role_groups(&a.id).await.unwrap().is_empty());
    assert!(s.list_links_for_org(&o.id).await.unwrap().is_empty());
    assert!(s.get_org(&o.id).await.unwrap().is_some(), "orgs stay");
}

pub async fn orgs_crud(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(s.get_org_by_slug(&o.slug).await.unwrap(), Some(o.clone()));
    assert_eq!(s.get_org(&OrgId::generate()).await.unwrap(), None);
    assert_eq!(
        s.get_org_by_slug(&Slug::parse("no-such-org").unwrap())
            .await
            .unwrap(),
        None
    );

    let mut same_slug = org(None);
    same_slug.slug = o.slug.clone();
    assert_duplicate(s.create_org(&same_slug).await, "org slug");
    let mut same_id = org(None);
    same_id.id = o.id.clone();
    assert_duplicate(s.create_org(&same_id).await, "org id");
    assert_missing(
        s.create_org(&org(Some(&OrgId::generate()))).await,
        "parent organization",
    );

    let other = org(None);
    s.create_org(&other).await.unwrap();
    let mut changed = o.clone();
    changed.name = "Acme Europe".into();
    changed.status = OrgStatus::Suspended;
    changed.branding = Branding::default();
    changed.parent_id = Some(other.id.clone());
    changed.updated_at = now() + Duration::milliseconds(1234);
    let stored = s.update_org(&changed).await.unwrap();
    assert_eq!(
        stored,
        Org {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(stored.clone()));
    assert_conflict(s.update_org(&changed).await);
    let mut taken = stored.clone();
    taken.slug = other.slug.clone();
    assert_duplicate(s.update_org(&taken).await, "org slug");
    let mut orphan = stored.clone();
    orphan.parent_id = Some(OrgId::generate());
    assert_missing(s.update_org(&orphan).await, "parent organization");
    assert_not_found(s.update_org(&org(None)).await);
    assert_eq!(s.get_org(&o.id).await.unwrap(), Some(stored));

    s.delete_org(&o.id, false).await.unwrap();
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);
    assert_not_found(s.delete_org(&o.id, false).await);
    assert_not_found(s.delete_org(&o.id, true).await);
}

pub async fn org_tree(s: Arc<dyn Storage>) {
    let root = org(None);
    s.create_org(&root).await.unwrap();
    let child = org(Some(&root.id));
    s.create_org(&child).await.unwrap();
    let sibling = org(Some(&root.id));
    s.create_org(&sibling).await.unwrap();
    let grandchild = org(Some(&child.id));
    s.create_org(&grandchild).await.unwrap();
    let unrelated = org(None);
    s.create_org(&unrelated).await.unwrap();

    assert_eq!(
        s.org_ancestors(&grandchild.id).await.unwrap(),
        vec![child.id.clone(), root.id.clone()]
    );
    assert!(s.org_ancestors(&root.id).await.unwrap().is_empty());
    assert!(
        s.org_ancestors(&OrgId::generate())
            .await
            .unwrap()
            .is_empty()
    );
    let desc: BTreeSet<_> = s
        .org_descendants(&root.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        desc,
        [child.id.clone(), sibling.id.clone(), grandchild.id.clone()].into()
    );
    assert_eq!(
        s.org_descendants(&child.id).await.unwrap(),
        vec![grandchild.id.clone()]
    );
    assert!(s.org_descendants(&grandchild.id).await.unwrap().is_empty());

    let children = s
        .list_orgs(Some(&root.id), &PageRequest::first(50))
        .await
        .unwrap();
    let ids: BTreeSet<_> = children.items.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, [child.id.clone(), sibling.id.clone()].into());
    assert_eq!(
        s.list_orgs(None, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .len(),
        5
    );

    // Refused while children or members exist.
    assert_in_use(s.delete_org(&root.id, false).await, "child organizations");
    assert_in_use(s.delete_org(&child.id, false).await, "child organizations");
    let u = user("bob@acme.example");
    s.create_user(&u).await.unwrap();
    s.create_membership(&membership(&grandchild.id, &u.id))
        .await
        .unwrap();
    assert_in_use(s.delete_org(&grandchild.id, false).await, "members");

    // Everything the subtree owns, so we can see it go.
    let a = app();
    s.create_app(&a).await.unwrap();
    let d = unique_domain();
    s.create_domain(&domain(&grandchild.id, &d, true))
        .await
        .unwrap();
    let c = connection(&child.id);
    s.create_connection(&c).await.unwrap();
    s.create_identity(&ExternalIdentity {
        connection_id: c.id.clone(),
        issuer: "https://idp.example.com".into(),
        subject: "bob".into(),
        user_id: u.id.clone(),
        created_at: now(),
    })
    .await
    .unwrap();
    s.create_link(&link(&child.id, &a.id, &[])).await.unwrap();
    let inv = invitation(&grandchild.id);
    s.create_invitation(&inv).await.unwrap();
    let f = family(&a.id, &grandchild.id, &u.id, "sess-tree");
    s.create_family(&f, &token(&f.id).hash).await.unwrap();
    s.create_membership(&membership(&unrelated.id, &u.id))
        .await
        .unwrap();

    s.delete_org(&child.id, true).await.unwrap();
    for gone in [&child.id, &grandchild.id] {
        assert_eq!(s.get_org(gone).await.unwrap(), None);
    }
    assert!(s.get_org(&root.id).await.unwrap().is_some());
    assert!(s.get_org(&sibling.id).await.unwrap().is_some());
    assert_eq!(
        s.find_verified_domain_org(&EmailDomain::parse(&d).unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_connection_for_callback(&c.id).await.unwrap(), None);
    assert_eq!(
        identity_of(&s, &c.id, "https://idp.example.com", "bob").await,
        None
    );
    assert_eq!(
        s.find_invitation_by_token(&inv.token_hash).await.unwrap(),
        None
    );
    assert_eq!(s.get_family(&f.id).await.unwrap(), None);
    let left: Vec<_> = s
        .list_memberships_for_user(&u.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.org_id)
        .collect();
    assert_eq!(left, vec![unrelated.id.clone()]);
    assert!(s.get_user(&u.id).await.unwrap().is_some(), "users stay");
    assert!(s.get_app(&a.id).await.unwrap().is_some(), "apps stay");
    assert_eq!(
        s.org_descendants(&root.id).await.unwrap(),
        vec![sibling.id.clone()]
    );

    s.delete_org(&root.id, true).await.unwrap();
    assert_eq!(s.get_org(&sibling.id).await.unwrap(), None);
    assert!(s.get_org(&unrelated.id).await.unwrap().is_some());
}

pub async fn links_crud(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    s.create_role(&role(&a.id, "sales")).await.unwrap();
    let g1 = group(&a.id, &["sales"]);
    let g2 = group(&a.id, &[]);
    s.create_role_group(&g1).await.unwrap();
    s.create_role_group(&g2).await.unwrap();
    let o = org(None);
    s.create_org(&o).await.unwrap();

    let mut l = link(&o.id, &a.id, &[&g1.id, &g2.id]);
    l.default_roles = [rv("sales")].into();
    l.auth_policy = LinkAuthPolicy::Connections {
        connection_ids: vec![ConnectionId::generate()],
    };
    s.create_link(&l).await.unwrap();
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(l.clone()));
    assert_eq!(s.list_links_for_org(&o.id).await.unwrap(), vec![l.clone()]);
    assert_duplicate(s.create_link(&l).await, "organization link");
    assert_missing(
        s.create_link(&link(&OrgId::generate(), &a.id, &[])).await,
        "organization",
    );
    assert_missing(
        s.create_link(&link(&o.id, &AppId::generate(), &[])).await,
        "app",
    );
    let a2 = app();
    s.create_app(&a2).await.unwrap();
    assert_missing(
        s.create_link(&link(&o.id, &a2.id, &[&RoleGroupId::generate()]))
            .await,
        "role group",
    );
    assert_eq!(
        s.get_link(&o.id, &a2.id).await.unwrap(),
        None,
        "nothing left of a failed create"
    );
    // A group of another app cannot be allowed on this link.
    assert_missing(
        s.create_link(&link(&o.id, &a2.id, &[&g1.id])).await,
        "role group",
    );

    let mut changed = l.clone();
    changed.allowed_role_groups = [g2.id.clone()].into();
    changed.jit = false;
    changed.default_roles = BTreeSet::new();
    changed.auth_policy = LinkAuthPolicy::Inherit;
    let stored = s.update_link(&changed).await.unwrap();
    assert_eq!(
        stored,
        OrgAppLink {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(
        s.get_link(&o.id, &a.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_conflict(s.update_link(&changed).await);
    assert_not_found(s.update_link(&link(&o.id, &a2.id, &[])).await);
    let mut ghost = stored.clone();
    ghost.allowed_role_groups.insert(RoleGroupId::generate());
    assert_missing(s.update_link(&ghost).await, "role group");
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(stored));
    // g1 is no longer allowed by the link, so it may go now.
    s.delete_role_group(&a.id, &g1.id).await.unwrap();

    s.delete_link(&o.id, &a.id).await.unwrap();
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), None);
    assert_not_found(s.delete_link(&o.id, &a.id).await);
    s.delete_role_group(&a.id, &g2.id).await.unwrap();
}

pub async fn domains_and_discovery(s: Arc<dyn Storage>) {
    let (a, b) = (org(None), org(None));
    s.create_org(&a).await.unwrap();
    s.create_org(&b).await.unwrap();
    let name = unique_domain();
    let dn = EmailDomain::parse(&name).unwrap();

    // Unverified claims of one domain by several orgs are fine; none routes logins.
    let da = domain(&a.id, &name, false);
    let db = domain(&b.id, &name, false);
    s.create_domain(&da).await.unwrap();
    s.create_domain(&db).await.unwrap();
    assert_eq!(s.find_verified_domain_org(&dn).await.unwrap(), None);
    assert_duplicate(s.create_domain(&da).await, "domain");
    assert_missing(
        s.create_domain(&domain(&OrgId::generate(), &unique_domain(), false))
            .await,
        "organization",
    );
    assert_eq!(s.get_domain(&a.id, &dn).await.unwrap(), Some(da.clone()));

    // A verifies: discovery finds A. B can then never verify it too.
    let mut va = da.clone();
    va.verified = true;
    va.verified_at = Some(now());
    s.update_domain(&va).await.unwrap();
    assert_eq!(s.get_domain(&a.id, &dn).await.unwrap(), Some(va.clone()));
    assert_eq!(
        s.find_verified_domain_org(&dn).await.unwrap(),
        Some(a.id.clone())
    );
    let mut vb = db.clone();
    vb.verified = true;
    vb.verified_at = Some(now());
    assert_duplicate(s.update_domain(&vb).await, "verified domain");
    assert_eq!(s.get_domain(&b.id, &dn).await.unwrap(), Some(db.clone()));
    let c = org(None);
    s.create_org(&c).await.unwrap();
    assert_duplicate(
        s.create_domain(&domain(&c.id, &name, true)).await,
        "verified domain",
    );
    assert_eq!(s.get_domain(&c.id, &dn).await.unwrap(), None);
    assert_not_found(
        s.update_domain(&domain(&c.id, &unique_domain(), true))
            .await,
    );

    // A lets go: B may verify.
    s.delete_domain(&a.id, &dn).await.unwrap();
    assert_not_found(s.delete_domain(&a.id, &dn).await);
    assert_eq!(s.find_verified_domain_org(&dn).await.unwrap(), None);
    s.update_domain(&vb).await.unwrap();
    assert_eq!(
        s.find_verified_domain_org(&dn).await.unwrap(),
        Some(b.id.clone())
    );

    // Normalized forms are what is stored: the Unicode and punycode spellings are one domain.
    let idn = format!("bücher-{}.example", fresh("x"));
    s.create_domain(&domain(&c.id, &idn, true)).await.unwrap();
    let puny = EmailDomain::parse(&idn).unwrap();
    assert!(puny.as_str().starts_with("xn--"));
    assert_eq!(
        s.find_verified_domain_org(&EmailDomain::parse(puny.as_str()).unwrap())
            .await
            .unwrap(),
        Some(c.id.clone())
    );

    let listed = s.list_domains(&b.id).await.unwrap();
    assert_eq!(listed, vec![vb.clone()]);
}

pub async fn connections_crud(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        s.get_connection_for_callback(&c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_duplicate(s.create_connection(&c).await, "connection id");
    assert_missing(
        s.create_connection(&connection(&OrgId::generate())).await,
        "organization",
    );
    let mut saml = connection(&o.id);
    saml.config = ConnectionConfig::Saml(SamlConfig {
        idp_metadata_url: None,
        idp_metadata_xml: Some("<EntityDescriptor/>".into()),
        idp_entity_id: Some("https://idp.example.com/saml".into()),
        name_id_format: None,
        attributes: ClaimMapping::default(),
        role_mapping: vec![],
        sign_authn_requests: true,
        want_assertions_signed: true,
        allow_idp_initiated: false,
        idp_initiated_app_id: None,
        idp_initiated_redirect_uri: None,
    });
    saml.state = ConnectionState::Draft;
    s.create_connection(&saml).await.unwrap();
    let mut want = vec![c.clone(), saml.clone()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(s.list_connections(&o.id).await.unwrap(), want);

    let mut changed = c.clone();
    changed.name = "Entra".into();
    changed.state = ConnectionState::Disabled;
    changed.config = ConnectionConfig::Password(PasswordConfig { min_length: 14 });
    let stored = s.update_connection(&changed).await.unwrap();
    assert_eq!(
        stored,
        Connection {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(stored.kind(), ConnectionKind::Password);
    assert_conflict(s.update_connection(&changed).await);
    assert_not_found(s.update_connection(&connection(&o.id)).await);

    s.delete_connection(&o.id, &c.id).await.unwrap();
    assert_eq!(s.get_connection(&o.id, &c.id).await.unwrap(), None);
    assert_not_found(s.delete_connection(&o.id, &c.id).await);
}

pub async fn users_and_identities(s: Arc<dyn Storage>) {
    let email = format!("{}@acme.example", fresh("alice"));
    let u = user(&email);
    s.create_user(&u).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_user(&UserId::generate()).await.unwrap(), None);
    assert_duplicate(s.create_user(&u).await, "user id");
    // Email is not a key: a second user may have the same address (another connection).
    let twin = user(&email);
    s.create_user(&twin).await.unwrap();
    let mut bare = user(&format!("{}@acme.example", fresh("bare")));
    bare.name = None;
    bare.password_hash = None;
    bare.email_verified = false;
    s.create_user(&bare).await.unwrap();
    assert_eq!(s.get_user(&bare.id).await.unwrap(), Some(bare.clone()));

    let by_email = s
        .list_users(
            &UserFilter {
                email: Some(u.email.clone()),
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let ids: BTreeSet<_> = by_email.items.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids, [u.id.clone(), twin.id.clone()].into());

    let mut changed = u.clone();
    changed.name = None;
    changed.email = Email::parse("alice@new.example").unwrap();
    changed.password_hash = None;
    let stored = s.update_user(&changed).await.unwrap();
    assert_eq!(
        stored,
        User {
            version: 2,
            ..changed.clone()
        }
    );
    assert_conflict(s.update_user(&changed).await);
    assert_not_found(s.update_user(&user("x@y.example")).await);

    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    let id = ExternalIdentity {
        connection_id: c.id.clone(),
        issuer: "https://idp.example.com".into(),
        subject: "00u1".into(),
        user_id: u.id.clone(),
        created_at: now(),
    };
    s.create_identity(&id).await.unwrap();
    assert_eq!(
        identity_of(&s, &c.id, &id.issuer, &id.subject).await,
        Some(id.clone())
    );
    // The key is (connection, issuer, subject): any other part differing is another identity.
    assert_eq!(
        identity_of(&s, &c.id, "https://other.example.com", &id.subject).await,
        None
    );
    assert_eq!(identity_of(&s, &c.id, &id.issuer, "00U1").await, None);
    // With its user and membership, as the separate reads give them.
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, &id.subject, &o.id)
            .await
            .unwrap(),
        Some((id.clone(), s.get_user(&u.id).await.unwrap(), None))
    );
    let other_org = org(None);
    s.create_org(&other_org).await.unwrap();
    s.create_membership(&membership(&other_org.id, &u.id))
        .await
        .unwrap();
    let m = s.get_membership(&other_org.id, &u.id).await.unwrap();
    assert!(m.is_some());
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, &id.subject, &other_org.id)
            .await
            .unwrap(),
        Some((id.clone(), s.get_user(&u.id).await.unwrap(), m))
    );
    assert_eq!(
        s.find_identity_member(&c.id, &id.issuer, "00U1", &o.id)
            .await
            .unwrap(),
        None
    );
    let mut dup = id.clone();
    dup.user_id = twin.id.clone();
    assert_duplicate(s.create_identity(&dup).await, "external identity");
    let mut no_conn = id.clone();
    no_conn.connection_id = ConnectionId::generate();
    assert_missing(s.create_identity(&no_conn).await, "connection");
    let mut no_user = id.clone();
    no_user.subject = "other".into();
    no_user.user_id = UserId::generate();
    assert_missing(s.create_identity(&no_user).await, "user");
    let mut second = id.clone();
    second.subject = "00u2".into();
    s.create_identity(&second).await.unwrap();
    assert_eq!(
        s.list_identities(&u.id).await.unwrap(),
        vec![id.clone(), second.clone()]
    );

    s.create_membership(&membership(&o.id, &u.id))
        .await
        .unwrap();
    s.delete_user(&u.id).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), None);
    assert!(s.list_identities(&u.id).await.unwrap().is_empty());
    assert_eq!(identity_of(&s, &c.id, &id.issuer, &id.subject).await, None);
    assert_eq!(s.get_membership(&o.id, &u.id).await.unwrap(), None);
    assert_not_found(s.delete_user(&u.id).await);
}

pub async fn memberships(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let (o1, o2) = (org(None), org(None));
    s.create_org(&o1).await.unwrap();
    s.create_org(&o2).await.unwrap();
    let u = user(&format!("{}@acme.example", fresh("m")));
    s.create_user(&u).await.unwrap();

    let mut m1 = membership(&o1.id, &u.id);
    m1.roles = [(a.id.clone(), [rv("sales"), rv("finance:read")].into())].into();
    m1.org_roles = [OrgRole::OrgAdmin, OrgRole::MemberAdmin].into();
    s.create_membership(&m1).await.unwrap();
    let mut m2 = membership(&o2.id, &u.id);
    m2.status = MemberStatus::Invited;
    s.create_membership(&m2).await.unwrap();
    assert_duplicate(s.create_membership(&m1).await, "membership");
    assert_missing(
        s.create_membership(&membership(&o1.id, &UserId::generate()))
            .await,
        "user",
    );
    assert_missing(
        s.create_membership(&membership(&OrgId::generate(), &u.id))
            .await,
        "organization",
    );

    assert_eq!(
        s.get_membership(&o1.id, &u.id).await.unwrap(),
        Some(m1.clone())
    );
    let mut want = vec![m1.clone(), m2.clone()];
    want.sort_by(|x, y| x.org_id.cmp(&y.org_id));
    assert_eq!(s.list_memberships_for_user(&u.id).await.unwrap(), want);
    assert!(
        s.list_memberships_for_user(&UserId::generate())
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        s.find_member_by_email(&o1.id, &u.email).await.unwrap(),
        Some((u.clone(), m1.clone()))
    );
    let stranger_org = org(None);
    s.create_org(&stranger_org).await.unwrap();
    assert_eq!(
        s.find_member_by_email(&stranger_org.id, &u.email)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_member_by_email(&o1.id, &Email::parse("nobody@acme.example").unwrap())
            .await
            .unwrap(),
        None
    );

    // The joined read gives exactly what the three separate reads give, and nothing for a
    // non-member (the org exists, the user exists, but not together).
    assert_eq!(
        s.get_member_context(&o1.id, &u.id).await.unwrap(),
        Some((u.clone(), m1.clone(), o1.clone()))
    );
    assert_eq!(
        s.get_member_context(&o2.id, &u.id).await.unwrap(),
        Some((u.clone(), m2.clone(), o2.clone()))
    );
    assert_eq!(
        s.get_member_context(&stranger_org.id, &u.id).await.unwrap(),
        None
    );
    assert_eq!(
        s.get_member_context(&o1.id, &UserId::generate())
            .await
            .unwrap(),
        None
    );

    let mut changed = m1.clone();
    changed.status = MemberStatus::Suspended;
    changed.roles = BTreeMap::new();
    changed.org_roles = BTreeSet::new();
    let stored = s.update_membership(&changed).await.unwrap();
    assert_eq!(
        stored,
        Membership {
            version: 2,
            ..changed.clone()
        }
    );
    assert_conflict(s.update_membership(&changed).await);
    assert_not_found(
        s.update_membership(&membership(&stranger_org.id, &u.id))
            .await,
    );

    s.delete_membership(&o1.id, &u.id).await.unwrap();
    assert_eq!(s.get_membership(&o1.id, &u.id).await.unwrap(), None);
    assert_not_found(s.delete_membership(&o1.id, &u.id).await);
    assert_eq!(
        s.list_memberships_for_user(&u.id).await.unwrap(),
        vec![m2.clone()]
    );
}

pub async fn invitations(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let a = app();
    s.create_app(&a).await.unwrap();
    let mut i = invitation(&o.id);
    i.roles = [(a.id.clone(), [rv("sales")].into())].into();
    i.org_roles = [OrgRole::MemberAdmin].into();
    s.create_invitation(&i).await.unwrap();
    assert_eq!(
        s.get_invitation(&o.id, &i.id).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        s.find_invitation_by_token(&i.token_hash).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        s.find_invitation_by_token(&TokenHash::of("wrong"))
            .await
            .unwrap(),
        None
    );
    let mut same_id = invitation(&o.id);
    same_id.id = i.id.clone();
    assert_duplicate(s.create_invitation(&same_id).await, "invitation id");
    let mut same_token = invitation(&o.id);
    same_token.token_hash = i.token_hash.clone();
    assert_duplicate(s.create_invitation(&same_token).await, "invitation token");
    assert_missing(
        s.create_invitation(&invitation(&OrgId::generate())).await,
        "organization",
    );

    // Accepting happens once: the second writer with the same version loses.
    let mut accepted = i.clone();
    accepted.status = InvitationStatus::Accepted;
    let stored = s.update_invitation(&accepted).await.unwrap();
    assert_eq!(
        stored,
        Invitation {
            version: 2,
            ..accepted.clone()
        }
    );
    let mut revoked = i.clone();
    revoked.status = InvitationStatus::Revoked;
    assert_conflict(s.update_invitation(&revoked).await);
    assert_not_found(s.update_invitation(&invitation(&o.id)).await);

    s.delete_invitation(&o.id, &i.id).await.unwrap();
    assert_eq!(s.get_invitation(&o.id, &i.id).await.unwrap(), None);
    assert_not_found(s.delete_invitation(&o.id, &i.id).await);
}

/// Org A's view never contains org B's rows, and B's ids looked up through A are not found.
pub async fn two_org_isolation(s: Arc<dyn Storage>) {
    let app_ = app();
    s.create_app(&app_).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let o = org(None);
        s.create_org(&o).await.unwrap();
        let d = domain(&o.id, &unique_domain(), true);
        s.create_domain(&d).await.unwrap();
        let c = connection(&o.id);
        s.create_connection(&c).await.unwrap();
        let u = user(&format!("{}@shared.example", fresh("iso")));
        s.create_user(&u).await.unwrap();
        s.create_membership(&membership(&o.id, &u.id))
            .await
            .unwrap();
        let i = invitation(&o.id);
        s.create_invitation(&i).await.unwrap();
        s.create_link(&link(&o.id, &app_.id, &[])).await.unwrap();
        ids.push((o, d, c, u, i));
    }
    let (a, b) = (&ids[0], &ids[1]);
    let (ao, bo) = (&a.0.id, &b.0.id);

    assert_eq!(s.list_domains(ao).await.unwrap(), vec![a.1.clone()]);
    assert_eq!(s.get_domain(ao, &b.1.domain).await.unwrap(), None);
    assert_eq!(s.list_connections(ao).await.unwrap(), vec![a.2.clone()]);
    assert_eq!(s.get_connection(ao, &b.2.id).await.unwrap(), None);
    assert_not_found(s.delete_connection(ao, &b.2.id).await);
    let mut moved = b.2.clone();
    moved.org_id = ao.clone();
    assert_not_found(s.update_connection(&moved).await);
    assert_eq!(
        s.get_connection(bo, &b.2.id).await.unwrap(),
        Some(b.2.clone())
    );

    let members = s.list_members(ao, &PageRequest::first(50)).await.unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].user_id, a.3.id);
    assert_eq!(s.get_membership(ao, &b.3.id).await.unwrap(), None);
    assert_eq!(s.find_member_by_email(ao, &b.3.email).await.unwrap(), None);
    assert_not_found(s.delete_membership(ao, &b.3.id).await);

    let invs = s
        .list_invitations(ao, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(invs.items, vec![a.4.clone()]);
    assert_eq!(s.get_invitation(ao, &b.4.id).await.unwrap(), None);
    assert_not_found(s.delete_invitation(ao, &b.4.id).await);
    let mut stolen = b.4.clone();
    stolen.org_id = ao.clone();
    assert_not_found(s.update_invitation(&stolen).await);

    let links = s.list_links_for_org(ao).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(&links[0].org_id, ao);
    assert_not_found(s.delete_domain(ao, &b.1.domain).await);
    assert_eq!(
        s.find_verified_domain_org(&b.1.domain).await.unwrap(),
        Some(bo.clone())
    );
    // B's rows are all still there.
    assert_eq!(s.list_domains(bo).await.unwrap(), vec![b.1.clone()]);
    assert!(s.get_membership(bo, &b.3.id).await.unwrap().is_some());
    assert!(s.get_invitation(bo, &b.4.id).await.unwrap().is_some());
}

/// Every versioned update refuses a stale version.
pub async fn stale_versions_conflict(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    let g = group(&a.id, &[]);
    s.create_role_group(&g).await.unwrap();
    let l = link(&o.id, &a.id, &[]);
    s.create_link(&l).await.unwrap();
    let m = s.get_membership(&o.id, &u.id).await.unwrap().unwrap();

    let o2 = s.update_org(&o).await.unwrap();
    assert_eq!(o2.version, 2);
    assert_conflict(s.update_org(&o).await);
    assert_eq!(s.update_org(&o2).await.unwrap().version, 3);

    s.update_app(&a).await.unwrap();
    assert_conflict(s.update_app(&a).await);
    s.update_user(&u).await.unwrap();
    assert_conflict(s.update_user(&u).await);
    s.update_membership(&m).await.unwrap();
    assert_conflict(s.update_membership(&m).await);
    s.update_connection(&c).await.unwrap();
    assert_conflict(s.update_connection(&c).await);
    s.update_role_group(&g).await.unwrap();
    assert_conflict(s.update_role_group(&g).await);
    s.update_link(&l).await.unwrap();
    assert_conflict(s.update_link(&l).await);
}

const WRITES_PER_WRITER: usize = 25;

async fn bump_org_counter(s: Arc<dyn Storage>, id: OrgId) -> usize {
    let mut conflicts = 0;
    for _ in 0..WRITES_PER_WRITER {
        loop {
            let mut o = s.get_org(&id).await.unwrap().unwrap();
            let n: usize = o.name.strip_prefix("counter ").unwrap().parse().unwrap();
            o.name = format!("counter {}", n + 1);
            tokio::task::yield_now().await;
            match s.update_org(&o).await {
                Ok(stored) => {
                    assert_eq!(stored.version, o.version + 1);
                    break;
                }
                Err(StorageError::Conflict) => conflicts += 1,
                Err(e) => panic!("update_org: {e}"),
            }
        }
    }
    conflicts
}

async fn add_member_roles(s: Arc<dyn Storage>, org: OrgId, user: UserId, app: AppId, w: &str) {
    for i in 0..WRITES_PER_WRITER {
        loop {
            let mut m = s.get_membership(&org, &user).await.unwrap().unwrap();
            m.roles
                .entry(app.clone())
                .or_default()
                .insert(rv(&format!("{w}-{i}")));
            tokio::task::yield_now().await;
            match s.update_membership(&m).await {
                Ok(_) => break,
                Err(StorageError::Conflict) => {}
                Err(e) => panic!("update_membership: {e}"),
            }
        }
    }
}

/// Two writers doing read-modify-write with retry on `Conflict`: no update is lost.
pub async fn concurrent_writers_lose_nothing(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let mut counter = o.clone();
    counter.name = "counter 0".into();
    let counter = s.update_org(&counter).await.unwrap();
    let w1 = tokio::spawn(bump_org_counter(s.clone(), counter.id.clone()));
    let w2 = tokio::spawn(bump_org_counter(s.clone(), counter.id.clone()));
    let m1 = tokio::spawn(add_member_roles(
        s.clone(),
        o.id.clone(),
        u.id.clone(),
        a.id.clone(),
        "w1",
    ));
    let m2 = tokio::spawn(add_member_roles(
        s.clone(),
        o.id.clone(),
        u.id.clone(),
        a.id.clone(),
        "w2",
    ));
    let conflicts = w1.await.unwrap() + w2.await.unwrap();
    m1.await.unwrap();
    m2.await.unwrap();

    let total = 2 * WRITES_PER_WRITER;
    let final_org = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!(final_org.name, format!("counter {total}"));
    assert_eq!(final_org.version, counter.version + total as i64);
    let final_m = s.get_membership(&o.id, &u.id).await.unwrap().unwrap();
    assert_eq!(final_m.version, 1 + total as i64);
    assert_eq!(final_m.roles.get(&a.id).map(|r| r.len()), Some(total));
    eprintln!("concurrent writers: {conflicts} conflicts retried on the org counter");
}

pub async fn refresh_rotation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let mut f = family(&a.id, &o.id, &u.id, "sess-1");
    f.idp = Some(ConnectionId::generate());
    let t1 = first_token(&f);
    s.create_family(&f, &t1.hash).await.unwrap();
    assert_eq!(s.get_family(&f.id).await.unwrap(), Some(f.clone()));
    assert_eq!(s.get_family("nope").await.unwrap(), None);
    assert_eq!(
        s.find_refresh(&t1.hash).await.unwrap(),
        Some((t1.clone(), f.clone()))
    );
    // The same token with its member, as the separate reads give them.
    let member = s.get_member_context(&o.id, &u.id).await.unwrap();
    assert!(member.is_some());
    assert_eq!(
        s.find_refresh_in_context(&t1.hash).await.unwrap(),
        Some((t1.clone(), f.clone(), member))
    );
    assert_eq!(
        s.find_refresh_in_context(&TokenHash::of("unknown"))
            .await
            .unwrap(),
        None
    );
    assert_duplicate(
        s.create_family(&f, &token(&f.id).hash).await,
        "refresh token family",
    );
    let other = family(&a.id, &o.id, &u.id, "sess-x");
    assert_duplicate(s.create_family(&other, &t1.hash).await, "refresh token");
    assert_eq!(
        s.get_family(&other.id).await.unwrap(),
        None,
        "all or nothing"
    );
    assert_missing(
        s.create_family(
            &family(&AppId::generate(), &o.id, &u.id, "s"),
            &token("x").hash,
        )
        .await,
        "app",
    );

    // First use rotates.
    let at = now() + Duration::seconds(10);
    // The successor is stored in the presented token's family, created at the rotation time.
    let t2 = RefreshToken {
        created_at: at,
        ..token(&f.id)
    };
    assert_eq!(
        s.rotate_refresh(&t1.hash, &t2.hash, at).await.unwrap(),
        RotateOutcome::Rotated
    );
    let (used, _) = s.find_refresh(&t1.hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(at));
    assert_eq!(
        s.find_refresh(&t2.hash).await.unwrap(),
        Some((t2.clone(), f.clone()))
    );
    // Second use of the same token: reuse, reported with when it was used; nothing stored.
    let t3 = token(&f.id);
    assert_eq!(
        s.rotate_refresh(&t1.hash, &t3.hash, at + Duration::seconds(1))
            .await
            .unwrap(),
        RotateOutcome::AlreadyUsed {
            family: Box::new(f.clone()),
            used_at: at
        }
    );
    assert_eq!(s.find_refresh(&t3.hash).await.unwrap(), None);
    // Unknown tokens are invalid.
    assert_eq!(
        s.rotate_refresh(&TokenHash::of("unknown"), &token(&f.id).hash, at)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    // The successor rotates; then the family is revoked and nothing rotates any more.
    let t4 = token(&f.id);
    assert!(matches!(
        s.rotate_refresh(&t2.hash, &t4.hash, at + Duration::seconds(2))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    ));
    let revoked_at = at + Duration::seconds(3);
    s.revoke_family(&f.id, revoked_at).await.unwrap();
    s.revoke_family(&f.id, revoked_at + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        s.get_family(&f.id).await.unwrap().unwrap().revoked_at,
        Some(revoked_at),
        "revoking twice keeps the first time"
    );
    assert_not_found(s.revoke_family("no-such-family", revoked_at).await);
    assert_eq!(
        s.rotate_refresh(
            &t4.hash,
            &token(&f.id).hash,
            revoked_at + Duration::seconds(1)
        )
        .await
        .unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        s.rotate_refresh(
            &t1.hash,
            &token(&f.id).hash,
            revoked_at + Duration::seconds(1)
        )
        .await
        .unwrap(),
        RotateOutcome::Invalid,
        "reuse in a revoked family is just invalid"
    );
    let (t4_after, _) = s.find_refresh(&t4.hash).await.unwrap().unwrap();
    assert_eq!(t4_after.used_at, None, "an invalid rotation marks nothing");

    // Once the membership is gone the token is still found, without a member.
    s.delete_membership(&o.id, &u.id).await.unwrap();
    let (t4_found, f_found, member) = s.find_refresh_in_context(&t4.hash).await.unwrap().unwrap();
    assert_eq!((t4_found.hash, f_found.id), (t4.hash.clone(), f.id.clone()));
    assert_eq!(member, None);

    // An expired family does not rotate either.
    let mut old = family(&a.id, &o.id, &u.id, "sess-2");
    old.expires_at = now() - Duration::seconds(1);
    let ot = first_token(&old);
    s.create_family(&old, &ot.hash).await.unwrap();
    assert_eq!(
        s.rotate_refresh(&ot.hash, &token(&old.id).hash, now())
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
}

/// 20 concurrent rotations of one token: exactly one wins, the rest see reuse.
pub async fn refresh_concurrent_rotation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let f = family(&a.id, &o.id, &u.id, "sess-race");
    let t = first_token(&f);
    s.create_family(&f, &t.hash).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, barrier, hash, next) = (s.clone(), barrier.clone(), t.hash.clone(), token(&f.id));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let out = s.rotate_refresh(&hash, &next.hash, now()).await.unwrap();
            (out, next)
        }));
    }
    let mut rotated = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (RotateOutcome::Rotated, next) => rotated.push(next),
            (RotateOutcome::AlreadyUsed { .. }, next) => {
                reused += 1;
                assert_eq!(s.find_refresh(&next.hash).await.unwrap(), None);
            }
            (RotateOutcome::Invalid, _) => panic!("a live token was reported invalid"),
        }
    }
    assert_eq!(rotated.len(), 1, "exactly one rotation wins");
    assert_eq!(reused, 19);
    assert!(s.find_refresh(&rotated[0].hash).await.unwrap().is_some());
}

pub async fn refresh_revocation(s: Arc<dyn Storage>) {
    let (a, o, u) = seed_member(&s).await;
    let b = app();
    s.create_app(&b).await.unwrap();
    let u2 = user("carol@acme.example");
    s.create_user(&u2).await.unwrap();
    s.create_membership(&membership(&o.id, &u2.id))
        .await
        .unwrap();
    let o2 = org(None);
    s.create_org(&o2).await.unwrap();
    s.create_membership(&membership(&o2.id, &u.id))
        .await
        .unwrap();

    let mk = |app: &AppId, org: &OrgId, user: &UserId, sess: &str| family(app, org, user, sess);
    let fams = [
        mk(&a.id, &o.id, &u.id, "s1"),  // 0: member u, app a
        mk(&b.id, &o.id, &u.id, "s1"),  // 1: member u, app b
        mk(&a.id, &o.id, &u2.id, "s2"), // 2: other member
        mk(&a.id, &o2.id, &u.id, "s3"), // 3: same user, other org
        mk(&b.id, &o2.id, &u.id, "s3"), // 4
    ];
    for f in &fams {
        s.create_family(f, &token(&f.id).hash).await.unwrap();
    }
    let t = now();
    let only_a: BTreeSet<AppId> = [a.id.clone()].into();
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, Some(&BTreeSet::new()), t)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, Some(&only_a), t)
            .await
            .unwrap(),
        1
    );
    assert!(
        s.get_family(&fams[0].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.get_family(&fams[1].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, None, t)
            .await
            .unwrap(),
        1,
        "already revoked families are not counted again"
    );
    assert!(
        s.get_family(&fams[2].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(
        s.get_family(&fams[3].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    assert_eq!(s.revoke_session_families("s3", t).await.unwrap(), 2);
    assert_eq!(s.revoke_session_families("s3", t).await.unwrap(), 0);
    assert_eq!(s.revoke_session_families("nope", t).await.unwrap(), 0);

    assert_eq!(
        s.revoke_org_families(&o.id, Some(&[b.id.clone()].into()), t)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.revoke_org_families(&o.id, None, t).await.unwrap(), 1);
    for f in &fams {
        let got = s.get_family(&f.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(t), "{}", f.session_id);
    }
}

pub async fn saml_state(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), None);
    let mut r = SamlIdpRecord {
        connection_id: c.id.clone(),
        state: "{\"entity_id\":\"https://idp.example.com\"}".into(),
        updated_at: now(),
    };
    s.put_saml_idp(&r).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), Some(r.clone()));
    // Replacing keeps one row.
    r.state = "{\"entity_id\":\"https://idp2.example.com\"}".into();
    r.updated_at = now() + Duration::seconds(5);
    s.put_saml_idp(&r).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), Some(r.clone()));
    assert!(s.list_saml_idps().await.unwrap().contains(&r));
    // Only for existing connections; gone with the connection.
    let ghost = SamlIdpRecord {
        connection_id: ConnectionId::generate(),
        ..r.clone()
    };
    assert_missing(s.put_saml_idp(&ghost).await, "connection");
    s.delete_connection(&o.id, &c.id).await.unwrap();
    assert_eq!(s.get_saml_idp(&c.id).await.unwrap(), None);

    let t = now();
    let k1 = SamlSpKeyRecord {
        id: fresh("sp1"),
        status: KeyStatus::Active,
        private_key: Secret::new("sealed-1"),
        certificate: "MIIB".into(),
        created_at: t,
        retire_until: None,
    };
    let k2 = SamlSpKeyRecord {
        id: fresh("sp2"),
        status: KeyStatus::Next,
        created_at: t + Duration::seconds(1),
        ..k1.clone()
    };
    s.create_saml_sp_key(&k1).await.unwrap();
    s.create_saml_sp_key(&k2).await.unwrap();
    assert_duplicate(s.create_saml_sp_key(&k1).await, "SAML SP key");
    assert_eq!(
        s.list_saml_sp_keys().await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    let until = t + Duration::days(1);
    s.set_saml_sp_key_status(&k1.id, KeyStatus::Retired, Some(until))
        .await
        .unwrap();
    let keys = s.list_saml_sp_keys().await.unwrap();
    assert_eq!(keys[0].status, KeyStatus::Retired);
    assert_eq!(keys[0].retire_until, Some(until));
    assert!(matches!(
        s.set_saml_sp_key_status("nope", KeyStatus::Active, None)
            .await,
        Err(StorageError::NotFound)
    ));
    s.delete_saml_sp_key(&k1.id).await.unwrap();
    assert!(matches!(
        s.delete_saml_sp_key(&k1.id).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(s.list_saml_sp_keys().await.unwrap(), vec![k2]);
}

pub async fn keys_crud(s: Arc<dyn Storage>) {
    let t = now();
    let k1 = SigningKeyRecord {
        kid: fresh("k1"),
        alg: SigningAlg::ES256,
        status: KeyStatus::Active,
        private_key: Secret::new("encrypted-pkcs8"),
        public_jwk: r#"{"kty":"EC","crv":"P-256","x":"a","y":"b"}"#.into(),
        created_at: t,
        retire_until: None,
    };
    let k2 = SigningKeyRecord {
        kid: fresh("k2"),
        alg: SigningAlg::RS256,
        status: KeyStatus::Next,
        created_at: t + Duration::seconds(1),
        ..k1.clone()
    };
    s.create_key(&k1).await.unwrap();
    s.create_key(&k2).await.unwrap();
    assert_duplicate(s.create_key(&k1).await, "signing key");
    assert_eq!(s.list_keys().await.unwrap(), vec![k1.clone(), k2.clone()]);
    let until = t + Duration::days(2);
    s.set_key_status(&k1.kid, KeyStatus::Retired, Some(until))
        .await
        .unwrap();
    s.set_key_status(&k2.kid, KeyStatus::Active, None)
        .await
        .unwrap();
    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys[0].status, KeyStatus::Retired);
    assert_eq!(keys[0].retire_until, Some(until));
    assert_eq!(keys[1].status, KeyStatus::Active);
    assert_not_found(s.set_key_status("nope", KeyStatus::Active, None).await);
    s.delete_key(&k1.kid).await.unwrap();
    assert_not_found(s.delete_key(&k1.kid).await);
    assert_eq!(s.list_keys().await.unwrap().len(), 1);
    assert!(
        !format!("{:?}", keys[1]).contains("encrypted-pkcs8"),
        "private keys never reach Debug output"
    );
}

pub async fn audit_newest_first(s: Arc<dyn Storage>) {
    let (a, b) = (org(None), org(None));
    s.create_org(&a).await.unwrap();
    s.create_org(&b).await.unwrap();
    let mut a_ids = Vec::new();
    for i in 0..7 {
        let id = format!("evt_{i:03}");
        let (o, action) = if i % 3 == 2 {
            (Some(&b.id), "login.success")
        } else {
            (Some(&a.id), "org.update")
        };
        s.append_audit(&audit(&id, o, action)).await.unwrap();
        if o == Some(&a.id) {
            a_ids.push(id);
        }
    }
    let none = audit("evt_100", None, "system.start");
    s.append_audit(&none).await.unwrap();
    assert_duplicate(s.append_audit(&none).await, "audit event id");

    let all = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 8);
    assert_eq!(all.items[0], none, "newest first");
    assert!(all.items.windows(2).all(|w| w[0].id > w[1].id));

    // A's events, newest first, 2 per page.
    let filter = AuditFilter {
        org_id: Some(a.id.clone()),
        action: None,
    };
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = s.list_audit(&filter, &page).await.unwrap();
        assert!(p.items.len() <= 2);
        for e in &p.items {
            assert_eq!(e.org_id.as_ref(), Some(&a.id));
        }
        seen.extend(p.items.iter().map(|e| e.id.to_string()));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    a_ids.reverse();
    assert_eq!(seen, a_ids);

    let logins = s
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some("login.success".into()),
            },
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(logins.items.len(), 2);
    assert!(
        logins
            .items
            .iter()
            .all(|e| e.org_id.as_ref() == Some(&b.id))
    );
    // Several in one write, all or nothing.
    let before = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .len();
    let pair = [
        audit("evt_050", None, "x.one"),
        audit("evt_051", None, "x.two"),
    ];
    s.append_audits(&pair).await.unwrap();
    assert_duplicate(
        s.append_audits(&[audit("evt_052", None, "x.three"), none.clone()])
            .await,
        "audit event id",
    );
    s.append_audits(&[]).await.unwrap();
    let xs = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        xs.len(),
        before + 2,
        "the pair, not the failed batch's first event"
    );
    assert!(xs.contains(&pair[0]) && xs.contains(&pair[1]));
}

/// A batch whose last change violates a constraint leaves nothing behind.
pub async fn apply_changes_all_or_nothing(s: Arc<dyn Storage>) {
    let taken = org(None);
    s.create_org(&taken).await.unwrap();
    let taken_domain = unique_domain();
    s.create_domain(&domain(&taken.id, &taken_domain, true))
        .await
        .unwrap();

    let a = app();
    let r = role(&a.id, "sales");
    let g = group(&a.id, &["sales"]);
    let o = org(None);
    let child = org(Some(&o.id));
    let l = link(&o.id, &a.id, &[&g.id]);
    let c = connection(&o.id);
    let u = user("dave@acme.example");
    let m = membership(&o.id, &u.id);
    let d_ok = domain(&o.id, &unique_domain(), true);
    let ev = audit("evt_import_1", Some(&o.id), "import.apply");
    let mut batch = vec![
        Change::UpsertApp(a.clone()),
        Change::UpsertRole(r.clone()),
        Change::UpsertRoleGroup(g.clone()),
        Change::UpsertOrg(o.clone()),
        Change::UpsertOrg(child.clone()),
        Change::UpsertLink(l.clone()),
        Change::UpsertDomain(d_ok.clone()),
        Change::UpsertConnection(c.clone()),
        Change::UpsertUser(u.clone()),
        Change::UpsertMembership(m.clone()),
        Change::Audit(ev.clone()),
    ];
    let mut failing = batch.clone();
    failing.push(Change::UpsertDomain(domain(&o.id, &taken_domain, true)));
    assert_duplicate(s.apply_changes(&failing).await, "verified domain");
    assert_eq!(s.get_app(&a.id).await.unwrap(), None);
    assert_eq!(s.get_role(&a.id, &r.value).await.unwrap(), None);
    assert_eq!(s.get_role_group(&a.id, &g.id).await.unwrap(), None);
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);
    assert_eq!(s.get_org(&child.id).await.unwrap(), None);
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), None);
    assert_eq!(
        s.find_verified_domain_org(&d_ok.domain).await.unwrap(),
        None
    );
    assert_eq!(s.get_connection_for_callback(&c.id).await.unwrap(), None);
    assert_eq!(s.get_user(&u.id).await.unwrap(), None);
    assert_eq!(
        s.list_audit(&AuditFilter::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    // A dangling reference fails the batch the same way.
    let mut dangling = batch.clone();
    dangling.push(Change::UpsertMembership(membership(
        &o.id,
        &UserId::generate(),
    )));
    assert!(matches!(
        s.apply_changes(&dangling).await,
        Err(StorageError::MissingReference(_))
    ));
    assert_eq!(s.get_org(&o.id).await.unwrap(), None);

    // The valid batch applies, in order.
    s.apply_changes(&batch).await.unwrap();
    assert_eq!(s.get_app(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        s.get_role_group(&a.id, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert_eq!(s.get_org(&child.id).await.unwrap(), Some(child.clone()));
    assert_eq!(s.get_link(&o.id, &a.id).await.unwrap(), Some(l.clone()));
    assert_eq!(
        s.find_verified_domain_org(&d_ok.domain).await.unwrap(),
        Some(o.id.clone())
    );
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        s.get_membership(&o.id, &u.id).await.unwrap(),
        Some(m.clone())
    );

    // Upserts overwrite what is stored (bumping the version) and keep created_at.
    let mut renamed = o.clone();
    renamed.name = "Acme (imported)".into();
    renamed.created_at = now() + Duration::days(1);
    renamed.version = 1;
    let mut narrower = g.clone();
    narrower.roles = BTreeSet::new();
    batch = vec![
        Change::UpsertOrg(renamed.clone()),
        Change::UpsertRoleGroup(narrower.clone()),
    ];
    s.apply_changes(&batch).await.unwrap();
    let got = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!(got.name, "Acme (imported)");
    assert_eq!(got.version, 2);
    assert_eq!(got.created_at, o.created_at);
    let got = s.get_role_group(&a.id, &g.id).await.unwrap().unwrap();
    assert!(got.roles.is_empty());
    assert_eq!(got.version, 2);

    // An upsert never moves a connection into another org.
    let mut hijack = c.clone();
    hijack.org_id = taken.id.clone();
    assert_duplicate(
        s.apply_changes(&[Change::UpsertConnection(hijack)]).await,
        "connection id",
    );
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
}

async fn collect_pages<T, F, Fut>(limit: u32, mut fetch: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut all = Vec::new();
    let mut pages = 0;
    let mut req = PageRequest::first(limit);
    loop {
        let p = fetch(req.clone()).await;
        pages += 1;
        assert!(p.items.len() <= limit as usize);
        let last_page = p.next.is_none();
        if !last_page {
            assert_eq!(p.items.len(), limit as usize, "only the last page is short");
        }
        all.extend(p.items);
        match p.next {
            Some(n) => req.after = Some(n),
            None => break,
        }
        assert!(pages < 100, "pagination does not terminate");
    }
    (all, pages)
}

/// Keyset pagination: 3 pages, no duplicates, no gaps, `next` only when more exist.
pub async fn pagination(s: Arc<dyn Storage>) {
    let parent = org(None);
    s.create_org(&parent).await.unwrap();
    let mut child_ids = BTreeSet::new();
    for _ in 0..7 {
        let o = org(Some(&parent.id));
        s.create_org(&o).await.unwrap();
        child_ids.insert(o.id.clone());
    }
    let (orgs, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_orgs(Some(&parent), &p).await.unwrap() }
    })
    .await;
    assert_eq!(pages, 3);
    let ids: Vec<_> = orgs.iter().map(|o| o.id.clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), child_ids);

    // An exact multiple of the page size ends without an empty extra page.
    let (all, pages) = collect_pages(4, |p| {
        let s = s.clone();
        async move { s.list_orgs(None, &p).await.unwrap() }
    })
    .await;
    assert_eq!(all.len(), 8);
    assert_eq!(pages, 2);

    let mut member_ids = BTreeSet::new();
    for i in 0..7 {
        let u = user(&format!("p{i}@page.example"));
        s.create_user(&u).await.unwrap();
        s.create_membership(&membership(&parent.id, &u.id))
            .await
            .unwrap();
        member_ids.insert(u.id.clone());
        s.create_invitation(&invitation(&parent.id)).await.unwrap();
        s.create_app(&app()).await.unwrap();
    }
    let (members, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_members(&parent, &p).await.unwrap() }
    })
    .await;
    assert_eq!(pages, 3);
    let got: Vec<_> = members.iter().map(|m| m.user_id.clone()).collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), member_ids);

    let (users, pages) = collect_pages(3, |p| {
        let s = s.clone();
        async move { s.list_users(&UserFilter::default(), &p).await.unwrap() }
    })
    .await;
    assert_eq!((users.len(), pages), (7, 3));
    let (invs, pages) = collect_pages(3, |p| {
        let s = s.clone();
        let parent = parent.id.clone();
        async move { s.list_invitations(&parent, &p).await.unwrap() }
    })
    .await;
    assert_eq!((invs.len(), pages), (7, 3));
    let unique: HashSet<_> = invs.iter().map(|i| i.id.clone()).collect();
    assert_eq!(unique.len(), 7);
    let (apps, pages) = collect_pages(3, |p| {
        let s = s.clone();
        async move { s.list_apps(&p).await.unwrap() }
    })
    .await;
    assert_eq!((apps.len(), pages), (7, 3));

    // The default and maximum page sizes.
    assert_eq!(PageRequest::first(0).effective_limit(), 50);
    let big = s.list_apps(&PageRequest::first(10_000)).await.unwrap();
    assert_eq!(big.items.len(), 7);
    assert_eq!(big.next, None);
}

/// Every timestamp comes back exactly (millisecond precision), including odd milliseconds,
/// times before 1970 and far in the future.
pub async fn timestamps_round_trip(s: Arc<dyn Storage>) {
    let odd = from_millis(1_700_000_000_123);
    let old = from_millis(-86_400_000 * 365 + 7);
    let far = from_millis(4_102_444_800_999); // 2100-01-01T00:00:00.999Z
    let mut o = org(None);
    o.created_at = old;
    o.updated_at = far;
    s.create_org(&o).await.unwrap();
    let got = s.get_org(&o.id).await.unwrap().unwrap();
    assert_eq!((got.created_at, got.updated_at), (old, far));

    let mut d = domain(&o.id, &unique_domain(), true);
    d.verified_at = Some(odd);
    d.created_at = far;
    s.create_domain(&d).await.unwrap();
    assert_eq!(s.get_domain(&o.id, &d.domain).await.unwrap(), Some(d));

    let mut i = invitation(&o.id);
    i.expires_at = odd;
    i.created_at = old;
    s.create_invitation(&i).await.unwrap();
    assert_eq!(s.get_invitation(&o.id, &i.id).await.unwrap(), Some(i));

    let (a, _, u) = seed_member(&s).await;
    s.create_membership(&membership(&o.id, &u.id))
        .await
        .unwrap();
    let mut f = family(&a.id, &o.id, &u.id, "sess-ts");
    f.auth_time = odd;
    f.created_at = old;
    f.expires_at = far;
    f.revoked_at = Some(odd);
    // The first token is created with its family (at `old`) and unused; rotation tests cover
    // `used_at`.
    let t = first_token(&f);
    s.create_family(&f, &t.hash).await.unwrap();
    assert_eq!(s.find_refresh(&t.hash).await.unwrap(), Some((t, f)));

    let mut e = audit("evt_ts", None, "x");
    e.time = odd;
    s.append_audit(&e).await.unwrap();
    let listed = s
        .list_audit(&AuditFilter::default(), &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![e]);
}

#[cfg(test)]
mod tests {
    //! Runs every case against each backend, each case on a fresh database.
    use super::*;
    use futures::FutureExt;
    use std::future::Future;
    use std::panic::AssertUnwindSafe;

    async fn on_sqlite_file<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn Storage>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        // A directory that does not exist yet: opening creates it.
        let path = dir.path().join("data dir").join("lobby.db");
        let url = format!("sqlite:{}", path.display());
        let store = open(&url).await.unwrap();
        assert_eq!(store.dialect(), "sqlite");
        case(store).await;
        // Re-opening applies no migration twice and finds the data.
        let again = open(&url).await.unwrap();
        again.ping().await.unwrap();
    }

    async fn on_sqlite_memory<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn Storage>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let store = open("sqlite::memory:").await.unwrap();
        case(store).await;
    }

    /// A fresh database per case, created through `LOBBY_TEST_DATABASE_URL` and dropped after.
    async fn on_postgres<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn Storage>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let Ok(base) = std::env::var("LOBBY_TEST_DATABASE_URL") else {
            eprintln!("note: LOBBY_TEST_DATABASE_URL is not set; PostgreSQL case not run");
            return;
        };
        let db = pg::TestDb::create(&base)
            .await
            .unwrap_or_else(|e| panic!("LOBBY_TEST_DATABASE_URL is set but unusable: {e:#}"));
        let outcome = AssertUnwindSafe(async {
            let store = open(&db.url).await.unwrap();
            assert_eq!(store.dialect(), "postgres");
            case(store).await;
        })
        .catch_unwind()
        .await;
        db.drop_db().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    mod pg {
        use anyhow::Context;
        use sqlx::{AnyConnection, Connection, Executor};

        pub struct TestDb {
            admin_url: String,
            name: String,
            pub url: String,
        }

        impl TestDb {
            pub async fn create(base: &str) -> anyhow::Result<TestDb> {
                sqlx::any::install_default_drivers();
                let name = format!(
                    "lobby_t_{}",
                    ulid::Ulid::new().to_string().to_ascii_lowercase()
                );
                let mut admin = AnyConnection::connect(base)
                    .await
                    .context("connecting to PostgreSQL")?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                let mut url = url::Url::parse(base).context("parsing the URL")?;
                url.set_path(&format!("/{name}"));
                Ok(TestDb {
                    admin_url: base.to_owned(),
                    name,
                    url: url.to_string(),
                })
            }

            pub async fn drop_db(&self) {
                let mut admin = AnyConnection::connect(&self.admin_url)
                    .await
                    .expect("reconnecting to drop the test database");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    )))
                    .await
                    .expect("DROP DATABASE");
                admin.close().await.ok();
            }
        }
    }

    macro_rules! on_every_backend {
        ($($case:ident),* $(,)?) => {
            mod sqlite_file {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        super::on_sqlite_file(super::super::$case).await;
                    }
                )*
            }
            mod sqlite_memory {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        super::on_sqlite_memory(super::super::$case).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        super::on_postgres(super::super::$case).await;
                    }
                )*
            }
        };
    }

    on_every_backend!(
        ping_and_dialect,
        apps_crud,
        roles_and_groups,
        orgs_crud,
        org_tree,
        links_crud,
        domains_and_discovery,
        connections_crud,
        users_and_identities,
        memberships,
        invitations,
        two_org_isolation,
        stale_versions_conflict,
        concurrent_writers_lose_nothing,
        refresh_rotation,
        refresh_concurrent_rotation,
        refresh_revocation,
        keys_crud,
        saml_state,
        audit_newest_first,
        apply_changes_all_or_nothing,
        pagination,
        timestamps_round_trip,
    );

    #[tokio::test]
    async fn unknown_urls_are_refused() {
        let err = open("mysql://localhost/x").await.err().unwrap();
        assert!(err.to_string().contains("unsupported database URL"));
    }
}
