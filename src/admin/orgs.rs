//! Admin handlers for organizations and what they own: app links, domains, connections
//! (`/api/v1/orgs/...`).
//!
//! Owns: HTTP ↔ service translation for these resources. Must not touch: validation or
//! storage writes (that is `service`).

use super::auth::Caller;
use super::dto::*;
use super::scope::{self, Area, Need, OrgScope};
use super::service::{self, page_request, page_vec};
use super::{ctx, path_id};
use crate::admin::AdminCtx;
use crate::domain::{AppId, ConnectionId, EmailDomain, OrgId, OrgStatus};
use crate::http::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;

type R<T> = Result<T, ApiError>;

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
    let req = page_request(q.limit, q.after)?;
    let page = match (q.parent_id.as_deref(), &caller) {
        (Some(p), _) => {
            let p: OrgId = path_id(p, "organization")?;
            let scope = OrgScope::check(&st, caller.clone(), p, Need::Read(Area::Org)).await?;
            scope.db().children(&caller, &req).await?
        }
        // An org admin's list: their org, and as org_admin its descendants.
        (None, Caller::OrgAdmin(c)) => {
            let mut orgs = Vec::new();
            for id in scope::reach(st.storage.as_ref(), c).await? {
                if let Some(o) = st.storage.get_org(&id).await? {
                    orgs.push(o);
                }
            }
            page_vec(orgs, |o| o.id.to_string(), &req)
        }
        (None, _) => st.storage.list_orgs(None, &req).await?,
    };
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
    let org = match req.parent_id.clone() {
        // An org_admin may create children of the orgs they administer (active ones).
        Some(p) => {
            let scope = OrgScope::check(&st, caller, p, Need::Write(Area::Org)).await?;
            if !scope.is_operator_like()
                && req
                    .status
                    .is_some_and(|s| OrgStatus::from(s) != OrgStatus::Active)
            {
                scope.require_operator("create a suspended organization")?;
            }
            service::create_org(&scope.ctx(), req).await?
        }
        None => {
            caller.scope_global()?;
            service::create_org(&ctx(&st, &caller), req).await?
        }
    };
    Ok((StatusCode::CREATED, Json((&org).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")),
    responses((status = 200, description = "The organization", body = OrgResponse)))]
pub async fn get_org(scope: OrgScope) -> R<Json<OrgResponse>> {
    let o = scope.db().org().await?;
    Ok(Json((&o).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id")), request_body = OrgPatch,
    responses((status = 200, description = "Updated (org admins: name and branding only)", body = OrgResponse)))]
pub async fn update_org(scope: OrgScope, Json(p): Json<OrgPatch>) -> R<Json<OrgResponse>> {
    scope.check_org_patch(&p)?;
    let o = service::update_org(&scope.ctx(), scope.org(), p).await?;
    Ok(Json((&o).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), DeleteQuery),
    responses((status = 204, description = "Deleted (with `cascade=true`: its descendants and everything they own too)")))]
pub async fn delete_org(scope: OrgScope, Query(q): Query<DeleteQuery>) -> R<StatusCode> {
    service::delete_org(&scope.ctx(), scope.org(), q.cascade.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Links

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/apps", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's app links (by app id)", body = LinkList)))]
pub async fn list_links(scope: OrgScope, Query(q): Query<ListQuery>) -> R<Json<LinkList>> {
    let all = scope.db().links().await?;
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
    responses((status = 201, description = "Created (operator only)", body = LinkResponse)))]
