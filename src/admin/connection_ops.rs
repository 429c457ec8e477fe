//! Admin operations on one connection beyond CRUD:
//! `GET /api/v1/orgs/{org_id}/connections/{connection_id}/test` (every kind: what would happen
//! at sign-in, in plain words — for SAML: metadata loads, one entity, signing certificates and
//! their expiry, SSO endpoints, last refresh) and
//! `POST …/connections/{connection_id}/refresh-metadata` (SAML by URL: re-fetch now), plus the
//! activation guard used by the connection handlers: a SAML connection is never stored active
//! unless its metadata loads and pins a signing certificate.
//!
//! Owns: these handlers. Must not touch: connection CRUD rules (`service`), protocol logic
//! (`upstream`).

use super::path_id;
use super::scope::{OrgScope, Tools};
use crate::domain::{Connection, ConnectionConfig, ConnectionId, ConnectionState};
use crate::http::{ApiError, Json, Path};
use crate::upstream::oidc::Check;
use crate::upstream::saml::{RefreshReport, SetupError, sp_urls};
use serde::Serialize;
use utoipa::ToSchema;

type R<T> = Result<T, ApiError>;

/// Warn when a pinned certificate expires within this many days.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// The result of a connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTestReport {
    pub connection_id: String,
    pub kind: String,
    /// Every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// The result of a SAML metadata refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetadataRefreshReport {
    /// The metadata was fetched and valid (otherwise the last good copy stays in use).
    pub ok: bool,
    /// SHA-256 fingerprints of signing certificates that appeared.
    pub added_certs: Vec<String>,
    /// Fingerprints that disappeared (still accepted for 24 hours).
    pub removed_certs: Vec<String>,
    pub endpoints_changed: bool,
    pub error: Option<String>,
}

impl From<RefreshReport> for MetadataRefreshReport {
    fn from(r: RefreshReport) -> Self {
        Self {
            ok: r.ok,
            added_certs: r.added_certs,
            removed_certs: r.removed_certs,
            endpoints_changed: r.endpoints_changed,
            error: r.error,
        }
    }
}

fn setup_error(e: SetupError) -> ApiError {
    match e {
        SetupError::Storage(m) => ApiError::internal(m),
        other => ApiError::invalid(
            "config",
            format!("The SAML connection cannot be activated: {other}"),
        ),
    }
}

/// Refuse to store an active SAML connection whose metadata does not load or pins no signing
/// certificate (samael would otherwise accept unsigned responses: CRATES.md footgun 1).
pub(crate) async fn guard_activation(st: &Tools<'_>, c: &Connection) -> R<()> {
    if c.state == ConnectionState::Active && matches!(c.config, ConnectionConfig::Saml(_)) {
        st.saml.prepare(c, false).await.map_err(setup_error)?;
    }
    Ok(())
}

/// After a SAML connection was stored active: pin its metadata now (first use would too).
pub(crate) async fn pin_after_save(st: &Tools<'_>, c: &Connection) {
    if c.state == ConnectionState::Active
        && matches!(c.config, ConnectionConfig::Saml(_))
        && let Err(e) = st.saml.idp_state(c).await
    {
        tracing::warn!(connection = %c.id, error = %e, "cannot pin the SAML metadata after saving");
    }
}

fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(86_400)
}

