//! DNS TXT lookups for domain verification, behind a small trait so tests inject a fake.
//!
//! Owns: resolving `_lobby-challenge.<domain>` TXT records. Must not touch: storage, the
//! decision whether a domain is verified (the admin service decides).

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use std::net::SocketAddr;
use std::time::Duration;
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

/// The hickory resolver: the system's (`/etc/resolv.conf`), or exactly one configured server
/// (`LOBBY_DNS_SERVER`, asked over UDP and TCP, no system configuration read). Built on first
/// use. Answers are not cached: an admin who has just published the record and clicks
/// "verify" gets a fresh answer (the recursive resolver upstream still caches per TTL).
#[derive(Default)]
pub struct SystemTxtResolver {
    server: Option<SocketAddr>,
    inner: OnceCell<TokioResolver>,
}

impl std::fmt::Debug for SystemTxtResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTxtResolver")
            .field("server", &self.server)
            .finish()
    }
}

impl SystemTxtResolver {
    /// The system resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask exactly `server` (UDP, then TCP when the answer is truncated), or the system
    /// resolver when `None`.
    pub fn with_server(server: Option<SocketAddr>) -> Self {
        Self {
            server,
            inner: OnceCell::new(),
        }
    }

    async fn resolver(&self) -> Result<&TokioResolver, DnsError> {
        self.inner
            .get_or_try_init(|| async {
                let mut builder = match self.server {
                    Some(addr) => {
                        // `from_ips_clear` gives one UDP and one TCP entry for the address; its
                        // negative answers (NXDOMAIN) are trusted: it is the only server.
                        let servers =
                            NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                        TokioResolver::builder_with_config(
                            ResolverConfig::from_parts(None, Vec::new(), servers),
                            TokioConnectionProvider::default(),
                        )
                    }
                    None => TokioResolver::builder_tokio().map_err(|e| DnsError(e.to_string()))?,
                };
                let opts = builder.options_mut();
                opts.positive_max_ttl = Some(Duration::ZERO);
                opts.negative_max_ttl = Some(Duration::ZERO);
                Ok(builder.build())
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
            Err(e) if record_absent(&e) => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}

/// Whether a failed lookup means "there is no such record": NXDOMAIN, or NOERROR without
/// answers. hickory also reports SERVFAIL, REFUSED and the like as "no records found"; those
/// are failures of DNS itself (the domain page says "DNS unavailable", not "not published").
fn record_absent(e: &hickory_resolver::ResolveError) -> bool {
    use hickory_resolver::proto::ProtoErrorKind;
    use hickory_resolver::proto::op::ResponseCode;
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
            matches!(
                response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            )
        }
        _ => false,
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
