//! Admin handlers for organizations and what they own: app links, domains, connections
//! (`/api/v1/orgs/...`).
//!
//! Owns: HTTP ↔ service translation for these resources. Must not touch: validation or
//! storage writes (that is `service`).

use super::auth::Caller;
use super::dto::*;
use super::service::{self, page_request, page_vec};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::{AppId, ConnectionId, EmailDomain, OrgId};
use crate::http::{ApiError, ErrorBody, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;

type R<T> = Result<T, ApiError>;

/// The org of the path, after the caller's scope check (every org-owned handler starts here).
pub(crate) async fn scoped_org(st: &AdminCtx, caller: &Caller, org_id: &str) -> R<OrgId> {
    let org: OrgId = path_id(org_id, "organization")?;
    caller.scope_org(st, &org).await?;
    Ok(org)
}

fn domain_path(s: &str) -> R<EmailDomain> {
    EmailDomain::parse(s).map_err(|_| ApiError::not_found("domain"))
}

// ---------------------------------------------------------------------------------------
// Organizations

#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", params(OrgListQuery),
    responses((status = 200, description = "A page of organizations (by id)", body = OrgList)))]
pub async fn list_orgs(
    State(st): State<AdminCtx>,
    caller: Caller,
    Query(q): Query<OrgListQuery>,
) -> R<Json<OrgList>> {
    let parent = match q.parent_id.as_deref() {
        Some(p) => {
            let p = scoped_org(&st, &caller, p).await?;
            service::require_org(st.storage.as_ref(), &p).await?;
            Some(p)
        }
        None => {
            caller.scope_global()?;
            None
        }
    };
    let page = st
        .storage
        .list_orgs(parent.as_ref(), &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(OrgList {
        items: page.items.iter().map(OrgResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = OrgCreate,
    responses((status = 201, description = "Created", body = OrgResponse)))]
pub async fn create_org(
    State(st): State<AdminCtx>,
    caller: Caller,
    Json(req): Json<OrgCreate>,
) -> R<(StatusCode, Json<OrgResponse>)> {
    match &req.parent_id {
        // An org admin may create managed children of orgs in their scope.
        Some(p) => caller.scope_org(&st, p).await?,
        None => caller.scope_global()?,
    }
    let org = service::create_org(&ctx(&st, &caller), req).await?;
    Ok((StatusCode::CREATED, Json((&org).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")),
    responses((status = 200, description = "The organization", body = OrgResponse)))]
pub async fn get_org(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> R<Json<OrgResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let o = service::require_org(st.storage.as_ref(), &org).await?;
    Ok(Json((&o).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")), request_body = OrgPatch,
    responses((status = 200, description = "Updated", body = OrgResponse)))]
pub async fn update_org(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Json(p): Json<OrgPatch>,
) -> R<Json<OrgResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    if let Some(Some(parent)) = &p.parent_id {
        caller.scope_org(&st, parent).await?;
    }
    let o = service::update_org(&ctx(&st, &caller), &org, p).await?;
    Ok(Json((&o).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), DeleteQuery),
    responses((status = 204, description = "Deleted (with `cascade=true`: its descendants and everything they own too)")))]
pub async fn delete_org(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> R<StatusCode> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    service::delete_org(&ctx(&st, &caller), &org, q.cascade.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Links

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/apps", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's app links (by app id)", body = LinkList)))]
pub async fn list_links(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<LinkList>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    service::require_org(st.storage.as_ref(), &org).await?;
    let all = st.storage.list_links_for_org(&org).await?;
    let page = page_vec(
        all,
        |l| l.app_id.to_string(),
        &page_request(q.limit, q.after)?,
    );
    Ok(Json(LinkList {
        items: page.items.iter().map(LinkResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/apps", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")), request_body = LinkCreate,
    responses((status = 201, description = "Created", body = LinkResponse)))]
pub async fn create_link(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Json(req): Json<LinkCreate>,
) -> R<(StatusCode, Json<LinkResponse>)> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let l = service::create_link(&ctx(&st, &caller), &org, req).await?;
    Ok((StatusCode::CREATED, Json((&l).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    responses((status = 200, description = "The link", body = LinkResponse)))]
pub async fn get_link(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, app_id)): Path<(String, String)>,
) -> R<Json<LinkResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    let l = service::require_link(st.storage.as_ref(), &org, &app).await?;
    Ok(Json((&l).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    request_body = LinkPatch,
    responses((status = 200, description = "Updated", body = LinkResponse)))]
pub async fn update_link(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, app_id)): Path<(String, String)>,
    Json(p): Json<LinkPatch>,
) -> R<Json<LinkResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    let l = service::update_link(&ctx(&st, &caller), &org, &app, p).await?;
    Ok(Json((&l).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    responses((status = 204, description = "Unlinked (refresh tokens revoked when the app subscribes to org_unlinked)")))]
