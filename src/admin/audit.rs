//! Admin handler for the audit trail (`GET /api/v1/audit-events`).
//!
//! Owns: reading audit events for the operator or an org's admins. Must not touch: writing
//! them (every write path in `service` records its own event).

use super::auth::Caller;
use super::dto::{AuditEventList, AuditEventResponse, AuditQuery};
use super::path_id;
use super::scope::{Area, Need, OrgScope};
use super::service::{self, page_request};
use crate::admin::AdminCtx;
use crate::http::{ApiError, Json, Query};
use axum::extract::State;

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of audit events, newest first", body = AuditEventList)))]
pub async fn list_audit_events(
    State(st): State<AdminCtx>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditEventList>, ApiError> {
    let action = q.action.filter(|a| !a.is_empty());
    let req = page_request(q.limit, q.after)?;
    let page = match q.org_id.as_deref() {
        // An org's audit log: readers of the org's settings (org_admin, viewer).
        Some(o) => {
            let org = path_id(o, "organization")?;
            let scope = OrgScope::check(&st, caller, org, Need::Read(Area::Settings)).await?;
            scope.db().audit(action, &req).await?
        }
        None => {
            caller.scope_global()?;
            service::list_audit(st.storage.as_ref(), None, action, &req).await?
        }
    };
    Ok(Json(AuditEventList {
        items: page.items.iter().map(AuditEventResponse::from).collect(),
        next_cursor: page.next,
    }))
}
