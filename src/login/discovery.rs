//! Home-realm discovery and org eligibility for the hosted login.
//!
//! Owns: (1) the auth-policy rule — which of an org's connections an app may use: the link's
//! explicit connection list (in its order) when it overrides, else the org's *active*
//! connections whose kind the app's `allowed_kinds` permits; (2) the pre-authentication
//! routing of the identifier page: an `organization` hint naming an org linked to the app, else
//! the org that has *verified* the email's domain (DESIGN §6.2) and not marked it shared, and is
//! linked to the app; if that org's policy has an OIDC/SAML connection, that connection is used,
//! otherwise the password page (also for unknown emails and unrouted domains, so the answer
//! reveals nothing; a *shared* domain — marked so, or verified by nobody — also offers the
//! emailed org chooser there, `login::shared`); (3) the
//! post-authentication eligible orgs of a password sign-in: the user's *active* memberships in
//! *active* orgs linked to the app whose policy allows an active password connection; (4) the
//! orgs an address the person proved they hold may sign in to (`orgs_for_proven_email`, the
//! emailed chooser of a shared domain): active memberships and pending invitations.
//! Org selection happens after authentication (as Keycloak Organizations and WorkOS do).
//!
//! Must not touch: HTTP, sessions, tokens.

use crate::domain::{
    App, Connection, ConnectionKind, ConnectionState, Email, Invitation, LinkAuthPolicy,
    MemberStatus, Org, OrgAppLink, OrgId, OrgStatus, Slug, UserId,
};
use crate::storage::{Result, Storage};

/// The connections of an org an app may use, in order of preference. Only active connections
/// of this org are ever returned.
pub fn policy_connections<'a>(
    app: &App,
    link: &OrgAppLink,
    connections: &'a [Connection],
) -> Vec<&'a Connection> {
    let usable = |c: &&Connection| c.state == ConnectionState::Active && c.org_id == link.org_id;
    match &link.auth_policy {
        LinkAuthPolicy::Connections { connection_ids } => connection_ids
            .iter()
            .filter_map(|id| connections.iter().find(|c| &c.id == id))
            .filter(usable)
            .collect(),
        LinkAuthPolicy::Inherit => {
            let mut v: Vec<&Connection> = connections
                .iter()
                .filter(usable)
                .filter(|c| app.auth_policy.allowed_kinds.contains(&c.kind()))
                .collect();
            // A stable order: oldest connection first.
            v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            v
        }
    }
}

/// How the identifier page continues.
#[derive(Clone, Debug)]
pub enum ConnectionDispatch {
    /// The password page (also the uniform answer for unknown users and domains).
    Password,
    /// The org's own IdP (OIDC or SAML): `login::upstream::start` sends the browser there.
    Upstream(Box<Connection>),
    /// The org has several IdPs the app may use (e.g. Okta for staff, Entra ID for
    /// contractors): the person picks one on `/login/connection` ("Sign in with …"), in the
    /// policy's order. Always two or more, all OIDC/SAML.
    Choose(Vec<Connection>),
}

impl ConnectionDispatch {
    /// The one connection to use where no choice can be shown (an invitation's landing): the
    /// first of a choice.
    pub fn first(self) -> Option<Connection> {
        match self {
            ConnectionDispatch::Password => None,
            ConnectionDispatch::Upstream(c) => Some(*c),
            ConnectionDispatch::Choose(v) => v.into_iter().next(),
        }
    }
}

/// An org that is active and linked to the app.
#[derive(Clone, Debug)]
pub struct LinkedOrg {
    pub org: Org,
    pub link: OrgAppLink,
}

/// An org given as `organization=` (its id or its slug), if it is active and linked to the app.
pub async fn resolve_org_hint(
    storage: &dyn Storage,
    app: &App,
    hint: &str,
) -> Result<Option<LinkedOrg>> {
    let mut org = None;
    if let Ok(id) = OrgId::parse(hint) {
        org = storage.get_org(&id).await?;
    }
    if org.is_none()
        && let Ok(slug) = Slug::parse(hint)
    {
        org = storage.get_org_by_slug(&slug).await?;
    }
    match org {
        Some(o) => linked(storage, app, o).await,
        None => Ok(None),
    }
}

