//! Which orgs a federated SSO session is good for: only the session connection's own org, and
//! only while every rule of a sign-in still holds there.
//!
//! Owns: that eligibility check. Must not touch: sessions or discovery of other sign-in kinds.

use crate::domain::{App, ConnectionState, MemberStatus, OrgStatus, UserId};
use crate::login::discovery::{self, EligibleOrg};
use crate::storage::{Storage, StorageError};

/// The orgs a federated SSO session is good for in `app`: the session connection's org, when
/// the user is an active member there, the org is active and linked to the app, and the link's
/// policy still allows the connection.
pub async fn eligible_federated_orgs(
    storage: &dyn Storage,
    app: &App,
    user: &UserId,
    idp: &crate::domain::ConnectionId,
) -> Result<Vec<EligibleOrg>, StorageError> {
    let Some(conn) = storage.get_connection_for_callback(idp).await? else {
        return Ok(vec![]);
    };
    if conn.state != ConnectionState::Active {
        return Ok(vec![]);
    }
    let Some(org) = storage.get_org(&conn.org_id).await? else {
        return Ok(vec![]);
    };
    if org.status != OrgStatus::Active {
        return Ok(vec![]);
    }
    let Some(link) = crate::login::builtin::link(storage, &org.id, app).await? else {
        return Ok(vec![]);
    };
    if !discovery::connection_allowed(storage, app, &link, &conn.id).await? {
        return Ok(vec![]);
    }
    match storage.get_membership(&org.id, user).await? {
        Some(m) if m.status == MemberStatus::Active => Ok(vec![EligibleOrg {
            org,
            connection: conn,
        }]),
        _ => Ok(vec![]),
    }
}
