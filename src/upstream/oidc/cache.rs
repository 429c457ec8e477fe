//! The per-connection cache of discovery documents and JWKS, stale-while-revalidate: discovery
//! is fresh for 1 hour and JWKS for 10 minutes; after that the cached copy is still served for
//! up to 24 hours while one background refresh runs, so a slow IdP does not slow sign-ins. A
//! cache entry belongs to a (connection, configured issuer) pair: changing the issuer starts
//! over; cached keys belong to the `jwks_uri` they came from. An unknown `kid` fetches the JWKS
//! again at once (key rollover), at most once per 30 s per connection.
//!
//! Owns: [`CachePolicy`], what is cached and when it is fetched again (the freshness rules are
//! `domain::cache::Swr`'s). Must not touch: judging the documents (`discovery`, `jwks`), ID
//! tokens (`id_token`), the connection test (`check` always fetches fresh).

use super::{
    Discovered, Jwks, OidcConnector, OidcError, discovery_url, parse_discovery, parse_jwks,
};
use crate::domain::cache::{Read, Swr};
use crate::domain::{ConnectionId, OidcConfig};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

/// How long cached metadata and keys are used.
#[derive(Clone, Debug)]
pub struct CachePolicy {
    pub discovery_fresh: Duration,
    pub jwks_fresh: Duration,
    /// Served while a background refresh runs, up to this age.
    pub max_stale: Duration,
    /// At most one forced JWKS refetch (unknown `kid`) per connection in this interval.
    pub kid_refetch_interval: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            discovery_fresh: Duration::from_secs(3600),
            jwks_fresh: Duration::from_secs(600),
            max_stale: Duration::from_secs(24 * 3600),
            kid_refetch_interval: Duration::from_secs(30),
        }
    }
}

/// A JWKS and the `jwks_uri` it was fetched from.
#[derive(Clone)]
pub(super) struct KeysFrom {
    uri: url::Url,
    keys: Arc<Jwks>,
}

/// What is cached for one connection.
#[derive(Default)]
pub(super) struct Entry {
    /// The configured issuer this entry was filled for.
    issuer: String,
    discovery: Swr<Arc<Discovered>>,
    jwks: Swr<KeysFrom>,
    forced_jwks_at: Option<Instant>,
}

/// Every connection's entry.
pub(super) type Entries = HashMap<ConnectionId, Entry>;

/// Which cached document of an entry a read or write is about.
type Cell<T> = fn(&mut Entry) -> &mut Swr<T>;

impl OidcConnector {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget what is cached for a connection (its config changed or was deleted).
    pub fn forget(&self, id: &ConnectionId) {
        self.lock().remove(id);
    }

    async fn fetch_discovery(
        &self,
        id: &ConnectionId,
        issuer: &str,
    ) -> Result<Discovered, OidcError> {
        let url = discovery_url(issuer)?;
        let r = self
            .http
            .get(id.as_str(), &url, "application/json")
            .await
            .map_err(OidcError::DiscoveryFetch)?;
        parse_discovery(issuer, &r.body)
    }

    async fn fetch_jwks(&self, id: &ConnectionId, uri: &url::Url) -> Result<Jwks, OidcError> {
        let r = self
            .http
            .get(
                id.as_str(),
                uri,
                "application/jwk-set+json, application/json",
            )
            .await
            .map_err(OidcError::JwksFetch)?;
        parse_jwks(&r.body)
    }

    /// The validated discovery document of a connection (cached, stale-while-revalidate).
    pub async fn discovery(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
    ) -> Result<Arc<Discovered>, OidcError> {
        let (cid, issuer) = (id.clone(), cfg.issuer.clone());
        self.read_through(
            id,
            &cfg.issuer,
            self.policy.discovery_fresh,
            |e| &mut e.discovery,
            |_| true,
            move |me| async move { me.fetch_discovery(&cid, &issuer).await.map(Arc::new) },
            "background discovery refresh failed; serving the cached document",
        )
        .await
    }

    /// The JWKS of a connection (cached, stale-while-revalidate).
    pub async fn jwks(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
    ) -> Result<Arc<Jwks>, OidcError> {
        let (cid, uri) = (id.clone(), disc.jwks_uri.clone());
        self.read_through(
            id,
            &cfg.issuer,
            self.policy.jwks_fresh,
            |e| &mut e.jwks,
            |k| k.uri == disc.jwks_uri,
            move |me| async move {
                let keys = Arc::new(me.fetch_jwks(&cid, &uri).await?);
                Ok(KeysFrom { uri, keys })
            },
            "background JWKS refresh failed; serving the cached keys",
        )
        .await
        .map(|k| k.keys)
    }

