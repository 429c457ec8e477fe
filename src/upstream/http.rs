//! The only way Lobby fetches anything from the network (IdP discovery, JWKS, token and
//! userinfo endpoints, SAML metadata). Guards (DESIGN §6.4):
//! - every resolved address is checked *after* DNS resolution, on every redirect hop, and for
//!   IP-literal URLs: link-local (169.254.0.0/16 — cloud metadata —, fe80::/10), unspecified,
//!   multicast, broadcast and reserved ranges, the known cloud metadata addresses
//!   (fd00:ec2::254, 100.100.100.200), and IPv6 forms that reach IPv4 through a translator or
//!   relay (NAT64, 6to4, Teredo) or are deprecated (fec0::/10) are always refused; an
//!   IPv4-mapped or IPv4-compatible IPv6 address counts as the IPv4 address it embeds; loopback
//!   and private ranges (RFC 1918, fc00::/7, 100.64.0.0/10) only when `allow_private` is
//!   configured;
//! - http and https only; at most 3 redirects, each re-checked;
//! - connect timeout, total timeout, response body cap (streamed, so a 50 MB JWKS is cut off at
//!   the cap, not buffered);
//! - a concurrency cap per upstream key (connection id or host) so one slow IdP cannot starve
//!   the others.
//!
//! Owns: outbound HTTP policy. Must not touch: what the responses mean.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("the address {0} is not allowed for outbound requests")]
    Blocked(String),
    #[error("only http and https URLs can be fetched")]
    BadScheme,
    #[error("the URL is not valid")]
    BadUrl,
    #[error("the request timed out")]
    Timeout,
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("too many requests to this identity provider are in flight")]
    Busy,
    #[error("network error: {0}")]
    Network(String),
}

impl FetchError {
    /// The error as a metric label (`ops::metrics::upstream_request`).
    pub fn label(&self) -> &'static str {
        match self {
            FetchError::Blocked(_) => "blocked",
            FetchError::BadScheme | FetchError::BadUrl => "bad_url",
            FetchError::Timeout => "timeout",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Status(s) if *s >= 500 => "http_5xx",
            FetchError::Status(_) => "http_4xx",
            FetchError::Busy => "busy",
            FetchError::Network(_) => "network",
        }
    }
}

/// Which addresses may be reached.
#[derive(Clone, Copy, Debug)]
pub struct NetPolicy {
    /// Allow loopback and private-range addresses (tests, IdPs on the same network).
    pub allow_private: bool,
}

impl NetPolicy {
    pub fn check(&self, ip: IpAddr) -> Result<(), FetchError> {
        match classify(ip) {
            AddrClass::Public => Ok(()),
            AddrClass::Private if self.allow_private => Ok(()),
            _ => Err(FetchError::Blocked(ip.to_string())),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum AddrClass {
    Public,
    /// Loopback, RFC 1918, CGNAT, unique-local.
    Private,
    /// Link-local (metadata services), unspecified, multicast, broadcast, reserved.
    Never,
}

/// Cloud instance-metadata services reachable at addresses that are otherwise "private":
/// refused even with `allow_private` (AWS IMDS over IPv6, Alibaba Cloud). The IPv4 link-local
/// ones (169.254.169.254 for AWS, GCP, Azure, OpenStack) are refused as link-local.
const METADATA_V4: [Ipv4Addr; 1] = [Ipv4Addr::new(100, 100, 100, 200)];
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)];

fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            classify_v6(a)
        }
    }
}

fn classify_v4(a: Ipv4Addr) -> AddrClass {
    let o = a.octets();
    if a.is_link_local()
        || a.is_unspecified()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || o[0] == 0
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || METADATA_V4.contains(&a)
    {
        return AddrClass::Never;
    }
    if a.is_loopback() || a.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        return AddrClass::Private;
    }
    AddrClass::Public
}

fn classify_v6(a: Ipv6Addr) -> AddrClass {
    let s = a.segments();
    if a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || METADATA_V6.contains(&a)
    {
        return AddrClass::Never;
    }
    if a.is_loopback() {
        return AddrClass::Private;
    }
    // IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1, deprecated): what the embedded IPv4
    // address is. (`::` and `::1` are handled above.)
    if s[..6].iter().all(|x| *x == 0) {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Addresses that carry or reach an IPv4 address through a translator or relay (NAT64
    // 64:ff9b::/96 and 64:ff9b:1::/48, RFC 6052/8215; 6to4 2002::/16, RFC 3056; Teredo
    // 2001::/32, RFC 4380, whose client address is obfuscated) and the deprecated site-local
    // fec0::/10 (RFC 3879): refused rather than decoded.
    if (s[0] == 0x0064 && s[1] == 0xff9b)
        || s[0] == 0x2002
        || (s[0] == 0x2001 && s[1] == 0x0000)
        || (s[0] & 0xffc0) == 0xfec0
    {
        return AddrClass::Never;
    }
    if (s[0] & 0xfe00) == 0xfc00 {
        return AddrClass::Private;
    }
    AddrClass::Public
}

/// DNS resolution through the system resolver, keeping only allowed addresses.
struct GuardedResolver {
    policy: NetPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut blocked = None;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        blocked = Some(e);
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let e = blocked.unwrap_or(FetchError::Network(format!("{host} has no address")));
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_body: usize,
    pub per_key_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_body: 1024 * 1024,
            per_key_concurrency: 8,
        }
    }
}

