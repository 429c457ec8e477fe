//! Who is calling the admin API: the operator token, or an access token Lobby issued for the
//! admin API (RFC 9068 JWT, `aud` = [`admin_audience`]).
//!
//! Owns: authenticating the bearer (RFC 6750) and turning it into a [`Caller`] — for a
//! delegated token, the caller's org roles read from their *current* membership on every
//! request (the token's claims alone grant nothing). Must not touch: what a caller may do in a
//! given org (that is `scope`), storage writes, business rules.
//!
//! Errors follow RFC 6750 §3.1: no credentials → 401 with `WWW-Authenticate: Bearer realm=…`;
//! a bad, expired, revoked or wrong-audience token → 401 `error="invalid_token"`; a valid token
//! that does not carry the rights → 403 `error="insufficient_scope"`. The body is the API's
//! usual JSON error.

use crate::admin::AdminCtx;
use crate::domain::admin_token::{AdminTokenClaims, SCOPE_ADMIN, admin_audience};
use crate::domain::{
    AdminClientScope, ClientId, MemberStatus, OrgId, OrgRole, OrgStatus, SigningAlg, UserId,
};
use crate::http::ApiError;
use crate::keys::VerifyOptions;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use subtle::ConstantTimeEq;

/// The algorithms Lobby signs with (the ring only holds its own keys of these).
const ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// A user acting through a delegated admin token, with the org roles of their current, active
/// membership of the org they signed into (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgCaller {
    pub user_id: UserId,
    /// The org the token was issued for (`org_id` claim): the root of what the user reaches.
    pub home: OrgId,
    /// From the membership, read for this request.
    pub roles: BTreeSet<OrgRole>,
}

/// The authenticated caller of an admin endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Holder of the operator token: everything.
    Operator,
    /// An app's `client_credentials` token (RFC 6749 §4.4): operator-wide, but `write: false`
    /// (scope `lobby:admin:read` only) may only read.
    Client { client_id: ClientId, write: bool },
    /// A signed-in org admin: their org (and, as `org_admin`, its descendants) only.
    OrgAdmin(OrgCaller),
}

impl Caller {
    /// The audit `actor`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Operator => "operator".to_owned(),
            Caller::Client { client_id, .. } => format!("client:{client_id}"),
            Caller::OrgAdmin(c) => format!("user:{}", c.user_id),
        }
    }

    /// The operator, or an admin client (whose read-only scope the extractor already enforced).
    pub fn is_operator_like(&self) -> bool {
        !matches!(self, Caller::OrgAdmin(_))
    }

    /// Tenant-wide resources (apps, roles, users, the whole org list, audit without org).
    pub fn scope_global(&self) -> Result<(), ApiError> {
        if self.is_operator_like() {
            Ok(())
        } else {
            Err(insufficient_scope(
                "This endpoint is for the operator only.",
            ))
        }
    }
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

const REALM: &str = "Bearer realm=\"lobby-admin\"";

/// The 401 of RFC 6750 §3 (without `error` when no credentials were sent, §3.1).
fn unauthorized(invalid_token: bool) -> ApiError {
    let (challenge, message) = if invalid_token {
        (
            "Bearer realm=\"lobby-admin\", error=\"invalid_token\"",
            "The bearer token is invalid, expired, revoked, or not meant for the admin API.",
        )
    } else {
        (
            REALM,
            "Send the operator token or an admin access token as Authorization: Bearer <token>.",
        )
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
}

/// The 403 of RFC 6750 §3.1: a valid token without the rights this request needs.
pub fn insufficient_scope(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", message).with_header(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"lobby-admin\", error=\"insufficient_scope\""),
    )
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1: the scheme is case-insensitive).
fn bearer(parts: &Parts) -> Option<Result<&str, ()>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(()),
    )
}

impl FromRequestParts<AdminCtx> for Caller {
    type Rejection = ApiError;

    /// Authenticates, then refuses an org admin on a tenant-wide route before anything else
    /// (the body) is looked at.
    async fn from_request_parts(parts: &mut Parts, st: &AdminCtx) -> Result<Self, ApiError> {
        let caller = authenticate(parts, st).await?;
        if let Some(m) = parts.extensions.get::<MatchedPath>()
            && crate::admin::scope::is_global(m.as_str())
        {
            caller.scope_global()?;
        }
        Ok(caller)
    }
}

