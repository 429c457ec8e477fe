//! Connections of an org: the builder, sealing the upstream (OIDC) client secret before it is
//! stored, and creating, updating and deleting connections.
//!
//! Owns: the connection writes and the sealing of their secrets. Must not touch: talking to
//! the upstream (`connection_ops`, `crate::upstream`).

use super::{
    Ctx, MAX_ATTEMPTS, SResult, ServiceError, StoreView, check_connection, check_version,
    require_org, retry,
};
use crate::admin::dto::{self, ConnectionCreate, ConnectionPatch, ConnectionResponse};
use crate::domain::*;
use crate::storage::Storage;
use time::OffsetDateTime;

fn upstream_secret(c: &Connection) -> Option<&Secret> {
    match &c.config {
        ConnectionConfig::Oidc(o) => o.client_secret.as_ref(),
        _ => None,
    }
}

/// Seal the upstream (OIDC) client secret of `c` before it is stored (sealing of secrets at
/// rest: never stored in clear). A secret kept from `existing` is already sealed; a plaintext
/// secret equal to what `existing` holds keeps the stored sealed value (so a repeated import
/// changes nothing).
pub fn seal_upstream_secret(
    seal: Option<&crate::keys::seal::SealKey>,
    c: &mut Connection,
    existing: Option<&Connection>,
) -> SResult<()> {
    let ConnectionConfig::Oidc(o) = &mut c.config else {
        return Ok(());
    };
    let Some(secret) = &o.client_secret else {
        return Ok(());
    };
    let stored = existing.and_then(upstream_secret);
    if stored == Some(secret) {
        return Ok(());
    }
    let Some(seal) = seal else {
        return Err(ServiceError::invalid(
            "config.client_secret",
            "an upstream client secret can only be stored where the secret key is available (use the admin API or `lobby import`)",
        ));
    };
    if let Some(st) = stored
        && seal
            .open(st.expose())
            .is_ok_and(|plain| plain == secret.expose().as_bytes())
    {
        o.client_secret = Some(st.clone());
        return Ok(());
    }
    if secret.is_empty() || secret.expose().len() > 1024 {
        return Err(ServiceError::invalid(
            "config.client_secret",
            "must be 1-1024 characters",
        ));
    }
    let sealed = seal
        .seal(secret.expose().as_bytes())
        .map_err(ServiceError::internal)?;
    o.client_secret = Some(Secret::new(sealed));
    Ok(())
}

pub fn build_connection(
    org: &OrgId,
    req: ConnectionCreate,
    existing: Option<&Connection>,
    now: OffsetDateTime,
) -> SResult<Connection> {
    if let Some(e) = existing
        && dto::ConnectionKind::from(e.kind()) != req.config.kind()
    {
        return Err(ServiceError::invalid(
            "config.kind",
            "the kind of a connection cannot change; create a new connection",
        ));
    }
    let c = Connection {
        id: req
            .id
            .or_else(|| existing.map(|c| c.id.clone()))
            .unwrap_or_else(ConnectionId::generate),
        org_id: org.clone(),
        name: req.name,
        state: req.state.map(Into::into).unwrap_or_default(),
        config: req.config.into_domain(existing.and_then(upstream_secret)),
        version: existing.map(|c| c.version).unwrap_or(1),
        created_at: existing.map(|c| c.created_at).unwrap_or(now),
        updated_at: existing.map(|c| c.updated_at).unwrap_or(now),
    };
    c.validate()?;
    Ok(c)
}

pub async fn require_connection(
    s: &dyn Storage,
    org: &OrgId,
    id: &ConnectionId,
) -> SResult<Connection> {
    s.get_connection(org, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("connection"))
}

/// `email_authority: any_domain` makes a connection's IdP vouch for addresses in domains its org
/// never proved it owns (issue 13 item 3): only the operator (or an import, which only the
/// operator runs, or the vendor's admin client, which acts as the operator) may turn it on;
/// the change is in the connection's audit event.
fn check_email_authority(
    ctx: &Ctx<'_>,
    before: Option<&Connection>,
    after: &Connection,
) -> SResult<()> {
    let any = crate::domain::EmailAuthority::AnyDomain;
    let was = before.map(|c| c.config.email_authority());
    if after.config.email_authority() == any
        && was != Some(any)
        && !matches!(ctx.actor.as_str(), "operator" | "import")
        && !ctx.actor.starts_with("client:")
    {
        return Err(ServiceError::invalid(
            "config.email_authority",
            "only the operator may make a connection an authority for any email domain",
        ));
    }
    Ok(())
}

pub async fn create_connection(
    ctx: &Ctx<'_>,
    org: &OrgId,
    req: ConnectionCreate,
) -> SResult<Connection> {
    require_org(ctx.storage, org).await?;
    let mut c = build_connection(org, req, None, ctx.now())?;
    check_email_authority(ctx, None, &c)?;
    seal_upstream_secret(ctx.seal, &mut c, None)?;
    check_connection(&StoreView(ctx.storage), &c).await?;
    if ctx
        .storage
        .get_connection_for_callback(&c.id)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "duplicate",
            "A connection with this id already exists.",
        ));
    }
    ctx.storage.create_connection(&c).await?;
    ctx.audit(
        Some(org),
        "connection.create",
        ("connection", c.id.as_str()),
        None::<&()>,
        Some(&ConnectionResponse::from(&c)),
    )
    .await?;
    Ok(c)
}

pub async fn update_connection(
    ctx: &Ctx<'_>,
    org: &OrgId,
    id: &ConnectionId,
    p: ConnectionPatch,
) -> SResult<Connection> {
    for attempt in 0..MAX_ATTEMPTS {
        let cur = require_connection(ctx.storage, org, id).await?;
        check_version(p.version, cur.version)?;
        let mut next = cur.clone();
        if let Some(n) = &p.name {
            next.name = n.clone();
        }
        if let Some(s) = p.state {
            next.state = s.into();
        }
        if let Some(c) = &p.config {
            if c.kind() != cur.kind().into() {
                return Err(ServiceError::invalid(
                    "config.kind",
                    "the kind of a connection cannot change; create a new connection",
                ));
            }
            next.config = c.clone().into_domain(upstream_secret(&cur));
            check_email_authority(ctx, Some(&cur), &next)?;
            seal_upstream_secret(ctx.seal, &mut next, Some(&cur))?;
        }
        next.updated_at = ctx.now();
        check_connection(&StoreView(ctx.storage), &next).await?;
        match ctx.storage.update_connection(&next).await {
            Ok(stored) => {
                ctx.audit(
                    Some(org),
                    "connection.update",
                    ("connection", id.as_str()),
                    Some(&ConnectionResponse::from(&cur)),
                    Some(&ConnectionResponse::from(&stored)),
                )
                .await?;
                return Ok(stored);
            }
            Err(e) if retry(&e, p.version, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::version_conflict())
}

pub async fn delete_connection(ctx: &Ctx<'_>, org: &OrgId, id: &ConnectionId) -> SResult<()> {
    let cur = require_connection(ctx.storage, org, id).await?;
    for link in ctx.storage.list_links_for_org(org).await? {
        if let LinkAuthPolicy::Connections { connection_ids } = &link.auth_policy
            && connection_ids.contains(id)
        {
            return Err(ServiceError::conflict(
                "in_use",
                format!(
                    "The auth policy of the link to app {} still uses this connection; change it first.",
                    link.app_id
                ),
            ));
        }
    }
    ctx.storage.delete_connection(org, id).await?;
    ctx.audit(
        Some(org),
        "connection.delete",
        ("connection", id.as_str()),
        Some(&ConnectionResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
