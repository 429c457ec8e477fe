//! DNS TXT lookups for domain verification, behind a small trait so tests inject a fake.
//!
//! Owns: resolving `_lobby-challenge.<domain>` TXT records. Must not touch: storage, the
//! decision whether a domain is verified (the admin service decides).

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use tokio::sync::OnceCell;

/// Why a lookup failed (not "no record": that is an empty answer).
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(pub String);

#[async_trait]
pub trait TxtResolver: Send + Sync + 'static {
    /// The TXT records at `name`, each record's character-strings concatenated
    /// (RFC 7208 §3.3 style). An empty vector when the name or the records do not exist.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// The system resolver (`/etc/resolv.conf`), built on first use.
#[derive(Default)]
pub struct SystemTxtResolver {
    inner: OnceCell<TokioResolver>,
}

impl std::fmt::Debug for SystemTxtResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemTxtResolver")
    }
}

impl SystemTxtResolver {
    pub fn new() -> Self {
        Self::default()
    }

    async fn resolver(&self) -> Result<&TokioResolver, DnsError> {
        self.inner
            .get_or_try_init(|| async {
                TokioResolver::builder_tokio()
                    .map(|b| b.build())
                    .map_err(|e| DnsError(e.to_string()))
            })
            .await
    }
}

#[async_trait]
impl TxtResolver for SystemTxtResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let r = self.resolver().await?;
        // A fully qualified name, so that no search domain is appended.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match r.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>()
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}

/// A resolver with fixed answers, for tests and for deployments without DNS.
#[derive(Debug, Default)]
pub struct StaticTxtResolver {
    records: std::sync::RwLock<std::collections::BTreeMap<String, Vec<String>>>,
}

impl StaticTxtResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Publish a TXT record (replaces earlier ones at the same name).
    pub fn set(&self, name: &str, values: Vec<String>) {
        if let Ok(mut m) = self.records.write() {
            m.insert(name.trim_end_matches('.').to_ascii_lowercase(), values);
        }
    }
}

#[async_trait]
impl TxtResolver for StaticTxtResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let m = self
            .records
            .read()
            .map_err(|_| DnsError("resolver state poisoned".into()))?;
        Ok(m.get(&name.trim_end_matches('.').to_ascii_lowercase())
            .cloned()
            .unwrap_or_default())
    }
}
