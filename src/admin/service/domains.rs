//! Email domains of an org: the builder, creating, updating and deleting domains, and
//! verifying one through its DNS TXT challenge.
//!
//! Owns: when a domain becomes verified, and the audit trail of it (DNS proof, the operator's
//! manual verification, the operator's override of another org's verification, re-checks).
//! Must not touch: DNS lookups themselves (`upstream::dns`), who may call what (the handlers
//! check the caller), home-realm discovery.

use super::context::{audit_event, summary};
use super::rules::domain_taken;
use super::{Ctx, ErrorKind, SResult, ServiceError, StoreView, check_domain, require_org};
use crate::admin::dto::{DomainCreate, DomainPatch, DomainResponse};
use crate::domain::*;
use crate::storage::{Storage, StorageError};
use crate::upstream::dns::TxtResolver;
use serde_json::json;
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
        shared: req.shared.unwrap_or(false),
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
    // Created verified (the handler lets only the operator do that): no DNS proof.
    let extra = if dom.verified {
        json!({ "method": "manual", "note": MANUAL_NOTE })
    } else {
        json!({})
    };
    audit_domain(
        ctx,
        org,
        "domain.create",
        &dom.domain,
        Outcome::Success,
        None,
        Some(&dom),
        extra,
    )
    .await?;
    Ok(dom)
}

/// The audit note of a domain the operator marked verified by hand.
const MANUAL_NOTE: &str = "manually verified by operator";

/// A domain audit event: the usual before/after summary plus `extra` keys in `details`.
#[allow(clippy::too_many_arguments)]
async fn audit_domain(
    ctx: &Ctx<'_>,
    org: &OrgId,
    action: &str,
    domain: &EmailDomain,
    outcome: Outcome,
    before: Option<&OrgDomain>,
    after: Option<&OrgDomain>,
    extra: serde_json::Value,
) -> SResult<()> {
    let mut e = audit_event(
        &ctx.actor,
        ctx.request_id.clone(),
        ctx.now(),
        Some(org),
        action,
        ("domain", domain.as_str()),
        summary(before.map(DomainResponse::from).as_ref()),
        summary(after.map(DomainResponse::from).as_ref()),
    );
    e.outcome = outcome;
    if let (Some(details), serde_json::Value::Object(extra)) = (e.details.as_object_mut(), extra) {
        details.extend(extra);
    }
    ctx.storage.append_audit(&e).await?;
    Ok(())
}

/// How a domain came to be verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proof {
    /// The TXT record was found with the org's value.
    DnsTxt,
    /// The operator said so (`PATCH {"verified": true}`).
    Manual,
}

/// Mark `cur` verified. A domain verified by another org is a 409, unless `force` (the
/// handler allows it to the operator only): then the other org's copy is unverified first,
/// audited in that org as `domain.override`, and this org's event names the previous owner.
async fn mark_verified(
    ctx: &Ctx<'_>,
    cur: OrgDomain,
    proof: Proof,
    force: bool,
) -> SResult<OrgDomain> {
    if cur.verified {
        return Ok(cur);
    }
    let mut previous_owner = None;
    if let Some(owner) = ctx.storage.find_verified_domain_org(&cur.domain).await?
        && owner != cur.org_id
    {
        if !force {
            return Err(domain_taken());
        }
        if let Some(theirs) = ctx.storage.get_domain(&owner, &cur.domain).await? {
            let mut unverified = theirs.clone();
            unverified.verified = false;
            unverified.verified_at = None;
            ctx.storage.update_domain(&unverified).await?;
            audit_domain(
                ctx,
                &owner,
                "domain.override",
                &cur.domain,
                Outcome::Success,
                Some(&theirs),
                Some(&unverified),
                json!({
                    "override": true,
                    "moved_to": cur.org_id.to_string(),
                    "reason": format!(
                        "The operator overrode this organization's verification: the domain is now verified by {}.",
                        cur.org_id
                    ),
                }),
            )
            .await?;
        }
        previous_owner = Some(owner);
    }
    let mut next = cur.clone();
    next.verified = true;
    next.verified_at = Some(ctx.now());
    check_domain(&StoreView(ctx.storage), &next).await?;
    ctx.storage
        .update_domain(&next)
        .await
        .map_err(|e| match e {
            StorageError::Duplicate(_) => domain_taken(),
            e => e.into(),
        })?;
    let mut extra = match proof {
        Proof::DnsTxt => json!({ "method": "dns_txt", "txt_record_name": cur.txt_record_name() }),
        Proof::Manual => json!({ "method": "manual", "note": MANUAL_NOTE }),
    };
    if let Some(prev) = previous_owner {
        extra["override"] = json!(true);
        extra["previous_owner"] = json!(prev.to_string());
    }
    let action = match proof {
        Proof::DnsTxt => "domain.verify",
        Proof::Manual => "domain.manual_verify",
    };
    audit_domain(
        ctx,
        &cur.org_id,
        action,
        &cur.domain,
        Outcome::Success,
        Some(&cur),
        Some(&next),
        extra,
    )
    .await?;
    Ok(next)
}