async fn saml_checks(st: &Tools<'_>, c: &Connection) -> Vec<Check> {
    let mut out = Vec::new();
    let ConnectionConfig::Saml(cfg) = &c.config else {
        return out;
    };
    let urls = sp_urls(st.config, &c.id);
    out.push(Check {
        name: "sp_metadata",
        ok: true,
        message: format!(
            "Give your IdP our metadata: {} (entity id; ACS {}).",
            urls.entity_id, urls.acs
        ),
    });
    let now = st.clock.now().unix_timestamp();
    match st.saml.load_metadata(&c.id, cfg).await {
        Err(e) => out.push(Check {
            name: "metadata",
            ok: false,
            message: e.to_string(),
        }),
        Ok(md) => {
            out.push(Check {
                name: "metadata",
                ok: true,
                message: format!("The IdP metadata loads: entity id {}.", md.entity_id),
            });
            for cert in &md.signing_certs {
                let subject = cert
                    .subject
                    .clone()
                    .unwrap_or_else(|| "(no subject)".into());
                let (ok, message) = match cert.not_after {
                    Some(t) if t <= now && cfg.accept_expired_certs => (
                        true,
                        format!(
                            "Signing certificate {subject} (SHA-256 {}) has expired; its signatures are still accepted because accept_expired_certs is on.",
                            cert.sha256
                        ),
                    ),
                    Some(t) if t <= now => (
                        false,
                        format!(
                            "Signing certificate {subject} (SHA-256 {}) has expired: responses signed with it are refused. Ask the IdP for a new certificate, or set accept_expired_certs.",
                            cert.sha256
                        ),
                    ),
                    Some(t) if days_left(t, now) < EXPIRY_WARNING_DAYS => (
                        true,
                        format!(
                            "Signing certificate {subject} (SHA-256 {}) expires in {} days: plan the rollover.",
                            cert.sha256,
                            days_left(t, now)
                        ),
                    ),
                    Some(t) => (
                        true,
                        format!(
                            "Signing certificate {subject} (SHA-256 {}) is valid for {} more days.",
                            cert.sha256,
                            days_left(t, now)
                        ),
                    ),
                    None => (
                        true,
                        format!(
                            "Signing certificate {subject} (SHA-256 {}): expiry unreadable.",
                            cert.sha256
                        ),
                    ),
                };
                out.push(Check {
                    name: "signing_certificate",
                    ok,
                    message,
                });
            }
            let sso = match (&md.sso_redirect, &md.sso_post) {
                (Some(r), _) => format!("Sign-in requests go to {r} (HTTP-Redirect)."),
                (None, Some(p)) => format!("Sign-in requests go to {p} (HTTP-POST)."),
                (None, None) => "No SSO endpoint.".into(),
            };
            out.push(Check {
                name: "sso_endpoint",
                ok: md.sso_redirect.is_some() || md.sso_post.is_some(),
                message: sso,
            });
        }
    }
    if let Ok(Some(s)) = st.saml.stored_state(&c.id).await {
        let message = match (&s.last_error, s.last_success) {
            (Some(e), _) => {
                format!("The last metadata refresh failed ({e}); the last good copy is in use.")
            }
            (None, Some(t)) => format!("Metadata pinned; last successful fetch at unix time {t}."),
            (None, None) => "Metadata pinned.".into(),
        };
        out.push(Check {
            name: "pinned_state",
            ok: s.last_error.is_none(),
            message,
        });
    }
    out
}

/// The checks of a connection test, in plain words (also shown by the portal's wizard).
pub(crate) async fn checks(st: &Tools<'_>, c: &Connection) -> Vec<Check> {
    match &c.config {
        ConnectionConfig::Saml(_) => saml_checks(st, c).await,
        ConnectionConfig::Oidc(cfg) => st.oidc.test(&c.id, cfg).await,
        ConnectionConfig::Password(_) => vec![Check {
            name: "password",
            ok: true,
            message: "Password connections have nothing to fetch.".into(),
        }],
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connections/{connection_id}/test", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "What a sign-in would meet, check by check (fetched fresh)", body = ConnectionTestReport)))]
pub async fn test_connection(
    scope: OrgScope,
    Path((_org, connection_id)): Path<(String, String)>,
) -> R<Json<ConnectionTestReport>> {
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    let c = scope.db().connection(&id).await?;
    let checks = checks(&scope.tools(), &c).await;
    Ok(Json(ConnectionTestReport {
        connection_id: c.id.to_string(),
        kind: c.kind().as_str().to_owned(),
        ok: !checks.is_empty() && checks.iter().all(|c| c.ok),
        checks,
    }))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/connections/{connection_id}/refresh-metadata", tag = "orgs",
    params(("org_id" = String, Path, description = "Organization id"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "Refreshed, or failed with the last good copy kept (see ok and error)", body = MetadataRefreshReport)))]
pub async fn refresh_metadata(
    scope: OrgScope,
    Path((_org, connection_id)): Path<(String, String)>,
) -> R<Json<MetadataRefreshReport>> {
    let id: ConnectionId = path_id(&connection_id, "connection")?;
    let c = scope.db().connection(&id).await?;
    let st = scope.tools();
    if !matches!(c.config, ConnectionConfig::Saml(_)) {
        return Err(ApiError::bad_request(
            "Only SAML connections have IdP metadata to refresh.",
        ));
    }
    let report = st
        .saml
        .refresh(&c, &scope.caller().actor())
        .await
        .map_err(|e| match e {
            SetupError::Storage(m) => ApiError::internal(m),
            other => ApiError::bad_request(other.to_string()),
        })?;
    Ok(Json(report.into()))
}