pub async fn delete_link(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, app_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    service::delete_link(&ctx(&st, &caller), &org, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Domains

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/domains", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's domains", body = DomainList)))]
pub async fn list_domains(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<DomainList>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    service::require_org(st.storage.as_ref(), &org).await?;
    let all = st.storage.list_domains(&org).await?;
    let page = page_vec(
        all,
        |d| d.domain.to_string(),
        &page_request(q.limit, q.after)?,
    );
    Ok(Json(DomainList {
        items: page.items.iter().map(DomainResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/domains", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")), request_body = DomainCreate,
    responses((status = 201, description = "Created; publish the TXT record, then verify", body = DomainResponse)))]
pub async fn create_domain(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Json(req): Json<DomainCreate>,
) -> R<(StatusCode, Json<DomainResponse>)> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    if req.verified == Some(true) {
        // Skipping the DNS proof is the operator's privilege.
        caller.scope_global()?;
    }
    let d = service::create_domain(&ctx(&st, &caller), &org, req).await?;
    Ok((StatusCode::CREATED, Json((&d).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    responses((status = 200, description = "The domain", body = DomainResponse)))]
pub async fn get_domain(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, domain)): Path<(String, String)>,
) -> R<Json<DomainResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let domain = domain_path(&domain)?;
    let d = service::require_domain(st.storage.as_ref(), &org, &domain).await?;
    Ok(Json((&d).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain"), DomainForceQuery),
    request_body = DomainPatch,
    responses((status = 200, description = "Updated. `verified: true` (operator only) is a manual verification, audited as `domain.manual_verify`", body = DomainResponse)))]
pub async fn update_domain(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, domain)): Path<(String, String)>,
    Query(q): Query<DomainForceQuery>,
    Json(p): Json<DomainPatch>,
) -> R<Json<DomainResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    if p.verified == Some(true) {
        // Skipping the DNS proof is the operator's privilege.
        caller.scope_global()?;
    }
    let force = operator_force(&caller, &q)?;
    let domain = domain_path(&domain)?;
    let d = service::update_domain(&ctx(&st, &caller), &org, &domain, p, force).await?;
    Ok(Json((&d).into()))
}

/// `?force=true` is the operator's override of another org's verification.
fn operator_force(caller: &Caller, q: &DomainForceQuery) -> R<bool> {
    let force = q.force.unwrap_or(false);
    if force && !matches!(caller, Caller::Operator) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the operator may take over a domain another organization has verified (force=true).",
        ));
    }
    Ok(force)
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_domain(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, domain)): Path<(String, String)>,
) -> R<StatusCode> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let domain = domain_path(&domain)?;
    service::delete_domain(&ctx(&st, &caller), &org, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/domains/{domain}/verify", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain"), DomainForceQuery),
    responses(
        (status = 200, description = "Verified: the TXT record `_lobby-challenge.<domain>` holds `lobby-domain-verification=<token>`. An already verified domain is checked again and stays verified (`txt_record_found` says what DNS holds now; audited as `domain.recheck`)", body = DomainResponse),
        (status = 409, description = "`domain_taken`: another organization has verified the domain (the operator may pass `force=true`)", body = ErrorBody),
        (status = 422, description = "`txt_record_missing` / `txt_record_mismatch`: the message names the record to publish", body = ErrorBody),
        (status = 503, description = "`dns_unavailable`: the DNS lookup failed", body = ErrorBody)))]
