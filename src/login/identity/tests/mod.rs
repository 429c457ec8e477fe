//! Tests of `resolve` against a real storage (SQLite in a temp file): the fixtures here, the
//! cases in `resolve.rs`, the pure decision's table in `decision.rs`.

mod decision;
mod resolve;

use super::*;
use crate::config::Config;
use crate::domain::*;
use crate::login::LoginCtx;
use crate::storage::{AuditFilter, PageRequest};
use std::sync::Arc;

pub(super) const ISS: &str = "https://idp.acme.test";

pub(super) fn rv(s: &str) -> RoleValue {
    RoleValue::parse(s).unwrap()
}

pub(super) struct Fx {
    pub(super) st: LoginCtx,
    pub(super) app: App,
    pub(super) conn: Connection,
    pub(super) other_conn: Connection,
    /// The database, for tests that reach under the store.
    pub(super) url: String,
    pub(super) _dir: tempfile::TempDir,
}

pub(super) fn t0() -> time::OffsetDateTime {
    trunc_millis(time::OffsetDateTime::now_utc())
}

pub(super) fn org(id: &str) -> Org {
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

pub(super) fn oidc_conn(id: &str, org: &str) -> Connection {
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
            email_authority: Default::default(),
        }),
        version: 1,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(super) async fn link(st: &LoginCtx, org: &str, jit: bool) {
    st.storage
        .create_link(&OrgAppLink {
            org_id: OrgId::parse(org).unwrap(),
            app_id: AppId::parse("crm").unwrap(),
            allowed_role_groups: [RoleGroupId::parse("std").unwrap()].into(),
            auth_policy: LinkAuthPolicy::Inherit,
            jit,
            default_roles: [rv("viewer")].into(),
            mfa: None,
            version: 1,
            created_at: t0(),
            updated_at: t0(),
        })
        .await
        .unwrap();
}

pub(super) async fn fixture(jit: bool) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let storage = crate::storage::open(&url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = crate::state::open(None, clock).await.unwrap();
    let server = crate::app::Server::build(
        Config::for_tests(&url, dir.path()),
        crate::app::Boot {
            storage: Some(storage),
            ephemeral: Some(state),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let st = <LoginCtx as axum::extract::FromRef<_>>::from_ref(&server.state);
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
        admin_api: AdminApiAccess::default(),
        backchannel_logout: None,
        mfa: Default::default(),
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
            shared: false,
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
        url,
        _dir: dir,
    }
}

pub(super) fn ident(conn: &Connection, sub: &str, email: &str, verified: bool) -> UpstreamIdentity {
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

pub(super) async fn audits(st: &LoginCtx, action: &str) -> Vec<AuditEvent> {
    st.storage
        .list_audit(
            &AuditFilter {
                org_id: None,
                action: Some(action.into()),
                ..Default::default()
            },
            &PageRequest::first(100),
        )
        .await
        .unwrap()
        .items
}

/// [`resolve`], with its success event written at once.
pub(super) async fn resolve_now(
    st: &LoginCtx,
    conn: &Connection,
    app: &App,
    ident: UpstreamIdentity,
) -> Result<Resolved, IdentityError> {
    let (resolved, pending) = resolve(st, conn, app, ident).await?;
    pending.flush().await;
    Ok(resolved)
}

pub(super) async fn user_count(st: &LoginCtx) -> usize {
    st.storage
        .list_users(&Default::default(), &PageRequest::first(500))
        .await
        .unwrap()
        .items
        .len()
}

pub(super) async fn invite(fx: &Fx, org: &str, email: &str) -> (Invitation, String) {
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
        app_id: None,
        inviter_name: None,
        user_id: None,
    };
    fx.st.storage.create_invitation(&inv).await.unwrap();
    (inv, token)
}