    /// The stale-while-revalidate read both documents share. Under the lock: the entry starts
    /// over when the configured issuer changed, a cached value that is not `usable` any more is
    /// dropped, then the cell is read. Fresh: served. Stale: served, and the first such reader
    /// starts one background `fetch`. Missing or too old: `fetch` now and store.
    #[allow(clippy::too_many_arguments)]
    async fn read_through<T, Fut>(
        self: &Arc<Self>,
        id: &ConnectionId,
        issuer: &str,
        fresh: Duration,
        cell: Cell<T>,
        usable: impl FnOnce(&T) -> bool,
        fetch: impl FnOnce(Arc<Self>) -> Fut + Send + 'static,
        refresh_failed: &'static str,
    ) -> Result<T, OidcError>
    where
        T: Clone + Send + 'static,
        Fut: Future<Output = Result<T, OidcError>> + Send + 'static,
    {
        let now = Instant::now();
        let read = {
            let mut c = self.lock();
            let e = c.entry(id.clone()).or_default();
            if e.issuer != issuer {
                *e = Entry {
                    issuer: issuer.to_owned(),
                    ..Entry::default()
                };
            }
            let slot = cell(e);
            if slot.value().is_some_and(|v| !usable(v)) {
                slot.clear();
            }
            slot.read(now, fresh, self.policy.max_stale).map(T::clone)
        };
        match read {
            Read::Fresh(v) => Ok(v),
            Read::Stale { value, refresh } => {
                if refresh {
                    let me = self.clone();
                    let (id, issuer) = (id.clone(), issuer.to_owned());
                    tokio::spawn(async move {
                        let r = fetch(me.clone()).await;
                        let mut c = me.lock();
                        if let Some(e) = c.get_mut(&id).filter(|e| e.issuer == issuer) {
                            let slot = cell(e);
                            slot.end_refresh();
                            match r {
                                Ok(v) => slot.put(v, Instant::now()),
                                Err(err) => {
                                    tracing::warn!(connection = %id, error = %err, "{refresh_failed}")
                                }
                            }
                        }
                    });
                }
                Ok(value)
            }
            Read::Miss => {
                let v = fetch(self.clone()).await?;
                self.store(id, issuer, cell, v.clone());
                Ok(v)
            }
        }
    }

    /// Keep `v` unless the entry was meanwhile refilled for another issuer.
    fn store<T>(&self, id: &ConnectionId, issuer: &str, cell: Cell<T>, v: T) {
        let mut c = self.lock();
        let e = c.entry(id.clone()).or_default();
        if e.issuer == issuer {
            cell(e).put(v, Instant::now());
        }
    }

    /// Fetch the JWKS again now because a token names an unknown `kid` — unless that was
    /// done for this connection less than `kid_refetch_interval` ago (`Ok(None)`).
    pub(super) async fn refetch_jwks_for_kid(
        &self,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
    ) -> Result<Option<Arc<Jwks>>, OidcError> {
        {
            let mut c = self.lock();
            let e = c.entry(id.clone()).or_default();
            let now = Instant::now();
            if e.forced_jwks_at
                .is_some_and(|t| now.duration_since(t) < self.policy.kid_refetch_interval)
            {
                return Ok(None);
            }
            e.forced_jwks_at = Some(now);
        }
        let keys = Arc::new(self.fetch_jwks(id, &disc.jwks_uri).await?);
        let from = KeysFrom {
            uri: disc.jwks_uri.clone(),
            keys: keys.clone(),
        };
        self.store(id, &cfg.issuer, |e| &mut e.jwks, from);
        Ok(Some(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SystemClock;
    use crate::keys::seal::SealKey;
    use crate::upstream::http::{GuardedHttp, Limits, NetPolicy};
    use crate::upstream::oidc::testkit::{cfg, doc};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An HTTP server on 127.0.0.1:0 answering every request with `body` (200, JSON) and
    /// counting requests; while `up` is false it reads the request and never answers.
    async fn serve(
        body: Arc<Mutex<Vec<u8>>>,
        hits: Arc<AtomicUsize>,
        up: Arc<std::sync::atomic::AtomicBool>,
    ) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let body = body.lock().unwrap().clone();
                let (hits, up) = (hits.clone(), up.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    hits.fetch_add(1, Ordering::SeqCst);
                    if !up.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                });
            }
        });
        addr
    }

    async fn wait_for(hits: &AtomicUsize, n: usize) {
        for _ in 0..500 {
            if hits.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "only {} requests, expected {n}",
            hits.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn discovery_is_cached_and_served_stale_while_it_revalidates() {
        let body = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let addr = serve(body.clone(), hits.clone(), up.clone()).await;
        let issuer = format!("http://{addr}");
        *body.lock().unwrap() = doc(&issuer, &issuer);
        let http = Arc::new(
            GuardedHttp::new(
                NetPolicy {
                    allow_private: true,
                },
                Limits {
                    total_timeout: Duration::from_secs(2),
                    ..Limits::default()
                },
            )
            .unwrap(),
        );
        let conn = Arc::new(OidcConnector::new(
            http,
            Arc::new(SealKey::generate().unwrap()),
            Arc::new(SystemClock),
            CachePolicy {
                discovery_fresh: Duration::from_secs(1),
                jwks_fresh: Duration::from_secs(1),
                max_stale: Duration::from_secs(60),
                kid_refetch_interval: Duration::from_secs(30),
            },
        ));
        let id = ConnectionId::parse("c1").unwrap();
        let c = cfg(&issuer);
        conn.discovery(&id, &c).await.unwrap();
        conn.discovery(&id, &c).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1, "fresh: from the cache");
        // Stale, and the IdP hangs: the cached copy is served at once (a fetch would wait for
        // the 2 s timeout) while one background refresh waits.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        up.store(false, Ordering::SeqCst);
        let started = Instant::now();
        conn.discovery(&id, &c).await.unwrap();
        conn.discovery(&id, &c).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "no waiting");
        wait_for(&hits, 2).await;
        // The IdP is back once that refresh has timed out: the next stale read refreshes in
        // the background and the copy is fresh again.
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2200)).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2, "one refresh at a time");
        conn.discovery(&id, &c).await.unwrap();
        wait_for(&hits, 3).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.discovery(&id, &c).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 3, "fresh again");
        // Another configured issuer is another cache entry.
        let mut c2 = c.clone();
        c2.issuer = format!("{issuer}/");
        assert!(matches!(
            conn.discovery(&id, &c2).await,
            Err(OidcError::IssuerMismatch { .. })
        ));
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    }
}
