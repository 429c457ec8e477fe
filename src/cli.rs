//! What each `lobby` subcommand does: start the server, import, export, print OpenAPI.
//!
//! Owns: process-level concerns (logging setup, signals, exit reporting). Must not touch:
//! protocol or business logic — it calls `app`, `admin::declarative` and friends.

use crate::app::{Boot, Server};
use crate::config::{Config, Loaded, LogFormat};
use std::path::Path;
use std::sync::Arc;

/// Install the tracing subscriber (pretty or JSON) and print configuration warnings.
pub fn init_logging(config: &Config, warnings: &[String]) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    for w in warnings {
        tracing::warn!("{w}");
    }
}

async fn open_storage(config: &Config) -> anyhow::Result<Arc<dyn crate::storage::Storage>> {
    crate::storage::open(config.database_url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e:#}"))
}

pub async fn serve(loaded: Loaded, demo: bool) -> anyhow::Result<()> {
    let mut config = loaded.config;
    init_logging(&config, &loaded.warnings);
    if demo {
        let url = config.demo_database_url();
        if url != config.database_url.expose() {
            let dir = config.data_dir.join("demo");
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            tracing::info!(database = %dir.display(), "demo mode uses its own database");
        }
        config.database_url = crate::domain::Secret::new(url);
    }
    let storage = open_storage(&config).await?;
    let listen = config.listen;
    let drain = std::time::Duration::from_secs(config.shutdown_timeout_secs);
    let metrics_listen = config.metrics_listen;
    let issuer = config.issuer();
    let admin_enabled = config.admin_token.is_some();
    let serve_threads = config.serve_threads.threads();
    let app = Server::build(
        config,
        Boot {
            storage: Some(storage.clone()),
            demo,
            ..Boot::default()
        },
    )
    .await?;
    if demo {
        crate::demo::seed(storage.as_ref(), &issuer).await?;
        tracing::warn!(
            "demo mode: open {issuer}/demo and sign in as alice@acme.example / alice-demo-password (two orgs) or bob@acme.example / bob-demo-password"
        );
    }
    let state = app.state.ephemeral.clone();
    let router = app.router;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    // Metrics on their own listener, so they are never served on the public address.
    let metrics_task = match metrics_listen {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {addr} for metrics: {e} (set LOBBY_METRICS_LISTEN to a free address, or off)"
                )
            })?;
            let bound = l.local_addr().unwrap_or(addr);
            tracing::info!(listen = %bound, "metrics at http://{bound}/metrics");
            // Stopped below, once the public listener has drained.
            Some(tokio::spawn(crate::ops::metrics::serve(
                l,
                app.metrics.clone(),
                std::future::pending(),
            )))
        }
        None => {
            tracing::info!("metrics are off (LOBBY_METRICS_LISTEN=off)");
            None
        }
    };
    tracing::info!(
        %listen,
        %issuer,
        storage = storage.dialect(),
        state = state.backend(),
        admin_api = if admin_enabled { "enabled" } else { "disabled (set LOBBY_ADMIN_TOKEN)" },
        serving_threads = serve_threads.map_or_else(|| "shared runtime".to_owned(), |n| n.to_string()),
        "lobby is serving"
    );
    // On SIGTERM the listener closes at once (new connections are refused), idle keep-alive
    // connections are closed, and requests in flight get `drain` to finish; whatever is still
    // running then is dropped (its connection closed) and the process exits.
    let signalled = Arc::new(tokio::sync::Notify::new());
    let serving = crate::http::serve::serve(listener, router, serve_threads, {
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            // `notify_one` keeps the wake-up if the deadline below is not waiting yet.
            signalled.notify_one();
        }
    });
    let deadline = async {
        signalled.notified().await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        served = serving => served?,
        () = deadline => tracing::warn!(
            seconds = drain.as_secs(),
            "requests still in flight after the shutdown timeout (LOBBY_SHUTDOWN_TIMEOUT_SECS); stopping anyway"
        ),
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    tracing::info!("lobby stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before the server exits.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}

pub async fn import(loaded: Loaded, file: &Path) -> anyhow::Result<()> {
    init_logging(&loaded.config, &loaded.warnings);
    let yaml = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let storage = open_storage(&loaded.config).await?;
    // Upstream (OIDC) client secrets in the file are sealed before they are stored.
    let seal = crate::keys::seal::SealKey::from_config(&loaded.config)?;
    let summary =
        crate::admin::declarative::import_sealed(storage.as_ref(), Some(&seal), &yaml, "import")
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    out(&format!("{summary}\n"))?;
    Ok(())
}

pub async fn export(loaded: Loaded, output: Option<&Path>) -> anyhow::Result<()> {
    init_logging(&loaded.config, &loaded.warnings);
    let storage = open_storage(&loaded.config).await?;
    let yaml = crate::admin::declarative::export(storage.as_ref()).await?;
    match output {
        Some(p) => std::fs::write(p, yaml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        None => out(&yaml)?,
    }
    Ok(())
}

/// Write command output to standard output. A reader that went away (`lobby openapi | head`)
/// ends the output quietly: the command still succeeds, without a panic or a backtrace.
fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot write to standard output: {e}")),
    }
}

pub fn openapi() -> anyhow::Result<()> {
    out(&format!("{}\n", crate::admin::openapi::document_json()?))?;
    Ok(())
}

async fn open_keyring(config: &Config) -> anyhow::Result<crate::keys::KeyRing> {
    let storage = open_storage(config).await?;
    let seal = Arc::new(crate::keys::seal::SealKey::from_config(config)?);
    let clock: Arc<dyn crate::domain::Clock> = Arc::new(crate::domain::SystemClock);
    let store: Arc<dyn crate::storage::KeyStore> = storage;
    let ring = crate::keys::KeyRing::load(store, seal, clock)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the signing keys: {e}"))?;
    // The same keys `serve` creates on first start, so a rotation always starts from them.
    use crate::domain::SigningAlg;
    ring.ensure_keys(&[SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA])
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the signing keys: {e}"))?;
    Ok(ring)
}

pub async fn keys_list(loaded: Loaded) -> anyhow::Result<()> {
    init_logging(&loaded.config, &loaded.warnings);
    let ring = open_keyring(&loaded.config).await?;
    for k in ring.keys() {
        out(&format!(
            "{}\t{}\t{:?}\n",
            k.kid(),
            k.alg().as_str(),
            k.status()
        ))?;
    }
    Ok(())
}

/// The longest lifetime of any JWT Lobby signs (access and ID tokens of every app): a retired
/// key must stay published at least that long.
async fn max_token_lifetime(
    storage: &dyn crate::storage::Storage,
) -> anyhow::Result<time::Duration> {
    let mut max = 300i64;
    let mut page = crate::storage::PageRequest::first(500);
    loop {
        let p = storage
            .list_apps(&page)
            .await
            .map_err(|e| anyhow::anyhow!("cannot list apps: {e}"))?;
        for a in &p.items {
            max = max
                .max(a.token_lifetimes.access_token_secs)
                .max(a.token_lifetimes.id_token_secs);
        }
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    Ok(time::Duration::seconds(max))
}

pub async fn keys_rotate(loaded: Loaded, alg: Option<&str>) -> anyhow::Result<()> {
    use crate::domain::SigningAlg;
    init_logging(&loaded.config, &loaded.warnings);
    let algs = match alg {
        Some(a) => vec![SigningAlg::parse(a).map_err(|e| anyhow::anyhow!("--alg: {}", e.message))?],
        None => vec![SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA],
    };
    let storage = open_storage(&loaded.config).await?;
    let lifetime = max_token_lifetime(storage.as_ref()).await?;
    let ring = open_keyring(&loaded.config).await?;
    let now = time::OffsetDateTime::now_utc();
    for alg in algs {
        match ring
            .rotate(alg, now, lifetime)
            .await
            .map_err(|e| anyhow::anyhow!("rotating {}: {e}", alg.as_str()))?
        {
            crate::keys::Rotation::Published { next } => out(&format!(
                "{}: published the next key {next} in JWKS; run `lobby keys rotate` again after relying parties have refreshed their JWKS caches to start signing with it\n",
                alg.as_str()
            ))?,
            crate::keys::Rotation::Promoted {
                active,
                retired,
                retire_until,
            } if !retired.is_empty() => out(&format!(
                "{}: {active} now signs; the previous key(s) {} stay in JWKS until {retire_until}\n",
                alg.as_str(),
                retired
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?,
            crate::keys::Rotation::Promoted { active, .. } => {
                out(&format!("{}: {active} now signs\n", alg.as_str()))?
            }
        }
    }
    Ok(())
}

/// `lobby keys rotate-saml`: one rotation step of the shared SAML SP key.
pub async fn saml_sp_key_rotate(loaded: Loaded) -> anyhow::Result<()> {
    init_logging(&loaded.config, &loaded.warnings);
    let storage = open_storage(&loaded.config).await?;
    let seal = Arc::new(crate::keys::seal::SealKey::from_config(&loaded.config)?);
    let clock: Arc<dyn crate::domain::Clock> = Arc::new(crate::domain::SystemClock);
    let keys = crate::keys::saml_sp::SpKeys::new(
        storage,
        seal,
        clock,
        crate::upstream::saml::sp_common_name(&loaded.config),
    );
    keys.rotate()
        .await
        .map_err(|e| anyhow::anyhow!("rotating the SAML SP key: {e}"))?;
    for k in keys.all().await.map_err(|e| anyhow::anyhow!("{e}"))? {
        let status = match k.status {
            crate::storage::KeyStatus::Active => "active (signs AuthnRequests)",
            crate::storage::KeyStatus::Next => "next (published, run again to switch)",
            crate::storage::KeyStatus::Retired => "retired (still published for the overlap)",
        };
        out(&format!("{}: {status}\n", k.id))?;
    }
    Ok(())
}
