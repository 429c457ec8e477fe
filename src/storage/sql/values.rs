//! Type mapping between domain values and SQL columns, the same on both dialects: ids and
//! enums as TEXT, timestamps as BIGINT unix milliseconds, sets and maps as JSON TEXT,
//! booleans as BOOLEAN (PostgreSQL) or INTEGER 0/1 (SQLite).
//!
//! Owns: encoding values for binds and decoding row columns. Must not touch: queries.

use super::errors::backend;
use crate::domain::{MfaPolicy, TokenHash, from_millis, to_millis};
use crate::storage::{Result, StorageError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};
use time::OffsetDateTime;

pub(super) fn corrupt(col: &str, e: impl std::fmt::Display) -> StorageError {
    crate::ops::metrics::storage_error("corrupt");
    StorageError::Backend(anyhow::anyhow!(
        "unreadable stored value in column {col}: {e}"
    ))
}

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    to_millis(t)
}

pub(super) fn opt_ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(to_millis)
}

pub(super) fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(backend)
}

/// JSON of an optional value (`NULL` for `None`).
pub(super) fn opt_json<T: Serialize>(v: Option<&T>) -> Result<Option<String>> {
    v.map(json).transpose()
}

/// The serde name of a unit enum variant (`"snake_case"` as in the API).
pub(super) fn enum_name<T: Serialize>(v: &T) -> Result<String> {
    match serde_json::to_value(v).map_err(backend)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(backend(anyhow::anyhow!("not a unit enum: {other}"))),
    }
}

pub(super) fn col<T>(row: &AnyRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get::<T, _>(name).map_err(|e| corrupt(name, e))
}

/// Booleans are BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite.
pub(super) fn col_bool(row: &AnyRow, name: &str) -> Result<bool> {
    match row.try_get::<bool, _>(name) {
        Ok(b) => Ok(b),
        Err(_) => Ok(col::<i64>(row, name)? != 0),
    }
}

pub(super) fn col_ts(row: &AnyRow, name: &str) -> Result<OffsetDateTime> {
    Ok(from_millis(col::<i64>(row, name)?))
}

pub(super) fn col_opt_ts(row: &AnyRow, name: &str) -> Result<Option<OffsetDateTime>> {
    Ok(col::<Option<i64>>(row, name)?.map(from_millis))
}

pub(super) fn col_json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let s: String = col(row, name)?;
    serde_json::from_str(&s).map_err(|e| corrupt(name, e))
}

/// A nullable JSON column.
pub(super) fn col_opt_json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<Option<T>> {
    match col::<Option<String>>(row, name)? {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| corrupt(name, e)),
    }
}

pub(super) fn col_enum<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let s: String = col(row, name)?;
    serde_json::from_value(serde_json::Value::String(s)).map_err(|e| corrupt(name, e))
}

pub(super) fn col_parse<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    let s: String = col(row, name)?;
    parse(&s).map_err(|e| corrupt(name, e))
}

pub(super) fn col_opt_parse<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    match col::<Option<String>>(row, name)? {
        Some(s) => parse(&s).map(Some).map_err(|e| corrupt(name, e)),
        None => Ok(None),
    }
}

pub(super) fn token_hash(s: &str) -> std::result::Result<TokenHash, &'static str> {
    TokenHash::from_hex(s).ok_or("not a SHA-256 hex digest")
}

pub(super) fn mfa_policy(s: &str) -> std::result::Result<MfaPolicy, &'static str> {
    MfaPolicy::parse(s).ok_or("not an MFA policy")
}
