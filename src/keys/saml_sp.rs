//! The SP signing key: one RSA-2048 key pair shared by every SAML connection, with a
//! self-signed certificate (SAML metadata trusts the key, not a CA), generated on first use and
//! stored sealed (`SealKey`, AES-256-GCM) in `saml_sp_keys`.
//!
//! Rotation with overlap (two steps, like the token keys): `rotate` adds a `next` key that is
//! published in every SP metadata document at once but does not sign yet; after the IdPs have
//! reloaded our metadata, `rotate` again promotes it to `active` and retires the old key, which
//! stays published until `retire_until`. Several instances: the first to create a key wins; every
//! instance re-reads the table when the cached set is older than a minute.
//!
//! Owns: SP key generation, sealing, selection. Must not touch: SAML messages and metadata
//! (`upstream::saml` publishes the certificates and signs AuthnRequests with the active key),
//! IdP trust, HTTP. Private keys never reach logs or `Debug` output.

use super::seal::SealKey;
use crate::domain::cache::Timed;
use crate::domain::{Clock, Secret};
use crate::storage::{KeyStatus, SamlSpKeyRecord, Storage};
use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How long a retired SP certificate stays in our metadata.
pub const RETIRE_OVERLAP: time::Duration = time::Duration::days(7);
/// Validity of the self-signed SP certificate.
const CERT_DAYS: u32 = 3650;
/// How long this instance uses its copy of the key set before reading the table again.
const RELOAD_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// A usable SP key.
#[derive(Clone)]
pub struct SpKey {
    pub id: String,
    pub status: KeyStatus,
    /// PKCS#8 DER.
    private_der: Arc<Vec<u8>>,
    /// The same key parsed once when the key set is (re)loaded, not on every AuthnRequest
    /// (OpenSSL's DER decoding was ~0.5 ms of each SAML login; see docs/benchmarks-history.md),
    /// as the RSA key the HTTP-Redirect signature uses (`request::rsa_sha256`).
    parsed: Rsa<Private>,
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for SpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKey")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl SpKey {
    pub fn private_der(&self) -> &[u8] {
        &self.private_der
    }

    /// The private RSA key, parsed when the key set was loaded.
    pub fn rsa(&self) -> &Rsa<Private> {
        &self.parsed
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SAML SP key: {0}")]
pub struct SpKeyError(pub String);

fn err(e: impl std::fmt::Display) -> SpKeyError {
    SpKeyError(e.to_string())
}

/// Generate an RSA-2048 key and a self-signed certificate (PKCS#8 DER, certificate DER).
pub fn generate(common_name: &str) -> Result<(Vec<u8>, Vec<u8>), SpKeyError> {
    let rsa = Rsa::generate(2048).map_err(err)?;
    let pkey = PKey::from_rsa(rsa).map_err(err)?;
    let mut name = X509NameBuilder::new().map_err(err)?;
    let cn: String = common_name.chars().take(64).collect();
    name.append_entry_by_text("CN", &cn).map_err(err)?;
    let name = name.build();
    let mut b = X509::builder().map_err(err)?;
    b.set_version(2).map_err(err)?;
    let mut serial = BigNum::new().map_err(err)?;
    serial
        .rand(128, MsbOption::MAYBE_ZERO, false)
        .map_err(err)?;
    let serial = serial.to_asn1_integer().map_err(err)?;
    b.set_serial_number(&serial).map_err(err)?;
    b.set_subject_name(&name).map_err(err)?;
    b.set_issuer_name(&name).map_err(err)?;
    b.set_pubkey(&pkey).map_err(err)?;
    let not_before = Asn1Time::days_from_now(0).map_err(err)?;
    let not_after = Asn1Time::days_from_now(CERT_DAYS).map_err(err)?;
    b.set_not_before(&not_before).map_err(err)?;
    b.set_not_after(&not_after).map_err(err)?;
    b.sign(&pkey, MessageDigest::sha256()).map_err(err)?;
    let cert = b.build().to_der().map_err(err)?;
    let der = pkey.private_key_to_pkcs8().map_err(err)?;
    Ok((der, cert))
}

/// The SP keys, cached.
pub struct SpKeys {
    storage: Arc<dyn Storage>,
    seal: Arc<SealKey>,
    clock: Arc<dyn Clock>,
    common_name: String,
    cache: Mutex<Option<Timed<Vec<SpKey>, OffsetDateTime>>>,
}

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeys").finish_non_exhaustive()
    }
}

