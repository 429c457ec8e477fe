//! `InvitationStore` on the SQL backends: invitations to an org, found by id within the org or
//! by token hash (the token is the credential), accepted once through a version check.
//!
//! Owns: the `invitations` queries. Must not touch: memberships.

use super::SqlStore;
use super::errors::*;
use super::query::*;
use super::values::*;
use crate::domain::*;
use crate::storage::db::DbConn;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

pub(super) const INVITATION_COLS: &str = "id, org_id, email, roles, org_roles, token_hash, status, \
     expires_at, invited_by, version, created_at, app_id, inviter_name, user_id";

pub(super) fn invitation_from(r: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: col_parse(r, "id", InvitationId::parse)?,
        org_id: col_parse(r, "org_id", OrgId::parse)?,
        email: col_parse(r, "email", Email::parse)?,
        roles: col_json(r, "roles")?,
        org_roles: col_json(r, "org_roles")?,
        token_hash: col_parse(r, "token_hash", token_hash)?,
        status: col_enum(r, "status")?,
        expires_at: col_ts(r, "expires_at")?,
        invited_by: col(r, "invited_by")?,
        version: col(r, "version")?,
        created_at: col_ts(r, "created_at")?,
        app_id: col_opt_parse(r, "app_id", AppId::parse)?,
        inviter_name: col(r, "inviter_name")?,
        user_id: col_opt_parse(r, "user_id", UserId::parse)?,
    })
}

/// Insert one invitation (on a connection of the pool or a transaction).
pub(super) async fn insert_invitation(
    conn: &mut DbConn,
    i: &Invitation,
) -> std::result::Result<u64, WriteError> {
    let res = sqlx::query(
        "INSERT INTO invitations (id, org_id, email, roles, org_roles, token_hash, status, \
         expires_at, invited_by, version, created_at, app_id, inviter_name, user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(i.id.as_str())
    .bind(i.org_id.as_str())
    .bind(i.email.as_str())
    .bind(json(&i.roles)?)
    .bind(json(&i.org_roles)?)
    .bind(i.token_hash.as_hex())
    .bind(i.status.as_str())
    .bind(ms(i.expires_at))
    .bind(i.invited_by.as_str())
    .bind(i.version)
    .bind(ms(i.created_at))
    .bind(i.app_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(i.inviter_name.clone())
    .bind(i.user_id.as_ref().map(|u| u.as_str().to_owned()))
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected())
}

#[async_trait]
impl InvitationStore for SqlStore {
    async fn create_invitation(&self, i: &Invitation) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let res = insert_invitation(&mut conn, i).await;
        drop(conn);
        res.map(|_| ())
            .map_err(|e| self.write_error(e, "organization"))
    }

    async fn get_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<Option<Invitation>> {
        let sql =
            format!("SELECT {INVITATION_COLS} FROM invitations WHERE org_id = $1 AND id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    async fn list_invitations(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Invitation>> {
        let limit = page.effective_limit();
        let mut q = DynQuery::new(&format!(
            "SELECT {INVITATION_COLS} FROM invitations WHERE org_id = "
        ));
        q.text(org.as_str());
        if let Some(after) = &page.after {
            q.push(" AND id > ").text(after);
        }
        q.push(" ORDER BY id LIMIT ").int(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows
            .iter()
            .map(invitation_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |i| i.id.to_string()))
    }

    async fn find_invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>> {
        let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE token_hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    async fn list_pending_invitations_for_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>> {
        // Served by invitations_email_idx (email, status).
        let sql = format!(
            "SELECT {INVITATION_COLS} FROM invitations WHERE email = $1 AND status = $2 \
             AND expires_at > $3 ORDER BY org_id, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .bind(InvitationStatus::Pending.as_str())
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(invitation_from).collect()
    }

    async fn update_invitation(&self, i: &Invitation) -> Result<Invitation> {
        let sql = format!(
            "UPDATE invitations SET email = $4, roles = $5, org_roles = $6, token_hash = $7, \
             status = $8, expires_at = $9, invited_by = $10, app_id = $11, inviter_name = $12, \
             user_id = $13, version = version + 1 \
             WHERE org_id = $1 AND id = $2 AND version = $3 RETURNING {INVITATION_COLS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i.org_id.as_str())
            .bind(i.id.as_str())
            .bind(i.version)
            .bind(i.email.as_str())
            .bind(json(&i.roles)?)
            .bind(json(&i.org_roles)?)
            .bind(i.token_hash.as_hex())
            .bind(i.status.as_str())
            .bind(ms(i.expires_at))
            .bind(i.invited_by.as_str())
            .bind(i.app_id.as_ref().map(|a| a.as_str().to_owned()))
            .bind(i.inviter_name.clone())
            .bind(i.user_id.as_ref().map(|u| u.as_str().to_owned()))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.write_err(e, "organization"))?;
        match rows.first() {
            Some(r) => invitation_from(r),
            None => Err(self
                .cas_miss(
                    "SELECT 1 FROM invitations WHERE org_id = $1 AND id = $2",
                    &[i.org_id.as_str(), i.id.as_str()],
                )
                .await),
        }
    }

    async fn delete_invitation(&self, org: &OrgId, id: &InvitationId) -> Result<()> {
        let res = sqlx::query("DELETE FROM invitations WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}
