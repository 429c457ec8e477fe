//! Composition root: configuration → storage, short-lived state, router ([`Server::build`], the
//! one boot path of the CLI, the tests and the benches). Nothing else here.
//!
//! Each edge gets its own context (`FromRef<AppState>`): `login::LoginCtx`,
//! `provider::ProviderCtx`, `admin::AdminCtx`, `portal::PortalCtx`, `demo::DemoCtx`.
//!
//! Owns: wiring and the ops endpoints (`/healthz`, `/readyz`). Must not touch: protocol or
//! business logic.

use crate::admin::AdminCtx;
use crate::config::Config;
use crate::demo::DemoCtx;
use crate::domain::{Clock, SigningAlg, SystemClock};
use crate::keys::KeyRing;
use crate::keys::seal::SealKey;
use crate::login::LoginCtx;
use crate::mail::Mailer;
use crate::ops::metrics::Metrics;
use crate::portal::PortalCtx;
use crate::provider::ProviderCtx;
use crate::state::StateStore;
use crate::state::sessions::{SessionBackend, session_store};
use crate::storage::{KeyStore, Storage};
use crate::upstream::dns::{SystemTxtResolver, TxtResolver};
use crate::upstream::http::{GuardedHttp, Limits, NetPolicy};
use crate::upstream::oidc::{CachePolicy, OidcConnector};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;

/// Everything a request handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// Sign-in and token paths: configuration rows come from a per-process cache
    /// (`storage::cache`); members, users and refresh tokens are always read fresh.
    pub storage: Arc<dyn Storage>,
    /// The same database without that cache: the admin API reads exactly what was last
    /// written, by any instance ([`Storage::uncached`]).
    pub admin_storage: Arc<dyn Storage>,
    /// The short-lived shared state: flows, codes, replay caches (memory or Redis).
    pub ephemeral: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// DNS TXT lookups for domain verification (tests replace it with a fake).
    pub txt_resolver: Arc<dyn TxtResolver>,
    /// Token-signing keys (loaded once, reloaded every minute for other instances' rotations).
    pub keys: Arc<KeyRing>,
    /// The `tower-sessions` store of browser sessions, on the same backend as `state`.
    pub sessions: SessionBackend,
    /// Seals secrets at rest (signing keys, upstream client secrets).
    pub seal: Arc<SealKey>,
    /// Every outbound fetch (IdP metadata, JWKS, token, userinfo) goes through this client.
    pub http: Arc<GuardedHttp>,
    /// The OIDC relying party for organizations' own IdPs, with its metadata/JWKS cache.
    pub oidc: Arc<OidcConnector>,
    /// The SAML connector: SP key, pinned IdP metadata, XML signature backend.
    pub saml: Arc<crate::upstream::saml::SamlService>,
    /// Slots for concurrent argon2 password checks: as many as the machine has cores.
    pub argon2: Arc<tokio::sync::Semaphore>,
    /// Outgoing mail: SMTP (`LOBBY_SMTP_URL`) or the outbox directory (see `mail`).
    pub mailer: Arc<dyn Mailer>,
    /// The WebAuthn relying party of passkeys (RP ID and origin from the public URL).
    pub passkeys: Arc<crate::login::mfa::passkey::rp::PasskeyRp>,
}

/// Algorithms that always have an active key (apps choose one of them).
const SIGNING_ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// How often the outbox worker looks for due rows when nothing signals it: once a second. A
/// webhook or back-channel logout queued by this process leaves at once (the store's queued
/// signal, `webhooks::Worker::spawn`); the poll sends retries (due 5 s or more after a failure)
/// at most a second late and the rows of an instance that died. Each poll is one indexed read
/// of the `outbox` table, so an idle Lobby costs a read a second, not four (issue 17: the
/// quarter-second poll was most of an idle instance's CPU).
pub const OUTBOX_POLL: Duration = Duration::from_secs(1);

/// What a boot may supply instead of opening it from the configuration. The CLI supplies
/// nothing; tests and benches supply what they control (a temp database, a manual clock, a
/// fake DNS resolver, short outbound timeouts).
#[derive(Default)]
pub struct Boot {
    /// Default: `config.database_url` (migrations applied).
    pub storage: Option<Arc<dyn Storage>>,
    /// Default: Redis at `config.redis_url`, else in-process memory.
    pub ephemeral: Option<Arc<dyn StateStore>>,
    /// Default: the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Default: hickory on `LOBBY_DNS_SERVER`, else the system's DNS resolver.
    pub txt_resolver: Option<Arc<dyn TxtResolver>>,
    /// Default: [`Limits::default`] for every outbound fetch.
    pub upstream_limits: Option<Limits>,
    /// Default: from the configuration (SMTP or the outbox); tests capture messages with
    /// `mail::MemoryMailer`.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Serve the bundled demo client at `/demo` (`lobby serve --demo`).
    pub demo: bool,
    /// How often the outbox worker looks for due deliveries. Default: [`OUTBOX_POLL`].
    pub outbox_poll: Option<Duration>,
}

