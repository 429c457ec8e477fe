//! Durable SAML state: what Lobby pinned from each SAML connection's IdP metadata (kept apart
//! from the admin-edited connection config, so a refresh never races an admin's PATCH), and
//! the SP signing keys (one shared key pair, rotated with an overlap).
//!
//! Owns: the records and the trait. Must not touch: what the JSON state means (that is
//! `upstream::saml`), sealing (callers store only sealed private keys).

use super::{KeyStatus, Result};
use crate::domain::{ConnectionId, Secret};
use async_trait::async_trait;
use time::OffsetDateTime;

/// The pinned IdP state of one SAML connection, as JSON owned by `upstream::saml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlIdpRecord {
    pub connection_id: ConnectionId,
    pub state: String,
    pub updated_at: OffsetDateTime,
}

/// An SP signing key pair. `private_key` is sealed by the caller; `certificate` is base64 DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlSpKeyRecord {
    pub id: String,
    /// `Next`: published in SP metadata, not yet signing. `Active`: signs. `Retired`: still
    /// published until `retire_until`.
    pub status: KeyStatus,
    pub private_key: Secret,
    pub certificate: String,
    pub created_at: OffsetDateTime,
    pub retire_until: Option<OffsetDateTime>,
}

#[async_trait]
pub trait SamlStore: Send + Sync {
    async fn get_saml_idp(&self, connection: &ConnectionId) -> Result<Option<SamlIdpRecord>>;
    /// Insert or replace. `MissingReference("connection")` when the connection does not exist.
    async fn put_saml_idp(&self, r: &SamlIdpRecord) -> Result<()>;
    /// Every stored IdP state (the metadata refresher walks them).
    async fn list_saml_idps(&self) -> Result<Vec<SamlIdpRecord>>;

    /// `Duplicate("SAML SP key")` when the id exists.
    async fn create_saml_sp_key(&self, k: &SamlSpKeyRecord) -> Result<()>;
    /// Oldest first.
    async fn list_saml_sp_keys(&self) -> Result<Vec<SamlSpKeyRecord>>;
    async fn set_saml_sp_key_status(
        &self,
        id: &str,
        status: KeyStatus,
        retire_until: Option<OffsetDateTime>,
    ) -> Result<()>;
    async fn delete_saml_sp_key(&self, id: &str) -> Result<()>;

    /// The durable replay cache: record `key` (a consumed assertion) until `until`. `true`
    /// when it was not recorded yet (or its record had expired by `now`), `false` when it was
    /// — atomically, so of two concurrent calls with one key exactly one gets `true`. Expired
    /// records are deleted along the way.
    async fn mark_assertion_used(
        &self,
        key: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool>;
}
