//! The wizard's test step: `GET …/{connection_id}/test` (the admin API's connection checks,
//! fetched fresh, in plain words, and the button of a real test sign-in),
//! `POST …/test/sign-in` (sends the admin through the IdP: `login::test_signin`, which
//! creates no session and no code for any app) and `GET …/test/result?result=` (what the IdP
//! sent, what the mapping makes of it, and what would go wrong at a real sign-in).
//!
//! The test page's CSP names the IdP's origin in `form-action`: the test sign-in form's POST
//! is answered with a redirect there.
//!
//! Owns: these pages. Must not touch: the checks themselves (`admin::connection_ops`), the
//! test flow (`login::test_signin`).

use super::views::{ResultPage, TestPage};
use super::{base, connection_id};
use crate::domain::{Connection, ConnectionConfig, ConnectionState, EmailAuthority};
use crate::login::test_signin::TestSignIn;
use crate::portal::view::{current_tr, render, see_other};
use crate::portal::{CsrfForm, PORTAL_CSP, PortalCtx, PortalError, PortalScope, Section};
use crate::upstream::identity::NAMEID_TRANSIENT;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

/// The origins the test sign-in's redirect may go to (the IdP's sign-in endpoint).
async fn idp_origins(scope: &PortalScope, c: &Connection) -> Vec<String> {
    let tools = scope.scope().tools();
    let urls: Vec<String> = match &c.config {
        ConnectionConfig::Saml(cfg) => match tools.saml.load_metadata(&c.id, cfg).await {
            Ok(md) => md.sso_redirect.into_iter().chain(md.sso_post).collect(),
            Err(_) => vec![],
        },
        ConnectionConfig::Oidc(cfg) => match tools.oidc.probe_discovery(&c.id, &cfg.issuer).await {
            Ok(d) => vec![d.authorization_endpoint.to_string()],
            Err(_) => vec![],
        },
        ConnectionConfig::Password(_) => vec![],
    };
    let public = tools.config.public_url.origin().ascii_serialization();
    let mut out: Vec<String> = urls
        .iter()
        .chain(std::iter::once(&public))
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `GET …/{connection_id}/test`.
pub(super) async fn page(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let c = s.db().connection(&connection_id(&raw)?).await?;
    if matches!(c.config, ConnectionConfig::Password(_)) {
        return Err(PortalError::NotFound);
    }
    let mut checks = crate::admin::connection_ops::checks(&s.tools(), &c).await;
    for c in &mut checks {
        c.message = crate::portal::service_text::localize(&c.message);
    }
    let origins = idp_origins(&scope, &c).await;
    let page = TestPage {
        l: scope.layout(&scope.tr().t("portal-test-title"), Section::Connections),
        can_write: scope.may_change(Section::Connections),
        base: base(s.org()),
        id: c.id.to_string(),
        name: c.name.clone(),
        active: c.state == ConnectionState::Active,
        ok: !checks.is_empty() && checks.iter().all(|c| c.ok),
        checks,
    };
    let mut res = render(StatusCode::OK, &page);
    {
        let csp = PORTAL_CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {}", origins.join(" ")),
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(res)
}

/// `POST …/{connection_id}/test/sign-in`: off to Lobby's public host (where the test flow
/// starts), then the IdP, then back to the result page.
pub(super) async fn sign_in(
    State(ctx): State<PortalCtx>,
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    CsrfForm(_f): CsrfForm<super::Fields>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let c = s.db().connection(&connection_id(&raw)?).await?;
    if matches!(c.config, ConnectionConfig::Password(_)) {
        return Err(PortalError::NotFound);
    }
    let path = format!("{}/{}/test/result", base(s.org()), c.id);
    let tail = path.strip_prefix("/portal").unwrap_or(&path);
    let marker = TestSignIn {
        org_id: s.org().clone(),
        connection_id: c.id.clone(),
        requested_by: scope.user().user_id.clone(),
        return_to: format!("{}{tail}", ctx.config.portal_url()),
    };
    let url = crate::login::test_signin::ticket(&ctx.provider.login, &marker)
        .await
        .map_err(|e| PortalError::internal(format!("storing the test sign-in ticket: {e}")))?;
    Ok(see_other(&url))
}

#[derive(Deserialize)]
pub(super) struct ResultQuery {
    result: Option<String>,
}

/// `GET …/{connection_id}/test/result?result=`: only the admin who ran the test sees it.
pub(super) async fn result(
    State(ctx): State<PortalCtx>,
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    Query(q): Query<ResultQuery>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let c = s.db().connection(&connection_id(&raw)?).await?;
    let handle = q.result.unwrap_or_default();
    let Some(r) = crate::login::test_signin::result(&ctx.provider.login, &handle).await else {
        return Err(PortalError::NotFound);
    };
    if &r.org_id != s.org() || r.connection_id != c.id || r.requested_by != scope.user().user_id {
        return Err(PortalError::NotFound);
    }
    if let Some(mut f) = r.failure {
        // The hosted page's sentence, as the admin reads it.
        f.sentence = scope.tr().reword(&f.sentence);
        let step_hint = step_hint(f.reason.as_deref()).map(|k| scope.tr().t(k));
        let page = ResultPage {
            l: scope.layout(
                &scope.tr().t("portal-test-failed-title"),
                Section::Connections,
            ),
            can_write: scope.may_change(Section::Connections),
            base: base(s.org()),
            id: c.id.to_string(),
            name: c.name.clone(),
            active: c.state == ConnectionState::Active,
            protocol: "",
            issuer: String::new(),
            subject: String::new(),
            email: None,
            name_value: None,
            groups: vec![],
            roles: vec![],
            values: vec![],
            warnings: vec![],
            failure: Some(f),
            step_hint,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    let (mapping, email_authority, saml) = match &c.config {
        ConnectionConfig::Saml(cfg) => (&cfg.role_mapping, cfg.email_authority, true),
        ConnectionConfig::Oidc(cfg) => (&cfg.role_mapping, cfg.email_authority, false),
        ConnectionConfig::Password(_) => return Err(PortalError::NotFound),
    };
    let names = super::mapping::app_names(&scope).await?;
    let roles: Vec<String> = mapping
        .iter()
        .filter(|m| r.groups.iter().any(|g| g == &m.group))
        .flat_map(|m| {
            let app = names
                .get(&m.app_id)
                .cloned()
                .unwrap_or_else(|| m.app_id.to_string());
            m.roles.iter().map(move |role| {
                current_tr().t3(
                    "portal-test-role-from-group",
                    "app",
                    &app,
                    "role",
                    role,
                    "group",
                    &m.group,
                )
            })
        })
        .collect();
    let tr = scope.tr();
    // Fluent selects on it: `attribute` (SAML) or `claim` (OIDC).
    let what = if saml { "attribute" } else { "claim" };
    let mut warnings = Vec::new();
    if saml && r.subject.starts_with(&format!("{NAMEID_TRANSIENT}|")) {
        warnings.push(tr.t("portal-test-transient-nameid"));
    }
    match &r.email {
        None => warnings.push(tr.t1("portal-test-no-email", "what", what)),
        Some(e) if email_authority == EmailAuthority::OrgVerifiedDomains => {
            let domain = e.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
            let verified = s
                .db()
                .domains()
                .await?
                .iter()
                .any(|d| d.verified && d.domain.as_str() == domain);
            if !verified {
                warnings.push(tr.t1("portal-test-domain-unverified", "domain", &domain));
            }
        }
        Some(_) => {}
    }
    if r.name.is_none() {
        warnings.push(tr.t1("portal-test-no-name", "what", what));
    }
    if !mapping.is_empty() && r.groups.is_empty() {
        warnings.push(tr.t1("portal-test-no-groups", "what", what));
    }
    let values = r
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.join(", ")))
        .collect();
    let page = ResultPage {
        l: scope.layout(&tr.t("portal-test-result-title"), Section::Connections),
        can_write: scope.may_change(Section::Connections),
        base: base(s.org()),
        id: c.id.to_string(),
        name: c.name.clone(),
        active: c.state == ConnectionState::Active,
        protocol: if saml { "SAML" } else { "OpenID Connect" },
        issuer: r.issuer,
        subject: r.subject,
        email: r.email,
        name_value: r.name,
        groups: r.groups,
        roles,
        values,
        warnings,
        failure: None,
        step_hint: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// What to change on the identity provider step, for a test that failed before the IdP was
/// reached: the audit reason's code (`discovery_issuer_mismatch: …`) → a catalog key.
fn step_hint(reason: Option<&str>) -> Option<&'static str> {
    let code = reason?.split(':').next()?.trim();
    Some(match code {
        "discovery_issuer_mismatch" => "portal-test-failed-issuer",
        "discovery_invalid" => "portal-test-failed-discovery-invalid",
        "discovery_blocked" => "portal-test-failed-blocked",
        c if c.starts_with("discovery_") => "portal-test-failed-unreachable",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::step_hint;

    #[test]
    fn failures_before_the_idp_point_to_the_idp_step() {
        assert_eq!(
            step_hint(Some("discovery_issuer_mismatch: \"discovery issuer …\"")),
            Some("portal-test-failed-issuer")
        );
        for r in [
            "discovery_unreachable",
            "discovery_timeout",
            "discovery_http_status: 404",
        ] {
            assert_eq!(
                step_hint(Some(r)),
                Some("portal-test-failed-unreachable"),
                "{r}"
            );
        }
        assert_eq!(step_hint(Some("bad_signature")), None);
        assert_eq!(step_hint(None), None);
    }
}