pub async fn verify_domain(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, domain)): Path<(String, String)>,
    Query(q): Query<DomainForceQuery>,
) -> R<Json<DomainResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let force = operator_force(&caller, &q)?;
    let domain = domain_path(&domain)?;
    let v = service::verify_domain(
        &ctx(&st, &caller),
        st.txt_resolver.as_ref(),
        &org,
        &domain,
        force,
    )
    .await?;
    let mut body = DomainResponse::from(&v.domain);
    body.txt_record_found = Some(v.record_found);
    Ok(Json(body))
}

// ---------------------------------------------------------------------------------------
// Connections

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connections", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's connections", body = ConnectionList)))]
pub async fn list_connections(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> R<Json<ConnectionList>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    service::require_org(st.storage.as_ref(), &org).await?;
    let all = st.storage.list_connections(&org).await?;
    let page = page_vec(all, |c| c.id.to_string(), &page_request(q.limit, q.after)?);
    Ok(Json(ConnectionList {
        items: page.items.iter().map(ConnectionResponse::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/connections", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")), request_body = ConnectionCreate,
    responses((status = 201, description = "Created", body = ConnectionResponse)))]
pub async fn create_connection(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Json(req): Json<ConnectionCreate>,
) -> R<(StatusCode, Json<ConnectionResponse>)> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    // A SAML connection is stored active only when its metadata pins a signing certificate.
    if let Ok(preview) = service::build_connection(&org, req.clone(), None, st.clock.now()) {
        super::connection_ops::guard_activation(&st, &preview).await?;
    }
    let c = service::create_connection(&ctx(&st, &caller), &org, req).await?;
    super::connection_ops::pin_after_save(&st, &c).await;
    Ok((StatusCode::CREATED, Json((&c).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "The connection (upstream secrets are never returned)", body = ConnectionResponse)))]
pub async fn get_connection(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(String, String)>,
) -> R<Json<ConnectionResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    let c = service::require_connection(st.storage.as_ref(), &org, &id).await?;
    Ok(Json((&c).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    request_body = ConnectionPatch,
    responses((status = 200, description = "Updated", body = ConnectionResponse)))]
pub async fn update_connection(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(String, String)>,
    Json(p): Json<ConnectionPatch>,
) -> R<Json<ConnectionResponse>> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    // A SAML connection is stored active only when its metadata pins a signing certificate.
    let mut preview = service::require_connection(st.storage.as_ref(), &org, &id).await?;
    if let Some(s) = p.state {
        preview.state = s.into();
    }
    if let Some(c) = &p.config
        && c.kind() == preview.kind().into()
    {
        preview.config = c.clone().into_domain(None);
    }
    super::connection_ops::guard_activation(&st, &preview).await?;
    let c = service::update_connection(&ctx(&st, &caller), &org, &id, p).await?;
    super::connection_ops::pin_after_save(&st, &c).await;
    Ok(Json((&c).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_connection(
    State(st): State<AdminCtx>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let org = scoped_org(&st, &caller, &org_id).await?;
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    service::delete_connection(&ctx(&st, &caller), &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operator_may_force_a_domain_over() {
        let force = DomainForceQuery { force: Some(true) };
        assert_eq!(operator_force(&Caller::Operator, &force).ok(), Some(true));
        let org_admin = Caller::OrgAdmin {
            org_id: "acme".parse().unwrap(),
            user_id: "usr_alice".parse().unwrap(),
        };
        let e = operator_force(&org_admin, &force).unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, "forbidden"));
        // Without force, anyone in scope may verify by DNS.
        let plain = DomainForceQuery::default();
        assert_eq!(operator_force(&org_admin, &plain).ok(), Some(false));
    }
}
