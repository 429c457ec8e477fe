//! Boots Lobby for a test: `TestApp::start().await` gives a base URL, an HTTP client, the
//! operator token, and the storage behind it (to seed or inspect what HTTP cannot reach).
//! Every app gets its own temp dir and SQLite file, so tests never share data.
//!
//! Owns: test setup and HTTP helpers. Must not touch: anything global (no env vars, no fixed
//! ports).

#![allow(dead_code)]

use lobby::app::{AppState, Boot, Server};
use lobby::config::Config;
use lobby::storage::Storage;
use lobby::upstream::dns::StaticTxtResolver;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct TestApp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    pub client: reqwest::Client,
    /// The operator bearer token (`None` when the admin API is disabled).
    pub token: Option<String>,
    pub storage: Arc<dyn Storage>,
    pub state: AppState,
    /// The DNS answers domain verification sees.
    pub dns: Arc<StaticTxtResolver>,
    /// Every email Lobby sent (invitations, resets), captured instead of delivered.
    pub mail: Arc<lobby::mail::MemoryMailer>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A fresh SQLite-backed storage in its own temp dir.
pub async fn fresh_storage() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("lobby.db").display()
    );
    let storage = lobby::storage::open(&url)
        .await
        .expect("open SQLite storage");
    (storage, dir)
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Start with a tweaked config (e.g. `c.admin_token = None`).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let (storage, dir) = fresh_storage().await;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("lobby.db").display()
        );
        let mut config = Config::for_tests(&url, dir.path());
        config.admin_token = Some(lobby::domain::Secret::new(ADMIN_TOKEN));
        tweak(&mut config);
        let token = config.admin_token.as_ref().map(|t| t.expose().to_owned());
        let dns = Arc::new(StaticTxtResolver::new());
        let mail = Arc::new(lobby::mail::MemoryMailer::new());
        let app = Server::build(
            config,
            Boot {
                storage: Some(storage.clone()),
                txt_resolver: Some(dns.clone()),
                mailer: Some(mail.clone()),
                ..Boot::default()
            },
        )
        .await
        .expect("app");
        let st = app.state;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let router = app.router;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base: format!("http://{addr}"),
            client,
            token,
            storage,
            state: st,
            dns,
            mail,
            server,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request to `/api/v1{path}` with the operator token.
    pub fn api(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = rb.send().await.expect("request");
        let status = res.status();
        let bytes = res.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.api(Method::GET, path)).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.api(Method::POST, path).json(&body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.api(Method::PATCH, path).json(&body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.api(Method::DELETE, path)).await
    }
    /// A raw body with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        self.send(
            self.api(Method::POST, path)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// POST that must succeed with 201; returns the body.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, StatusCode::CREATED, "POST {path}: {v}");
        v
    }

    /// Everything stored that the export covers, plus the audit trail length: two equal
    /// snapshots mean a request changed nothing.
    pub async fn snapshot(&self) -> (String, usize) {
        let export = lobby::admin::declarative::export(self.storage.as_ref())
            .await
            .expect("export");
        let mut n = 0;
        let mut req = lobby::storage::PageRequest::first(500);
        loop {
            let page = self
                .storage
                .list_audit(&Default::default(), &req)
                .await
                .expect("audit");
            n += page.items.len();
            match page.next {
                Some(next) => req.after = Some(next),
                None => break,
            }
        }
        (export, n)
    }
}

/// A PostgreSQL database of its own, created through `LOBBY_TEST_DATABASE_URL` and dropped by
/// [`PgDb::drop_db`]. `None` (with a note on stderr) when the variable is unset; a panic when
/// it is set but the server cannot be used (CI must fail, not skip).
pub struct PgDb {
    admin_url: String,
    name: String,
    pub storage: Arc<dyn Storage>,
}

impl PgDb {
    pub async fn create() -> Option<PgDb> {
        use sqlx::{AnyConnection, Connection, Executor};
        let Ok(base) = std::env::var("LOBBY_TEST_DATABASE_URL") else {
            eprintln!("note: LOBBY_TEST_DATABASE_URL is not set; PostgreSQL case not run");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!(
            "lobby_it_{}",
            ulid::Ulid::new().to_string().to_ascii_lowercase()
        );
        let mut admin = AnyConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("LOBBY_TEST_DATABASE_URL is set but unreachable: {e}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        admin.close().await.ok();
        let mut url = url::Url::parse(&base).expect("LOBBY_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let storage = lobby::storage::open(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("opening the test database: {e:#}"));
        assert_eq!(storage.dialect(), "postgres");
        Some(PgDb {
            admin_url: base,
            name,
            storage,
        })
    }

    pub async fn drop_db(self) {
        use sqlx::{AnyConnection, Connection, Executor};
        drop(self.storage);
        let mut admin = AnyConnection::connect(&self.admin_url)
            .await
            .expect("reconnecting to drop the test database");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .await
            .expect("DROP DATABASE");
        admin.close().await.ok();
    }
}

/// Run `case` on a fresh PostgreSQL database when `LOBBY_TEST_DATABASE_URL` is set, dropping
/// the database afterwards even when the case panics.
pub async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::FutureExt;
    let Some(db) = PgDb::create().await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(case(db.storage.clone()))
        .catch_unwind()
        .await;
    db.drop_db().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
