//! The import: parse, build, validate, then diff every object against what is stored
//! (ignoring versions and timestamps, so a second run changes nothing), record the changes
//! and their audit events, and apply them all in one `Storage::apply_changes` transaction.
//!
//! Owns: the diff, the order of upserts (parents first) and the [`ImportSummary`]. Must not
//! touch: building and validating elements (`build`, `overlay`).

use super::build::{Existing, build};
use super::overlay::{FileObjects, validate};
use super::{ImportError, parse};
use crate::admin::dto;
use crate::admin::service::{audit_event, summary};
use crate::domain::*;
use crate::storage::{Change, Storage};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// What an import did, per kind of object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// kind → (created, updated, unchanged).
    pub by_kind: BTreeMap<&'static str, (usize, usize, usize)>,
}

impl ImportSummary {
    /// Number of objects written.
    pub fn changes(&self) -> usize {
        self.created + self.updated
    }
    fn count(&mut self, kind: &'static str, outcome: Diff) {
        let e = self.by_kind.entry(kind).or_default();
        match outcome {
            Diff::Created => {
                self.created += 1;
                e.0 += 1;
            }
            Diff::Updated => {
                self.updated += 1;
                e.1 += 1;
            }
            Diff::Unchanged => {
                self.unchanged += 1;
                e.2 += 1;
            }
        }
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "import: {} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Diff {
    Created,
    Updated,
    Unchanged,
}

/// Compare a desired object with the stored one, ignoring bookkeeping fields; bump the
/// version and `updated_at` of changed objects.
fn diff<T: Clone + PartialEq>(
    desired: &mut T,
    existing: Option<&T>,
    now: OffsetDateTime,
    bookkeeping: impl Fn(&mut T) -> (&mut i64, Option<&mut OffsetDateTime>),
) -> Diff {
    let Some(e) = existing else {
        return Diff::Created;
    };
    if desired == e {
        return Diff::Unchanged;
    }
    let (version, updated_at) = bookkeeping(desired);
    *version += 1;
    if let Some(u) = updated_at {
        *u = now;
    }
    Diff::Updated
}

pub(super) struct Planner<'a> {
    pub(super) store: &'a dyn Storage,
    /// Seals upstream client secrets (`None`: a file that sets one is refused).
    pub(super) seal: Option<&'a crate::keys::seal::SealKey>,
    pub(super) actor: &'a str,
    pub(super) now: OffsetDateTime,
    pub(super) changes: Vec<Change>,
    pub(super) audits: Vec<Change>,
    pub(super) summary: ImportSummary,
}

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    fn record<T: Serialize>(
        &mut self,
        kind: &'static str,
        outcome: Diff,
        change: Change,
        org: Option<&OrgId>,
        target: (&str, &str),
        before: Option<&T>,
        after: &T,
    ) {
        self.summary.count(kind, outcome);
        let action = match outcome {
            Diff::Created => "create",
            Diff::Updated => "update",
            Diff::Unchanged => return,
        };
        self.changes.push(change);
        self.audits.push(Change::Audit(audit_event(
            self.actor,
            None,
            self.now,
            org,
            &format!("{}.{action}", target.0),
            target,
            summary(before),
            summary(Some(after)),
        )));
    }
}

/// Import a YAML document: validate everything, then apply all changes in one transaction.
/// Without a seal key, a file that sets an upstream (OIDC) `client_secret` is refused: use
/// [`import_sealed`] (what `lobby import` should call, with `SealKey::from_config`).
pub async fn import(
    storage: &dyn Storage,
    yaml: &str,
    actor: &str,
) -> Result<ImportSummary, ImportError> {
    import_sealed(storage, None, yaml, actor).await
}

