//! Access tokens for Lobby's own admin API (`/api/v1`): the issuing side of the contract in
//! `domain::admin_token`. The admin API verifies them; this file only decides who gets one and
//! what it says.
//!
//! - **Delegated** (authorization code flow): an app whose `admin_api.delegated` is set may ask
//!   for scope `lobby:admin`, or name the admin API with RFC 8707 `resource` = the admin
//!   audience (`<issuer>/api/v1`). The access token of that `/token` response (and of its
//!   refreshes) IS then the admin token: `aud` = the admin audience, the claims exactly
//!   [`AdminTokenClaims`] (`sub` = the user, `org_id` = the org they signed into). The ID token
//!   and the refresh token are unchanged. An app without the setting asking for `lobby:admin`
//!   gets `invalid_scope` (RFC 6749 §4.1.2.1), one naming the admin audience as `resource`
//!   gets `invalid_target` (RFC 8707 §2), as does any other `resource` (Lobby knows no other).
//!   If the app loses the setting after the grant, the code exchange and later refreshes drop
//!   `lobby:admin` (RFC 6749 §3.3: the response's `scope` says so) and issue the app's usual
//!   access token; a refresh that asks for `lobby:admin` explicitly then gets `invalid_scope`.
//! - **Client credentials** (RFC 6749 §4.4): a confidential app with `admin_api.client_scopes`
//!   gets a token acting as itself (`sub` = `client_id`, no `org_id`) with the requested scopes
//!   (default: all it is allowed); no refresh token, no ID token; lifetime = the app's access
//!   token lifetime. Every issuance is audited (`actor: client:<client_id>`) before the token
//!   leaves; an audit that cannot be written fails the request.
//!
//! Owns: the admin scope and resource rules at `/authorize` and `/token`, the admin token's
//! claims, and the client credentials grant. Must not touch: verifying admin tokens or
//! deciding admin rights (that is `admin`), refresh bookkeeping (`token`).

use super::claims::Subject;
use super::error::OAuthError;
use super::token::sign;
use crate::domain::admin_token::{AdminTokenClaims, SCOPE_ADMIN, admin_audience};
use crate::domain::{
    AdminClientScope, App, AuditEvent, AuditEventId, ClientType, Grant, Outcome, random_token,
};
use crate::http::params::{Params, request_id};
use crate::http::redirect::ErrorCode;
use crate::provider::ProviderCtx;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Longest `resource` value looked at.
const MAX_RESOURCE_BYTES: usize = 2048;

/// Whether a space-separated scope string lists `s`.
pub(crate) fn has_scope(scope: &str, s: &str) -> bool {
    scope.split(' ').any(|x| x == s)
}

fn without(scope: &str, s: &str) -> String {
    scope
        .split(' ')
        .filter(|x| !x.is_empty() && *x != s)
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 8707 §2: the `resource` parameter of an authorization or token request. `Ok(false)`:
/// none; `Ok(true)`: the admin API; `Err`: `invalid_target` (malformed, unknown, or more than
/// one: Lobby issues a token for one audience only).
pub(crate) fn admin_resource(p: &Params, issuer: &str) -> Result<bool, &'static str> {
    let r = match p.get("resource") {
        Ok(None) => return Ok(false),
        Ok(Some(r)) => r,
        Err(_) => return Err("Only one resource can be requested."),
    };
    if r.len() > MAX_RESOURCE_BYTES || r.contains('#') || url::Url::parse(r).is_err() {
        return Err("The resource must be an absolute URI without a fragment.");
    }
    if r != admin_audience(issuer) {
        return Err("The resource is unknown.");
    }
    Ok(true)
}

/// `/authorize`: whether `lobby:admin` is granted, given the requested scope and resource.
/// `Err` is the error to send back to the client.
pub(crate) fn authorize_admin(
    app: &App,
    scope: &str,
    p: &Params,
    issuer: &str,
) -> Result<bool, (ErrorCode, &'static str)> {
    let by_resource = admin_resource(p, issuer).map_err(|d| (ErrorCode::InvalidTarget, d))?;
    let by_scope = has_scope(scope, SCOPE_ADMIN);
    if (by_resource || by_scope) && !app.admin_api.delegated {
        // RFC 8707 §2 for the resource, RFC 6749 §4.1.2.1 for the scope.
        return Err(if by_resource {
            (
                ErrorCode::InvalidTarget,
                "This application may not request access to Lobby's admin API.",
            )
        } else {
            (
                ErrorCode::InvalidScope,
                "This application may not request the lobby:admin scope.",
            )
        });
    }
    Ok(by_resource || by_scope)
}

/// `/token` (code or refresh): the scope the tokens carry. `granted` is what the code or
/// family holds (already narrowed by a refresh's `scope`); `explicit` says the client asked for
/// it in this request. `lobby:admin` stays only while the app has delegated access; a token
/// request naming the admin API as `resource` needs it.
pub(crate) fn token_scope(
    app: &App,
    granted: String,
    explicit: bool,
    p: &Params,
    issuer: &str,
) -> Result<String, OAuthError> {
    let by_resource =
        admin_resource(p, issuer).map_err(|d| OAuthError::new(ErrorCode::InvalidTarget, d))?;
    let mut scope = granted;
    if has_scope(&scope, SCOPE_ADMIN) && !app.admin_api.delegated {
        if explicit {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "This application may no longer request the lobby:admin scope.",
            ));
        }
        scope = without(&scope, SCOPE_ADMIN);
    }
    // RFC 8707 §2.2: the resource must be one the grant covers.
    if by_resource && !has_scope(&scope, SCOPE_ADMIN) {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "This grant does not cover Lobby's admin API.",
        ));
    }
    Ok(scope)
}

