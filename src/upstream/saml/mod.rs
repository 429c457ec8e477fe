//! Federation to an organization's own SAML 2.0 IdP (DESIGN §6.3): the protocol side.
//!
//! Owns: the SAML protocol — IdP metadata (by URL through `GuardedHttp`, or pasted XML) and
//! what is pinned from it, the SP key and SP metadata, AuthnRequests, Response validation, and
//! the metadata refresher. Must not touch: the browser flow (the `/sso/saml/{connection_id}/…`
//! routes live in `login::saml`), token issuance, storage internals.
//!
//! Layout: `xml` (strict tree), `dsig` (XML-DSig behind the `XmlDsig` trait, samael + xmlsec
//! today), `validate` (every check on a Response), `metadata` (IdP in, SP out), `request`
//! (AuthnRequest + bindings). The shared SP key pair and its rotation are `keys::saml_sp`.
//!
//! Pinned state is kept in its own table (`saml_idp_state`, JSON per connection, see
//! `storage::saml`), not in the connection config: the config says *where* the metadata comes
//! from, the state says what was pinned from it, when it was fetched, and the last error.
//! URLs are never taken from the request: the SP entity id is
//! `{public_url}/sso/saml/{connection_id}/metadata` and the ACS URL
//! `{public_url}/sso/saml/{connection_id}/acs` (samael's defaults of `http://localhost:8080/…`
//! are never used: footgun 9).

pub mod begin;
pub mod dsig;
#[cfg(test)]
mod fuzz;
pub mod metadata;
pub mod request;
pub mod validate;
pub mod xml;

use crate::config::Config;
use crate::domain::{
    AuditEvent, AuditEventId, Clock, Connection, ConnectionConfig, ConnectionId, Outcome,
    SamlConfig,
};
use crate::keys::seal::SealKey;
use crate::storage::{SamlIdpRecord, Storage};
use crate::upstream::UpstreamFailure;
use crate::upstream::http::{GuardedHttp, Limits, NetPolicy};
use dsig::XmlDsig;
use metadata::{IdpMetadata, MetadataError, PinnedCert};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a signing certificate that disappeared from refreshed metadata stays pinned.
pub const CERT_OVERLAP: time::Duration = time::Duration::hours(24);
/// How often URL metadata is re-fetched by the background refresher.
pub const REFRESH_EVERY: Duration = Duration::from_secs(6 * 3600);

/// A certificate kept pinned after the IdP dropped it, until `until` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainedCert {
    pub cert: PinnedCert,
    pub until: i64,
}

/// What Lobby pinned for one SAML connection (stored as JSON in `saml_idp_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpState {
    /// SHA-256 of where the metadata comes from (URL or XML, and the entity id picked): when the
    /// admin changes it, the state is rebuilt from scratch (no overlap with the old IdP).
    pub source: String,
    /// The last good metadata.
    pub metadata: Option<IdpMetadata>,
    /// Certificates dropped by the IdP, still accepted during [`CERT_OVERLAP`].
    #[serde(default)]
    pub retained: Vec<RetainedCert>,
    /// Unix seconds.
    pub last_fetch: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
}

impl IdpState {
    /// The pinned certificates (DER) at `now`: the metadata's and the retained ones. A
    /// certificate past its `notAfter` is left out unless `accept_expired` (the connection's
    /// `accept_expired_certs`); one whose expiry is unreadable stays in (it was pinned by the
    /// admin's metadata, and an unreadable date is not evidence of expiry).
    pub fn pinned_der(&self, now: OffsetDateTime, accept_expired: bool) -> Vec<Vec<u8>> {
        let now = now.unix_timestamp();
        let live = |c: &PinnedCert| accept_expired || c.not_after.is_none_or(|t| t > now);
        let mut out: Vec<Vec<u8>> = self
            .metadata
            .iter()
            .flat_map(|m| m.signing_certs.iter())
            .filter(|c| live(c))
            .filter_map(PinnedCert::der_bytes)
            .collect();
        out.extend(
            self.retained
                .iter()
                .filter(|r| r.until > now && live(&r.cert))
                .filter_map(|r| r.cert.der_bytes()),
        );
        out
    }
}

