//! `PasskeyStore` on the SQL backends: the `passkeys` table (one row per WebAuthn credential,
//! the credential id unique across users, the library's serialized passkey as opaque JSON).
//!
//! Owns: the `passkeys` queries. Must not touch: WebAuthn (`login::mfa::passkey` makes and
//! reads the credential JSON), who may reset whom (the admin layer).

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

const PASSKEY_COLS: &str = "credential_id, user_id, name, credential, created_at, last_used_at";

fn passkey_from(r: &AnyRow) -> Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        credential_id: col_parse(r, "credential_id", PasskeyCredentialId::parse)?,
        user_id: col_parse(r, "user_id", UserId::parse)?,
        name: col(r, "name")?,
        credential: col(r, "credential")?,
        created_at: col_ts(r, "created_at")?,
        last_used_at: col_opt_ts(r, "last_used_at")?,
    })
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn create_passkey(&self, p: &PasskeyRecord) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO passkeys (credential_id, user_id, name, credential, created_at, \
             last_used_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.credential_id.as_str())
        .bind(p.user_id.as_str())
        .bind(p.name.as_str())
        .bind(p.credential.as_str())
        .bind(ms(p.created_at))
        .bind(opt_ms(p.last_used_at))
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => Err(self.write_err(e, "user")),
        }
    }

    async fn list_passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRecord>> {
        let sql = format!(
            "SELECT {PASSKEY_COLS} FROM passkeys WHERE user_id = $1 \
             ORDER BY created_at, credential_id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(passkey_from)
            .collect()
    }

    async fn get_passkey(
        &self,
        user: &UserId,
        id: &PasskeyCredentialId,
    ) -> Result<Option<PasskeyRecord>> {
        let sql = format!(
            "SELECT {PASSKEY_COLS} FROM passkeys WHERE user_id = $1 AND credential_id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(passkey_from)
            .transpose()
    }

    async fn record_passkey_use(
        &self,
        user: &UserId,
        id: &PasskeyCredentialId,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        let res = sqlx::query(
            "UPDATE passkeys SET credential = $3, last_used_at = $4 \
             WHERE user_id = $1 AND credential_id = $2",
        )
        .bind(user.as_str())
        .bind(id.as_str())
        .bind(credential)
        .bind(ms(at))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_passkey(&self, user: &UserId, id: &PasskeyCredentialId) -> Result<()> {
        let res = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
            .bind(user.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_all_passkeys_for_user(&self, user: &UserId) -> Result<u64> {
        let res = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(res.rows_affected())
    }
}
