//! `/introspect` (RFC 7662). The client authenticates as at `/token` and may only introspect
//! its own tokens: any other token — another client's, unknown, expired, revoked, a used
//! refresh token — is `{"active": false}` (§2.2), with no further detail.
//!
//! Owns: the introspection response. Must not touch: token issuance.

use super::token::{authenticate_client, no_store, verify_access_token};
use crate::domain::TokenHash;
use crate::http::params::{Params, is_form};
use crate::provider::ProviderCtx;
use crate::provider::error::OAuthError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub async fn introspect(
    State(st): State<ProviderCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&st, &headers, &body).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn handle(st: &ProviderCtx, headers: &HeaderMap, body: &Bytes) -> Result<Value, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let p = Params::parse(body);
    if p.first_repeated(&["token", "token_type_hint", "client_id", "client_secret"])
        .is_some()
    {
        return Err(OAuthError::invalid_request(
            "A parameter was sent more than once.",
        ));
    }
    let app = authenticate_client(st, headers, &p).await?;
    let token = p
        .get("token")
        .ok()
        .flatten()
        .ok_or(OAuthError::invalid_request("token is required."))?;
    if token.len() > 16 * 1024 {
        return Ok(inactive());
    }
    if let Some(claims) = verify_access_token(st, token).await? {
        if claims.get("client_id").and_then(Value::as_str) != Some(app.client_id.as_str()) {
            return Ok(inactive());
        }
        let mut m = Map::new();
        m.insert("active".into(), json!(true));
        m.insert("token_type".into(), json!("Bearer"));
        for k in [
            "scope",
            "client_id",
            "sub",
            "exp",
            "iat",
            "iss",
            "aud",
            "jti",
            "sid",
            "auth_time",
            "org_id",
            "org_slug",
            "org_name",
            "roles",
            "org_roles",
        ] {
            if let Some(v) = claims.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        return Ok(Value::Object(m));
    }
    if token.len() <= 256
        && let Some((tok, family)) = st.storage.find_refresh(&TokenHash::of(token)).await?
    {
        let now = st.clock.now();
        let live = family.app_id == app.id
            && family.revoked_at.is_none()
            && family.expires_at > now
            && tok.used_at.is_none();
        if !live {
            return Ok(inactive());
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": app.client_id.as_str(),
            "sub": family.user_id.as_str(),
            "scope": family.scope,
            "iss": st.config.issuer(),
            "iat": tok.created_at.unix_timestamp(),
            "exp": family.expires_at.unix_timestamp(),
            "sid": family.session_id,
            "org_id": family.org_id.as_str(),
        }));
    }
    Ok(inactive())
}