/// [`import`] that seals upstream client secrets with `seal` before storing them.
pub async fn import_sealed(
    storage: &dyn Storage,
    seal: Option<&crate::keys::seal::SealKey>,
    yaml: &str,
    actor: &str,
) -> Result<ImportSummary, ImportError> {
    let doc = parse(yaml)?;
    let now = trunc_millis(OffsetDateTime::now_utc());
    let mut p = Planner {
        store: storage,
        seal,
        actor,
        now,
        changes: Vec::new(),
        audits: Vec::new(),
        summary: ImportSummary::default(),
    };
    let (file, existing) = build(&mut p, doc).await.map_err(|e| e.with_line(yaml))?;
    validate(storage, &file, &existing)
        .await
        .map_err(|e| e.with_line(yaml))?;
    plan_changes(&mut p, file, existing)?;
    if !p.changes.is_empty() {
        let mut all = std::mem::take(&mut p.changes);
        all.append(&mut p.audits);
        storage.apply_changes(&all).await?;
    }
    Ok(p.summary)
}

/// Parents before children, so that each upsert finds its parent stored.
fn orgs_parent_first(orgs: BTreeMap<OrgId, Org>) -> Vec<Org> {
    let mut placed: BTreeSet<OrgId> = BTreeSet::new();
    let mut pending: Vec<Org> = orgs.into_values().collect();
    let in_file: BTreeSet<OrgId> = pending.iter().map(|o| o.id.clone()).collect();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let (ready, rest): (Vec<Org>, Vec<Org>) = pending.into_iter().partition(|o| {
            o.parent_id
                .as_ref()
                .is_none_or(|p| !in_file.contains(p) || placed.contains(p))
        });
        for o in ready {
            placed.insert(o.id.clone());
            out.push(o);
        }
        pending = rest;
        if pending.len() == before {
            // A cycle would have been refused by validation; keep the rest in id order.
            out.append(&mut pending);
        }
    }
    out
}