async fn linked(storage: &dyn Storage, app: &App, org: Org) -> Result<Option<LinkedOrg>> {
    if org.status != OrgStatus::Active {
        return Ok(None);
    }
    Ok(super::builtin::link(storage, &org.id, app)
        .await?
        .map(|link| LinkedOrg { org, link }))
}

/// The org that has verified this email's domain *exclusively* (not marked shared), if it is
/// active and linked to the app.
pub async fn org_for_email(
    storage: &dyn Storage,
    app: &App,
    email: &Email,
) -> Result<Option<LinkedOrg>> {
    let Some(d) = storage.find_verified_domain(&email.domain()).await? else {
        return Ok(None);
    };
    if !d.routes_exclusively() {
        return Ok(None);
    }
    match storage.get_org(&d.org_id).await? {
        Some(o) => linked(storage, app, o).await,
        None => Ok(None),
    }
}

/// Where the identifier page sends this email: the target org (hint first, then verified
/// domain) and its first OIDC/SAML connection under the app's policy; else the password page.
pub async fn route(
    storage: &dyn Storage,
    app: &App,
    hinted: Option<&LinkedOrg>,
    email: &Email,
) -> Result<(Option<LinkedOrg>, ConnectionDispatch)> {
    let target = match hinted {
        Some(h) => Some(h.clone()),
        None => org_for_email(storage, app, email).await?,
    };
    let Some(t) = target else {
        return Ok((None, ConnectionDispatch::Password));
    };
    let d = dispatch(storage, app, &t).await?;
    Ok((Some(t), d))
}

/// Where a sign-in into this org goes: its SSO connection the policy allows (a choice when
/// there are several), else the password page. An org that has its own IdP sends its people
/// there: a password connection beside it is not offered on the way in.
pub async fn dispatch(
    storage: &dyn Storage,
    app: &App,
    target: &LinkedOrg,
) -> Result<ConnectionDispatch> {
    let conns = storage.list_connections(&target.org.id).await?;
    Ok(dispatch_of(policy_connections(app, &target.link, &conns)))
}

/// [`dispatch`] over the policy's connections, in the policy's order.
pub fn dispatch_of(policy: Vec<&Connection>) -> ConnectionDispatch {
    let mut sso: Vec<Connection> = policy
        .into_iter()
        .filter(|c| c.kind() != ConnectionKind::Password)
        .cloned()
        .collect();
    match sso.len() {
        0 => ConnectionDispatch::Password,
        1 => ConnectionDispatch::Upstream(Box::new(sso.remove(0))),
        _ => ConnectionDispatch::Choose(sso),
    }
}

/// An org the emailed chooser of a shared domain lists for an address the person has proved
/// they hold (`login::shared`).
#[derive(Clone, Debug)]
pub struct ProvenOrg {
    pub target: LinkedOrg,
    /// Listed for this pending invitation (the address is not a member yet).
    pub invitation: Option<Invitation>,
}