/// A response with its body fully read (and capped).
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

pub struct GuardedHttp {
    /// Builds requests, and sends them where no per-thread client could be built.
    client: reqwest::Client,
    /// The client each thread sends on: a pooled connection's I/O runs on the runtime that
    /// opened it, so with one shared pool a serving thread's request often went through a
    /// connection owned by another serving thread and woke that thread twice (docs/perf-issue17.md,
    /// "Session 8"). One pool per thread keeps a request and its connection on one thread.
    per_thread: thread_local::ThreadLocal<reqwest::Client>,
    build: Box<dyn Fn() -> reqwest::Result<reqwest::Client> + Send + Sync>,
    policy: NetPolicy,
    limits: Limits,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The connection kind its requests are counted under (`oidc`, `saml`).
    kind: &'static str,
}

impl std::fmt::Debug for GuardedHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedHttp")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish()
    }
}

impl GuardedHttp {
    pub fn new(policy: NetPolicy, limits: Limits) -> anyhow::Result<Self> {
        let build = move || {
            let redirect_policy = reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 3 {
                    return attempt.error(FetchError::Network("too many redirects".into()));
                }
                let url = attempt.url();
                if !matches!(url.scheme(), "http" | "https") {
                    return attempt.error(FetchError::BadScheme);
                }
                // IP literals skip DNS, so check them here; names go through GuardedResolver.
                if let Some(ip) = literal_ip(url)
                    && let Err(e) = policy.check(ip)
                {
                    return attempt.error(e);
                }
                attempt.follow()
            });
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver { policy }))
                .redirect(redirect_policy)
                .connect_timeout(limits.connect_timeout)
                .timeout(limits.total_timeout)
                .user_agent(concat!("lobby/", env!("CARGO_PKG_VERSION")))
                .no_proxy()
                .build()
        };
        let client = build()?;
        Ok(Self {
            client,
            per_thread: thread_local::ThreadLocal::new(),
            build: Box::new(build),
            policy,
            limits,
            gates: Mutex::new(HashMap::new()),
            kind: "other",
        })
    }

    /// The client this thread sends on (built on the thread's first request; the shared one if
    /// that fails, which only an exhausted system would make happen).
    fn sender(&self) -> &reqwest::Client {
        self.per_thread
            .get_or(|| (self.build)().unwrap_or_else(|_| self.client.clone()))
    }

    /// Count this client's requests under connection kind `kind` (the metrics label).
    pub fn for_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn policy(&self) -> NetPolicy {
        self.policy
    }

    fn gate(&self, key: &str) -> Arc<Semaphore> {
        let mut g = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        if g.len() > 10_000 {
            g.retain(|_, s| s.available_permits() < self.limits.per_key_concurrency);
        }
        g.entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_key_concurrency)))
            .clone()
    }

    /// Check a URL before any request: scheme, and IP-literal hosts against the policy.
    pub fn check_url(&self, url: &url::Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadScheme);
        }
        if url.host().is_none() {
            return Err(FetchError::BadUrl);
        }
        if let Some(ip) = literal_ip(url) {
            self.policy.check(ip)?;
        }
        Ok(())
    }

    /// Send a request built on this client; `key` is the concurrency bucket (e.g. connection id).
    /// Each call is timed and its failures counted by connection kind, never by `key`
    /// (connection ids are unbounded).
    pub async fn send(&self, key: &str, req: reqwest::Request) -> Result<Fetched, FetchError> {
        let started = std::time::Instant::now();
        let r = self.send_unmetered(key, req).await;
        let error = match &r {
            Ok(f) if f.status >= 400 => Some(FetchError::Status(f.status).label()),
            Ok(_) => None,
            Err(e) => Some(e.label()),
        };
        crate::ops::metrics::upstream_request(self.kind, started.elapsed(), error);
        r
    }

    async fn send_unmetered(
        &self,
        key: &str,
        req: reqwest::Request,
    ) -> Result<Fetched, FetchError> {
        self.check_url(req.url())?;
        let gate = self.gate(key);
        let _permit = match tokio::time::timeout(Duration::from_secs(2), gate.acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            _ => return Err(FetchError::Busy),
        };
        let max = self.limits.max_body;
        let total = self.limits.total_timeout;
        let work = async {
            let resp = self.sender().execute(req).await.map_err(map_reqwest)?;
            let status = resp.status().as_u16();
            if resp.content_length().is_some_and(|l| l > max as u64) {
                return Err(FetchError::TooLarge(max));
            }
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            let mut resp = resp;
            while let Some(chunk) = resp.chunk().await.map_err(map_reqwest)? {
                if body.len() + chunk.len() > max {
                    return Err(FetchError::TooLarge(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(total, work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }

    /// GET a URL and return the body of a 2xx response.
    pub async fn get(
        &self,
        key: &str,
        url: &url::Url,
        accept: &str,
    ) -> Result<Fetched, FetchError> {
        self.check_url(url)?;
        let req = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .build()
            .map_err(|_| FetchError::BadUrl)?;
        let r = self.send(key, req).await?;
        if !(200..300).contains(&r.status) {
            return Err(FetchError::Status(r.status));
        }
        Ok(r)
    }

    /// The underlying client, for building requests passed to `send`.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    }
}

fn map_reqwest(e: reqwest::Error) -> FetchError {
    // Our own errors (resolver, redirect policy) travel inside reqwest's error chain.
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(f) = s.downcast_ref::<FetchError>() {
            return f.clone();
        }
        src = s.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Network("could not connect".into())
    } else {
        FetchError::Network("the request failed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn http(allow_private: bool, max_body: usize, total: Duration) -> GuardedHttp {
        GuardedHttp::new(
            NetPolicy { allow_private },
            Limits {
                max_body,
                total_timeout: total,
                connect_timeout: Duration::from_secs(2),
                per_key_concurrency: 2,
            },
        )
        .unwrap()
    }

    /// A raw HTTP server on 127.0.0.1:0 answering every request with `response`.
    async fn serve(response: Vec<u8>, delay: Duration) -> SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let _ = s.write_all(&response).await;
                });
            }
        });
        addr
    }

    #[test]
    fn address_classes() {
        let p = NetPolicy {
            allow_private: false,
        };
        let allow = NetPolicy {
            allow_private: true,
        };
        for never in [
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "::",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            // Embedding or relaying IPv4: NAT64 (both prefixes), 6to4, Teredo; site-local.
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            // IPv4-compatible forms of never-allowed IPv4 addresses.
            "::169.254.169.254",
            "::224.0.0.1",
            // Cloud metadata services, blocked even when private ranges are allowed.
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:100.100.100.200",
        ] {
            let ip: IpAddr = never.parse().unwrap();
            assert!(p.check(ip).is_err(), "{never}");
            assert!(
                allow.check(ip).is_err(),
                "{never} must stay blocked even when private is allowed"
            );
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            // IPv4-compatible forms are what they embed.
            "::127.0.0.1",
            "::10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(p.check(ip).is_err(), "{private}");
            assert!(allow.check(ip).is_ok(), "{private}");
        }
        for public in [
            "93.184.216.34",
            "2606:4700::1111",
            "::93.184.216.34",
            "2001:4860:4860::8888",
        ] {
            assert!(p.check(public.parse().unwrap()).is_ok(), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let addr = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            Duration::ZERO,
        )
        .await;
        let url = url::Url::parse(&format!("http://{addr}/x")).unwrap();
        let strict = http(false, 1024, Duration::from_secs(5));
        assert_eq!(
            strict.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::Blocked("127.0.0.1".into())
        );
        // By name too: the check happens after DNS resolution.
        let by_name = url::Url::parse(&format!("http://localhost:{}/x", addr.port())).unwrap();
        assert!(matches!(
            strict.get("k", &by_name, "*/*").await.unwrap_err(),
            FetchError::Blocked(_)
        ));
        let relaxed = http(true, 1024, Duration::from_secs(5));
        assert_eq!(relaxed.get("k", &url, "*/*").await.unwrap().body, b"ok");
    }

    #[tokio::test]
    async fn metadata_address_is_refused_directly_and_through_a_redirect() {
        let relaxed = http(true, 1024, Duration::from_secs(5));
        let direct = url::Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
        assert!(matches!(
            relaxed.get("k", &direct, "*/*").await.unwrap_err(),
            FetchError::Blocked(_)
        ));
        let redirect = serve(
            b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\n\r\n".to_vec(),
            Duration::ZERO,
        )
        .await;
        let url = url::Url::parse(&format!("http://{redirect}/jwks")).unwrap();
        assert_eq!(
            relaxed.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::Blocked("169.254.169.254".into())
        );
    }

    /// A thread keeps sending on the same client, and no two threads share one.
    #[test]
    fn each_thread_sends_on_a_client_of_its_own() {
        let h = Arc::new(http(true, 1000, Duration::from_secs(5)));
        let here = |h: &GuardedHttp| std::ptr::from_ref(h.sender()) as usize;
        let mine = here(&h);
        assert_eq!(here(&h), mine, "the same client on the same thread");
        let theirs = std::thread::spawn({
            let h = h.clone();
            move || here(&h)
        })
        .join()
        .unwrap();
        assert_ne!(theirs, mine, "another thread, another client");
        assert_ne!(theirs, std::ptr::from_ref(&h.client) as usize);
    }

    /// Requests from several runtimes at once, and from a new runtime on a thread whose earlier
    /// runtime (and its pooled connection) is gone.
    #[test]
    fn one_client_sends_from_several_runtimes_and_threads() {
        let (tell, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tell.send(l.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
                axum::serve(l, app).await.unwrap();
            });
        });
        let addr = told.recv().unwrap();
        let url = url::Url::parse(&format!("http://{addr}/")).unwrap();
        let h = Arc::new(http(true, 1000, Duration::from_secs(5)));
        let on_new_runtimes = |runtimes: usize| {
            let (h, url) = (h.clone(), url.clone());
            std::thread::spawn(move || {
                for _ in 0..runtimes {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        for _ in 0..3 {
                            let r = h.get("k", &url, "*/*").await.unwrap();
                            assert_eq!(r.body, b"ok");
                        }
                    });
                }
            })
        };
        let (a, b) = (on_new_runtimes(2), on_new_runtimes(2));
        a.join().unwrap();
        b.join().unwrap();
        on_new_runtimes(1).join().unwrap();
    }

    #[tokio::test]
    async fn body_cap_and_timeouts() {
        let big = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n"
                .iter()
                .copied()
                .chain(std::iter::repeat_n(b'a', 5000))
                .collect(),
            Duration::ZERO,
        )
        .await;
        let h = http(true, 1000, Duration::from_secs(5));
        let url = url::Url::parse(&format!("http://{big}/")).unwrap();
        assert_eq!(
            h.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::TooLarge(1000)
        );
        // Chunked, no length announced: still cut at the cap while streaming.
        let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..10 {
            chunked.extend_from_slice(b"200\r\n");
            chunked.extend(std::iter::repeat_n(b'b', 0x200));
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let c = serve(chunked, Duration::ZERO).await;
        let url = url::Url::parse(&format!("http://{c}/")).unwrap();
        assert_eq!(
            h.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::TooLarge(1000)
        );

        let slow = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            Duration::from_secs(30),
        )
        .await;
        let h = http(true, 1000, Duration::from_millis(300));
        let url = url::Url::parse(&format!("http://{slow}/")).unwrap();
        assert_eq!(
            h.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::Timeout
        );
    }

    #[tokio::test]
    async fn status_and_scheme_errors() {
        let h = http(true, 1000, Duration::from_secs(5));
        let nf = serve(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
            Duration::ZERO,
        )
        .await;
        let url = url::Url::parse(&format!("http://{nf}/")).unwrap();
        assert_eq!(
            h.get("k", &url, "*/*").await.unwrap_err(),
            FetchError::Status(404)
        );
        let file = url::Url::parse("file:///etc/passwd").unwrap();
        assert_eq!(
            h.get("k", &file, "*/*").await.unwrap_err(),
            FetchError::BadScheme
        );
    }

    #[tokio::test]
    async fn one_dead_idp_does_not_starve_another() {
        let dead = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            Duration::from_secs(30),
        )
        .await;
        let alive = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            Duration::ZERO,
        )
        .await;
        let h = Arc::new(http(true, 1000, Duration::from_secs(3)));
        let dead_url = url::Url::parse(&format!("http://{dead}/")).unwrap();
        // Saturate the dead IdP's bucket (2 permits) and queue a third.
        let mut hung = Vec::new();
        for _ in 0..2 {
            let h = h.clone();
            let u = dead_url.clone();
            hung.push(tokio::spawn(async move { h.get("dead", &u, "*/*").await }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            h.get("dead", &dead_url, "*/*").await.unwrap_err(),
            FetchError::Busy
        );
        let alive_url = url::Url::parse(&format!("http://{alive}/")).unwrap();
        assert_eq!(h.get("alive", &alive_url, "*/*").await.unwrap().body, b"ok");
        for j in hung {
            j.abort();
        }
    }
}
