//! `PasswordResetStore` on the SQL backends: reset links (only the token's SHA-256 is stored),
//! consumed once in the transaction that stores the new password.
//!
//! Owns: the `password_resets` queries and the reset transaction. Must not touch: what makes a
//! password acceptable (`domain::password_policy`), sessions and refresh families (the caller
//! ends those after the reset).

use super::SqlStore;
use super::errors::*;
use super::users::{USER_COLS, user_from};
use super::values::*;
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

const RESET_COLS: &str = "token_hash, user_id, org_id, created_at, expires_at, used_at";

fn reset_from(r: &AnyRow) -> Result<PasswordReset> {
    Ok(PasswordReset {
        token_hash: col_parse(r, "token_hash", token_hash)?,
        user_id: col_parse(r, "user_id", UserId::parse)?,
        org_id: col_opt_parse(r, "org_id", OrgId::parse)?,
        created_at: col_ts(r, "created_at")?,
        expires_at: col_ts(r, "expires_at")?,
        used_at: col_opt_ts(r, "used_at")?,
    })
}

#[async_trait]
impl PasswordResetStore for SqlStore {
    async fn create_password_reset(&self, r: &PasswordReset) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, org_id, created_at, expires_at, \
             used_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.token_hash.as_hex())
        .bind(r.user_id.as_str())
        .bind(r.org_id.as_ref().map(|o| o.as_str().to_owned()))
        .bind(ms(r.created_at))
        .bind(ms(r.expires_at))
        .bind(opt_ms(r.used_at))
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if self.is_fk(&e) => Err(self
                .missing(
                    &[("user", USER_EXISTS, &[r.user_id.as_str()])],
                    "organization",
                )
                .await),
            Err(e) => Err(self.write_err(e, "user or organization")),
        }
    }

    async fn get_password_reset(&self, hash: &TokenHash) -> Result<Option<PasswordReset>> {
        let sql = format!("SELECT {RESET_COLS} FROM password_resets WHERE token_hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(reset_from)
            .transpose()
    }

    async fn complete_password_reset(
        &self,
        hash: &TokenHash,
        new_hash: &Secret,
        now: OffsetDateTime,
    ) -> Result<ResetOutcome> {
        let mut tx = self.begin().await?;
        // The consumption itself: one conditional UPDATE, so two concurrent resets with the
        // same token cannot both see it unused (SQLite: the write lock is taken at BEGIN;
        // PostgreSQL: the second UPDATE waits for the first's row lock, then finds used_at set).
        let consumed = sqlx::query(
            "UPDATE password_resets SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(hash.as_hex())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = consumed else {
            // Nothing changed: say why (the transaction is dropped, rolled back).
            drop(tx);
            return Ok(match self.get_password_reset(hash).await? {
                None => ResetOutcome::Unknown,
                Some(r) => match r.state(now) {
                    ResetTokenState::Expired => ResetOutcome::Expired,
                    // Used, or (a race) consumed between the two reads.
                    _ => ResetOutcome::Used,
                },
            });
        };
        let user_id: String = col(&row, "user_id")?;
        let sql = format!(
            "UPDATE users SET password_hash = $2, updated_at = $3, version = version + 1 \
             WHERE id = $1 RETURNING {USER_COLS}"
        );
        let user = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id.as_str())
            .bind(new_hash.expose())
            .bind(ms(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.write_err(e, "user"))?;
        // The user is gone (its resets went with it, so this is a race with a delete).
        let Some(user) = user.as_ref().map(user_from).transpose()? else {
            return Ok(ResetOutcome::Unknown);
        };
        // Every other link of this user dies with this reset.
        sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id.as_str())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(ResetOutcome::Done(user))
    }
}