/// The orgs an address may sign in to for this app, to be shown only after the person proved
/// they hold it: orgs where a user with this email has an *active* membership, then orgs with a
/// *pending, unexpired* invitation for it (once each, the membership first); only active orgs
/// linked to the app. Sorted by display name then id.
pub async fn orgs_for_proven_email(
    storage: &dyn Storage,
    app: &App,
    email: &Email,
    now: time::OffsetDateTime,
) -> Result<Vec<ProvenOrg>> {
    let mut out: Vec<ProvenOrg> = Vec::new();
    let listed = |out: &Vec<ProvenOrg>, id: &OrgId| out.iter().any(|p| &p.target.org.id == id);
    for m in storage.list_memberships_for_email(email).await? {
        if m.status != MemberStatus::Active || listed(&out, &m.org_id) {
            continue;
        }
        if let Some(target) = linked_by_id(storage, app, &m.org_id).await? {
            out.push(ProvenOrg {
                target,
                invitation: None,
            });
        }
    }
    for inv in storage
        .list_pending_invitations_for_email(email, now)
        .await?
    {
        if !inv.is_usable(now) || listed(&out, &inv.org_id) {
            continue;
        }
        if let Some(target) = linked_by_id(storage, app, &inv.org_id).await? {
            out.push(ProvenOrg {
                target,
                invitation: Some(inv),
            });
        }
    }
    out.sort_by(|a, b| {
        let (a, b) = (&a.target.org, &b.target.org);
        a.display_name()
            .to_lowercase()
            .cmp(&b.display_name().to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

async fn linked_by_id(storage: &dyn Storage, app: &App, id: &OrgId) -> Result<Option<LinkedOrg>> {
    match storage.get_org(id).await? {
        Some(o) => linked(storage, app, o).await,
        None => Ok(None),
    }
}

/// An org the user may sign in to with the password they just proved.
#[derive(Clone, Debug)]
pub struct EligibleOrg {
    pub org: Org,
    /// The org's password connection used (becomes the token's `idp`).
    pub connection: Connection,
}

/// The eligible orgs of a password sign-in, sorted by display name then id.
pub async fn eligible_password_orgs(
    storage: &dyn Storage,
    app: &App,
    user: &UserId,
) -> Result<Vec<EligibleOrg>> {
    let mut out = Vec::new();
    for m in storage.list_memberships_for_user(user).await? {
        if m.status != MemberStatus::Active {
            continue;
        }
        let Some(org) = storage.get_org(&m.org_id).await? else {
            continue;
        };
        let Some(l) = linked(storage, app, org).await? else {
            continue;
        };
        let conns = storage.list_connections(&l.org.id).await?;
        let pw = policy_connections(app, &l.link, &conns)
            .into_iter()
            .find(|c| c.kind() == ConnectionKind::Password)
            .cloned();
        if let Some(connection) = pw {
            out.push(EligibleOrg {
                org: l.org,
                connection,
            });
        }
    }
    out.sort_by(|a, b| {
        a.org
            .display_name()
            .to_lowercase()
            .cmp(&b.org.display_name().to_lowercase())
            .then(a.org.id.cmp(&b.org.id))
    });
    Ok(out)
}

/// Whether `connection` is still usable for `app` in its org (refresh-time check for tokens
/// that name an `idp`).
pub async fn connection_allowed(
    storage: &dyn Storage,
    app: &App,
    link: &OrgAppLink,
    connection: &crate::domain::ConnectionId,
) -> Result<bool> {
    // Only the one connection is needed: the policy keeps or drops each connection on its
    // own (state, org, kind, or the link's explicit list), so filtering a one-element slice
    // gives the same answer as filtering the org's whole list, with one row read.
    let Some(conn) = storage.get_connection(&link.org_id, connection).await? else {
        return Ok(false);
    };
    Ok(policy_connections(app, link, std::slice::from_ref(&conn))
        .iter()
        .any(|c| &c.id == connection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;
    use std::collections::BTreeSet;
    use time::OffsetDateTime;

    fn conn(id: &str, kind: &str, state: ConnectionState, secs: i64) -> Connection {
        let config = match kind {
            "password" => ConnectionConfig::Password(PasswordConfig { min_length: 12 }),
            "saml" => ConnectionConfig::Saml(SamlConfig {
                idp_metadata_url: Some("https://idp.example.com/md".into()),
                idp_metadata_xml: None,
                idp_entity_id: None,
                name_id_format: None,
                attributes: ClaimMapping::default(),
                role_mapping: vec![],
                sign_authn_requests: true,
                want_assertions_signed: true,
                allow_idp_initiated: false,
                idp_initiated_app_id: None,
                idp_initiated_redirect_uri: None,
                email_authority: Default::default(),
                accept_expired_certs: false,
            }),
            _ => ConnectionConfig::Oidc(OidcConfig {
                issuer: "https://idp.example.com".into(),
                client_id: "c".into(),
                client_secret: None,
                scopes: vec!["openid".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                allowed_algs: vec!["RS256".into()],
                claims: ClaimMapping::default(),
                role_mapping: vec![],
                require_email_verified: true,
                email_authority: Default::default(),
            }),
        };
        Connection {
            id: ConnectionId::parse(id).unwrap(),
            org_id: OrgId::parse("acme").unwrap(),
            name: id.into(),
            state,
            config,
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn app(kinds: &[ConnectionKind]) -> App {
        App {
            id: AppId::parse("crm").unwrap(),
            name: "CRM".into(),
            client_id: ClientId::parse("crm").unwrap(),
            client_type: ClientType::Public,
            client_secret_hash: None,
            redirect_uris: vec!["https://crm.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            signing_alg: SigningAlg::RS256,
            token_lifetimes: TokenLifetimes::default(),
            invite_ttl_secs: 86400,
            revoke_on: BTreeSet::new(),
            auth_policy: AppAuthPolicy {
                allowed_kinds: kinds.iter().copied().collect(),
            },
            admin_api: AdminApiAccess::default(),
            backchannel_logout: None,
            mfa: Default::default(),
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn link(policy: LinkAuthPolicy) -> OrgAppLink {
        OrgAppLink {
            org_id: OrgId::parse("acme").unwrap(),
            app_id: AppId::parse("crm").unwrap(),
            allowed_role_groups: BTreeSet::new(),
            auth_policy: policy,
            jit: false,
            default_roles: BTreeSet::new(),
            mfa: None,
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn dispatch_chooses_among_several_sso_connections_only() {
        let pw = conn("pw", "password", ConnectionState::Active, 0);
        let okta = conn("okta", "saml", ConnectionState::Active, 1);
        let entra = conn("entra", "oidc", ConnectionState::Active, 2);
        assert!(matches!(
            dispatch_of(vec![&pw]),
            ConnectionDispatch::Password
        ));
        assert!(matches!(dispatch_of(vec![]), ConnectionDispatch::Password));
        match dispatch_of(vec![&pw, &okta]) {
            ConnectionDispatch::Upstream(c) => assert_eq!(c.id.as_str(), "okta"),
            d => panic!("one SSO connection goes straight there, got {d:?}"),
        }
        match dispatch_of(vec![&entra, &pw, &okta]) {
            ConnectionDispatch::Choose(v) => {
                let ids: Vec<_> = v.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(ids, ["entra", "okta"], "the policy's order, no password");
            }
            d => panic!("two SSO connections are a choice, got {d:?}"),
        }
        assert_eq!(
            dispatch_of(vec![&okta, &entra]).first().map(|c| c.id),
            Some(okta.id.clone())
        );
    }

    #[test]
    fn inherit_uses_active_connections_of_allowed_kinds_oldest_first() {
        let conns = vec![
            conn("pw", "password", ConnectionState::Active, 3),
            conn("sso", "oidc", ConnectionState::Active, 2),
            conn("old", "saml", ConnectionState::Disabled, 1),
            conn("draft", "oidc", ConnectionState::Draft, 0),
        ];
        let all = app(&[
            ConnectionKind::Oidc,
            ConnectionKind::Saml,
            ConnectionKind::Password,
        ]);
        let ids: Vec<_> = policy_connections(&all, &link(LinkAuthPolicy::Inherit), &conns)
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["sso", "pw"]);
        let pw_only = app(&[ConnectionKind::Password]);
        let ids: Vec<_> = policy_connections(&pw_only, &link(LinkAuthPolicy::Inherit), &conns)
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["pw"]);
    }

    #[test]
    fn override_keeps_its_order_and_skips_inactive_or_foreign() {
        let mut foreign = conn("foreign", "password", ConnectionState::Active, 0);
        foreign.org_id = OrgId::parse("globex").unwrap();
        let conns = vec![
            conn("pw", "password", ConnectionState::Active, 3),
            conn("sso", "oidc", ConnectionState::Active, 2),
            conn("off", "saml", ConnectionState::Disabled, 1),
            foreign,
        ];
        let ids = |v: Vec<&Connection>| v.iter().map(|c| c.id.to_string()).collect::<Vec<_>>();
        let l = link(LinkAuthPolicy::Connections {
            connection_ids: ["off", "pw", "foreign", "missing", "sso"]
                .iter()
                .map(|s| ConnectionId::parse(s).unwrap())
                .collect(),
        });
        // The override ignores the app's allowed kinds, but never an inactive connection.
        let a = app(&[ConnectionKind::Oidc]);
        assert_eq!(ids(policy_connections(&a, &l, &conns)), ["pw", "sso"]);
    }
}
