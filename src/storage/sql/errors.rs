//! How the SQL store reports failures: constraint violations (classified per dialect by
//! `sqlite.rs`/`postgres.rs`, named here) turned into `StorageError`s, and the existence
//! checks that tell `NotFound` from `Conflict` and name a missing reference.
//!
//! Owns: the constraint-name → "what is duplicated" table and the error helpers every
//! aggregate file uses. Must not touch: queries of any aggregate.

use super::SqlStore;
use crate::storage::dialect::{Dialect, Violation};
use crate::storage::{Result, StorageError, postgres, sqlite};

/// The database failed (not an answer such as a duplicate): every such failure of the SQL store
/// passes here, so it is also where storage errors are counted (`ops::metrics`).
pub(super) fn backend(e: impl Into<anyhow::Error>) -> StorageError {
    let e = e.into();
    let class = e
        .downcast_ref::<sqlx::Error>()
        .map_or("other", crate::storage::db::error_class);
    crate::ops::metrics::storage_error(class);
    StorageError::Backend(e)
}

/// "What is duplicated", by constraint name (SQLite's are translated in `sqlite.rs`).
pub(super) fn duplicate_label(constraint: &str) -> &'static str {
    match constraint {
        "apps_pkey" => "app id",
        "apps_client_id_key" => "client_id",
        "roles_pkey" => "role",
        "role_groups_pkey" => "role group",
        "role_group_roles_pkey" => "role in the role group",
        "orgs_pkey" => "org id",
        "orgs_slug_key" => "org slug",
        "org_app_links_pkey" => "organization link",
        "link_role_groups_pkey" => "role group on the link",
        "org_domains_pkey" => "domain",
        "org_domains_verified_key" => "verified domain",
        "connections_pkey" => "connection id",
        "users_pkey" => "user id",
        "users_password_email_key" => "password for this email",
        "password_resets_pkey" => "password reset token",
        "external_identities_pkey" => "external identity",
        "memberships_pkey" => "membership",
        "invitations_pkey" => "invitation id",
        "invitations_token_hash_key" => "invitation token",
        "audit_events_pkey" => "audit event id",
        "signing_keys_pkey" => "signing key",
        "refresh_families_pkey" => "refresh token family",
        "refresh_tokens_pkey" => "refresh token",
        "saml_idp_state_pkey" => "SAML IdP state",
        "saml_sp_keys_pkey" => "SAML SP key",
        "saml_seen_pkey" => "SAML assertion id",
        "webhook_endpoints_pkey" => "webhook id",
        "outbox_pkey" => "delivery id",
        "outbox_event_key" => "delivery of this event to this target",
        "mfa_totp_pkey" => "TOTP factor",
        "mfa_recovery_codes_pkey" => "recovery code",
        "mfa_remembered_devices_pkey" => "remembered device",
        "passkeys_pkey" => "passkey credential",
        _ => "row",
    }
}

/// Why a write inside a transaction failed: the statement (to be classified by the caller,
/// who knows what it referenced) or anything else.
pub(super) enum WriteError {
    Sql(sqlx::Error),
    Other(StorageError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Sql(e)
    }
}

impl From<StorageError> for WriteError {
    fn from(e: StorageError) -> Self {
        WriteError::Other(e)
    }
}

// Existence checks used to tell NotFound from Conflict and to name missing references.
pub(super) const APP_EXISTS: &str = "SELECT 1 FROM apps WHERE id = $1";
pub(super) const ORG_EXISTS: &str = "SELECT 1 FROM orgs WHERE id = $1";
pub(super) const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = $1";
pub(super) const CONNECTION_EXISTS: &str = "SELECT 1 FROM connections WHERE id = $1";

impl SqlStore {
    pub(super) fn write_error(&self, e: WriteError, fk: &str) -> StorageError {
        match e {
            WriteError::Sql(e) => self.write_err(e, fk),
            WriteError::Other(e) => e,
        }
    }

    pub(super) fn violation(&self, e: &sqlx::Error) -> Option<Violation> {
        let sqlx::Error::Database(db) = e else {
            return None;
        };
        match self.dialect {
            Dialect::Sqlite => sqlite::classify(db.as_ref()),
            Dialect::Postgres => postgres::classify(db.as_ref()),
        }
    }

    /// A failed write: unique → `Duplicate(what)`, foreign key → `MissingReference(fk)`.
    pub(super) fn write_err(&self, e: sqlx::Error, fk: &str) -> StorageError {
        match self.violation(&e) {
            Some(Violation::Unique(c)) => StorageError::Duplicate(duplicate_label(&c).into()),
            Some(Violation::ForeignKey) => StorageError::MissingReference(fk.into()),
            None => backend(e),
        }
    }

    /// A failed delete: a foreign-key violation means rows still refer to it.
    pub(super) fn delete_err(&self, e: sqlx::Error, in_use: &str) -> StorageError {
        match self.violation(&e) {
            Some(Violation::ForeignKey) => StorageError::InUse(in_use.into()),
            _ => backend(e),
        }
    }

    /// Close the database (tests: every later statement fails).
    #[cfg(test)]
    pub(super) async fn close_for_tests(&self) {
        self.pool.close().await;
    }

    pub(super) fn is_fk(&self, e: &sqlx::Error) -> bool {
        self.violation(e) == Some(Violation::ForeignKey)
    }

    pub(super) async fn exists(&self, sql: &'static str, args: &[&str]) -> Result<bool> {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        Ok(q.fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .is_some())
    }

    /// After a foreign-key failure: which reference is missing. `checks` are tried in order;
    /// `fallback` names the reference when all of them exist (the last one, by elimination).
    pub(super) async fn missing(
        &self,
        checks: &[(&'static str, &'static str, &[&str])],
        fallback: &str,
    ) -> StorageError {
        for (label, sql, args) in checks {
            match self.exists(sql, args).await {
                Ok(false) => return StorageError::MissingReference((*label).into()),
                Ok(true) => {}
                Err(e) => return e,
            }
        }
        StorageError::MissingReference(fallback.into())
    }

    /// A compare-and-swap that changed nothing: the row is gone or its version moved on.
    pub(super) async fn cas_miss(&self, sql: &'static str, args: &[&str]) -> StorageError {
        match self.exists(sql, args).await {
            Ok(true) => StorageError::Conflict,
            Ok(false) => StorageError::NotFound,
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every unique constraint of the schema has a name for "what is duplicated".
    #[test]
    fn every_unique_constraint_is_named() {
        let mut names = Vec::new();
        for l in postgres::MIGRATIONS.iter().flat_map(|m| m.2.lines()) {
            if let Some(rest) = l.strip_prefix("CREATE TABLE ") {
                let table = rest.split_whitespace().next().unwrap_or_default();
                names.push(format!("{table}_pkey"));
            }
            if let Some(rest) = l.strip_prefix("CREATE UNIQUE INDEX ") {
                names.push(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
        assert!(names.len() > 20);
        for n in names {
            assert_ne!(duplicate_label(&n), "row", "{n} has no label");
        }
    }
}
