//! From file elements to domain objects: each element goes through the same builder as the
//! API (`service::build_*`), is checked for duplicates within the file and against stored
//! keys (client ids, slugs, connection ids, emails), and is noted next to what is stored
//! under its key ([`Existing`]).
//!
//! Owns: the error paths of elements (`orgs[1].members[0]`) and the rules that need no other
//! object. Must not touch: cross-object rules (`overlay`), writing (`plan`).

use super::overlay::FileObjects;
use super::plan::Planner;
use super::{Document, ImportError};
use crate::admin::dto::OrgCreate;
use crate::admin::service::{self, MissingSecret};
use crate::domain::*;
use crate::storage::{PageRequest, UserFilter};
use std::collections::BTreeMap;

fn dup(field: String, what: &str) -> ImportError {
    ImportError::invalid(field, format!("{what} appears more than once in the file"))
}

fn require_id<T: Clone>(id: &Option<T>, field: String) -> Result<T, ImportError> {
    id.clone().ok_or_else(|| {
        ImportError::invalid(
            field,
            "an id is required in a declarative file (it keeps imports idempotent)",
        )
    })
}

/// Where each file object came from (for error paths) and what is stored under its key.
#[derive(Default)]
pub(super) struct Existing {
    pub(super) apps: BTreeMap<AppId, (String, Option<App>)>,
    pub(super) roles: BTreeMap<(AppId, RoleValue), (String, Option<Role>)>,
    pub(super) groups: BTreeMap<(AppId, RoleGroupId), (String, Option<RoleGroup>)>,
    pub(super) orgs: BTreeMap<OrgId, (String, Option<Org>)>,
    pub(super) links: BTreeMap<(OrgId, AppId), (String, Option<OrgAppLink>)>,
    pub(super) domains: BTreeMap<(OrgId, EmailDomain), (String, Option<OrgDomain>)>,
    pub(super) connections: BTreeMap<(OrgId, ConnectionId), (String, Option<Connection>)>,
    pub(super) users: BTreeMap<UserId, (String, Option<User>)>,
    pub(super) members: BTreeMap<(OrgId, UserId), (String, Option<Membership>)>,
}

