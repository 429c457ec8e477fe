//! The `lobby` command line: parses arguments and calls into the library. No logic here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lobby",
    version,
    about = "B2B login broker: hosted sign-in, org discovery, federation to each organization's own IdP, OIDC tokens with org and roles"
)]
struct Cli {
    /// Optional TOML configuration file; LOBBY_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite + in-memory state unless LOBBY_DATABASE_URL / LOBBY_REDIS_URL say otherwise).
    Serve {
        /// Seed a demo tenant and serve a demo client page at /demo (local trial only).
        #[arg(long)]
        demo: bool,
    },
    /// Apply a declarative tenant file (YAML) to the database: idempotent and all-or-nothing.
    Import {
        /// The tenant file, e.g. examples/tenant.yaml.
        file: PathBuf,
    },
    /// Print the whole tenant as a YAML document that `lobby import` accepts.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the admin API's OpenAPI document.
    Openapi,
    /// Token-signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// List the signing keys (kid, algorithm, status) — never the private parts.
    List,
    /// One rotation step: the first run publishes the next key (in JWKS, not yet signing); run it
    /// again once relying parties have refreshed their JWKS caches to switch to it. The previous
    /// key stays in JWKS until every token it signed has expired.
    Rotate {
        /// RS256, ES256 or EdDSA; all three when omitted.
        #[arg(long)]
        alg: Option<String>,
    },
    /// One rotation step of the SAML SP signing key (shared by every SAML connection): the first
    /// run publishes the next certificate in every SP metadata document; run it again once the
    /// IdPs have reloaded our metadata to sign AuthnRequests with it. The previous certificate
    /// stays published for 7 days.
    RotateSaml,
}

// mimalloc: about 5 % less CPU per brokered login than glibc malloc, whose consolidation
// showed in the profile (docs/benchmarks-history.md, "Broker CPU per login").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match lobby::config::Config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("lobby: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lobby: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve { demo } => lobby::cli::serve(loaded, demo).await,
            Command::Import { file } => lobby::cli::import(loaded, &file).await,
            Command::Export { output } => lobby::cli::export(loaded, output.as_deref()).await,
            Command::Openapi => lobby::cli::openapi(),
            Command::Keys {
                action: KeysAction::List,
            } => lobby::cli::keys_list(loaded).await,
            Command::Keys {
                action: KeysAction::Rotate { alg },
            } => lobby::cli::keys_rotate(loaded, alg.as_deref()).await,
            Command::Keys {
                action: KeysAction::RotateSaml,
            } => lobby::cli::saml_sp_key_rotate(loaded).await,
        }
    });
    // Tasks still running (a request cut off by the shutdown timeout, background workers) are
    // dropped; a blocking task (a password hash) gets a moment, never an unbounded wait.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lobby: {e:#}");
            ExitCode::FAILURE
        }
    }
}
