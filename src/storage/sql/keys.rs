//! `KeyStore` on the SQL backends: token-signing keys (private keys arrive sealed).
//!
//! Owns: the `signing_keys` queries. Must not touch: SAML SP keys (`saml.rs`).

use super::SqlStore;
use super::errors::*;
use super::values::*;
use crate::domain::*;
use crate::storage::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;

pub(super) const KEY_COLS: &str =
    "kid, alg, status, private_key, public_jwk, created_at, retire_until";

pub(super) fn key_from(r: &AnyRow) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: col_parse(r, "kid", KeyId::parse)?,
        alg: col_parse(r, "alg", SigningAlg::parse)?,
        status: col_enum(r, "status")?,
        private_key: Secret::new(col::<String>(r, "private_key")?),
        public_jwk: col(r, "public_jwk")?,
        created_at: col_ts(r, "created_at")?,
        retire_until: col_opt_ts(r, "retire_until")?,
    })
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn create_key(&self, k: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, status, private_key, public_jwk, created_at, \
             retire_until) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.kid.as_str())
        .bind(k.alg.as_str())
        .bind(enum_name(&k.status)?)
        .bind(k.private_key.expose())
        .bind(k.public_jwk.as_str())
        .bind(ms(k.created_at))
        .bind(opt_ms(k.retire_until))
        .execute(&self.pool)
        .await
        .map_err(|e| self.write_err(e, "signing key"))?;
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let sql = format!("SELECT {KEY_COLS} FROM signing_keys ORDER BY created_at, kid");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(key_from).collect()
    }

    async fn set_key_status(
        &self,
        kid: &KeyId,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> Result<()> {
        let res =
            sqlx::query("UPDATE signing_keys SET status = $2, retire_until = $3 WHERE kid = $1")
                .bind(kid.as_str())
                .bind(enum_name(&status)?)
                .bind(opt_ms(retire_until))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_key(&self, kid: &KeyId) -> Result<()> {
        let res = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}
