//! Rules that span several aggregates. Callers load what a rule needs and pass it in; the
//! rules themselves do no I/O.

use super::error::{DomainError, DomainResult};
use super::ids::{AppId, OrgId, RoleGroupId, RoleValue};
use super::membership::AppRoles;
use super::{OrgAppLink, RoleGroup};
use std::collections::{BTreeMap, BTreeSet};

/// A role group may only contain roles that exist in its own app.
pub fn check_role_group(group: &RoleGroup, app_roles: &BTreeSet<RoleValue>) -> DomainResult<()> {
    for r in &group.roles {
        if !app_roles.contains(r) {
            return Err(DomainError::new(
                "roles",
                format!("role \"{r}\" is not a role of app {}", group.app_id),
            ));
        }
    }
    Ok(())
}

/// The roles an org may hand out for an app: the union of its allowed role groups.
pub fn allowed_roles<'a>(
    link: &OrgAppLink,
    groups: impl IntoIterator<Item = &'a RoleGroup>,
) -> BTreeSet<RoleValue> {
    groups
        .into_iter()
        .filter(|g| g.app_id == link.app_id && link.allowed_role_groups.contains(&g.id))
        .flat_map(|g| g.roles.iter().cloned())
        .collect()
}

/// Member roles must come from the role groups allowed on the org's link to each app.
/// `allowed` maps each app the org is linked to → the roles it may hand out.
pub fn check_member_roles(
    roles: &AppRoles,
    allowed: &BTreeMap<AppId, BTreeSet<RoleValue>>,
) -> DomainResult<()> {
    for (app, values) in roles {
        let Some(ok) = allowed.get(app) else {
            return Err(DomainError::new(
                format!("roles.{app}"),
                "the organization is not linked to this app",
            ));
        };
        for v in values {
            if !ok.contains(v) {
                return Err(DomainError::new(
                    format!("roles.{app}"),
                    format!("role \"{v}\" is not in the role groups allowed for this organization"),
                ));
            }
        }
    }
    Ok(())
}

/// A child org can only be given role groups its parent has for that app.
/// `parent_groups` is `None` when the parent is not linked to the app at all.
pub fn check_child_role_groups(
    child_groups: &BTreeSet<RoleGroupId>,
    parent_groups: Option<&BTreeSet<RoleGroupId>>,
) -> DomainResult<()> {
    let empty = BTreeSet::new();
    let parent = parent_groups.unwrap_or(&empty);
    if let Some(g) = child_groups.iter().find(|g| !parent.contains(*g)) {
        return Err(DomainError::new(
            "allowed_role_groups",
            format!("role group {g} is not allowed for the parent organization on this app"),
        ));
    }
    Ok(())
}

/// Setting `new_parent` as the parent of `org` must not create a cycle.
/// `ancestors_of_new_parent` lists the new parent's ancestors (nearest first).
pub fn check_parent(
    org: &OrgId,
    new_parent: &OrgId,
    ancestors_of_new_parent: &[OrgId],
) -> DomainResult<()> {
    if org == new_parent || ancestors_of_new_parent.contains(org) {
        return Err(DomainError::new(
            "parent_id",
            "an organization cannot be its own ancestor",
        ));
    }
    Ok(())
}

