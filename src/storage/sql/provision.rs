//! A first sign-in on the SQL backends, in one transaction: the new user (or the invitee's
//! updated profile), their external identity, the accepted invitation (compare-and-swap on its
//! version) and the membership (the invitee's `invited` one made active). Any failure rolls all
//! of it back.
//!
//! Owns: that transaction and how its failures are reported. Must not touch: what to create
//! (decided by `login::identity`), the single-row writes (each aggregate file owns its own).

use super::SqlStore;
use super::errors::{USER_EXISTS, WriteError, backend};
use super::members::{activate_invited, remove_invited, write_membership};
use super::users::{insert_identity, write_user};
use crate::domain::InvitationStatus;
use crate::storage::{FirstSignIn, Result, StorageError};

impl SqlStore {
    pub(super) async fn first_sign_in(&self, p: &FirstSignIn) -> Result<()> {
        let mut tx = self.begin().await?;
        // Every failure below returns with `tx` dropped: rolled back, nothing stored. A failed
        // statement also ends the transaction on PostgreSQL, so follow-up reads (naming a missing
        // reference) run after the rollback, on the pool.
        if let Some(u) = &p.user {
            write_user(&mut tx, u, false)
                .await
                .map_err(|e| self.write_error(e, "user"))?;
        }
        if let Some(u) = &p.update_user {
            write_user(&mut tx, u, true)
                .await
                .map_err(|e| self.write_error(e, "user"))?;
        }
        if let Some(i) = &p.identity
            && let Err(e) = insert_identity(&mut tx, i).await
        {
            tx.rollback().await.map_err(backend)?;
            return Err(self.identity_error(e, i).await);
        }
        if let Some(inv) = &p.invitation {
            let accepted = sqlx::query(
                "UPDATE invitations SET status = $4, version = version + 1 \
                 WHERE org_id = $1 AND id = $2 AND version = $3",
            )
            .bind(inv.org_id.as_str())
            .bind(inv.id.as_str())
            .bind(inv.version)
            .bind(InvitationStatus::Accepted.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if accepted == 0 {
                tx.rollback().await.map_err(backend)?;
                return Err(self
                    .cas_miss(
                        "SELECT 1 FROM invitations WHERE org_id = $1 AND id = $2",
                        &[inv.org_id.as_str(), inv.id.as_str()],
                    )
                    .await);
            }
        }
        if let Some(u) = &p.drop_invited {
            remove_invited(&mut tx, &p.membership.org_id, u)
                .await
                .map_err(backend)?;
        }
        let m = &p.membership;
        // Redeeming an invitation turns the invitee's `invited` membership into this one; any
        // other existing membership stays as it is (and the whole sign-in fails).
        let written = if p.invitation.is_some() {
            activate_invited(&mut tx, m).await
        } else {
            write_membership(&mut tx, m, false).await
        };
        match written {
            Ok(0) => {
                tx.rollback().await.map_err(backend)?;
                return Err(StorageError::Duplicate("membership".into()));
            }
            Ok(_) => {}
            Err(WriteError::Sql(e)) if self.is_fk(&e) => {
                tx.rollback().await.map_err(backend)?;
                // A user created above existed for the INSERT (and is gone with the rollback).
                let user_checked: &[(&'static str, &'static str, &[&str])] = match p.user {
                    Some(_) => &[],
                    None => &[("user", USER_EXISTS, &[m.user_id.as_str()])],
                };
                return Err(self.missing(user_checked, "organization").await);
            }
            Err(e) => return Err(self.write_error(e, "user or organization")),
        }
        tx.commit().await.map_err(backend)
    }
}
