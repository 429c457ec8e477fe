//! The Back-Channel Logout deliverer (OpenID Connect Back-Channel Logout 1.0 §2.5): one outbox
//! row → a `logout_token` signed now (fresh `iat`/`exp`/`jti` at every attempt, so a retry
//! hours later is still a valid token) with the app's signing algorithm and Lobby's current
//! key, POSTed as `application/x-www-form-urlencoded` `logout_token=…` to the app's
//! `backchannel_logout_uri` through the SSRF-guarded client.
//!
//! §2.8: the RP answers 200 (any 2xx is taken as done); anything else is retried with the
//! outbox's backoff. An app that was deleted or no longer registers a URI ends the row.
//!
//! Owns: building and judging one logout request. Must not touch: when rows are queued
//! (storage, in the revocation's transaction), retries and leases (the worker).

use super::deliver::failed;
use super::worker::Deliverer;
use crate::domain::{
    AppId, AttemptResult, Clock, LOGOUT_TOKEN_TYP, LogoutNotice, OutboxItem, OutboxKind,
    logout_token_claims, random_token, validate_webhook_url,
};
use crate::keys::KeyRing;
use crate::storage::Storage;
use crate::upstream::http::GuardedHttp;
use async_trait::async_trait;
use std::sync::Arc;

pub struct BackchannelDeliverer {
    pub storage: Arc<dyn Storage>,
    pub http: Arc<GuardedHttp>,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
    /// Lobby's issuer (`iss`).
    pub issuer: String,
    /// Plain http to loopback receivers (the development setting `upstream_allow_private`).
    pub allow_loopback_http: bool,
}

#[async_trait]
impl Deliverer for BackchannelDeliverer {
    fn kind(&self) -> OutboxKind {
        OutboxKind::BackchannelLogout
    }

    async fn deliver(&self, item: &OutboxItem) -> AttemptResult {
        let Ok(app_id) = AppId::parse(&item.target) else {
            return failed(None, "not an app id", true);
        };
        let Ok(notice) = serde_json::from_str::<LogoutNotice>(&item.payload) else {
            return failed(None, "the queued logout cannot be read", true);
        };
        let app = match self.storage.get_app(&app_id).await {
            Ok(Some(a)) => a,
            Ok(None) => return failed(None, "the app was deleted", true),
            Err(e) => return failed(None, format!("storage: {e}"), false),
        };
        let Some(reg) = &app.backchannel_logout else {
            return failed(
                None,
                "the app no longer registers a back-channel logout URI",
                true,
            );
        };
        if let Err(e) = validate_webhook_url(&reg.uri, self.allow_loopback_http) {
            return failed(None, format!("backchannel_logout_uri {}", e.message), true);
        }
        let Ok(url) = url::Url::parse(&reg.uri) else {
            return failed(None, "backchannel_logout_uri is not a valid URL", true);
        };
        let now = self.clock.now().unix_timestamp();
        let claims = logout_token_claims(
            &self.issuer,
            app.client_id.as_str(),
            &notice,
            now,
            &random_token(),
        );
        let token = match self
            .keys
            .sign_typed(&claims, app.signing_alg, LOGOUT_TOKEN_TYP)
        {
            Ok(t) => t,
            Err(e) => return failed(None, format!("cannot sign the logout token: {e}"), false),
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &token)
            .finish();
        let req = self
            .http
            .client()
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::USER_AGENT, "Lobby-Backchannel-Logout/1")
            .body(body)
            .build();
        super::deliver::send(&self.http, &format!("backchannel:{app_id}"), req, "the app").await
    }
}
