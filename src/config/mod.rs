//! Typed configuration: defaults < optional TOML file (`--config`) < `LOBBY_*` environment.
//! Every invalid setting is reported at once, each with its key name; unknown `LOBBY_*` keys
//! are warned about; secrets are kept in `Secret` so they never reach a log.
//!
//! Owns: reading and validating settings. Must not touch: anything that acts on them.

use crate::domain::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where Prometheus scrapes `/metrics` (`LOBBY_METRICS_LISTEN`, default
    /// [`DEFAULT_METRICS_LISTEN`]); `None` (`off`) serves no metrics. Never the public listener.
    pub metrics_listen: Option<SocketAddr>,
    /// The issuer and base of every URL Lobby hands out. Never taken from request headers.
    pub public_url: url::Url,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub redis_url: Option<Secret>,
    /// Operator bearer token for the admin API; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    pub log_format: LogFormat,
    pub log_level: String,
    /// 32-byte key (base64) that encrypts private keys and upstream client secrets at rest.
    /// When unset, one is generated in the data dir (file mode 0600).
    pub secret_key: Option<Secret>,
    pub max_body_bytes: usize,
    /// Allow upstream fetches (IdP discovery, JWKS, metadata) to loopback and private
    /// addresses. Off by default (SSRF guard); tests and local IdPs turn it on.
    pub upstream_allow_private: bool,
    /// The DNS server domain verification asks (UDP and TCP), e.g. `127.0.0.1:5353`; `None`:
    /// the system resolver (`/etc/resolv.conf`).
    pub dns_server: Option<SocketAddr>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` header names the client
    /// (`LOBBY_TRUSTED_PROXIES`, CIDRs). Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per minute one client IP may send to each of `/authorize`, `/login*`,
    /// `/token`, `/sso/*` (`LOBBY_RATE_LIMIT_PER_IP`; 0 turns it off).
    pub rate_limit_per_ip: u32,
    /// Requests per second all clients together may send to each of them
    /// (`LOBBY_RATE_LIMIT_GLOBAL`; 0 turns it off).
    pub rate_limit_global: u32,
    /// SMTP server for outgoing mail (lettre URL, may hold a password); `None` writes each
    /// message to `<data dir>/outbox/` instead (see `mail`).
    pub smtp_url: Option<Secret>,
    /// The From of outgoing mail, `Name <address>` or `address`; default
    /// `Lobby <no-reply@<public host>>`.
    pub mail_from: String,
    /// The admin portal's base URL (`LOBBY_PORTAL_URL`); `None`: `<public url>/portal`. Its path
    /// is always `/portal` (another host may point at the same Lobby, like an "admin portal
    /// domain").
    pub portal_url: Option<url::Url>,
    /// The slug of the vendor's own org (`LOBBY_OPERATOR_ORG`): its active `org_admin` members
    /// are the portal's operators. `None`: nobody is an operator in the portal.
    pub operator_org: Option<String>,
    /// Portal sessions end after this many seconds without a request (`LOBBY_PORTAL_IDLE_SECS`).
    pub portal_idle_secs: u64,
    /// Portal sessions end this many seconds after sign-in (`LOBBY_PORTAL_MAX_AGE_SECS`).
    pub portal_max_age_secs: u64,
    /// On SIGTERM, in-flight requests get at most this long to finish before the process
    /// exits anyway (`LOBBY_SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout_secs: u64,
    /// How many days "remember this device" skips the second factor
    /// (`LOBBY_MFA_REMEMBER_DAYS`; 0: the checkbox is not offered).
    pub mfa_remember_days: u32,
    /// How requests are served (`LOBBY_SERVE_THREADS`): on threads of their own, each with a
    /// single-threaded runtime, or on the shared multi-threaded runtime.
    pub serve_threads: ServeThreads,
}

/// `LOBBY_SERVE_THREADS`: how many serving threads, each running its own single-threaded
/// runtime that accepts from the one listening socket and keeps each connection on that thread;
/// or the shared multi-threaded runtime (tokio's work-stealing pool), where any worker may run
/// any request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeThreads {
    /// The default: one serving thread per CPU, whatever the store (PostgreSQL and Redis keep
    /// connections per thread, so a serving thread does not use another's).
    Auto,
    /// This many serving threads (1–1024).
    Count(usize),
    /// The shared multi-threaded runtime (`0` or `shared`).
    Shared,
}

impl ServeThreads {
    /// The number of serving threads, `None` for the shared runtime.
    pub fn threads(self) -> Option<usize> {
        match self {
            Self::Auto => Some(std::thread::available_parallelism().map_or(1, |n| n.get())),
            Self::Shared => None,
            Self::Count(n) => Some(n),
        }
    }

    fn parse(v: &str) -> Option<Self> {
        match v.trim() {
            "auto" => Some(Self::Auto),
            "shared" | "0" => Some(Self::Shared),
            n => match n.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => Some(Self::Count(n)),
                _ => None,
            },
        }
    }
}

/// Default of `LOBBY_MFA_REMEMBER_DAYS`.
pub const DEFAULT_MFA_REMEMBER_DAYS: u32 = 30;

/// Default of `LOBBY_METRICS_LISTEN`: loopback, so metrics are never public by accident.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
/// Default of `LOBBY_PORTAL_IDLE_SECS`: 30 minutes.
pub const DEFAULT_PORTAL_IDLE_SECS: u64 = 30 * 60;
/// Default of `LOBBY_PORTAL_MAX_AGE_SECS`: 12 hours.
pub const DEFAULT_PORTAL_MAX_AGE_SECS: u64 = 12 * 3600;

/// Default of `LOBBY_SHUTDOWN_TIMEOUT_SECS`: below Kubernetes' default 30 s grace period, and
/// longer than one upstream call (10 s) so a sign-in waiting on an IdP still gets its answer.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;

/// Default of `LOBBY_RATE_LIMIT_PER_IP` (per minute, per endpoint class).
pub const DEFAULT_RATE_LIMIT_PER_IP: u32 = 600;
/// Default of `LOBBY_RATE_LIMIT_GLOBAL` (per second, per endpoint class).
pub const DEFAULT_RATE_LIMIT_GLOBAL: u32 = 10_000;

/// The keys a TOML file may set; every field is optional and overrides the default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    metrics_listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    redis_url: Option<String>,
    admin_token: Option<String>,
    log_format: Option<String>,
    log_level: Option<String>,
    secret_key: Option<String>,
    max_body_bytes: Option<u64>,
    upstream_allow_private: Option<bool>,
    dns_server: Option<String>,
    trusted_proxies: Option<String>,
    rate_limit_per_ip: Option<u32>,
    rate_limit_global: Option<u32>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    portal_url: Option<String>,
    operator_org: Option<String>,
    portal_idle_secs: Option<u64>,
    portal_max_age_secs: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    mfa_remember_days: Option<u32>,
    serve_threads: Option<NumberOrWord>,
}

/// A file value that may be written `4` or `"shared"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberOrWord {
    Number(i64),
    Word(String),
}

/// Every environment key Lobby reads.
pub const ENV_KEYS: &[&str] = &[
    "LOBBY_LISTEN",
    "LOBBY_METRICS_LISTEN",
    "LOBBY_PUBLIC_URL",
    "LOBBY_DATA_DIR",
    "LOBBY_DATABASE_URL",
    "LOBBY_REDIS_URL",
    "LOBBY_ADMIN_TOKEN",
    "LOBBY_LOG_FORMAT",
    "LOBBY_LOG",
    "LOBBY_SECRET_KEY",
    "LOBBY_MAX_BODY_BYTES",
    "LOBBY_UPSTREAM_ALLOW_PRIVATE",
    "LOBBY_DNS_SERVER",
    "LOBBY_TRUSTED_PROXIES",
    "LOBBY_RATE_LIMIT_PER_IP",
    "LOBBY_RATE_LIMIT_GLOBAL",
    "LOBBY_SMTP_URL",
    "LOBBY_MAIL_FROM",
    "LOBBY_PORTAL_URL",
    "LOBBY_OPERATOR_ORG",
    "LOBBY_PORTAL_IDLE_SECS",
    "LOBBY_PORTAL_MAX_AGE_SECS",
    "LOBBY_SHUTDOWN_TIMEOUT_SECS",
    "LOBBY_MFA_REMEMBER_DAYS",
    "LOBBY_SERVE_THREADS",
    // Read by the test suites, not by the server.
    "LOBBY_TEST_DATABASE_URL",
    "LOBBY_TEST_REDIS_URL",
];

/// The result of loading: the config, or every problem found; plus warnings either way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

impl Config {
    /// Load from an optional TOML file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigErrors> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("LOBBY_"))
            .collect();
        let text = match file {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                ConfigErrors(vec![format!(
                    "--config {}: cannot read the file ({e})",
                    p.display()
                )])
            })?),
            None => None,
        };
        Self::from_sources(text.as_deref(), &env)
    }

    /// Pure core of `load`, for tests.
    pub fn from_sources(
        toml_text: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> Result<Loaded, ConfigErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let file: FileConfig = match toml_text {
            Some(t) => match toml::from_str(t) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(format!("config file: {}", e.message()));
                    FileConfig::default()
                }
            },
            None => FileConfig::default(),
        };
        for k in env.keys() {
            if !ENV_KEYS.contains(&k.as_str()) {
                warnings.push(format!("unknown environment variable {k} is ignored"));
            }
        }
        let pick = |env_key: &str, file_val: Option<String>| -> Option<String> {
            env.get(env_key)
                .cloned()
                .filter(|v| !v.is_empty())
                .or(file_val)
        };

        let listen_s = pick("LOBBY_LISTEN", file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = match listen_s.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(format!(
                    "LOBBY_LISTEN / listen: \"{listen_s}\" is not an address like 127.0.0.1:8080"
                ));
                None
            }
        };

        let metrics_s = pick("LOBBY_METRICS_LISTEN", file.metrics_listen)
            .unwrap_or_else(|| DEFAULT_METRICS_LISTEN.into());
        let metrics_listen = match metrics_s.trim() {
            "off" | "none" | "false" => None,
            s => match s.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.push(format!(
                        "LOBBY_METRICS_LISTEN / metrics_listen: \"{metrics_s}\" is not an address like 127.0.0.1:9464 (or off)"
                    ));
                    None
                }
            },
        };
        if let (Some(m), Some(l)) = (metrics_listen, listen)
            && m == l
        {
            errors.push(format!(
                "LOBBY_METRICS_LISTEN / metrics_listen: {m} is also LOBBY_LISTEN; metrics need their own address (or off)"
            ));
        }

        let public_s = pick("LOBBY_PUBLIC_URL", file.public_url);
        let public_url = match (&public_s, listen) {
            (Some(s), _) => match url::Url::parse(s) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.query().is_none()
                        && u.fragment().is_none()
                        && u.host().is_some() =>
                {
                    Some(normalize_public_url(u))
                }
                _ => {
                    errors.push(format!("LOBBY_PUBLIC_URL / public_url: \"{s}\" must be an absolute http(s) URL without query or fragment"));
                    None
                }
            },
            (None, Some(a)) => {
                let host = if a.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    a.ip().to_string()
                };
                let host = if a.is_ipv6() && !a.ip().is_unspecified() {
                    format!("[{host}]")
                } else {
                    host
                };
                url::Url::parse(&format!("http://{host}:{}", a.port()))
                    .ok()
                    .map(normalize_public_url)
            }
            (None, None) => None,
        };
        if let Some(u) = &public_url
            && u.scheme() == "http"
            && !is_loopback_url(u)
        {
            warnings.push(format!(
                    "LOBBY_PUBLIC_URL {u} is plain http on a non-loopback host: browsers will not keep Lobby's Secure cookies; use https"
                ));
        }

        let data_dir =
            PathBuf::from(pick("LOBBY_DATA_DIR", file.data_dir).unwrap_or_else(|| "./data".into()));
        let database_url = pick("LOBBY_DATABASE_URL", file.database_url)
            .unwrap_or_else(|| default_database_url(&data_dir));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            errors.push(
                "LOBBY_DATABASE_URL / database_url: must start with sqlite: or postgres://".into(),
            );
        }
        let redis_url = pick("LOBBY_REDIS_URL", file.redis_url);
        if let Some(r) = &redis_url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            errors
                .push("LOBBY_REDIS_URL / redis_url: must start with redis:// or rediss://".into());
        }
        let admin_token = pick("LOBBY_ADMIN_TOKEN", file.admin_token);
        if let Some(t) = &admin_token
            && t.len() < 16
        {
            errors.push("LOBBY_ADMIN_TOKEN / admin_token: must be at least 16 characters (use a random value)".into());
        }
        let log_format = match pick("LOBBY_LOG_FORMAT", file.log_format).as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!(
                    "LOBBY_LOG_FORMAT / log_format: \"{other}\" must be \"pretty\" or \"json\""
                ));
                LogFormat::Pretty
            }
        };
        let log_level = pick("LOBBY_LOG", file.log_level).unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            errors.push(format!("LOBBY_LOG / log_level: \"{log_level}\" is not a log filter like info or lobby=debug"));
        }
        let secret_key = pick("LOBBY_SECRET_KEY", file.secret_key);
        if let Some(k) = &secret_key {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(k.trim()) {
                Ok(b) if b.len() == 32 => {}
                _ => errors.push("LOBBY_SECRET_KEY / secret_key: must be 32 bytes, base64-encoded (openssl rand -base64 32)".into()),
            }
        }
        let max_body_bytes = match env.get("LOBBY_MAX_BODY_BYTES") {
            Some(v) => match v.parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    errors.push(format!(
                        "LOBBY_MAX_BODY_BYTES: \"{v}\" is not a number of bytes"
                    ));
                    0
                }
            },
            None => file.max_body_bytes.unwrap_or(1024 * 1024),
        };
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes)
            && errors
                .iter()
                .all(|e| !e.starts_with("LOBBY_MAX_BODY_BYTES"))
        {
            errors.push(
                "LOBBY_MAX_BODY_BYTES / max_body_bytes: must be between 1024 and 67108864".into(),
            );
        }
        let upstream_allow_private = match env.get("LOBBY_UPSTREAM_ALLOW_PRIVATE") {
            Some(v) => match parse_bool(v) {
                Some(b) => b,
                None => {
                    errors.push(format!(
                        "LOBBY_UPSTREAM_ALLOW_PRIVATE: \"{v}\" must be true or false"
                    ));
                    false
                }
            },
            None => file.upstream_allow_private.unwrap_or(false),
        };
        let smtp_url = pick("LOBBY_SMTP_URL", file.smtp_url);
        if let Some(u) = &smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            errors.push("LOBBY_SMTP_URL / smtp_url: must start with smtp:// or smtps:// (like smtps://user:pass@mail.example.com:465)".into());
        }
        let mail_from = match pick("LOBBY_MAIL_FROM", file.mail_from) {
            Some(f) => {
                if f.parse::<lettre::message::Mailbox>().is_err() {
                    errors.push(format!("LOBBY_MAIL_FROM / mail_from: \"{f}\" is not an address like Acme Login <no-reply@login.acme.com>"));
                }
                f
            }
            None => default_mail_from(public_url.as_ref()),
        };

        let dns_server = match pick("LOBBY_DNS_SERVER", file.dns_server) {
            None => None,
            Some(v) => match parse_dns_server(&v) {
                Some(a) => Some(a),
                None => {
                    errors.push(format!(
                        "LOBBY_DNS_SERVER / dns_server: \"{v}\" must be an IP address with an optional port, like 127.0.0.1:5353, 10.0.0.2 or [::1]:53"
                    ));
                    None
                }
            },
        };
        let trusted_proxies = match pick("LOBBY_TRUSTED_PROXIES", file.trusted_proxies) {
            None => Vec::new(),
            Some(v) => match parse_cidrs(&v) {
                Ok(nets) => nets,
                Err(bad) => {
                    errors.push(format!(
                        "LOBBY_TRUSTED_PROXIES / trusted_proxies: \"{bad}\" is not an address or network; use comma-separated CIDRs like 10.0.0.0/8, 192.168.1.10, fd00::/8"
                    ));
                    Vec::new()
                }
            },
        };
        let mut limit = |key: &str, file_val: Option<u32>, default: u32| -> u32 {
            match env.get(key).filter(|v| !v.is_empty()) {
                Some(v) => v.trim().parse::<u32>().unwrap_or_else(|_| {
                    errors.push(format!(
                        "{key}: \"{v}\" is not a whole number of requests (0 turns the limit off)"
                    ));
                    default
                }),
                None => file_val.unwrap_or(default),
            }
        };
        let rate_limit_per_ip = limit(
            "LOBBY_RATE_LIMIT_PER_IP",
            file.rate_limit_per_ip,
            DEFAULT_RATE_LIMIT_PER_IP,
        );
        let rate_limit_global = limit(
            "LOBBY_RATE_LIMIT_GLOBAL",
            file.rate_limit_global,
            DEFAULT_RATE_LIMIT_GLOBAL,
        );

        let portal_url = match pick("LOBBY_PORTAL_URL", file.portal_url) {
            None => None,
            Some(v) => match url::Url::parse(&v) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.query().is_none()
                        && u.fragment().is_none()
                        && u.path().trim_end_matches('/') == "/portal" =>
                {
                    let mut u = u;
                    u.set_path("/portal");
                    Some(u)
                }
                _ => {
                    errors.push(format!("LOBBY_PORTAL_URL / portal_url: \"{v}\" must be an absolute http(s) URL whose path is /portal, like https://admin.example.com/portal"));
                    None
                }
            },
        };
        let operator_org = pick("LOBBY_OPERATOR_ORG", file.operator_org);
        if let Some(o) = &operator_org
            && crate::domain::Slug::parse(o).is_err()
        {
            errors.push(format!(
                "LOBBY_OPERATOR_ORG / operator_org: \"{o}\" is not an organization slug like acme"
            ));
        }
        let mut secs = |key: &str, file_val: Option<u64>, default: u64| -> u64 {
            match env.get(key).filter(|v| !v.is_empty()) {
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= 60 => n,
                    _ => {
                        errors.push(format!(
                            "{key}: \"{v}\" must be a number of seconds, at least 60"
                        ));
                        default
                    }
                },
                None => file_val.unwrap_or(default),
            }
        };
        let portal_idle_secs = secs(
            "LOBBY_PORTAL_IDLE_SECS",
            file.portal_idle_secs,
            DEFAULT_PORTAL_IDLE_SECS,
        );
        let portal_max_age_secs = secs(
            "LOBBY_PORTAL_MAX_AGE_SECS",
            file.portal_max_age_secs,
            DEFAULT_PORTAL_MAX_AGE_SECS,
        );
        let shutdown_timeout_secs = match env
            .get("LOBBY_SHUTDOWN_TIMEOUT_SECS")
            .filter(|v| !v.is_empty())
        {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=3600).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "LOBBY_SHUTDOWN_TIMEOUT_SECS: \"{v}\" must be a number of seconds from 1 to 3600"
                    ));
                    DEFAULT_SHUTDOWN_TIMEOUT_SECS
                }
            },
            None => match file.shutdown_timeout_secs {
                Some(n) if !(1..=3600).contains(&n) => {
                    errors.push(
                        "shutdown_timeout_secs: must be a number of seconds from 1 to 3600".into(),
                    );
                    DEFAULT_SHUTDOWN_TIMEOUT_SECS
                }
                Some(n) => n,
                None => DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            },
        };
        let mfa_remember_days = match env.get("LOBBY_MFA_REMEMBER_DAYS").filter(|v| !v.is_empty()) {
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n <= 365 => n,
                _ => {
                    errors.push(format!(
                        "LOBBY_MFA_REMEMBER_DAYS: \"{v}\" must be a number of days from 0 to 365 (0: never remember a device)"
                    ));
                    DEFAULT_MFA_REMEMBER_DAYS
                }
            },
            None => match file.mfa_remember_days {
                Some(n) if n > 365 => {
                    errors.push("mfa_remember_days: must be a number of days from 0 to 365".into());
                    DEFAULT_MFA_REMEMBER_DAYS
                }
                Some(n) => n,
                None => DEFAULT_MFA_REMEMBER_DAYS,
            },
        };
        let serve_threads = match pick(
            "LOBBY_SERVE_THREADS",
            file.serve_threads.map(|v| match v {
                NumberOrWord::Number(n) => n.to_string(),
                NumberOrWord::Word(w) => w,
            }),
        ) {
            None => ServeThreads::Auto,
            Some(v) => ServeThreads::parse(&v).unwrap_or_else(|| {
                errors.push(format!(
                    "LOBBY_SERVE_THREADS / serve_threads: \"{v}\" must be auto, a number of threads from 1 to 1024, or shared (0)"
                ));
                ServeThreads::Auto
            }),
        };

        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let config = Config {
            listen: listen.expect("checked"),
            metrics_listen,
            public_url: public_url.expect("checked"),
            data_dir,
            database_url: Secret::new(database_url),
            redis_url: redis_url.map(Secret::new),
            admin_token: admin_token.map(Secret::new),
            log_format,
            log_level,
            secret_key: secret_key.map(Secret::new),
            max_body_bytes: max_body_bytes as usize,
            upstream_allow_private,
            dns_server,
            trusted_proxies,
            rate_limit_per_ip,
            rate_limit_global,
            smtp_url: smtp_url.map(Secret::new),
            mail_from,
            portal_url,
            operator_org,
            portal_idle_secs,
            portal_max_age_secs,
            shutdown_timeout_secs,
            mfa_remember_days,
            serve_threads,
        };
        Ok(Loaded { config, warnings })
    }

    /// Cookies get `Secure` unless Lobby runs on plain http on loopback (local development).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https" || !is_loopback_url(&self.public_url)
    }

    /// The admin portal's base URL, without a trailing slash: `LOBBY_PORTAL_URL`, else
    /// `<public url>/portal`.
    pub fn portal_url(&self) -> String {
        match &self.portal_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => self.url("/portal"),
        }
    }

    /// The portal's cookie gets `Secure` (and the `__Host-` prefix) unless the portal runs on
    /// plain http on loopback (local development, tests): browsers refuse a `Secure` cookie
    /// set over plain http on any host other than `localhost`.
    pub fn portal_secure_cookies(&self) -> bool {
        match &self.portal_url {
            Some(u) => u.scheme() == "https" || !is_loopback_url(u),
            None => self.secure_cookies(),
        }
    }

    /// An absolute URL under the public URL: `url("/token")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }

    /// The OIDC issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// A config for tests: memory state, the given database, public URL from the listen address.
    /// The database `lobby serve --demo` uses: its own SQLite file under `<data dir>/demo/` when
    /// the database is the default one, so the demo tenant never mixes with a real one (or with
    /// the README's tour, whose `acme` would clash with the demo's); an explicitly configured
    /// database is used as it is.
    pub fn demo_database_url(&self) -> String {
        if self.database_url.expose() == default_database_url(&self.data_dir) {
            default_database_url(&self.data_dir.join("demo"))
        } else {
            self.database_url.expose().to_owned()
        }
    }

    pub fn for_tests(database_url: &str, data_dir: &Path) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("static"),
            metrics_listen: None,
            public_url: url::Url::parse("http://127.0.0.1:8080").expect("static"),
            data_dir: data_dir.to_owned(),
            database_url: Secret::new(database_url),
            redis_url: None,
            admin_token: Some(Secret::new("test-admin-token-0123456789")),
            log_format: LogFormat::Pretty,
            log_level: "warn".into(),
            secret_key: None,
            max_body_bytes: 1024 * 1024,
            upstream_allow_private: true,
            dns_server: None,
            trusted_proxies: Vec::new(),
            rate_limit_per_ip: DEFAULT_RATE_LIMIT_PER_IP,
            rate_limit_global: DEFAULT_RATE_LIMIT_GLOBAL,
            smtp_url: None,
            mail_from: "Lobby <no-reply@localhost>".into(),
            portal_url: None,
            operator_org: None,
            portal_idle_secs: DEFAULT_PORTAL_IDLE_SECS,
            portal_max_age_secs: DEFAULT_PORTAL_MAX_AGE_SECS,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            mfa_remember_days: DEFAULT_MFA_REMEMBER_DAYS,
            serve_threads: ServeThreads::Auto,
        }
    }

    /// The parsed From of outgoing mail (checked when the configuration was loaded).
    pub fn mail_from(&self) -> anyhow::Result<lettre::message::Mailbox> {
        self.mail_from
            .parse()
            .map_err(|_| anyhow::anyhow!("LOBBY_MAIL_FROM is not an email address"))
    }
}

/// `Lobby <no-reply@<public host>>`, or `no-reply@localhost` when the host is not a name an
/// address can carry.
fn default_mail_from(public_url: Option<&url::Url>) -> String {
    let host = public_url
        .and_then(|u| u.host_str())
        .filter(|h| !h.starts_with('['))
        .unwrap_or("localhost");
    let candidate = format!("Lobby <no-reply@{host}>");
    if candidate.parse::<lettre::message::Mailbox>().is_ok() {
        candidate
    } else {
        "Lobby <no-reply@localhost>".into()
    }
}

fn normalize_public_url(mut u: url::Url) -> url::Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

fn is_loopback_url(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `LOBBY_DNS_SERVER`: `ip:port`, `[ipv6]:port`, or a bare IP (port 53). Names are refused:
/// resolving the resolver's own name would need a resolver. Port 0 is refused.
fn parse_dns_server(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    let addr = match s.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => SocketAddr::new(s.parse::<std::net::IpAddr>().ok()?, 53),
    };
    (addr.port() != 0 && !addr.ip().is_unspecified()).then_some(addr)
}

/// `LOBBY_TRUSTED_PROXIES`: comma-separated CIDRs; a bare address is a /32 or /128. On error,
/// the first entry that is not one.
fn parse_cidrs(s: &str) -> Result<Vec<ipnet::IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| p.to_owned())
        })
        .collect()
}

/// The SQLite database in a data dir, when `LOBBY_DATABASE_URL` is not set.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("lobby.db").display())
}

#[cfg(test)]
mod tests;
