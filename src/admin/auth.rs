//! Who is calling the admin API, and what they may reach.
//!
//! Owns: authenticating the operator bearer token (RFC 6750) and the scope checks every admin
//! handler goes through. Must not touch: storage writes, business rules.
//!
//! Today the only caller is the operator (token from `LOBBY_ADMIN_TOKEN`). An org admin
//! variant exists so that, once Lobby accepts its own access tokens here, scoping is added in
//! this one file: `scope_global` / `scope_org` are the only gates the handlers use.

use crate::admin::AdminCtx;
use crate::domain::{OrgId, UserId};
use crate::http::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The authenticated caller of an admin endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Holder of the operator token: everything.
    Operator,
    /// An org admin (an access token issued by Lobby with `org_roles`), scoped to one org and
    /// its descendants. Not constructed yet: no endpoint accepts such tokens so far.
    OrgAdmin { org_id: OrgId, user_id: UserId },
}

impl Caller {
    /// The audit `actor`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Operator => "operator".to_owned(),
            Caller::OrgAdmin { user_id, .. } => format!("user:{user_id}"),
        }
    }

    /// Tenant-wide resources (apps, roles, users, the whole org list, audit without org).
    pub fn scope_global(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::OrgAdmin { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "This endpoint is for the operator only.",
            )),
        }
    }

    /// Resources of one org. An org admin reaches their org and its descendants; anything
    /// else is reported as not found (DESIGN §6.6), not as forbidden.
    pub async fn scope_org(&self, st: &AdminCtx, org: &OrgId) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::OrgAdmin { org_id, .. } => {
                if org == org_id {
                    return Ok(());
                }
                let ancestors = st.storage.org_ancestors(org).await?;
                if ancestors.contains(org_id) {
                    Ok(())
                } else {
                    Err(ApiError::not_found("organization"))
                }
            }
        }
    }
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

/// The 401 of RFC 6750 §3.
fn unauthorized(invalid_token: bool) -> ApiError {
    let challenge = if invalid_token {
        "Bearer realm=\"lobby-admin\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"lobby-admin\""
    };
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Send the operator token as Authorization: Bearer <token>.",
    )
    .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
}

impl FromRequestParts<AdminCtx> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AdminCtx) -> Result<Self, ApiError> {
        let Some(expected) = st.config.admin_token.as_ref().filter(|t| !t.is_empty()) else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_api_disabled",
                "The admin API is disabled: set LOBBY_ADMIN_TOKEN (at least 16 random characters) to enable it.",
            ));
        };
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            return Err(unauthorized(false));
        };
        // RFC 6750 §2.1: `Bearer` is case-insensitive, one space, then the token.
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(presented) = presented else {
            return Err(unauthorized(true));
        };
        // Compare digests in constant time: neither content nor length leaks through timing.
        let ok: bool = digest(presented.as_bytes())
            .ct_eq(&digest(expected.expose().as_bytes()))
            .into();
        if ok {
            Ok(Caller::Operator)
        } else {
            tracing::info!("admin API: wrong bearer token");
            Err(unauthorized(true))
        }
    }
}