/// The claims of a delegated admin access token (exactly [`AdminTokenClaims`]).
pub(crate) fn delegated_claims(
    issuer: &str,
    app: &App,
    subject: &Subject,
    grant: &Grant,
    now: i64,
    jti: &str,
) -> Value {
    claims_value(AdminTokenClaims {
        iss: issuer.to_owned(),
        aud: admin_audience(issuer),
        sub: subject.user.id.to_string(),
        client_id: app.client_id.to_string(),
        scope: grant.scope.clone(),
        org_id: Some(subject.org.id.to_string()),
        iat: now,
        exp: now + app.token_lifetimes.access_token_secs,
        jti: jti.to_owned(),
    })
}

fn claims_value(c: AdminTokenClaims) -> Value {
    // A struct of strings and integers always serializes.
    serde_json::to_value(c).unwrap_or(Value::Null)
}

/// `grant_type=client_credentials` (RFC 6749 §4.4) for an authenticated client.
pub(crate) async fn client_credentials(
    st: &ProviderCtx,
    app: &App,
    p: &Params,
    headers: &HeaderMap,
) -> Result<Value, OAuthError> {
    // RFC 6749 §4.4: confidential clients only; and only apps marked as admin clients.
    if app.client_type != ClientType::Confidential || app.admin_api.client_scopes.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "This client may not use the client_credentials grant.",
        ));
    }
    let issuer = st.config.issuer();
    admin_resource(p, &issuer).map_err(|d| OAuthError::new(ErrorCode::InvalidTarget, d))?;
    let allowed = &app.admin_api.client_scopes;
    // RFC 6749 §3.3: the requested scope, or the client's default (everything it may have).
    let scopes: BTreeSet<AdminClientScope> = match p.get("scope").ok().flatten() {
        None => allowed.clone(),
        Some(s) => {
            let mut out = BTreeSet::new();
            for v in s.split(' ').filter(|v| !v.is_empty()) {
                match AdminClientScope::parse(v).filter(|v| allowed.contains(v)) {
                    Some(v) => {
                        out.insert(v);
                    }
                    None => {
                        return Err(OAuthError::new(
                            ErrorCode::InvalidScope,
                            "The requested scope is not allowed for this client.",
                        ));
                    }
                }
            }
            if out.is_empty() { allowed.clone() } else { out }
        }
    };
    let scope = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let now = st.clock.now();
    let iat = now.unix_timestamp();
    let jti = random_token();
    let claims = AdminTokenClaims {
        iss: issuer.clone(),
        aud: admin_audience(&issuer),
        sub: app.client_id.to_string(),
        client_id: app.client_id.to_string(),
        scope: scope.clone(),
        org_id: None,
        iat,
        exp: iat + app.token_lifetimes.access_token_secs,
        jti: jti.clone(),
    };
    let exp = claims.exp;
    let token = sign(&st.keys, &claims_value(claims), app.signing_alg, "at+jwt")?;
    // Audited before the token leaves: no record, no token.
    let ev = AuditEvent {
        id: AuditEventId::generate(),
        time: now,
        actor: format!("client:{}", app.client_id),
        org_id: None,
        action: "token.client_credentials".into(),
        target_type: "app".into(),
        target_id: app.id.to_string(),
        outcome: Outcome::Success,
        details: json!({ "scope": scope, "jti": jti, "exp": exp }),
        request_id: Some(request_id(headers)),
    };
    st.storage.append_audit(&ev).await?;
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": app.token_lifetimes.access_token_secs,
        "scope": scope,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_helpers() {
        assert!(has_scope("openid lobby:admin", SCOPE_ADMIN));
        assert!(!has_scope("openid lobby:admin:read", SCOPE_ADMIN));
        assert_eq!(
            without("openid lobby:admin email", SCOPE_ADMIN),
            "openid email"
        );
    }

    #[test]
    fn resources() {
        let iss = "https://id.example";
        let p = |q: &str| Params::from_query(Some(q));
        assert_eq!(admin_resource(&p(""), iss), Ok(false));
        assert_eq!(
            admin_resource(&p("resource=https%3A%2F%2Fid.example%2Fapi%2Fv1"), iss),
            Ok(true)
        );
        assert!(admin_resource(&p("resource=https%3A%2F%2Fother.example%2Fapi"), iss).is_err());
        assert!(admin_resource(&p("resource=api%2Fv1"), iss).is_err());
        assert!(
            admin_resource(&p("resource=https%3A%2F%2Fid.example%2Fapi%2Fv1%23x"), iss).is_err()
        );
        let twice = "resource=https%3A%2F%2Fid.example%2Fapi%2Fv1&resource=https%3A%2F%2Fid.example%2Fapi%2Fv1";
        assert!(admin_resource(&p(twice), iss).is_err());
    }
}
