//! `/revoke` (RFC 7009). The client authenticates as at `/token`. A refresh token revokes its
//! whole family; an access token (a JWT) is deny-listed by `jti` until it expires. Only the
//! client a token was issued to can revoke it (RFC 7009 §2.1); for anything else — unknown,
//! expired, another client's token — the answer is still 200 (§2.2), so the endpoint reveals
//! nothing.
//!
//! Owns: revocation. Must not touch: token issuance.

use super::token::{authenticate_client, deny, no_store, verify_access_token};
use crate::domain::TokenHash;
use crate::http::params::{Params, is_form};
use crate::provider::ProviderCtx;
use crate::provider::error::OAuthError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub async fn revoke(State(st): State<ProviderCtx>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&st, &headers, &body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn handle(st: &ProviderCtx, headers: &HeaderMap, body: &Bytes) -> Result<(), OAuthError> {
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
        return Ok(());
    }
    let hint = p.get("token_type_hint").ok().flatten();
    // RFC 7009 §2.1: the hint only orders the lookups.
    let refresh_first = hint != Some("access_token");
    for kind in if refresh_first { [0, 1] } else { [1, 0] } {
        if kind == 0 {
            if token.len() <= 256
                && let Some((_, family)) = st.storage.find_refresh(&TokenHash::of(token)).await?
            {
                if family.app_id == app.id && family.revoked_at.is_none() {
                    st.storage.revoke_family(&family.id, st.clock.now()).await?;
                    crate::ops::metrics::families_revoked("revoked_by_client", 1);
                    tracing::info!(family = %family.id, "refresh token family revoked by the client");
                }
                return Ok(());
            }
        } else if let Some(claims) = verify_access_token(st, token).await? {
            let mine =
                claims.get("client_id").and_then(Value::as_str) == Some(app.client_id.as_str());
            if let (true, Some(jti), Some(exp)) = (
                mine,
                claims.get("jti").and_then(Value::as_str),
                claims.get("exp").and_then(Value::as_i64),
            ) {
                deny(st, jti, exp).await?;
            }
            return Ok(());
        }
    }
    Ok(())
}