/// A built Lobby: everything it holds, and its whole HTTP surface.
pub struct Server {
    pub state: AppState,
    pub router: Router,
    /// The process-wide metrics recorder's handle: serve [`Metrics::router`] on the metrics
    /// listener (`LOBBY_METRICS_LISTEN`), never on `router`'s listener.
    pub metrics: Metrics,
    /// The outbox worker (webhook deliveries): runs until this is dropped, so keep it as long
    /// as the server serves.
    pub outbox_worker: crate::webhooks::WorkerHandle,
}

impl Server {
    /// The one way to start Lobby (CLI, tests, benches): open storage and state (unless given),
    /// the seal key, the signing keys (creating one per algorithm on first start), the session
    /// store, the connectors, and build the router. Fails when stored keys cannot be opened (e.g.
    /// a different `LOBBY_SECRET_KEY`) or a backend is unreachable.
    pub async fn build(config: Config, boot: Boot) -> anyhow::Result<Server> {
        let metrics = crate::ops::metrics::install();
        let clock = boot.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let storage = match boot.storage {
            Some(s) => s,
            None => crate::storage::open(config.database_url.expose())
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the database: {e:#}"))?,
        };
        let ephemeral = match boot.ephemeral {
            Some(s) => s,
            None => {
                crate::state::open(config.redis_url.as_ref().map(|s| s.expose()), clock.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot reach Redis at LOBBY_REDIS_URL: {e:#}"))?
            }
        };
        // Every state store operation is timed here, and sign-in flows are counted in flight.
        let ephemeral =
            crate::state::Metered::new(ephemeral, clock.clone(), crate::login::flow::KEY_PREFIX);
        let gauges = Arc::downgrade(&ephemeral);
        metrics.on_render(Arc::new(move || {
            if let Some(m) = gauges.upgrade() {
                m.refresh_gauges();
            }
        }));
        let ephemeral: Arc<dyn StateStore> = ephemeral;
        let seal = Arc::new(SealKey::from_config(&config)?);
        let key_store: Arc<dyn KeyStore> = storage.clone();
        let keys = Arc::new(
            KeyRing::load(key_store, seal.clone(), clock.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot load the signing keys: {e}"))?,
        );
        keys.ensure_keys(&SIGNING_ALGS)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the signing keys: {e}"))?;
        keys.spawn_reloader(Duration::from_secs(60));
        let sessions =
            session_store(config.redis_url.as_ref().map(|s| s.expose()), clock.clone()).await?;
        let http = Arc::new(
            GuardedHttp::new(
                NetPolicy {
                    allow_private: config.upstream_allow_private,
                },
                boot.upstream_limits.unwrap_or_default(),
            )?
            .for_kind("oidc"),
        );
        let oidc = Arc::new(OidcConnector::new(
            http.clone(),
            seal.clone(),
            clock.clone(),
            CachePolicy::default(),
        ));
        let saml = Arc::new(crate::upstream::saml::SamlService::new(
            &config,
            storage.clone(),
            seal.clone(),
            clock.clone(),
        )?);
        saml.spawn_refresher(crate::upstream::saml::REFRESH_EVERY);
        let txt_resolver = boot
            .txt_resolver
            .unwrap_or_else(|| Arc::new(SystemTxtResolver::with_server(config.dns_server)));
        let mailer = match boot.mailer {
            Some(m) => m,
            None => crate::mail::from_config(&config)?,
        };
        let passkeys = Arc::new(crate::login::mfa::passkey::rp::PasskeyRp::new(
            &config.public_url,
        ));
        let state = AppState {
            config: Arc::new(config),
            admin_storage: storage.uncached(),
            storage,
            ephemeral,
            clock,
            txt_resolver,
            keys,
            sessions,
            seal,
            http,
            oidc,
            saml,
            argon2: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            mailer,
            passkeys,
        };
        let demo = boot
            .demo
            .then(|| crate::demo::router().with_state(DemoCtx::from_ref(&state)));
        let router = build_router(&state, demo);
        let outbox_worker = crate::webhooks::Worker::new(
            state.storage.clone(),
            state.clock.clone(),
            vec![
                Arc::new(crate::webhooks::WebhookDeliverer {
                    storage: state.admin_storage.clone(),
                    http: state.http.clone(),
                    seal: state.seal.clone(),
                    clock: state.clock.clone(),
                    allow_loopback_http: state.config.upstream_allow_private,
                }) as Arc<dyn crate::webhooks::Deliverer>,
                Arc::new(crate::webhooks::BackchannelDeliverer {
                    storage: state.admin_storage.clone(),
                    http: state.http.clone(),
                    keys: state.keys.clone(),
                    clock: state.clock.clone(),
                    issuer: state.config.issuer(),
                    allow_loopback_http: state.config.upstream_allow_private,
                }),
            ],
        )
        .spawn(boot.outbox_poll.unwrap_or(OUTBOX_POLL));
        Ok(Server {
            state,
            router,
            metrics,
            outbox_worker,
        })
    }
}

impl FromRef<AppState> for LoginCtx {
    fn from_ref(st: &AppState) -> Self {
        LoginCtx {
            config: st.config.clone(),
            storage: st.storage.clone(),
            ephemeral: st.ephemeral.clone(),
            clock: st.clock.clone(),
            oidc: st.oidc.clone(),
            saml: st.saml.clone(),
            argon2: st.argon2.clone(),
            mailer: st.mailer.clone(),
            seal: st.seal.clone(),
            passkeys: st.passkeys.clone(),
        }
    }
}

impl FromRef<AppState> for ProviderCtx {
    fn from_ref(st: &AppState) -> Self {
        ProviderCtx {
            config: st.config.clone(),
            storage: st.storage.clone(),
            ephemeral: st.ephemeral.clone(),
            clock: st.clock.clone(),
            keys: st.keys.clone(),
            login: LoginCtx::from_ref(st),
        }
    }
}

impl FromRef<AppState> for AdminCtx {
    fn from_ref(st: &AppState) -> Self {
        AdminCtx {
            config: st.config.clone(),
            storage: st.admin_storage.clone(),
            clock: st.clock.clone(),
            txt_resolver: st.txt_resolver.clone(),
            seal: st.seal.clone(),
            oidc: st.oidc.clone(),
            saml: st.saml.clone(),
            keys: st.keys.clone(),
            ephemeral: st.ephemeral.clone(),
            mailer: st.mailer.clone(),
        }
    }
}

impl FromRef<AppState> for PortalCtx {
    fn from_ref(st: &AppState) -> Self {
        PortalCtx {
            admin: AdminCtx::from_ref(st),
            provider: ProviderCtx::from_ref(st),
            config: st.config.clone(),
            storage: st.admin_storage.clone(),
            clock: st.clock.clone(),
            sessions: st.sessions.clone(),
        }
    }
}

impl FromRef<AppState> for DemoCtx {
    fn from_ref(st: &AppState) -> Self {
        DemoCtx {
            config: st.config.clone(),
            ephemeral: st.ephemeral.clone(),
        }
    }
}

/// The HTTP surface of an already built state (a test that swaps one backend of a built
/// [`Server`] uses it to serve a second instance).
pub fn router(st: &AppState) -> Router {
    build_router(st, None)
}

/// Each edge gets its own context (`FromRef`), so a handler can reach only what its edge needs.
fn build_router(st: &AppState, extra: Option<Router>) -> Router {
    // The browser-facing surface (OIDC provider + hosted login) carries the SSO session.
    let sessions = crate::login::session::layer(st.sessions.clone(), st.config.secure_cookies());
    let browser = crate::provider::router()
        .with_state(ProviderCtx::from_ref(st))
        .merge(crate::login::router().with_state(LoginCtx::from_ref(st)))
        .layer(sessions)
        // Outside the session layer: a refused request touches no session.
        .layer(axum::middleware::from_fn_with_state(
            LoginCtx::from_ref(st),
            crate::login::rate_limit::limit,
        ));
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(st.clone());
    let mut routes = Router::new()
        .merge(ops)
        .nest(
            "/api/v1",
            crate::admin::router().with_state(AdminCtx::from_ref(st)),
        )
        .merge(browser)
        // The admin portal: its own session (cookie) on the same store, its own headers.
        .merge(crate::portal::router(PortalCtx::from_ref(st)));
    if let Some(extra) = extra {
        routes = routes.merge(extra);
    }
    crate::http::layers(routes, &st.config, too_large)
}

/// An oversized body: programs (the admin API, the provider's back-channel endpoints) get the
/// JSON error, browsers (forms, the SAML ACS, `/authorize` and `/logout` POSTs) the fixed page.
fn too_large(req: &axum::extract::Request) -> axum::response::Response {
    let path = req.uri().path();
    let program = path.starts_with("/api/")
        || matches!(path, "/token" | "/revoke" | "/introspect" | "/userinfo");
    if program {
        crate::http::too_large_json(req)
    } else {
        crate::pages::error_page(crate::pages::PageError::TooLarge, req.headers(), None)
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: storage and the short-lived state store answer.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    // Both at once: each is bounded (the pool's acquire timeout, the state store's operation
    // timeout), so a dead backend answers red within the longer of the two.
    let (storage, ephemeral) = tokio::join!(st.storage.ping(), st.ephemeral.ping());
    if let Err(e) = &storage {
        tracing::warn!(error = %e, "readyz: storage unreachable");
    }
    if let Err(e) = &ephemeral {
        tracing::warn!(error = %e, "readyz: state store unreachable");
    }
    let ok = storage.is_ok() && ephemeral.is_ok();
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "unavailable" },
        "storage": { "backend": st.storage.dialect(), "ok": storage.is_ok() },
        "state": { "backend": st.ephemeral.backend(), "ok": ephemeral.is_ok() },
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