pub async fn create_link(
    scope: OrgScope,
    Json(req): Json<LinkCreate>,
) -> R<(StatusCode, Json<LinkResponse>)> {
    let l = service::create_link(&scope.ctx(), scope.org(), req).await?;
    Ok((StatusCode::CREATED, Json((&l).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    responses((status = 200, description = "The link", body = LinkResponse)))]
pub async fn get_link(
    scope: OrgScope,
    Path((_org, app_id)): Path<(String, String)>,
) -> R<Json<LinkResponse>> {
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    let l = scope.db().link(&app).await?;
    Ok(Json((&l).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    request_body = LinkPatch,
    responses((status = 200, description = "Updated (operator only)", body = LinkResponse)))]
pub async fn update_link(
    scope: OrgScope,
    Path((_org, app_id)): Path<(String, String)>,
    Json(p): Json<LinkPatch>,
) -> R<Json<LinkResponse>> {
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    let l = service::update_link(&scope.ctx(), scope.org(), &app, p).await?;
    Ok(Json((&l).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/apps/{app_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("app_id" = String, Path, description = "App id")),
    responses((status = 204, description = "Unlinked (operator only; refresh tokens revoked when the app subscribes to org_unlinked)")))]
pub async fn delete_link(
    scope: OrgScope,
    Path((_org, app_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let app: AppId = path_id(&app_id, "link between this organization and app")?;
    service::delete_link(&scope.ctx(), scope.org(), &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Domains

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/domains", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's domains", body = DomainList)))]
pub async fn list_domains(scope: OrgScope, Query(q): Query<ListQuery>) -> R<Json<DomainList>> {
    let all = scope.db().domains().await?;
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
    scope: OrgScope,
    Json(req): Json<DomainCreate>,
) -> R<(StatusCode, Json<DomainResponse>)> {
    if req.verified == Some(true) {
        // Skipping the DNS proof is the operator's privilege.
        scope.require_operator("mark a domain verified without the DNS proof")?;
    }
    let d = service::create_domain(&scope.ctx(), scope.org(), req).await?;
    Ok((StatusCode::CREATED, Json((&d).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    responses((status = 200, description = "The domain", body = DomainResponse)))]
pub async fn get_domain(
    scope: OrgScope,
    Path((_org, domain)): Path<(String, String)>,
) -> R<Json<DomainResponse>> {
    let domain = domain_path(&domain)?;
    let d = scope.db().domain(&domain).await?;
    Ok(Json((&d).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    request_body = DomainPatch,
    responses((status = 200, description = "Updated", body = DomainResponse)))]
pub async fn update_domain(
    scope: OrgScope,
    Path((_org, domain)): Path<(String, String)>,
    Json(p): Json<DomainPatch>,
) -> R<Json<DomainResponse>> {
    if p.verified == Some(true) {
        scope.require_operator("mark a domain verified without the DNS proof")?;
    }
    let domain = domain_path(&domain)?;
    let d = service::update_domain(&scope.ctx(), scope.org(), &domain, p).await?;
    Ok(Json((&d).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/domains/{domain}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_domain(
    scope: OrgScope,
    Path((_org, domain)): Path<(String, String)>,
) -> R<StatusCode> {
    let domain = domain_path(&domain)?;
    service::delete_domain(&scope.ctx(), scope.org(), &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/domains/{domain}/verify", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("domain" = String, Path, description = "Email domain")),
    responses((status = 200, description = "Verified: the TXT record `_lobby-challenge.<domain>` holds `lobby-domain-verification=<token>`", body = DomainResponse)))]
pub async fn verify_domain(
    scope: OrgScope,
    Path((_org, domain)): Path<(String, String)>,
) -> R<Json<DomainResponse>> {
    let domain = domain_path(&domain)?;
    let d = service::verify_domain(
        &scope.ctx(),
        scope.tools().txt_resolver,
        scope.org(),
        &domain,
    )
    .await?;
    Ok(Json((&d).into()))
}

// ---------------------------------------------------------------------------------------
// Connections

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connections", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ListQuery),
    responses((status = 200, description = "The org's connections", body = ConnectionList)))]
pub async fn list_connections(
    scope: OrgScope,
    Query(q): Query<ListQuery>,
) -> R<Json<ConnectionList>> {
    let all = scope.db().connections().await?;
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
    scope: OrgScope,
    Json(req): Json<ConnectionCreate>,
) -> R<(StatusCode, Json<ConnectionResponse>)> {
    let tools = scope.tools();
    // A SAML connection is stored active only when its metadata pins a signing certificate.
    if let Ok(preview) =
        service::build_connection(scope.org(), req.clone(), None, tools.clock.now())
    {
        super::connection_ops::guard_activation(&tools, &preview).await?;
    }
    let c = service::create_connection(&scope.ctx(), scope.org(), req).await?;
    super::connection_ops::pin_after_save(&tools, &c).await;
    Ok((StatusCode::CREATED, Json((&c).into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "The connection (upstream secrets are never returned)", body = ConnectionResponse)))]
pub async fn get_connection(
    scope: OrgScope,
    Path((_org, connection_id)): Path<(String, String)>,
) -> R<Json<ConnectionResponse>> {
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    let c = scope.db().connection(&id).await?;
    Ok(Json((&c).into()))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    request_body = ConnectionPatch,
    responses((status = 200, description = "Updated", body = ConnectionResponse)))]
pub async fn update_connection(
    scope: OrgScope,
    Path((_org, connection_id)): Path<(String, String)>,
    Json(p): Json<ConnectionPatch>,
) -> R<Json<ConnectionResponse>> {
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    let tools = scope.tools();
    // A SAML connection is stored active only when its metadata pins a signing certificate.
    let mut preview = scope.db().connection(&id).await?;
    if let Some(s) = p.state {
        preview.state = s.into();
    }
    if let Some(c) = &p.config
        && c.kind() == preview.kind().into()
    {
        preview.config = c.clone().into_domain(None);
    }
    super::connection_ops::guard_activation(&tools, &preview).await?;
    let c = service::update_connection(&scope.ctx(), scope.org(), &id, p).await?;
    super::connection_ops::pin_after_save(&tools, &c).await;
    Ok(Json((&c).into()))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/connections/{connection_id}", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_connection(
    scope: OrgScope,
    Path((_org, connection_id)): Path<(String, String)>,
) -> R<StatusCode> {
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    service::delete_connection(&scope.ctx(), scope.org(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