/// Why a SAML connection cannot be used now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("not a SAML connection")]
    NotSaml,
    #[error("{0}")]
    Metadata(MetadataError),
    #[error("fetching the IdP metadata failed: {0}")]
    Fetch(String),
    #[error("storage error: {0}")]
    Storage(String),
}

impl SetupError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotSaml => "not_saml",
            Self::Metadata(MetadataError::NoSigningCert) => "no_pinned_cert",
            Self::Metadata(_) => "bad_metadata",
            Self::Fetch(_) => "metadata_fetch_failed",
            Self::Storage(_) => "storage",
        }
    }

    /// The kind of upstream failure, or `None` when the failure is ours (storage).
    pub fn failure(&self) -> Option<UpstreamFailure> {
        match self {
            Self::NotSaml | Self::Metadata(_) => Some(UpstreamFailure::Misconfigured),
            Self::Fetch(_) => Some(UpstreamFailure::Unreachable),
            Self::Storage(_) => None,
        }
    }
}

/// The SP-side URLs of a connection, from the configured public URL only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpUrls {
    pub entity_id: String,
    pub acs: String,
}

pub fn sp_urls(config: &Config, id: &ConnectionId) -> SpUrls {
    SpUrls {
        entity_id: config.url(&format!("/sso/saml/{id}/metadata")),
        acs: config.url(&format!("/sso/saml/{id}/acs")),
    }
}

/// The subject CN of the SP certificate.
pub fn sp_common_name(config: &Config) -> String {
    config
        .public_url
        .host_str()
        .map(|h| format!("Lobby SAML SP {h}"))
        .unwrap_or_else(|| "Lobby SAML SP".into())
}

fn source_hash(c: &SamlConfig) -> String {
    let mut h = Sha256::new();
    match (&c.idp_metadata_url, &c.idp_metadata_xml) {
        (Some(u), _) => {
            h.update(b"url\0");
            h.update(u.as_bytes());
        }
        (None, Some(x)) => {
            h.update(b"xml\0");
            h.update(x.as_bytes());
        }
        (None, None) => h.update(b"none"),
    }
    h.update(b"\0");
    h.update(c.idp_entity_id.as_deref().unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

/// What a refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    pub ok: bool,
    pub added_certs: Vec<String>,
    pub removed_certs: Vec<String>,
    pub endpoints_changed: bool,
    pub error: Option<String>,
}

/// The SAML connector's shared parts (one per process, shared by every request).
pub struct SamlService {
    pub dsig: Arc<dyn XmlDsig>,
    pub http: GuardedHttp,
    pub sp_keys: crate::keys::saml_sp::SpKeys,
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SamlService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlService").finish_non_exhaustive()
    }
}