async fn authenticate(parts: &Parts, st: &AdminCtx) -> Result<Caller, ApiError> {
    let operator = st.config.admin_token.as_ref().filter(|t| !t.is_empty());
    let Some(presented) = bearer(parts) else {
        return Err(unauthorized(false));
    };
    let Ok(presented) = presented else {
        return Err(unauthorized(true));
    };
    if let Some(expected) = operator {
        // Compare digests in constant time: neither content nor length leaks through timing.
        let ok: bool = digest(presented.as_bytes())
            .ct_eq(&digest(expected.expose().as_bytes()))
            .into();
        if ok {
            return Ok(Caller::Operator);
        }
    }
    if presented.split('.').count() == 3 && presented.len() <= 16 * 1024 {
        return from_access_token(st, presented, &parts.method).await;
    }
    if operator.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_api_disabled",
            "The operator token is not configured: set LOBBY_ADMIN_TOKEN (at least 16 random characters) to enable it, or use an admin access token from /token.",
        ));
    }
    tracing::info!("admin API: wrong bearer token");
    Err(unauthorized(true))
}

/// A Lobby access token for the admin API (RFC 9068): signature by the ring (current or
/// previous keys), `typ: at+jwt`, `iss`, `aud` = the admin audience, `exp`, not revoked.
async fn from_access_token(
    st: &AdminCtx,
    token: &str,
    method: &Method,
) -> Result<Caller, ApiError> {
    let issuer = st.config.issuer();
    let audience = admin_audience(&issuer);
    let opts = VerifyOptions {
        issuer: Some(&issuer),
        audience: Some(&audience),
        typ: Some("at+jwt"),
        leeway_secs: 0,
    };
    let claims = match st.keys.verify(token, &ALGS, &opts) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(reason = %e, "admin API: access token refused");
            return Err(unauthorized(true));
        }
    };
    let Ok(claims) = serde_json::from_value::<AdminTokenClaims>(claims) else {
        return Err(unauthorized(true));
    };
    // RFC 7009: a token its client revoked is dead before its `exp`.
    // Fails closed: a state store that does not answer refuses the request (500).
    let denied = st
        .ephemeral
        .get(&crate::domain::deny_key(&claims.jti))
        .await
        .map_err(ApiError::internal)?;
    if denied.is_some() {
        return Err(unauthorized(true));
    }
    // The app the token was issued to must still exist, and still have the admin access the
    // token uses: taking it away from the app ends its tokens at once, like a membership.
    let Ok(client_id) = ClientId::parse(&claims.client_id) else {
        return Err(unauthorized(true));
    };
    let Some(app) = st.storage.get_app_by_client_id(&client_id).await? else {
        return Err(unauthorized(true));
    };
    let access = &app.admin_api;
    if claims.is_client() {
        if claims.sub != claims.client_id {
            return Err(unauthorized(true));
        }
        let still =
            |s: AdminClientScope| claims.has_scope(s.as_str()) && access.client_scopes.contains(&s);
        let write = still(AdminClientScope::Write);
        if !write && !still(AdminClientScope::Read) {
            return Err(insufficient_scope(
                "The token carries neither lobby:admin:read nor lobby:admin:write.",
            ));
        }
        let reads = method == Method::GET || method == Method::HEAD;
        if !write && !reads {
            return Err(insufficient_scope(
                "The token's scope lobby:admin:read only allows reading; writing needs lobby:admin:write.",
            ));
        }
        return Ok(Caller::Client { client_id, write });
    }
    if !claims.has_scope(SCOPE_ADMIN) {
        return Err(insufficient_scope(
            "The token was not issued with the scope lobby:admin.",
        ));
    }
    if !access.delegated {
        return Err(insufficient_scope(
            "The app this token was issued to no longer has delegated access to the admin API.",
        ));
    }
    let (Ok(user_id), Some(Ok(home))) = (
        UserId::parse(&claims.sub),
        claims.org_id.as_deref().map(OrgId::parse),
    ) else {
        return Err(unauthorized(true));
    };
    // The rights come from the membership as it is now, not from the token.
    let org_active = st
        .storage
        .get_org(&home)
        .await?
        .is_some_and(|o| o.status == OrgStatus::Active);
    let roles = match st.storage.get_membership(&home, &user_id).await? {
        Some(m) if org_active && m.status == MemberStatus::Active => m.org_roles,
        _ => BTreeSet::new(),
    };
    if roles.is_empty() {
        return Err(insufficient_scope(
            "You hold no admin role (org_admin, member_admin or viewer) in an active membership of this organization.",
        ));
    }
    Ok(Caller::OrgAdmin(OrgCaller {
        user_id,
        home,
        roles,
    }))
}