/// `PATCH …/domains/{d}`. `verified: true` is a manual verification (the handler allows it to
/// the operator only); `force` moves a domain another org has verified (operator only).
pub async fn update_domain(
    ctx: &Ctx<'_>,
    org: &OrgId,
    domain: &EmailDomain,
    p: DomainPatch,
    force: bool,
) -> SResult<OrgDomain> {
    let mut cur = require_domain(ctx.storage, org, domain).await?;
    if let Some(shared) = p.shared
        && shared != cur.shared
    {
        cur = set_shared(ctx, cur, shared).await?;
    }
    match p.verified {
        Some(true) => mark_verified(ctx, cur, Proof::Manual, force).await,
        Some(false) if cur.verified => {
            let mut next = cur.clone();
            next.verified = false;
            next.verified_at = None;
            ctx.storage.update_domain(&next).await?;
            audit_domain(
                ctx,
                org,
                "domain.update",
                domain,
                Outcome::Success,
                Some(&cur),
                Some(&next),
                json!({}),
            )
            .await?;
            Ok(next)
        }
        Some(false) | None => Ok(cur),
    }
}

/// Mark the domain shared or exclusive (audited as `domain.update` with `shared` in the
/// before/after summaries).
async fn set_shared(ctx: &Ctx<'_>, cur: OrgDomain, shared: bool) -> SResult<OrgDomain> {
    let mut next = cur.clone();
    next.shared = shared;
    ctx.storage.update_domain(&next).await?;
    audit_domain(
        ctx,
        &cur.org_id,
        "domain.update",
        &cur.domain,
        Outcome::Success,
        Some(&cur),
        Some(&next),
        json!({ "shared": shared }),
    )
    .await?;
    Ok(next)
}

/// What `POST …/verify` found.
#[derive(Debug)]
pub struct Verification {
    pub domain: OrgDomain,
    /// Whether the TXT record holds the org's value right now.
    pub record_found: bool,
}

/// Resolve the TXT record `_lobby-challenge.<domain>` and look for
/// `lobby-domain-verification=<token>`.
///
/// - Not yet verified: no record → 422 `txt_record_missing`, records without the value →
///   422 `txt_record_mismatch` (both name the record to publish); the value → verified, unless
///   another org holds the domain (409 `domain_taken`; `force`, operator only, moves it).
/// - Already verified: checked again and audited as `domain.recheck`. The domain stays
///   verified when the record is gone (ownership is proven once; removing the record afterwards
///   is common); the event's outcome is `failure` and its details say so and why.
pub async fn verify_domain(
    ctx: &Ctx<'_>,
    resolver: &dyn TxtResolver,
    org: &OrgId,
    domain: &EmailDomain,
    force: bool,
) -> SResult<Verification> {
    let cur = require_domain(ctx.storage, org, domain).await?;
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
    let record_found = records.iter().any(|r| r.trim() == expected);
    if cur.verified {
        let extra = if record_found {
            json!({ "record_found": true, "txt_record_name": name })
        } else {
            json!({
                "record_found": false,
                "record": if records.is_empty() { "missing" } else { "wrong_value" },
                "txt_record_name": name,
                "kept_verified": true,
                "reason": format!(
                    "The TXT record {name} no longer holds {expected}. The domain stays verified: ownership is proven once, and removing the record afterwards is normal. If the organization no longer owns the domain, unverify it with PATCH {{\"verified\": false}}."
                ),
            })
        };
        let outcome = if record_found {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        audit_domain(
            ctx,
            org,
            "domain.recheck",
            domain,
            outcome,
            Some(&cur),
            Some(&cur),
            extra,
        )
        .await?;
        return Ok(Verification {
            domain: cur,
            record_found,
        });
    }
    if records.is_empty() {
        return Err(ServiceError {
            kind: ErrorKind::Invalid,
            code: "txt_record_missing",
            message: format!(
                "No TXT record was found at {name}. Publish a TXT record named {name} with the value {expected}, then retry (DNS changes can take a while to appear)."
            ),
            field: None,
        });
    }
    if !record_found {
        let seen: Vec<String> = records
            .iter()
            .take(3)
            .map(|r| r.chars().take(80).collect::<String>())
            .collect();
        return Err(ServiceError {
            kind: ErrorKind::Invalid,
            code: "txt_record_mismatch",
            message: format!(
                "The TXT record {name} does not hold the expected value (found: {}). Publish a TXT record named {name} with the value {expected}, then retry (DNS changes can take a while to appear).",
                seen.join(" | ")
            ),
            field: None,
        });
    }
    let domain = mark_verified(ctx, cur, Proof::DnsTxt, force).await?;
    Ok(Verification {
        domain,
        record_found,
    })
}

pub async fn delete_domain(ctx: &Ctx<'_>, org: &OrgId, domain: &EmailDomain) -> SResult<()> {
    let cur = require_domain(ctx.storage, org, domain).await?;
    ctx.storage.delete_domain(org, domain).await?;
    audit_domain(
        ctx,
        org,
        "domain.delete",
        domain,
        Outcome::Success,
        Some(&cur),
        None,
        json!({}),
    )
    .await
}