impl SpKeys {
    pub fn new(
        storage: Arc<dyn Storage>,
        seal: Arc<SealKey>,
        clock: Arc<dyn Clock>,
        common_name: String,
    ) -> Self {
        Self {
            storage,
            seal,
            clock,
            common_name,
            cache: Mutex::new(None),
        }
    }

    fn open(&self, r: &SamlSpKeyRecord) -> Result<SpKey, SpKeyError> {
        let private = self.seal.open(r.private_key.expose()).map_err(err)?;
        let cert = base64::engine::general_purpose::STANDARD
            .decode(&r.certificate)
            .map_err(err)?;
        let parsed = PKey::private_key_from_der(&private)
            .and_then(|k| k.rsa())
            .map_err(err)?;
        Ok(SpKey {
            id: r.id.clone(),
            status: r.status,
            parsed,
            private_der: Arc::new(private),
            cert_der: cert,
        })
    }

    async fn load(&self) -> Result<Vec<SpKey>, SpKeyError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for r in self.storage.list_saml_sp_keys().await.map_err(err)? {
            if r.status == KeyStatus::Retired && r.retire_until.is_some_and(|u| u <= now) {
                continue;
            }
            out.push(self.open(&r)?);
        }
        Ok(out)
    }

    async fn create(&self, status: KeyStatus) -> Result<(), SpKeyError> {
        let cn = self.common_name.clone();
        let (der, cert) = tokio::task::spawn_blocking(move || generate(&cn))
            .await
            .map_err(err)??;
        let rec = SamlSpKeyRecord {
            id: format!("sp-{}", ulid::Ulid::new().to_string().to_ascii_lowercase()),
            status,
            private_key: Secret::new(self.seal.seal(&der).map_err(err)?),
            certificate: base64::engine::general_purpose::STANDARD.encode(&cert),
            created_at: crate::domain::trunc_millis(self.clock.now()),
            retire_until: None,
        };
        self.storage.create_saml_sp_key(&rec).await.map_err(err)?;
        Ok(())
    }

    /// Every published key (active, next, retired within the overlap); creates the first active
    /// key when there is none.
    pub async fn all(&self) -> Result<Vec<SpKey>, SpKeyError> {
        let now = self.clock.now();
        if let Ok(g) = self.cache.lock()
            && let Some(keys) = g.as_ref().and_then(|t| t.fresh(now, RELOAD_AFTER))
            && keys.iter().any(|k| k.status == KeyStatus::Active)
        {
            return Ok(keys.clone());
        }
        let mut keys = self.load().await?;
        if !keys.iter().any(|k| k.status == KeyStatus::Active) {
            self.create(KeyStatus::Active).await?;
            keys = self.load().await?;
        }
        if let Ok(mut g) = self.cache.lock() {
            *g = Some(Timed::new(keys.clone(), now));
        }
        Ok(keys)
    }

    /// The key that signs AuthnRequests (the oldest active one, should two instances have raced).
    pub async fn active(&self) -> Result<SpKey, SpKeyError> {
        self.all()
            .await?
            .into_iter()
            .find(|k| k.status == KeyStatus::Active)
            .ok_or_else(|| SpKeyError("no active SP key".into()))
    }

    /// Certificates to publish in SP metadata (DER), active first.
    pub async fn published_certs(&self) -> Result<Vec<Vec<u8>>, SpKeyError> {
        let mut keys = self.all().await?;
        keys.sort_by_key(|k| match k.status {
            KeyStatus::Active => 0,
            KeyStatus::Next => 1,
            KeyStatus::Retired => 2,
        });
        Ok(keys.into_iter().map(|k| k.cert_der).collect())
    }

    /// One rotation step: without a `next` key, create one (published, not signing); with one,
    /// promote it and retire the active key for [`RETIRE_OVERLAP`].
    pub async fn rotate(&self) -> Result<(), SpKeyError> {
        let keys = self.all().await?;
        match keys.iter().find(|k| k.status == KeyStatus::Next) {
            None => self.create(KeyStatus::Next).await?,
            Some(next) => {
                let until = self.clock.now() + RETIRE_OVERLAP;
                for k in keys.iter().filter(|k| k.status == KeyStatus::Active) {
                    self.storage
                        .set_saml_sp_key_status(&k.id, KeyStatus::Retired, Some(until))
                        .await
                        .map_err(err)?;
                }
                self.storage
                    .set_saml_sp_key_status(&next.id, KeyStatus::Active, None)
                    .await
                    .map_err(err)?;
            }
        }
        if let Ok(mut g) = self.cache.lock() {
            *g = None;
        }
        Ok(())
    }
}