/// Default roles of a link must lie inside its allowed role groups.
pub fn check_link_defaults(link: &OrgAppLink, groups: &[RoleGroup]) -> DomainResult<()> {
    let ok = allowed_roles(link, groups);
    for r in &link.default_roles {
        if !ok.contains(r) {
            return Err(DomainError::new(
                "default_roles",
                format!("role \"{r}\" is not in the allowed role groups"),
            ));
        }
    }
    for g in &link.allowed_role_groups {
        if !groups.iter().any(|x| &x.id == g && x.app_id == link.app_id) {
            return Err(DomainError::new(
                "allowed_role_groups",
                format!("role group {g} does not exist in app {}", link.app_id),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LinkAuthPolicy, OrgAppLink};
    use time::OffsetDateTime;

    fn rv(s: &str) -> RoleValue {
        RoleValue::parse(s).unwrap()
    }
    fn group(id: &str, app: &str, roles: &[&str]) -> RoleGroup {
        RoleGroup {
            id: RoleGroupId::parse(id).unwrap(),
            app_id: AppId::parse(app).unwrap(),
            name: id.into(),
            roles: roles.iter().map(|r| rv(r)).collect(),
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }
    fn link(app: &str, groups: &[&str]) -> OrgAppLink {
        OrgAppLink {
            org_id: OrgId::parse("acme").unwrap(),
            app_id: AppId::parse(app).unwrap(),
            allowed_role_groups: groups
                .iter()
                .map(|g| RoleGroupId::parse(g).unwrap())
                .collect(),
            auth_policy: LinkAuthPolicy::Inherit,
            jit: false,
            default_roles: BTreeSet::new(),
            mfa: None,
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn role_group_only_has_roles_of_its_app() {
        let g = group("narrow", "crm", &["sales", "finance"]);
        let app_roles: BTreeSet<_> = [rv("sales")].into();
        assert!(check_role_group(&g, &app_roles).is_err());
        let app_roles: BTreeSet<_> = [rv("sales"), rv("finance")].into();
        assert!(check_role_group(&g, &app_roles).is_ok());
    }

    #[test]
    fn member_roles_must_come_from_allowed_groups() {
        let groups = [
            group("narrow", "crm", &["sales"]),
            group("broad", "crm", &["sales", "finance"]),
        ];
        let l = link("crm", &["narrow"]);
        let allowed: BTreeMap<_, _> = [(l.app_id.clone(), allowed_roles(&l, &groups))].into();
        let ok: AppRoles = [(l.app_id.clone(), [rv("sales")].into())].into();
        assert!(check_member_roles(&ok, &allowed).is_ok());
        let bad: AppRoles = [(l.app_id.clone(), [rv("finance")].into())].into();
        assert!(check_member_roles(&bad, &allowed).is_err());
        let other_app: AppRoles = [(AppId::parse("erp").unwrap(), [rv("sales")].into())].into();
        assert!(check_member_roles(&other_app, &allowed).is_err());
    }

    #[test]
    fn child_gets_only_parent_groups() {
        let parent: BTreeSet<_> = [RoleGroupId::parse("narrow").unwrap()].into();
        let child_ok: BTreeSet<_> = [RoleGroupId::parse("narrow").unwrap()].into();
        let child_bad: BTreeSet<_> = [RoleGroupId::parse("broad").unwrap()].into();
        assert!(check_child_role_groups(&child_ok, Some(&parent)).is_ok());
        assert!(check_child_role_groups(&child_bad, Some(&parent)).is_err());
        assert!(check_child_role_groups(&child_ok, None).is_err());
        assert!(check_child_role_groups(&BTreeSet::new(), None).is_ok());
    }

    #[test]
    fn no_cycles() {
        let a = OrgId::parse("a").unwrap();
        let b = OrgId::parse("b").unwrap();
        let c = OrgId::parse("c").unwrap();
        assert!(check_parent(&a, &a, &[]).is_err());
        // c's ancestors are b, a: making a a child of c closes a loop.
        assert!(check_parent(&a, &c, &[b.clone(), a.clone()]).is_err());
        assert!(check_parent(&c, &a, &[]).is_ok());
    }

    #[test]
    fn link_defaults_inside_groups() {
        let groups = [group("narrow", "crm", &["sales"])];
        let mut l = link("crm", &["narrow"]);
        l.default_roles = [rv("sales")].into();
        assert!(check_link_defaults(&l, &groups).is_ok());
        l.default_roles = [rv("finance")].into();
        assert!(check_link_defaults(&l, &groups).is_err());
        let l2 = link("crm", &["missing"]);
        assert!(check_link_defaults(&l2, &groups).is_err());
    }
}
