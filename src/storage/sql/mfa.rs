//! `MfaStore` on the SQL backends: a user's TOTP factor (secret sealed by the caller), the
//! hashes of their recovery codes, and their remembered devices (token hashes).
//!
//! Owns: the `mfa_*` queries; replay defence of TOTP steps and single use of recovery codes
//! as one conditional write each. Must not touch: sealing, code computation (`login::mfa`).

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::mfa::MfaRemoved;
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl MfaStore for SqlStore {
    async fn get_totp(&self, user: &UserId) -> Result<Option<TotpFactor>> {
        let row = sqlx::query(
            "SELECT user_id, secret, last_step, created_at FROM mfa_totp WHERE user_id = $1",
        )
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(TotpFactor {
                user_id: col_parse(&r, "user_id", UserId::parse)?,
                secret: Secret::new(col::<String>(&r, "secret")?),
                last_step: col(&r, "last_step")?,
                created_at: col_ts(&r, "created_at")?,
            })
        })
        .transpose()
    }

    async fn enroll_totp(&self, f: &TotpFactor, recovery: &[TokenHash]) -> Result<()> {
        let mut tx = self.begin().await?;
        let fk = |e: sqlx::Error| self.write_err(e, "user");
        sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
            .bind(f.user_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(f.user_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO mfa_totp (user_id, secret, last_step, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(f.user_id.as_str())
        .bind(f.secret.expose())
        .bind(f.last_step)
        .bind(ms(f.created_at))
        .execute(&mut *tx)
        .await
        .map_err(fk)?;
        for h in recovery {
            sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(f.user_id.as_str())
                .bind(h.as_hex())
                .execute(&mut *tx)
                .await
                .map_err(fk)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn use_totp_step(&self, user: &UserId, step: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE mfa_totp SET last_step = $2 \
             WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user.as_str())
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(r.rows_affected() == 1)
    }

    async fn list_recovery_codes(&self, user: &UserId) -> Result<Vec<TokenHash>> {
        let rows = sqlx::query(
            "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1 ORDER BY code_hash",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| col_parse(r, "code_hash", token_hash))
            .collect()
    }

    async fn burn_recovery_code(&self, user: &UserId, hash: &TokenHash) -> Result<bool> {
        let r = sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2")
            .bind(user.as_str())
            .bind(hash.as_hex())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected() == 1)
    }

    async fn remember_device(&self, d: &RememberedDevice) -> Result<()> {
        sqlx::query(
            "INSERT INTO mfa_remembered_devices (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(d.token_hash.as_hex())
        .bind(d.user_id.as_str())
        .bind(ms(d.created_at))
        .bind(ms(d.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "user"))?;
        Ok(())
    }

    async fn find_remembered_device(
        &self,
        user: &UserId,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RememberedDevice>> {
        let row = sqlx::query(
            "SELECT token_hash, user_id, created_at, expires_at FROM mfa_remembered_devices \
             WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(hash.as_hex())
        .bind(user.as_str())
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(RememberedDevice {
                token_hash: col_parse(&r, "token_hash", token_hash)?,
                user_id: col_parse(&r, "user_id", UserId::parse)?,
                created_at: col_ts(&r, "created_at")?,
                expires_at: col_ts(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    async fn delete_mfa_for_user(&self, user: &UserId) -> Result<MfaRemoved> {
        let mut tx = self.begin().await?;
        let mut out = MfaRemoved::default();
        for (table, n) in [
            ("mfa_totp", 0usize),
            ("mfa_recovery_codes", 1),
            ("mfa_remembered_devices", 2),
        ] {
            let sql = format!("DELETE FROM {table} WHERE user_id = $1");
            let r = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(user.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let k = r.rows_affected();
            match n {
                0 => out.totp = k > 0,
                1 => out.recovery_codes = k,
                _ => out.remembered_devices = k,
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }
}
