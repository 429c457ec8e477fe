//! Token claims: the one place that turns user + membership + org + app (+ role groups) into
//! the claims of the ID token, the access token and `/userinfo` (DESIGN §3). The same
//! `load_subject` runs at code exchange AND at every refresh, so claims always reflect the
//! current membership, and a member who is no longer eligible gets no token.
//!
//! Owns: eligibility at token time (user exists, membership active, org active, org linked to
//! the app, the connection named by `idp` still allowed) and the claim set. Must not touch:
//! signing, HTTP, refresh-token bookkeeping.

use crate::domain::{
    App, ConnectionId, Grant, MemberStatus, Membership, Org, OrgAppLink, OrgId, OrgStatus, User,
    UserId, rules,
};
use crate::storage::{Result, Storage};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A user who is currently eligible for tokens of an app in an org.
#[derive(Clone, Debug)]
pub struct Subject {
    pub user: User,
    pub org: Org,
    pub link: OrgAppLink,
    pub membership: Membership,
    /// This app's role values in this org, restricted to the link's allowed role groups.
    pub roles: Vec<String>,
    /// Org-level admin roles (`org_admin`, `member_admin`).
    pub org_roles: Vec<String>,
}

/// Why no token may be issued any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// No membership (also when the user was deleted: memberships go with their user).
    NotAMember,
    MembershipInactive,
    OrgSuspended,
    NotLinked,
    ConnectionNotAllowed,
}

/// Reload everything a token says and check the member may still have one.
pub async fn load_subject(
    storage: &dyn Storage,
    app: &App,
    user_id: &UserId,
    org_id: &OrgId,
    idp: Option<&ConnectionId>,
) -> Result<std::result::Result<Subject, Ineligible>> {
    // One read for user, membership and org (every code exchange comes through here).
    let member = storage.get_member_context(org_id, user_id).await?;
    subject_for(storage, app, member, idp).await
}

/// [`load_subject`] for a member already read (a refresh reads it with its token), `None`
/// when the membership no longer exists.
pub async fn subject_for(
    storage: &dyn Storage,
    app: &App,
    member: Option<(User, Membership, Org)>,
    idp: Option<&ConnectionId>,
) -> Result<std::result::Result<Subject, Ineligible>> {
    let Some((user, membership, org)) = member else {
        return Ok(Err(Ineligible::NotAMember));
    };
    let org_id = &org.id;
    if membership.status != MemberStatus::Active {
        return Ok(Err(Ineligible::MembershipInactive));
    }
    if org.status != OrgStatus::Active {
        return Ok(Err(Ineligible::OrgSuspended));
    }
    let Some(link) = storage.get_link(org_id, &app.id).await? else {
        return Ok(Err(Ineligible::NotLinked));
    };
    if let Some(c) = idp
        && !crate::login::discovery::connection_allowed(storage, app, &link, c).await?
    {
        return Ok(Err(Ineligible::ConnectionNotAllowed));
    }
    let groups = storage.list_role_groups(&app.id).await?;
    let allowed = rules::allowed_roles(&link, &groups);
    // Defensive: roles outside the org's allowed role groups never reach a token, even if a
    // stale membership still lists them.
    let roles: Vec<String> = membership
        .roles_for(&app.id)
        .filter(|r| allowed.contains(*r))
        .map(|r| r.as_str().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let org_roles: Vec<String> = membership
        .org_roles
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    Ok(Ok(Subject {
        user,
        org,
        link,
        membership,
        roles,
        org_roles,
    }))
}

/// The org claims shared by every token: `org_id, org_slug, org_name, roles` and `org_roles`
/// when non-empty.
fn org_claims(m: &mut Map<String, Value>, s: &Subject) {
    m.insert("org_id".into(), json!(s.org.id.as_str()));
    m.insert("org_slug".into(), json!(s.org.slug.as_str()));
    m.insert("org_name".into(), json!(s.org.name));
    m.insert("roles".into(), json!(s.roles));
    if !s.org_roles.is_empty() {
        m.insert("org_roles".into(), json!(s.org_roles));
    }
}

fn profile_claims(m: &mut Map<String, Value>, u: &User) {
    m.insert("email".into(), json!(u.email.as_str()));
    m.insert("email_verified".into(), json!(u.email_verified));
    if let Some(n) = &u.name {
        m.insert("name".into(), json!(n));
    }
}

/// Times and identifiers of one issuance.
#[derive(Clone, Debug)]
pub struct Issue<'a> {
    pub issuer: &'a str,
    /// Unix seconds.
    pub now: i64,
    pub nonce: Option<&'a str>,
    pub at_hash: Option<&'a str>,
    pub jti: &'a str,
}

/// ID token claims (OIDC Core §2, DESIGN §3).
pub fn id_token_claims(app: &App, s: &Subject, g: &Grant, i: &Issue<'_>) -> Value {
    let mut m = Map::new();
    m.insert("iss".into(), json!(i.issuer));
    m.insert("sub".into(), json!(s.user.id.as_str()));
    m.insert("aud".into(), json!(app.client_id.as_str()));
    m.insert("azp".into(), json!(app.client_id.as_str()));
    m.insert("iat".into(), json!(i.now));
    m.insert(
        "exp".into(),
        json!(i.now + app.token_lifetimes.id_token_secs),
    );
    m.insert("auth_time".into(), json!(g.auth_time));
    if let Some(n) = i.nonce {
        m.insert("nonce".into(), json!(n));
    }
    m.insert("sid".into(), json!(g.sid));
    m.insert("amr".into(), json!(g.amr));
    // OIDC Core §2 `acr`: a second factor verified in this authentication (not only a
    // remembered device, `login::mfa`) is the PAPE multi-factor level.
    if crate::domain::mfa::has_verified_factor(&g.amr) {
        m.insert("acr".into(), json!(crate::domain::mfa::ACR_MULTI_FACTOR));
    }
    profile_claims(&mut m, &s.user);
    org_claims(&mut m, s);
    if let Some(c) = &g.idp {
        m.insert("idp".into(), json!(c.as_str()));
    }
    if let Some(h) = i.at_hash {
        m.insert("at_hash".into(), json!(h));
    }
    Value::Object(m)
}

/// Access token claims (RFC 9068 §2.2 plus the org claims).
pub fn access_token_claims(app: &App, s: &Subject, g: &Grant, i: &Issue<'_>) -> Value {
    let mut m = Map::new();
    m.insert("iss".into(), json!(i.issuer));
    m.insert("sub".into(), json!(s.user.id.as_str()));
    m.insert("aud".into(), json!(app.client_id.as_str()));
    m.insert("client_id".into(), json!(app.client_id.as_str()));
    m.insert("iat".into(), json!(i.now));
    m.insert(
        "exp".into(),
        json!(i.now + app.token_lifetimes.access_token_secs),
    );
    m.insert("jti".into(), json!(i.jti));
    m.insert("scope".into(), json!(g.scope));
    m.insert("sid".into(), json!(g.sid));
    m.insert("auth_time".into(), json!(g.auth_time));
    org_claims(&mut m, s);
    Value::Object(m)
}

/// `/userinfo` claims (OIDC Core §5.3): `sub`, email and name (the same as the ID token, as
/// DESIGN §3 puts them in every token), and the org claims of the token's org.
pub fn userinfo_claims(s: &Subject) -> Value {
    let mut m = Map::new();
    m.insert("sub".into(), json!(s.user.id.as_str()));
    profile_claims(&mut m, &s.user);
    org_claims(&mut m, s);
    Value::Object(m)
}
