//! The OpenAPI 3 document of the admin API, generated from the handlers' annotations
//! (utoipa) and served at `/api/v1/openapi.json`.
//!
//! Owns: the document's assembly, the shared error responses and the security schemes.
//! Must not touch: handlers' behaviour. A test checks that every route of
//! [`super::route_table`] is in the document and nothing else is.

use super::{apps, audit, connection_ops, orgs, sessions, users, webhooks};
use crate::http::{ErrorBody, Json};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lobby admin API",
        version = "1",
        description = "Configure apps, roles, role groups, organizations, their app links, domains, connections, members, invitations and event webhooks. Authenticate with the operator token (`Authorization: Bearer $LOBBY_ADMIN_TOKEN`: everything) or with an admin access token Lobby issued (`aud` = `<issuer>/api/v1`): a signed-in org admin's token (scope `lobby:admin`) reaches their organization (as `org_admin` also its descendants) with the rights of their current org roles — `org_admin` everything in the org, `member_admin` members and invitations, `viewer` reading; an admin app's `client_credentials` token (scope `lobby:admin:read` or `lobby:admin:write`) reaches everything, read-only with the read scope. Another organization's objects answer 404; a valid token without the right answers 403 `insufficient_scope` (RFC 6750 §3.1). Errors are JSON `{error, message, field?, request_id}`. Lists are keyset-paginated: `?limit=&after=` → `{items, next_cursor}`. PATCH takes an optional `version`: a mismatch is refused with 409."
    ),
    paths(
        serve,
        apps::list_apps, apps::create_app, apps::get_app, apps::update_app, apps::delete_app,
        apps::list_roles, apps::create_role, apps::get_role, apps::update_role, apps::delete_role,
        apps::list_role_groups, apps::create_role_group, apps::get_role_group,
        apps::update_role_group, apps::delete_role_group,
        orgs::list_orgs, orgs::create_org, orgs::get_org, orgs::update_org, orgs::delete_org,
        orgs::list_links, orgs::create_link, orgs::get_link, orgs::update_link, orgs::delete_link,
        orgs::list_domains, orgs::create_domain, orgs::get_domain, orgs::update_domain,
        orgs::delete_domain, orgs::verify_domain,
        orgs::list_connections, orgs::create_connection, orgs::get_connection,
        orgs::update_connection, orgs::delete_connection,
        connection_ops::test_connection, connection_ops::refresh_metadata,
        users::list_users, users::create_user, users::get_user, users::update_user,
        users::delete_user, users::list_identities,
        users::list_members, users::create_member, users::get_member, users::update_member,
        users::delete_member, users::reset_mfa,
        users::list_invitations, users::create_invitation, users::get_invitation,
        users::update_invitation, users::delete_invitation, users::resend_invitation,
        audit::list_audit_events,
        webhooks::list_webhooks, webhooks::create_webhook, webhooks::get_webhook,
        webhooks::update_webhook, webhooks::delete_webhook, webhooks::list_deliveries,
        sessions::end_user_sessions, sessions::list_logout_deliveries,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Conventions),
    tags(
        (name = "apps", description = "Vendor apps (OIDC clients), their roles and role groups"),
        (name = "orgs", description = "Organizations, their app links, email domains and connections"),
        (name = "users", description = "Tenant-level users and their external identities"),
        (name = "members", description = "Org memberships and invitations"),
        (name = "audit", description = "The audit trail"),
        (name = "webhooks", description = "Event webhooks: endpoints, their delivery health and recent deliveries (signature: `Lobby-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`, see README)"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The security scheme and the error responses every operation shares.
struct Conventions;

const OPENAPI_PATH: &str = "/api/v1/openapi.json";

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorBody",
                )))),
            )
            .build(),
    )
}

fn add_errors(op: &mut Operation, has_body: bool, writes: bool) {
    let mut errs: Vec<(&str, &str)> = vec![
        (
            "400",
            "Malformed request (invalid JSON, bad query parameter)",
        ),
        (
            "401",
            "No bearer token, or a wrong, expired, revoked or wrong-audience token (RFC 6750 `invalid_token`)",
        ),
        (
            "403",
            "The caller's token or org roles do not allow this (RFC 6750 `insufficient_scope`), or the admin API is disabled",
        ),
        ("404", "Not found (or not in the caller's scope)"),
        ("500", "Internal error (generic body; quote the request id)"),
    ];
    if writes {
        errs.push((
            "409",
            "Conflict: duplicate, version mismatch, or still in use",
        ));
        errs.push(("422", "A field breaks a rule; `field` names it"));
    }
    if has_body {
        errs.push(("413", "The request body is too large"));
        errs.push(("415", "The request body is not JSON"));
    }
    for (code, desc) in errs {
        op.responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| error_response(desc));
    }
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The operator token (LOBBY_ADMIN_TOKEN)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from Lobby's /token for the audience <issuer>/api/v1: an org admin's (scope lobby:admin; rights from their current org roles) or an admin app's client_credentials token (scope lobby:admin:read or lobby:admin:write)."))
                    .build(),
            ),
        );
        let auth = SecurityRequirement::new("operator_token", Vec::<String>::new());
        let token = SecurityRequirement::new("admin_access_token", Vec::<String>::new());
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = path == OPENAPI_PATH;
            let ops: [(&mut Option<Operation>, bool); 4] = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (op, writes) in ops {
                let Some(op) = op.as_mut() else { continue };
                if public {
                    continue;
                }
                op.security = Some(vec![auth.clone(), token.clone()]);
                let has_body = op.request_body.is_some();
                add_errors(op, has_body, writes);
            }
        }
    }
}

/// The document as JSON (for `lobby openapi` and the endpoint).
pub fn document_json() -> anyhow::Result<String> {
    Ok(ApiDoc::openapi().to_pretty_json()?)
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3 document", content_type = "application/json", body = Object)))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;
    use std::collections::BTreeSet;

    fn documented() -> BTreeSet<(String, String)> {
        let doc = ApiDoc::openapi();
        let mut out = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (m, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
                ("PUT", &item.put),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if op.is_some() {
                    out.insert((m.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let routed: BTreeSet<(String, String)> = super::super::route_table()
            .iter()
            .map(|r| (r.method.to_string(), format!("/api/v1{}", r.path)))
            .collect();
        let documented = documented();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from OpenAPI: {missing:?}"
        );
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
        assert_eq!(
            routed.len(),
            super::super::route_table().len(),
            "duplicate route"
        );
        assert!(routed.contains(&(
            Method::POST.to_string(),
            "/api/v1/orgs/{org_id}/domains/{domain}/verify".into()
        )));
    }

    #[test]
    fn document_is_openapi_3_with_security_and_error_schema() {
        let v: serde_json::Value = serde_json::from_str(&document_json().unwrap()).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3."));
        assert!(v["components"]["securitySchemes"]["operator_token"].is_object());
        assert!(v["components"]["schemas"]["ErrorBody"].is_object());
        assert!(v["components"]["schemas"]["AppCreate"].is_object());
        let op = &v["paths"]["/api/v1/apps"]["post"];
        assert_eq!(op["security"][0]["operator_token"], serde_json::json!([]));
        assert!(op["responses"]["422"].is_object());
        assert!(op["responses"]["201"].is_object());
        // Every $ref points at a schema that exists.
        let text = v.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                v["components"]["schemas"][name].is_object(),
                "dangling $ref {name}"
            );
        }
    }
}
