//! Demo mode (`lobby serve --demo`): seeds the demo tenant (`examples/demo.yaml`) and serves a
//! tiny bundled OIDC client at `/demo` so a newcomer can click through a whole sign-in in a
//! browser. The client talks to Lobby exactly like an external app would: `/authorize` with
//! PKCE, then `/token` over HTTP with its client secret.
//!
//! Owns: the demo tenant and the demo client pages. Must not touch: anything outside demo mode
//! (its routes are only mounted with `--demo`).

use crate::pages::Chrome;
use crate::storage::Storage;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

const DEMO_YAML: &str = include_str!("../examples/demo.yaml");
const CLIENT_ID: &str = "demo";
/// Only ever valid in a database seeded by `--demo`.
const CLIENT_SECRET: &str = "demo-client-secret-for-local-use-only-0000";

/// Import the demo tenant (idempotent) with redirect URIs under this instance's public URL.
pub async fn seed(storage: &dyn Storage, public_url: &str) -> anyhow::Result<()> {
    let yaml = DEMO_YAML.replace("__PUBLIC_URL__", public_url.trim_end_matches('/'));
    let summary = crate::admin::declarative::import(storage, &yaml, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("cannot seed the demo tenant: {e}"))?;
    tracing::info!(%summary, "demo tenant seeded");
    Ok(())
}

/// What the demo app uses: the public URL and the short-lived state store (its own sessions).
#[derive(Clone)]
pub struct DemoCtx {
    pub config: std::sync::Arc<crate::config::Config>,
    pub ephemeral: std::sync::Arc<dyn crate::state::StateStore>,
}

pub fn router() -> Router<DemoCtx> {
    Router::new()
        .route("/demo", get(home))
        .route("/demo/start", get(start))
        .route("/demo/callback", get(callback))
}

#[derive(Template, WebTemplate)]
#[template(path = "demo.html")]
struct DemoPage {
    c: Chrome,
    error: Option<String>,
    id_claims: Option<String>,
    access_claims: String,
    logout_url: String,
}

impl DemoPage {
    fn new(headers: &HeaderMap) -> Self {
        Self {
            c: Chrome::new(crate::i18n::Msg::new("title-demo"), headers),
            error: None,
            id_claims: None,
            access_claims: String::new(),
            logout_url: String::new(),
        }
    }
}

async fn home(headers: HeaderMap) -> Response {
    DemoPage::new(&headers).into_response()
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    B64.encode(b)
}

#[derive(serde::Serialize, Deserialize)]
struct Pending {
    verifier: String,
    nonce: String,
}

async fn start(State(st): State<DemoCtx>, headers: HeaderMap) -> Response {
    let verifier = random(32);
    let nonce = random(16);
    let state = random(16);
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    let pending = serde_json::to_vec(&Pending {
        verifier,
        nonce: nonce.clone(),
    })
    .unwrap_or_default();
    if st
        .ephemeral
        .put(&format!("demo:{state}"), &pending, Duration::from_secs(600))
        .await
        .is_err()
    {
        let mut p = DemoPage::new(&headers);
        p.error = Some("The demo could not start: the state store is unavailable.".into());
        return p.into_response();
    }
    let mut url = match url::Url::parse(&st.config.url("/authorize")) {
        Ok(u) => u,
        Err(_) => return DemoPage::new(&headers).into_response(),
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &st.config.url("/demo/callback"))
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn claims_of(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

async fn callback(
    State(st): State<DemoCtx>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let mut page = DemoPage::new(&headers);
    if let Some(e) = q.error {
        page.error = Some(format!(
            "Lobby answered with an error: {e}{}",
            q.error_description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
        return page.into_response();
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        page.error = Some("The callback is missing its code or state.".into());
        return page.into_response();
    };
    let pending: Option<Pending> = match st.ephemeral.take(&format!("demo:{state}")).await {
        Ok(Some(b)) => serde_json::from_slice(&b).ok(),
        _ => None,
    };
    let Some(pending) = pending else {
        page.error = Some("This sign-in was not started here or has expired. Start again.".into());
        return page.into_response();
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &st.config.url("/demo/callback")),
        ("code_verifier", pending.verifier.as_str()),
    ];
    let resp = reqwest::Client::new()
        .post(st.config.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let body: serde_json::Value = match resp {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "demo: token request failed");
            page.error = Some("The demo app could not reach Lobby's token endpoint.".into());
            return page.into_response();
        }
    };
    let (Some(id_token), Some(access_token)) =
        (body["id_token"].as_str(), body["access_token"].as_str())
    else {
        page.error = Some(format!(
            "The token endpoint answered: {}",
            body["error"].as_str().unwrap_or("no tokens")
        ));
        return page.into_response();
    };
    let id = claims_of(id_token).unwrap_or_default();
    if id["nonce"].as_str() != Some(pending.nonce.as_str()) {
        page.error = Some("The ID token's nonce does not match: refusing it.".into());
        return page.into_response();
    }
    page.id_claims = Some(serde_json::to_string_pretty(&id).unwrap_or_default());
    page.access_claims = serde_json::to_string_pretty(&claims_of(access_token).unwrap_or_default())
        .unwrap_or_default();
    let mut logout =
        url::Url::parse(&st.config.url("/logout")).unwrap_or_else(|_| st.config.public_url.clone());
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", &st.config.url("/demo"));
    page.logout_url = logout.to_string();
    page.into_response()
}