impl SamlService {
    pub fn new(
        config: &Config,
        storage: Arc<dyn Storage>,
        seal: Arc<SealKey>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let http = GuardedHttp::new(
            NetPolicy {
                allow_private: config.upstream_allow_private,
            },
            Limits {
                max_body: metadata::MAX_METADATA,
                ..Limits::default()
            },
        )?
        .for_kind("saml");
        let cn = sp_common_name(config);
        Ok(Self {
            dsig: Arc::new(dsig::SamaelDsig::default()),
            http,
            sp_keys: crate::keys::saml_sp::SpKeys::new(storage.clone(), seal, clock.clone(), cn),
            storage,
            clock,
        })
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Fetch or parse the metadata a config names.
    pub async fn load_metadata(
        &self,
        id: &ConnectionId,
        c: &SamlConfig,
    ) -> Result<IdpMetadata, SetupError> {
        let text = match (&c.idp_metadata_url, &c.idp_metadata_xml) {
            (Some(u), _) => {
                let url = url::Url::parse(u).map_err(|_| SetupError::Fetch("bad URL".into()))?;
                let got = self
                    .http
                    .get(
                        id.as_str(),
                        &url,
                        "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8",
                    )
                    .await
                    .map_err(|e| SetupError::Fetch(e.to_string()))?;
                String::from_utf8(got.body)
                    .map_err(|_| SetupError::Metadata(MetadataError::Xml("not UTF-8".into())))?
            }
            (None, Some(x)) => x.clone(),
            (None, None) => {
                return Err(SetupError::Metadata(MetadataError::NoEntity));
            }
        };
        metadata::parse_idp(&text, c.idp_entity_id.as_deref()).map_err(SetupError::Metadata)
    }

    async fn store(&self, id: &ConnectionId, s: &IdpState) -> Result<(), SetupError> {
        let json = serde_json::to_string(s).map_err(|e| SetupError::Storage(e.to_string()))?;
        self.storage
            .put_saml_idp(&SamlIdpRecord {
                connection_id: id.clone(),
                state: json,
                updated_at: crate::domain::trunc_millis(self.now()),
            })
            .await
            .map_err(|e| SetupError::Storage(e.to_string()))
    }

    /// The stored state as last written (read from the database, not the configuration cache:
    /// the refresher and the admin views build on it).
    pub async fn stored_state(&self, id: &ConnectionId) -> Result<Option<IdpState>, SetupError> {
        Self::read_state(self.storage.uncached().as_ref(), id).await
    }

    async fn read_state(
        storage: &dyn Storage,
        id: &ConnectionId,
    ) -> Result<Option<IdpState>, SetupError> {
        match storage
            .get_saml_idp(id)
            .await
            .map_err(|e| SetupError::Storage(e.to_string()))?
        {
            Some(r) => Ok(serde_json::from_str(&r.state).ok()),
            None => Ok(None),
        }
    }

    /// Build the pinned state from scratch (first use, or the admin changed the source), store it
    /// when `persist`. Fails when the metadata cannot be loaded or pins no certificate.
    pub async fn prepare(&self, conn: &Connection, persist: bool) -> Result<IdpState, SetupError> {
        let ConnectionConfig::Saml(c) = &conn.config else {
            return Err(SetupError::NotSaml);
        };
        let md = self.load_metadata(&conn.id, c).await?;
        let now = self.now().unix_timestamp();
        let pinned = IdpState {
            source: source_hash(c),
            metadata: Some(md),
            retained: vec![],
            last_fetch: Some(now),
            last_success: Some(now),
            last_error: None,
        };
        if persist {
            self.store(&conn.id, &pinned).await?;
        }
        Ok(pinned)
    }

    /// The usable pinned state of a SAML connection: the stored one when its source still
    /// matches the config, else freshly prepared. Never returns a state without a certificate.
    pub async fn idp_state(&self, conn: &Connection) -> Result<IdpState, SetupError> {
        let ConnectionConfig::Saml(c) = &conn.config else {
            return Err(SetupError::NotSaml);
        };
        let want = source_hash(c);
        // Through the configuration cache (sign-ins read it twice): a write by this process is
        // seen at once, one by another instance within the cache's TTL, as for the connection.
        let pinned = match Self::read_state(self.storage.as_ref(), &conn.id).await? {
            Some(s) if s.source == want && s.metadata.is_some() => s,
            _ => self.prepare(conn, true).await?,
        };
        if pinned.pinned_der(self.now(), true).is_empty() {
            return Err(SetupError::Metadata(MetadataError::NoSigningCert));
        }
        Ok(pinned)
    }

    /// Re-fetch URL metadata: new certificates and endpoints are picked up, a certificate the IdP
    /// dropped stays pinned for [`CERT_OVERLAP`]; a failed fetch or invalid metadata keeps the
    /// last good copy, records the error, counts `lobby_saml_metadata_refresh_failures_total` and
    /// is audited. Pasted XML is simply re-parsed.
    pub async fn refresh(
        &self,
        conn: &Connection,
        actor: &str,
    ) -> Result<RefreshReport, SetupError> {
        let ConnectionConfig::Saml(c) = &conn.config else {
            return Err(SetupError::NotSaml);
        };
        let now = self.now();
        let now_s = now.unix_timestamp();
        let want = source_hash(c);
        let old = self
            .stored_state(&conn.id)
            .await?
            .filter(|s| s.source == want);
        let mut report = RefreshReport::default();
        match self.load_metadata(&conn.id, c).await {
            Ok(md) => {
                let mut pinned = old.clone().unwrap_or(IdpState {
                    source: want.clone(),
                    metadata: None,
                    retained: vec![],
                    last_fetch: None,
                    last_success: None,
                    last_error: None,
                });
                let new_fps: Vec<&str> =
                    md.signing_certs.iter().map(|c| c.sha256.as_str()).collect();
                if let Some(prev) = &pinned.metadata {
                    for pc in &prev.signing_certs {
                        if !new_fps.contains(&pc.sha256.as_str()) {
                            report.removed_certs.push(pc.sha256.clone());
                            pinned.retained.push(RetainedCert {
                                cert: pc.clone(),
                                until: (now + CERT_OVERLAP).unix_timestamp(),
                            });
                        }
                    }
                    for pc in &md.signing_certs {
                        if !prev.signing_certs.iter().any(|p| p.sha256 == pc.sha256) {
                            report.added_certs.push(pc.sha256.clone());
                        }
                    }
                    report.endpoints_changed = prev.sso_redirect != md.sso_redirect
                        || prev.sso_post != md.sso_post
                        || prev.entity_id != md.entity_id;
                } else {
                    report.added_certs = new_fps.iter().map(|s| s.to_string()).collect();
                }
                // A cert back in the metadata, or past its overlap, is no longer "retained".
                pinned
                    .retained
                    .retain(|r| r.until > now_s && !new_fps.contains(&r.cert.sha256.as_str()));
                pinned.metadata = Some(md);
                pinned.last_fetch = Some(now_s);
                pinned.last_success = Some(now_s);
                pinned.last_error = None;
                self.store(&conn.id, &pinned).await?;
                report.ok = true;
            }
            Err(e) => {
                crate::ops::metrics::saml_metadata_refresh_failed();
                tracing::warn!(connection = %conn.id, error = %e, "SAML metadata refresh failed; keeping the last good copy");
                report.error = Some(e.to_string());
                if let Some(mut s) = old {
                    s.last_fetch = Some(now_s);
                    s.last_error = Some(e.to_string());
                    self.store(&conn.id, &s).await?;
                }
            }
        }
        let ev = AuditEvent {
            id: AuditEventId::generate(),
            time: now,
            actor: actor.to_owned(),
            org_id: Some(conn.org_id.clone()),
            action: "connection.saml_metadata_refresh".into(),
            target_type: "connection".into(),
            target_id: conn.id.to_string(),
            outcome: if report.ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            details: serde_json::to_value(&report).unwrap_or_default(),
            request_id: None,
        };
        if let Err(e) = self.storage.append_audit(&ev).await {
            tracing::error!(error = %e, "cannot record the metadata refresh audit event");
        }
        Ok(report)
    }

    /// Refresh every active URL-configured SAML connection whose last fetch is older than
    /// `every`.
    pub async fn refresh_due(&self, every: Duration) {
        let records = match self.storage.list_saml_idps().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "SAML metadata refresher: cannot list connections");
                return;
            }
        };
        let now = self.now().unix_timestamp();
        for r in records {
            let due = serde_json::from_str::<IdpState>(&r.state)
                .ok()
                .and_then(|s| s.last_fetch)
                .is_none_or(|t| now - t >= every.as_secs() as i64);
            if !due {
                continue;
            }
            let Ok(Some(conn)) = self
                .storage
                .get_connection_for_callback(&r.connection_id)
                .await
            else {
                continue;
            };
            let by_url =
                matches!(&conn.config, ConnectionConfig::Saml(c) if c.idp_metadata_url.is_some());
            if by_url && conn.state == crate::domain::ConnectionState::Active {
                let _ = self.refresh(&conn, "system:saml-metadata-refresher").await;
            }
        }
    }

    /// Run [`Self::refresh_due`] on a schedule (checks every ten minutes).
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600).min(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(s) = me.upgrade() else { break };
                s.refresh_due(every).await;
            }
        })
    }
}
