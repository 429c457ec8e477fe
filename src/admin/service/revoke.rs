//! Member events → refresh-token revocation (DESIGN §3): which linked apps subscribe to an
//! event, and revoking a member's or a whole org's refresh-token families for them.
//!
//! Owns: the revocation triggers' lookup. Must not touch: when an event happens (the
//! aggregate files call in), token storage internals.

use super::{Ctx, SResult};
use crate::domain::{self as d, *};
use std::collections::BTreeSet;

/// Apps linked to `org` (optionally only `only`) that revoke on `event`.
pub(super) async fn apps_revoking_on(
    ctx: &Ctx<'_>,
    org: &OrgId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<BTreeSet<AppId>> {
    let mut out = BTreeSet::new();
    for link in ctx.storage.list_links_for_org(org).await? {
        if only.is_some_and(|o| !o.contains(&link.app_id)) {
            continue;
        }
        if let Some(app) = ctx.storage.get_app(&link.app_id).await?
            && app.revoke_on.contains(&event)
        {
            out.insert(app.id);
        }
    }
    Ok(out)
}

/// Revoke a member's refresh-token families for the apps that subscribe to `event`.
pub async fn revoke_member(
    ctx: &Ctx<'_>,
    org: &OrgId,
    user: &UserId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<u64> {
    let apps = apps_revoking_on(ctx, org, event, only).await?;
    if apps.is_empty() {
        return Ok(0);
    }
    let n = ctx
        .storage
        .revoke_member_families(org, user, Some(&apps), ctx.now())
        .await?;
    crate::ops::metrics::families_revoked(event.as_str(), n);
    if n > 0 {
        tracing::info!(org = %org, user = %user, event = ?event, revoked = n, "member event revoked refresh tokens");
    }
    Ok(n)
}

/// Revoke every member's refresh-token families of an org for the apps subscribing to `event`.
pub async fn revoke_org(
    ctx: &Ctx<'_>,
    org: &OrgId,
    event: d::MemberEvent,
    only: Option<&BTreeSet<AppId>>,
) -> SResult<u64> {
    let apps = apps_revoking_on(ctx, org, event, only).await?;
    if apps.is_empty() {
        return Ok(0);
    }
    let n = ctx
        .storage
        .revoke_org_families(org, Some(&apps), ctx.now())
        .await?;
    crate::ops::metrics::families_revoked(event.as_str(), n);
    if n > 0 {
        tracing::info!(org = %org, event = ?event, revoked = n, "org event revoked refresh tokens");
    }
    Ok(n)
}

/// Apps whose member roles differ between two role maps.
pub(super) fn changed_apps(a: &AppRoles, b: &AppRoles) -> BTreeSet<AppId> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k).filter(|v| !v.is_empty()) != b.get(*k).filter(|v| !v.is_empty()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_apps_ignores_empty_sets() {
        let a = AppId::parse("a").unwrap();
        let b = AppId::parse("b").unwrap();
        let r = |s: &str| RoleValue::parse(s).unwrap();
        let x: AppRoles = [(a.clone(), [r("x")].into()), (b.clone(), BTreeSet::new())].into();
        let y: AppRoles = [(a.clone(), [r("x")].into())].into();
        assert!(changed_apps(&x, &y).is_empty());
        let z: AppRoles = [(a.clone(), [r("y")].into())].into();
        assert_eq!(changed_apps(&x, &z), [a].into());
    }
}
