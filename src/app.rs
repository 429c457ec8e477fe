//! Composition root: configuration → storage, short-lived state, router. Nothing else here.
//!
//! Owns: wiring and the ops endpoints (`/healthz`, `/readyz`). Must not touch: protocol or
//! business logic.

use crate::config::Config;
use crate::domain::{Clock, SigningAlg, SystemClock};
use crate::keys::KeyRing;
use crate::keys::seal::SealKey;
use crate::state::StateStore;
use crate::state::sessions::{SessionBackend, session_store};
use crate::storage::{KeyStore, Storage};
use crate::upstream::http::{GuardedHttp, Limits, NetPolicy};
use crate::upstream::oidc::{CachePolicy, OidcConnector};
use axum::extract::State;
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
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// DNS TXT lookups for domain verification (tests replace it with a fake).
    pub txt_resolver: Arc<dyn crate::admin::dns::TxtResolver>,
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
}

/// Algorithms that always have an active key (apps choose one of them).
const SIGNING_ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

impl AppState {
    /// Opens what needs I/O at start: the seal key, the signing keys (creating one per
    /// algorithm on first start) and the session store. Fails when stored keys cannot be opened
    /// (e.g. a different `LOBBY_SECRET_KEY`).
    pub async fn new(
        config: Config,
        storage: Arc<dyn Storage>,
        state: Arc<dyn StateStore>,
    ) -> anyhow::Result<Self> {
        Self::with_clock(config, storage, state, Arc::new(SystemClock)).await
    }

    /// [`AppState::new`] with another clock (tests move a `ManualClock`).
    pub async fn with_clock(
        config: Config,
        storage: Arc<dyn Storage>,
        state: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
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
        let http = Arc::new(GuardedHttp::new(
            NetPolicy {
                allow_private: config.upstream_allow_private,
            },
            Limits::default(),
        )?);
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
        Ok(Self {
            config: Arc::new(config),
            admin_storage: storage.uncached(),
            storage,
            state,
            clock,
            txt_resolver: Arc::new(crate::admin::dns::SystemTxtResolver::new()),
            keys,
            sessions,
            seal,
            http,
            oidc,
            saml,
        })
    }
}

/// The whole HTTP surface.
pub fn router(st: AppState) -> Router {
    build_router(st, Router::new())
}

/// The HTTP surface plus the demo client pages (`lobby serve --demo`).
pub fn demo_router(st: AppState) -> Router {
    build_router(st, crate::demo::router())
}

fn build_router(st: AppState, extra: Router<AppState>) -> Router {
    // The browser-facing surface (OIDC provider + hosted login) carries the SSO session.
    let sessions = crate::login::session::layer(st.sessions.clone(), st.config.secure_cookies());
    let browser = crate::provider::router()
        .merge(crate::login::router())
        .merge(crate::upstream::saml::routes::router())
        .layer(sessions);
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", crate::admin::router())
        .merge(browser)
        .merge(extra);
    crate::http::layers(routes, &st.config).with_state(st)
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: storage and the short-lived state store answer.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let storage = st.storage.ping().await;
    let state = st.state.ping().await;
    if let Err(e) = &storage {
        tracing::warn!(error = %e, "readyz: storage unreachable");
    }
    if let Err(e) = &state {
        tracing::warn!(error = %e, "readyz: state store unreachable");
    }
    let ok = storage.is_ok() && state.is_ok();
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "unavailable" },
        "storage": { "backend": st.storage.dialect(), "ok": storage.is_ok() },
        "state": { "backend": st.state.backend(), "ok": state.is_ok() },
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