/// Turn every element into its domain object (same builders as the API), noting what is
/// stored under the same key. Checks that need no other object happen here.
pub(super) async fn build(
    p: &mut Planner<'_>,
    doc: Document,
) -> Result<(FileObjects, Existing), ImportError> {
    let s = p.store;
    let now = p.now;
    let mut f = FileObjects::default();
    let mut x = Existing::default();
    let mut client_ids: BTreeMap<ClientId, String> = BTreeMap::new();
    let mut group_ids: BTreeMap<RoleGroupId, String> = BTreeMap::new();

    for (i, a) in doc.apps.into_iter().enumerate() {
        let at = format!("apps[{i}]");
        if x.apps.contains_key(&a.id) {
            return Err(dup(format!("{at}.id"), &format!("app {}", a.id)));
        }
        let stored = s.get_app(&a.id).await?;
        let (req, roles, groups) = a.split();
        let (app, _) = service::build_app(req, stored.as_ref(), now, MissingSecret::KeepOrRefuse)
            .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = client_ids.insert(app.client_id.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.client_id"),
                format!("client_id is already used by {prev}"),
            ));
        }
        if let Some(other) = s.get_app_by_client_id(&app.client_id).await?
            && other.id != app.id
        {
            return Err(ImportError::invalid(
                format!("{at}.client_id"),
                format!("client_id is already used by the stored app {}", other.id),
            ));
        }
        for (j, r) in roles.into_iter().enumerate() {
            let rat = format!("{at}.roles[{j}]");
            let role =
                service::build_role(&app.id, r).map_err(|e| ImportError::from_service(e, &rat))?;
            let key = (app.id.clone(), role.value.clone());
            if x.roles.contains_key(&key) {
                return Err(dup(format!("{rat}.value"), &format!("role {}", role.value)));
            }
            let stored = s.get_role(&app.id, &role.value).await?;
            f.roles
                .entry(app.id.clone())
                .or_default()
                .insert(role.value.clone(), role);
            x.roles.insert(key, (rat, stored));
        }
        for (j, g) in groups.into_iter().enumerate() {
            let gat = format!("{at}.role_groups[{j}]");
            let id = require_id(&g.id, format!("{gat}.id"))?;
            if let Some(prev) = group_ids.insert(id.clone(), gat.clone()) {
                return Err(ImportError::invalid(
                    format!("{gat}.id"),
                    format!("role group id {id} is already used by {prev}"),
                ));
            }
            let stored = s.get_role_group(&app.id, &id).await?;
            let group = service::build_role_group(&app.id, g, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &gat))?;
            f.groups
                .entry(app.id.clone())
                .or_default()
                .insert(id.clone(), group);
            x.groups.insert((app.id.clone(), id), (gat, stored));
        }
        x.apps.insert(app.id.clone(), (at, stored));
        f.apps.insert(app.id.clone(), app);
    }

    let mut slugs: BTreeMap<Slug, String> = BTreeMap::new();
    let mut conn_ids: BTreeMap<ConnectionId, String> = BTreeMap::new();
    for (i, o) in doc.orgs.into_iter().enumerate() {
        let at = format!("orgs[{i}]");
        if x.orgs.contains_key(&o.id) {
            return Err(dup(format!("{at}.id"), &format!("organization {}", o.id)));
        }
        let stored_org = s.get_org(&o.id).await?;
        let org = service::build_org(
            OrgCreate {
                id: Some(o.id.clone()),
                slug: o.slug,
                name: o.name,
                status: o.status,
                parent_id: o.parent_id,
                branding: o.branding,
            },
            stored_org.as_ref(),
            now,
        )
        .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = slugs.insert(org.slug.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.slug"),
                format!("slug is already used by {prev}"),
            ));
        }
        if let Some(other) = s.get_org_by_slug(&org.slug).await?
            && other.id != org.id
        {
            return Err(ImportError::invalid(
                format!("{at}.slug"),
                format!(
                    "slug is already used by the stored organization {}",
                    other.id
                ),
            ));
        }
        for (j, dm) in o.domains.into_iter().enumerate() {
            let dat = format!("{at}.domains[{j}]");
            let parsed = EmailDomain::parse(&dm.domain)
                .map_err(|e| ImportError::from_service(e.into(), &dat))?;
            let key = (org.id.clone(), parsed.clone());
            if x.domains.contains_key(&key) {
                return Err(dup(format!("{dat}.domain"), &format!("domain {parsed}")));
            }
            let stored = if stored_org.is_some() {
                s.get_domain(&org.id, &parsed).await?
            } else {
                None
            };
            let dom = service::build_domain(&org.id, dm, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &dat))?;
            f.domains
                .entry(org.id.clone())
                .or_default()
                .insert(parsed, dom);
            x.domains.insert(key, (dat, stored));
        }
        for (j, l) in o.apps.into_iter().enumerate() {
            let lat = format!("{at}.apps[{j}]");
            let key = (org.id.clone(), l.app_id.clone());
            if x.links.contains_key(&key) {
                return Err(dup(
                    format!("{lat}.app_id"),
                    &format!("link to app {}", l.app_id),
                ));
            }
            let stored = if stored_org.is_some() {
                s.get_link(&org.id, &l.app_id).await?
            } else {
                None
            };
            let link = service::build_link(&org.id, l, stored.as_ref(), now);
            f.links
                .entry(org.id.clone())
                .or_default()
                .insert(link.app_id.clone(), link);
            x.links.insert(key, (lat, stored));
        }
        for (j, c) in o.connections.into_iter().enumerate() {
            let cat = format!("{at}.connections[{j}]");
            let id = require_id(&c.id, format!("{cat}.id"))?;
            if let Some(prev) = conn_ids.insert(id.clone(), cat.clone()) {
                return Err(ImportError::invalid(
                    format!("{cat}.id"),
                    format!("connection id {id} is already used by {prev}"),
                ));
            }
            let stored = s.get_connection_for_callback(&id).await?;
            if let Some(sc) = &stored
                && sc.org_id != org.id
            {
                return Err(ImportError::invalid(
                    format!("{cat}.id"),
                    format!(
                        "connection id {id} already belongs to another organization ({})",
                        sc.org_id
                    ),
                ));
            }
            let mut conn = service::build_connection(&org.id, c, stored.as_ref(), now)
                .map_err(|e| ImportError::from_service(e, &cat))?;
            service::seal_upstream_secret(p.seal, &mut conn, stored.as_ref())
                .map_err(|e| ImportError::from_service(e, &cat))?;
            f.connections
                .entry(org.id.clone())
                .or_default()
                .insert(id.clone(), conn);
            x.connections.insert((org.id.clone(), id), (cat, stored));
        }
        for (j, m) in o.members.into_iter().enumerate() {
            let mat = format!("{at}.members[{j}]");
            let key = (org.id.clone(), m.user_id.clone());
            if x.members.contains_key(&key) {
                return Err(dup(
                    format!("{mat}.user_id"),
                    &format!("member {}", m.user_id),
                ));
            }
            let stored = if stored_org.is_some() {
                s.get_membership(&org.id, &m.user_id).await?
            } else {
                None
            };
            let mem = service::build_membership(&org.id, m, stored.as_ref(), now);
            f.members
                .entry(org.id.clone())
                .or_default()
                .insert(mem.user_id.clone(), mem);
            x.members.insert(key, (mat, stored));
        }
        x.orgs.insert(org.id.clone(), (at, stored_org));
        f.orgs.insert(org.id.clone(), org);
    }

    let mut emails: BTreeMap<Email, String> = BTreeMap::new();
    for (i, u) in doc.users.into_iter().enumerate() {
        let at = format!("users[{i}]");
        let id = require_id(&u.id, format!("{at}.id"))?;
        if x.users.contains_key(&id) {
            return Err(dup(format!("{at}.id"), &format!("user {id}")));
        }
        let stored = s.get_user(&id).await?;
        let user = service::build_user(u, stored.as_ref(), now)
            .map_err(|e| ImportError::from_service(e, &at))?;
        if let Some(prev) = emails.insert(user.email.clone(), at.clone()) {
            return Err(ImportError::invalid(
                format!("{at}.email"),
                format!("email is already used by {prev}"),
            ));
        }
        let same_email = s
            .list_users(
                &UserFilter {
                    email: Some(user.email.clone()),
                },
                &PageRequest::first(2),
            )
            .await?;
        if let Some(other) = same_email.items.iter().find(|o| o.id != user.id) {
            return Err(ImportError::invalid(
                format!("{at}.email"),
                format!("email is already used by the stored user {}", other.id),
            ));
        }
        x.users.insert(id.clone(), (at, stored));
        f.users.insert(id, user);
    }
    Ok((f, x))
}
