//! The export: everything stored, as a document `import` accepts, in a deterministic order
//! (by id), with defaults left out, client secrets only as their hash, and never passwords
//! or upstream client secrets.
//!
//! Owns: the exported form. Must not touch: import, storage internals.

use super::{DeclApp, DeclOrg, Document};
use crate::admin::dto::{
    self, ConnectionCreate, DomainCreate, LinkAuthPolicy, LinkCreate, MemberCreate, MemberStatus,
    RoleCreate, RoleGroupCreate, UserCreate,
};
use crate::admin::service::{
    self, SResult, all_apps, all_members, all_orgs_with_parent, all_users,
};
use crate::domain::{self as d, *};
use crate::storage::Storage;
use std::collections::BTreeSet;

fn none_if_default<T: PartialEq + Default>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

fn export_app(a: &App, roles: Vec<Role>, groups: Vec<RoleGroup>) -> DeclApp {
    let revoke: BTreeSet<d::MemberEvent> = d::MemberEvent::ALL.into_iter().collect();
    DeclApp {
        id: a.id.clone(),
        name: a.name.clone(),
        client_id: Some(a.client_id.clone()),
        client_type: (a.client_type != d::ClientType::Confidential).then(|| a.client_type.into()),
        client_secret: None,
        client_secret_hash: a.client_secret_hash.as_ref().map(|h| h.as_hex().to_owned()),
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
        signing_alg: (a.signing_alg != d::SigningAlg::RS256).then(|| a.signing_alg.into()),
        token_lifetimes: none_if_default(a.token_lifetimes.clone()).map(Into::into),
        invite_ttl_secs: (a.invite_ttl_secs != service::DEFAULT_INVITE_TTL_SECS)
            .then_some(a.invite_ttl_secs),
        revoke_on: (a.revoke_on != revoke)
            .then(|| a.revoke_on.iter().map(|e| (*e).into()).collect()),
        auth_policy: (a.auth_policy != d::AppAuthPolicy::default())
            .then(|| a.auth_policy.clone().into()),
        admin_api: (!a.admin_api.is_none()).then(|| a.admin_api.clone().into()),
        backchannel_logout_uri: a.backchannel_logout.as_ref().map(|b| b.uri.clone()),
        backchannel_logout_session_required: a
            .backchannel_logout
            .as_ref()
            .filter(|b| b.session_required)
            .map(|_| true),
        mfa: (a.mfa != d::MfaPolicy::Off).then(|| a.mfa.into()),
        roles: roles
            .into_iter()
            .map(|r| RoleCreate {
                value: r.value,
                name: r.name,
                description: (!r.description.is_empty()).then_some(r.description),
            })
            .collect(),
        role_groups: groups
            .into_iter()
            .map(|g| RoleGroupCreate {
                id: Some(g.id),
                name: g.name,
                roles: g.roles.into_iter().collect(),
            })
            .collect(),
    }
}

/// Export everything as a document that `import` accepts, in a deterministic order (by id).
pub async fn export(storage: &dyn Storage) -> anyhow::Result<String> {
    let doc = export_document(storage)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_norway::to_string(&doc)?)
}

/// The document `export` serializes.
pub async fn export_document(storage: &dyn Storage) -> SResult<Document> {
    let s = storage;
    let mut doc = Document::default();
    let mut apps = all_apps(s).await?;
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    for a in &apps {
        let mut roles = s.list_roles(&a.id).await?;
        roles.sort_by(|x, y| x.value.cmp(&y.value));
        let mut groups = s.list_role_groups(&a.id).await?;
        groups.sort_by(|x, y| x.id.cmp(&y.id));
        doc.apps.push(export_app(a, roles, groups));
    }
    let mut orgs = all_orgs_with_parent(s, None).await?;
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    for o in &orgs {
        let mut domains = s.list_domains(&o.id).await?;
        domains.sort_by(|x, y| x.domain.cmp(&y.domain));
        let mut links = s.list_links_for_org(&o.id).await?;
        links.sort_by(|x, y| x.app_id.cmp(&y.app_id));
        let mut conns = s.list_connections(&o.id).await?;
        conns.sort_by(|x, y| x.id.cmp(&y.id));
        let mut members = all_members(s, &o.id).await?;
        members.sort_by(|x, y| x.user_id.cmp(&y.user_id));
        doc.orgs.push(DeclOrg {
            id: o.id.clone(),
            slug: o.slug.clone(),
            name: o.name.clone(),
            status: (o.status != d::OrgStatus::Active).then(|| o.status.into()),
            parent_id: o.parent_id.clone(),
            branding: none_if_default(o.branding.clone()).map(Into::into),
            domains: domains
                .into_iter()
                .map(|x| DomainCreate {
                    domain: x.domain.to_string(),
                    verified: x.verified.then_some(true),
                    shared: x.shared.then_some(true),
                })
                .collect(),
            apps: links
                .into_iter()
                .map(|l| LinkCreate {
                    app_id: l.app_id,
                    allowed_role_groups: l.allowed_role_groups.into_iter().collect(),
                    auth_policy: (l.auth_policy != d::LinkAuthPolicy::Inherit)
                        .then(|| LinkAuthPolicy::from(l.auth_policy)),
                    jit: l.jit.then_some(true),
                    default_roles: l.default_roles.into_iter().collect(),
                    mfa: l.mfa.map(Into::into),
                })
                .collect(),
            connections: conns
                .into_iter()
                .map(|c| ConnectionCreate {
                    id: Some(c.id.clone()),
                    name: c.name.clone(),
                    state: (c.state != d::ConnectionState::Draft).then(|| c.state.into()),
                    config: dto::ConnectionConfig::from_domain(&c.config),
                })
                .collect(),
            members: members
                .into_iter()
                .map(|m| MemberCreate {
                    user_id: m.user_id.clone(),
                    status: (m.status != d::MemberStatus::Active)
                        .then(|| MemberStatus::from(m.status)),
                    roles: dto::roles_by_app(&m.roles),
                    org_roles: m.org_roles.iter().map(|r| (*r).into()).collect(),
                })
                .collect(),
        });
    }
    let mut users = all_users(s).await?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    doc.users = users
        .into_iter()
        .map(|u| UserCreate {
            id: Some(u.id),
            email: u.email,
            email_verified: u.email_verified.then_some(true),
            name: u.name,
            password: None,
        })
        .collect();
    Ok(doc)
}
