//! `/userinfo` (OIDC Core §5.3), GET and POST, with the access token as a Bearer credential
//! (RFC 6750 §2.1) — or, for POST, as the `access_token` form parameter (RFC 6750 §2.2); never
//! in the query. Claims are recomputed from the current membership, so a member removed after
//! the token was issued gets `invalid_token`.
//!
//! Owns: the userinfo response. Must not touch: token issuance.

use super::claims;
use super::token::{no_store, sub_of, verify_access_token};
use crate::domain::{ClientId, OrgId};
use crate::http::params::{Params, is_form};
use crate::provider::ProviderCtx;
use crate::provider::error::OAuthError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const INVALID: &str = "The access token is invalid, expired or revoked.";

/// The Bearer token of a request (RFC 6750 §2.1), `Err` when the header is malformed.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| OAuthError::invalid_request("Malformed Authorization header."))?;
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(OAuthError::invalid_token(INVALID)),
    }
}

pub async fn userinfo(
    State(st): State<ProviderCtx>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&st, &method, &headers, &body).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    st: &ProviderCtx,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, OAuthError> {
    let from_header = bearer(headers)?;
    let form_token = if method == Method::POST && is_form(headers) {
        Params::parse(body)
            .get("access_token")
            .map_err(|_| OAuthError::invalid_request("access_token was sent more than once."))?
            .map(str::to_owned)
    } else {
        None
    };
    // RFC 6750 §2: one method only.
    let token = match (from_header, form_token.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "Send the access token in one place only.",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(OAuthError::invalid_token(INVALID)),
    };
    let claims = verify_access_token(st, token)
        .await?
        .ok_or(OAuthError::invalid_token(INVALID))?;
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|c| ClientId::parse(c).ok())
        .ok_or(OAuthError::invalid_token(INVALID))?;
    let org = claims
        .get("org_id")
        .and_then(Value::as_str)
        .and_then(|o| OrgId::parse(o).ok())
        .ok_or(OAuthError::invalid_token(INVALID))?;
    let user = sub_of(&claims).ok_or(OAuthError::invalid_token(INVALID))?;
    let app = st
        .storage
        .get_app_by_client_id(&client)
        .await?
        .ok_or(OAuthError::invalid_token(INVALID))?;
    match claims::load_subject(st.storage.as_ref(), &app, &user, &org, None).await? {
        Ok(s) => Ok(claims::userinfo_claims(&s)),
        Err(_) => Err(OAuthError::invalid_token(INVALID)),
    }
}
