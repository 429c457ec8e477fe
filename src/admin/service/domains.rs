//! Email domains of an org: the builder, creating, updating and deleting domains, and
//! verifying one through its DNS TXT challenge.
//!
//! Owns: when a domain becomes verified. Must not touch: DNS lookups themselves
//! (`admin::dns`), home-realm discovery.

use super::rules::domain_taken;
use super::{Ctx, ErrorKind, SResult, ServiceError, StoreView, check_domain, require_org};
use crate::admin::dto::{DomainCreate, DomainPatch, DomainResponse};
use crate::domain::*;
use crate::storage::{Storage, StorageError};
use crate::upstream::dns::TxtResolver;
use time::OffsetDateTime;

pub fn build_domain(
    org: &OrgId,
    req: DomainCreate,
    existing: Option<&OrgDomain>,
    now: OffsetDateTime,
) -> SResult<OrgDomain> {
    let domain = EmailDomain::parse(&req.domain)?;
    let verified = req.verified.unwrap_or(false);
    let verified_at = match (verified, existing) {
        (false, _) => None,
        (true, Some(e)) if e.verified => e.verified_at.or(Some(now)),
        (true, _) => Some(now),
    };
    Ok(OrgDomain {
        org_id: org.clone(),
        domain,
        verified,
        verification_token: existing
            .map(|e| e.verification_token.clone())
            .unwrap_or_else(random_token),
        verified_at,
        created_at: existing.map(|e| e.created_at).unwrap_or(now),
    })
}

pub async fn require_domain(
    s: &dyn Storage,
    org: &OrgId,
    domain: &EmailDomain,
) -> SResult<OrgDomain> {
    s.get_domain(org, domain)
        .await?
        .ok_or_else(|| ServiceError::not_found("domain"))
}

pub async fn create_domain(ctx: &Ctx<'_>, org: &OrgId, req: DomainCreate) -> SResult<OrgDomain> {
    require_org(ctx.storage, org).await?;
    let dom = build_domain(org, req, None, ctx.now())?;
    if ctx.storage.get_domain(org, &dom.domain).await?.is_some() {
        return Err(ServiceError::conflict(
            "duplicate",
            "The organization already has this domain.",
        )
        .with_field("domain"));
    }
    check_domain(&StoreView(ctx.storage), &dom).await?;
    ctx.storage.create_domain(&dom).await.map_err(|e| match e {
        StorageError::Duplicate(_) if dom.verified => domain_taken(),
        e => e.into(),
    })?;
    ctx.audit(
        Some(org),
        "domain.create",
        ("domain", dom.domain.as_str()),
        None::<&()>,
        Some(&DomainResponse::from(&dom)),
    )
    .await?;
    Ok(dom)
}

async fn set_domain_verified(
    ctx: &Ctx<'_>,
    cur: OrgDomain,
    verified: bool,
    action: &str,
) -> SResult<OrgDomain> {
    if cur.verified == verified {
        return Ok(cur);
    }
    let mut next = cur.clone();
    next.verified = verified;
    next.verified_at = verified.then(|| ctx.now());
    check_domain(&StoreView(ctx.storage), &next).await?;
    ctx.storage
        .update_domain(&next)
        .await
        .map_err(|e| match e {
            StorageError::Duplicate(_) => domain_taken(),
            e => e.into(),
        })?;
    ctx.audit(
        Some(&cur.org_id),
        action,
        ("domain", cur.domain.as_str()),
        Some(&DomainResponse::from(&cur)),
        Some(&DomainResponse::from(&next)),
    )
    .await?;
    Ok(next)
}

pub async fn update_domain(
    ctx: &Ctx<'_>,
    org: &OrgId,
    domain: &EmailDomain,
    p: DomainPatch,
) -> SResult<OrgDomain> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    match p.verified {
        Some(v) => set_domain_verified(ctx, cur, v, "domain.update").await,
        None => Ok(cur),
    }
}

/// Check the DNS TXT record `_lobby-challenge.<domain>` for
/// `lobby-domain-verification=<token>` and mark the domain verified.
pub async fn verify_domain(
    ctx: &Ctx<'_>,
    resolver: &dyn TxtResolver,
    org: &OrgId,
    domain: &EmailDomain,
) -> SResult<OrgDomain> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    if cur.verified {
        return Ok(cur);
    }
    let name = cur.txt_record_name();
    let expected = cur.txt_record_value();
    let records = resolver.txt(&name).await.map_err(|e| {
        tracing::warn!(domain = %domain, error = %e, "domain verification: DNS lookup failed");
        ServiceError {
            kind: ErrorKind::Unavailable,
            code: "dns_unavailable",
            message: "The DNS lookup failed; try again in a few minutes.".into(),
            field: None,
        }
    })?;
    if !records.iter().any(|r| r.trim() == expected) {
        return Err(ServiceError {
            kind: ErrorKind::Invalid,
            code: "verification_failed",
            message: format!(
                "No TXT record {name} with the value {expected} was found. Publish it and retry (DNS changes can take a while to appear)."
            ),
            field: None,
        });
    }
    set_domain_verified(ctx, cur, true, "domain.verify").await
}

pub async fn delete_domain(ctx: &Ctx<'_>, org: &OrgId, domain: &EmailDomain) -> SResult<()> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    ctx.storage.delete_domain(org, domain).await?;
    ctx.audit(
        Some(org),
        "domain.delete",
        ("domain", domain.as_str()),
        Some(&DomainResponse::from(&cur)),
        None::<&()>,
    )
    .await
}
