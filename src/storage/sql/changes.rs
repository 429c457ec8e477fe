//! Declarative imports on the SQL backends: each `Change` as an upsert on the transaction
//! `Storage::apply_changes` opened (all or nothing).
//!
//! Owns: mapping a `Change` to the aggregate writes. Must not touch: the writes themselves
//! (each aggregate file owns its own).

use super::SqlStore;
use super::apps::{replace_group_roles, write_app, write_group_row, write_role};
use super::audit::write_audits;
use super::connections::write_connection;
use super::domains::write_domain;
use super::invitations::insert_invitation;
use super::links::{replace_link_groups, write_link_row};
use super::members::{remove_invited, write_membership};
use super::orgs::write_org;
use super::users::write_user;
use crate::storage::db::DbConn;
use crate::storage::{Change, Result, StorageError};

impl SqlStore {
    pub(super) async fn apply_one(&self, conn: &mut DbConn, c: &Change) -> Result<()> {
        match c {
            Change::UpsertApp(a) => {
                write_app(conn, a, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
            }
            Change::UpsertRole(r) => {
                write_role(conn, r, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
            }
            Change::UpsertRoleGroup(g) => {
                write_group_row(conn, g, true)
                    .await
                    .map_err(|e| self.write_error(e, "app"))?;
                replace_group_roles(conn, &g.app_id, &g.id, &g.roles)
                    .await
                    .map_err(|e| self.write_err(e, "role"))?;
            }
            Change::UpsertOrg(o) => {
                write_org(conn, o, true)
                    .await
                    .map_err(|e| self.write_error(e, "parent organization"))?;
            }
            Change::UpsertLink(l) => {
                write_link_row(conn, l, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization or app"))?;
                replace_link_groups(conn, &l.org_id, &l.app_id, &l.allowed_role_groups)
                    .await
                    .map_err(|e| self.write_err(e, "role group"))?;
            }
            Change::UpsertDomain(d) => {
                write_domain(conn, d, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization"))?;
            }
            Change::UpsertConnection(cn) => {
                let n = write_connection(conn, cn, true)
                    .await
                    .map_err(|e| self.write_error(e, "organization"))?;
                if n == 0 {
                    // The id belongs to a connection of another org.
                    return Err(StorageError::Duplicate("connection id".into()));
                }
            }
            Change::UpsertUser(u) => {
                write_user(conn, u, true)
                    .await
                    .map_err(|e| self.write_error(e, "user"))?;
            }
            Change::UpsertMembership(m) => {
                write_membership(conn, m, true)
                    .await
                    .map_err(|e| self.write_error(e, "user or organization"))?;
            }
            Change::CreateInvitation(i) => {
                insert_invitation(conn, i)
                    .await
                    .map_err(|e| self.write_error(e, "organization"))?;
            }
            Change::RemoveInvitedMembership(org, user) => {
                remove_invited(conn, org, user)
                    .await
                    .map_err(|e| self.write_err(e, "organization"))?;
            }
            Change::Audit(e) => {
                write_audits(conn, std::slice::from_ref(e))
                    .await
                    .map_err(|e| self.write_error(e, "audit event"))?;
            }
        }
        Ok(())
    }
}
