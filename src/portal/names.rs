//! Apps by their display names on portal pages: the lists store app ids (roles per app), the
//! pages show the app's name, falling back to the id when the app is gone.
//!
//! Owns: turning app ids into words. Must not touch: rights or writes.

use super::view::PortalError;
use crate::domain::{AppId, AppRoles};
use crate::storage::Storage;
use std::collections::{BTreeMap, BTreeSet};

/// The display names of `ids` (an unknown app keeps its id).
pub async fn app_names(
    s: &dyn Storage,
    ids: &BTreeSet<AppId>,
) -> Result<BTreeMap<AppId, String>, PortalError> {
    let mut out = BTreeMap::new();
    for id in ids {
        let name = s
            .get_app(id)
            .await?
            .map_or_else(|| id.to_string(), |a| a.name);
        out.insert(id.clone(), name);
    }
    Ok(out)
}

/// Every app that `roles` name.
pub fn apps_in<'a>(roles: impl IntoIterator<Item = &'a AppRoles>) -> BTreeSet<AppId> {
    roles.into_iter().flat_map(|r| r.keys().cloned()).collect()
}

/// `CRM: sales, finance; HR: staff` (apps by name, in name order; apps without roles left out).
pub fn roles_in_words(r: &AppRoles, names: &BTreeMap<AppId, String>) -> String {
    let mut parts: Vec<(String, String)> = r
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(a, v)| {
            let name = names.get(a).cloned().unwrap_or_else(|| a.to_string());
            let vs: Vec<&str> = v.iter().map(|x| x.as_str()).collect();
            (name, vs.join(", "))
        })
        .collect();
    parts.sort();
    parts
        .into_iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RoleValue;

    #[test]
    fn roles_read_with_app_names() {
        let (crm, hr, gone) = (
            AppId::parse("app_crm").unwrap(),
            AppId::parse("app_hr").unwrap(),
            AppId::parse("app_gone").unwrap(),
        );
        let rv = |s: &str| RoleValue::parse(s).unwrap();
        let roles: AppRoles = [
            (crm.clone(), [rv("sales"), rv("finance")].into()),
            (hr.clone(), [rv("staff")].into()),
            (gone.clone(), [rv("x")].into()),
            (AppId::parse("app_none").unwrap(), [].into()),
        ]
        .into();
        let names = [(crm, "CRM".to_owned()), (hr, "Human Resources".to_owned())].into();
        assert_eq!(
            roles_in_words(&roles, &names),
            "CRM: finance, sales; Human Resources: staff; app_gone: x"
        );
    }
}