fn plan_changes(
    p: &mut Planner<'_>,
    file: FileObjects,
    mut x: Existing,
) -> Result<(), ImportError> {
    let now = p.now;
    for (id, mut app) in file.apps {
        let existing = x.apps.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut app, existing.as_ref(), now, |a| {
            (&mut a.version, Some(&mut a.updated_at))
        });
        let before = existing.as_ref().map(dto::AppResponse::from);
        let after = dto::AppResponse::from(&app);
        p.record(
            "apps",
            o,
            Change::UpsertApp(app),
            None,
            ("app", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (app, roles) in file.roles {
        for (value, role) in roles {
            let existing = x
                .roles
                .remove(&(app.clone(), value.clone()))
                .and_then(|(_, e)| e);
            let o = match &existing {
                None => Diff::Created,
                Some(e) if *e == role => Diff::Unchanged,
                Some(_) => Diff::Updated,
            };
            let before = existing.as_ref().map(dto::RoleResponse::from);
            let after = dto::RoleResponse::from(&role);
            p.record(
                "roles",
                o,
                Change::UpsertRole(role),
                None,
                ("role", &format!("{app}/{value}")),
                before.as_ref(),
                &after,
            );
        }
    }
    for (app, groups) in file.groups {
        for (id, mut g) in groups {
            let existing = x
                .groups
                .remove(&(app.clone(), id.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut g, existing.as_ref(), now, |g| {
                (&mut g.version, Some(&mut g.updated_at))
            });
            let before = existing.as_ref().map(dto::RoleGroupResponse::from);
            let after = dto::RoleGroupResponse::from(&g);
            p.record(
                "role_groups",
                o,
                Change::UpsertRoleGroup(g),
                None,
                ("role_group", id.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for mut org in orgs_parent_first(file.orgs) {
        let id = org.id.clone();
        let existing = x.orgs.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut org, existing.as_ref(), now, |o| {
            (&mut o.version, Some(&mut o.updated_at))
        });
        let before = existing.as_ref().map(dto::OrgResponse::from);
        let after = dto::OrgResponse::from(&org);
        p.record(
            "orgs",
            o,
            Change::UpsertOrg(org),
            Some(&id),
            ("org", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (org, conns) in file.connections {
        for (id, mut c) in conns {
            let existing = x
                .connections
                .remove(&(org.clone(), id.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut c, existing.as_ref(), now, |c| {
                (&mut c.version, Some(&mut c.updated_at))
            });
            let before = existing.as_ref().map(dto::ConnectionResponse::from);
            let after = dto::ConnectionResponse::from(&c);
            p.record(
                "connections",
                o,
                Change::UpsertConnection(c),
                Some(&org),
                ("connection", id.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for (org, links) in file.links {
        for (app, mut l) in links {
            let existing = x
                .links
                .remove(&(org.clone(), app.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut l, existing.as_ref(), now, |l| {
                (&mut l.version, Some(&mut l.updated_at))
            });
            let before = existing.as_ref().map(dto::LinkResponse::from);
            let after = dto::LinkResponse::from(&l);
            p.record(
                "links",
                o,
                Change::UpsertLink(l),
                Some(&org),
                ("link", &format!("{org}/{app}")),
                before.as_ref(),
                &after,
            );
        }
    }
    for (org, doms) in file.domains {
        for (name, dm) in doms {
            let existing = x
                .domains
                .remove(&(org.clone(), name.clone()))
                .and_then(|(_, e)| e);
            let o = match &existing {
                None => Diff::Created,
                Some(e) if *e == dm => Diff::Unchanged,
                Some(_) => Diff::Updated,
            };
            let before = existing.as_ref().map(dto::DomainResponse::from);
            let after = dto::DomainResponse::from(&dm);
            p.record(
                "domains",
                o,
                Change::UpsertDomain(dm),
                Some(&org),
                ("domain", name.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    for (id, mut u) in file.users {
        let existing = x.users.remove(&id).and_then(|(_, e)| e);
        let o = diff(&mut u, existing.as_ref(), now, |u| {
            (&mut u.version, Some(&mut u.updated_at))
        });
        let before = existing.as_ref().map(dto::UserResponse::from);
        let after = dto::UserResponse::from(&u);
        p.record(
            "users",
            o,
            Change::UpsertUser(u),
            None,
            ("user", id.as_str()),
            before.as_ref(),
            &after,
        );
    }
    for (org, members) in file.members {
        for (user, mut m) in members {
            let existing = x
                .members
                .remove(&(org.clone(), user.clone()))
                .and_then(|(_, e)| e);
            let o = diff(&mut m, existing.as_ref(), now, |m| {
                (&mut m.version, Some(&mut m.updated_at))
            });
            let before = existing.as_ref().map(dto::MemberResponse::from);
            let after = dto::MemberResponse::from(&m);
            p.record(
                "members",
                o,
                Change::UpsertMembership(m),
                Some(&org),
                ("member", user.as_str()),
                before.as_ref(),
                &after,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain as d;

    #[test]
    fn parents_come_first() {
        let mk = |id: &str, parent: Option<&str>| Org {
            id: OrgId::parse(id).unwrap(),
            slug: Slug::parse(&format!("s-{id}")).unwrap(),
            name: id.into(),
            status: d::OrgStatus::Active,
            parent_id: parent.map(|p| OrgId::parse(p).unwrap()),
            branding: Default::default(),
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let orgs: BTreeMap<OrgId, Org> = [
            mk("a-child", Some("z-parent")),
            mk("b", None),
            mk("c-grandchild", Some("a-child")),
            mk("z-parent", None),
        ]
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
        let order: Vec<String> = orgs_parent_first(orgs)
            .into_iter()
            .map(|o| o.id.to_string())
            .collect();
        let pos = |s: &str| order.iter().position(|x| x == s).unwrap();
        assert!(pos("z-parent") < pos("a-child"));
        assert!(pos("a-child") < pos("c-grandchild"));
    }
}
