//! The wizard's first steps: choose SAML or OpenID Connect, show Lobby's details to give the
//! IdP (SAML: entity ID, ACS URL, SP metadata URL and download; OIDC: the redirect URI), then
//! take the IdP's details (SAML metadata pasted, by URL, or entered by hand; OIDC issuer,
//! client id and write-only secret, scopes) and save the connection as a draft. The same
//! forms edit a saved connection's IdP details (`…/{connection_id}/idp`).
//!
//! A new connection's id is chosen when the wizard opens (`?id=` carries it), so the IdP
//! administrator can be given Lobby's URLs before anything is saved.
//!
//! Owns: these steps. Must not touch: connection rules (`admin::service`), protocol checks
//! (`setup`, `upstream`).

use super::setup::{self, FieldError, SamlInput};
use super::views::{ChoosePage, Errors, OidcPage, SamlPage};
use super::{Fields, base, connection_id, field, service_errors, sp_info};
use crate::admin::dto::{
    ClaimMapping, ConnectionConfig as DtoConfig, ConnectionCreate, ConnectionPatch, OidcConfig,
    SamlConfig, TokenEndpointAuthMethod,
};
use crate::admin::service;
use crate::domain::{Connection, ConnectionConfig, ConnectionId, ConnectionKind, Secret};
use crate::portal::view::{current_tr, render, see_other};
use crate::portal::{CsrfForm, PortalError, PortalScope, Section};
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct NewQuery {
    id: Option<String>,
}

/// `GET …/connections/new`: SAML or OpenID Connect.
pub(super) async fn choose(scope: PortalScope) -> Result<Response, PortalError> {
    super::writer(&scope)?;
    let page = ChoosePage {
        l: scope.layout(
            &scope.tr().t("portal-wizard-new-title"),
            Section::Connections,
        ),
        base: base(scope.scope().org()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The reserved id of a new connection (`?id=`), if well-formed.
fn reserved(q: &NewQuery) -> Option<ConnectionId> {
    q.id.as_deref().and_then(|id| ConnectionId::parse(id).ok())
}

/// A new reserved id (redirect, so a reload keeps it).
fn reserve(here: &str) -> Response {
    see_other(&format!("{here}?id={}", ConnectionId::generate()))
}

fn saml_page(
    scope: &PortalScope,
    id: &ConnectionId,
    creating: bool,
    input: &SamlInput,
    name: &str,
    errors: Errors,
) -> Response {
    let b = base(scope.scope().org());
    let page = SamlPage {
        l: scope.layout(
            &scope.tr().t(if creating {
                "portal-wizard-new-saml-title"
            } else {
                "portal-wizard-saml-title"
            }),
            Section::Connections,
        ),
        action: if creating {
            format!("{b}/new/saml")
        } else {
            format!("{b}/{id}/idp")
        },
        base: b,
        creating,
        id: id.to_string(),
        sp: sp_info(scope, id),
        name: name.to_owned(),
        source: if input.source.is_empty() {
            "xml".into()
        } else {
            input.source.clone()
        },
        metadata_xml: input.metadata_xml.clone(),
        metadata_url: input.metadata_url.clone(),
        entity_id: input.entity_id.clone(),
        sso_url: input.sso_url.clone(),
        certificate: input.certificate.clone(),
        errors: errors.clone(),
    };
    let status = errors.status();
    render(status, &page)
}

/// `GET …/connections/new/saml?id=`.
pub(super) async fn saml_new(
    scope: PortalScope,
    Query(q): Query<NewQuery>,
) -> Result<Response, PortalError> {
    super::writer(&scope)?;
    let here = format!("{}/new/saml", base(scope.scope().org()));
    let Some(id) = reserved(&q) else {
        return Ok(reserve(&here));
    };
    Ok(saml_page(
        &scope,
        &id,
        true,
        &SamlInput::default(),
        "",
        Errors::default(),
    ))
}

/// `GET …/connections/new/saml/{connection_id}/metadata.xml`: Lobby's SP metadata for a
/// connection, saved or not yet (the same document `/sso/saml/{id}/metadata` serves).
pub(super) async fn sp_metadata(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let id = connection_id(&raw)?;
    let tools = scope.scope().tools();
    let certs = tools
        .saml
        .sp_keys
        .published_certs()
        .await
        .map_err(|e| PortalError::internal(format!("SAML SP keys: {e}")))?;
    let (signed, nif) = match scope.scope().db().connection(&id).await {
        Ok(Connection {
            config: ConnectionConfig::Saml(c),
            ..
        }) => (c.sign_authn_requests, c.name_id_format),
        _ => (true, None),
    };
    let urls = crate::upstream::saml::sp_urls(tools.config, &id);
    let body = crate::upstream::saml::metadata::sp_metadata(
        &urls.entity_id,
        &urls.acs,
        &certs,
        signed,
        nif.as_deref(),
    );
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"lobby-sp-metadata-{id}.xml\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Pin a draft SAML connection's metadata now (the list shows its certificate's expiry; the
/// test sign-in would pin it anyway).
async fn pin_draft(tools: &crate::admin::scope::Tools<'_>, c: &Connection) {
    if c.state == crate::domain::ConnectionState::Draft
        && matches!(c.config, ConnectionConfig::Saml(_))
        && let Err(e) = tools.saml.idp_state(c).await
    {
        tracing::info!(connection = %c.id, error = %e, "cannot pin the draft's SAML metadata yet");
    }
}

fn saml_input(f: &Fields) -> SamlInput {
    SamlInput {
        source: field(f, "source"),
        metadata_xml: field(f, "metadata_xml"),
        metadata_url: field(f, "metadata_url"),
        entity_id: field(f, "entity_id"),
        sso_url: field(f, "sso_url"),
        certificate: field(f, "certificate"),
    }
}

fn name_error(name: &str) -> Option<FieldError> {
    name.trim()
        .is_empty()
        .then(|| FieldError::new("name", current_tr().t("portal-wizard-name-missing")))
}

/// `POST …/connections/new/saml`: check the IdP's details, save a draft, on to the mapping.
pub(super) async fn saml_create(
    scope: PortalScope,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let Ok(id) = ConnectionId::parse(&field(&f, "id")) else {
        return Ok(see_other(&format!("{}/new/saml", base(s.org()))));
    };
    let input = saml_input(&f);
    let name = field(&f, "name");
    if let Some(e) = name_error(&name) {
        return Ok(saml_page(
            &scope,
            &id,
            true,
            &input,
            &name,
            Errors::field(e),
        ));
    }
    let src = match setup::saml_source(&s.tools(), &id, &input).await {
        Ok(src) => src,
        Err(e) => {
            return Ok(saml_page(
                &scope,
                &id,
                true,
                &input,
                &name,
                Errors::field(e),
            ));
        }
    };
    let generic = &super::presets::presets(ConnectionKind::Saml)[0];
    let req = ConnectionCreate {
        id: Some(id.clone()),
        name: name.trim().to_owned(),
        state: None,
        config: DtoConfig::Saml(SamlConfig {
            idp_metadata_url: src.url,
            idp_metadata_xml: src.xml,
            idp_entity_id: src.entity_id,
            name_id_format: None,
            attributes: ClaimMapping {
                email: generic.email.into(),
                name: generic.name.into(),
                groups: Some(generic.groups.into()),
            },
            role_mapping: vec![],
            sign_authn_requests: true,
            want_assertions_signed: true,
            allow_idp_initiated: false,
            idp_initiated_app_id: None,
            idp_initiated_redirect_uri: None,
            email_authority: Default::default(),
            accept_expired_certs: false,
        }),
    };
    match service::create_connection(&s.ctx(), s.org(), req).await {
        Ok(c) => {
            pin_draft(&s.tools(), &c).await;
            Ok(see_other(&format!("{}/{}/mapping", base(s.org()), c.id)))
        }
        Err(e) => {
            let errors = service_errors(e)?;
            Ok(saml_page(&scope, &id, true, &input, &name, errors))
        }
    }
}

fn oidc_page(
    scope: &PortalScope,
    id: &ConnectionId,
    creating: bool,
    f: &Fields,
    secret_set: bool,
    errors: Errors,
) -> Response {
    let b = base(scope.scope().org());
    let scopes = f
        .get("scopes")
        .cloned()
        .unwrap_or_else(|| "openid email profile".into());
    let page = OidcPage {
        l: scope.layout(
            &scope.tr().t(if creating {
                "portal-wizard-new-oidc-title"
            } else {
                "portal-wizard-oidc-title"
            }),
            Section::Connections,
        ),
        action: if creating {
            format!("{b}/new/oidc")
        } else {
            format!("{b}/{id}/idp")
        },
        base: b,
        creating,
        id: id.to_string(),
        redirect_uri: crate::login::oidc::redirect_uri_for(scope.scope().tools().config, id),
        name: field(f, "name"),
        issuer: field(f, "issuer"),
        client_id: field(f, "client_id"),
        secret_set,
        scopes,
        auth_method: f
            .get("auth_method")
            .cloned()
            .unwrap_or_else(|| "client_secret_basic".into()),
        errors: errors.clone(),
    };
    let status = errors.status();
    render(status, &page)
}

/// `GET …/connections/new/oidc?id=`.
pub(super) async fn oidc_new(
    scope: PortalScope,
    Query(q): Query<NewQuery>,
) -> Result<Response, PortalError> {
    super::writer(&scope)?;
    let here = format!("{}/new/oidc", base(scope.scope().org()));
    let Some(id) = reserved(&q) else {
        return Ok(reserve(&here));
    };
    Ok(oidc_page(
        &scope,
        &id,
        true,
        &Fields::new(),
        false,
        Errors::default(),
    ))
}

fn auth_method(s: &str) -> Option<TokenEndpointAuthMethod> {
    match s {
        "client_secret_basic" => Some(TokenEndpointAuthMethod::ClientSecretBasic),
        "client_secret_post" => Some(TokenEndpointAuthMethod::ClientSecretPost),
        "none" => Some(TokenEndpointAuthMethod::None),
        _ => None,
    }
}

/// The OIDC step's fields checked in order; `keep_secret`: a secret is stored already.
async fn oidc_checked(
    scope: &PortalScope,
    id: &ConnectionId,
    f: &Fields,
    keep_secret: bool,
) -> Result<
    (
        String,
        String,
        Option<Secret>,
        Vec<String>,
        TokenEndpointAuthMethod,
    ),
    FieldError,
> {
    let name = field(f, "name");
    if let Some(e) = name_error(&name) {
        return Err(e);
    }
    let issuer = field(f, "issuer").trim().to_owned();
    let ok = url::Url::parse(&issuer).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none()
    });
    if ok.is_none() {
        return Err(FieldError::new(
            "issuer",
            current_tr().t("portal-wizard-issuer-invalid"),
        ));
    }
    let client_id = field(f, "client_id").trim().to_owned();
    if client_id.is_empty() || client_id.len() > 255 {
        return Err(FieldError::new(
            "client_id",
            current_tr().t("portal-wizard-client-id-invalid"),
        ));
    }
    let method = auth_method(&field(f, "auth_method")).ok_or_else(|| {
        FieldError::new(
            "auth_method",
            current_tr().t("portal-wizard-auth-method-missing"),
        )
    })?;
    let secret = Some(field(f, "client_secret")).filter(|s| !s.is_empty());
    if secret.is_none() && !keep_secret && method != TokenEndpointAuthMethod::None {
        return Err(FieldError::new(
            "client_secret",
            current_tr().t("portal-wizard-client-secret-missing"),
        ));
    }
    let scopes: Vec<String> = field(f, "scopes")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(FieldError::new(
            "scopes",
            current_tr().t("portal-wizard-scopes-openid"),
        ));
    }
    setup::oidc_issuer(&scope.scope().tools(), id, &issuer).await?;
    Ok((
        name.trim().to_owned(),
        issuer,
        secret.map(Secret::new),
        scopes,
        method,
    ))
}

/// `POST …/connections/new/oidc`.
pub(super) async fn oidc_create(
    scope: PortalScope,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let Ok(id) = ConnectionId::parse(&field(&f, "id")) else {
        return Ok(see_other(&format!("{}/new/oidc", base(s.org()))));
    };
    let (name, issuer, secret, scopes, method) = match oidc_checked(&scope, &id, &f, false).await {
        Ok(v) => v,
        Err(e) => return Ok(oidc_page(&scope, &id, true, &f, false, Errors::field(e))),
    };
    let generic = &super::presets::presets(ConnectionKind::Oidc)[0];
    let req = ConnectionCreate {
        id: Some(id.clone()),
        name,
        state: None,
        config: DtoConfig::Oidc(OidcConfig {
            issuer,
            client_id: field(&f, "client_id").trim().to_owned(),
            client_secret: secret,
            scopes,
            token_endpoint_auth_method: method,
            allowed_algs: vec!["RS256".into(), "ES256".into(), "PS256".into()],
            claims: ClaimMapping {
                email: generic.email.into(),
                name: generic.name.into(),
                groups: None,
            },
            role_mapping: vec![],
            require_email_verified: true,
            email_authority: Default::default(),
        }),
    };
    match service::create_connection(&s.ctx(), s.org(), req).await {
        Ok(c) => Ok(see_other(&format!("{}/{}/mapping", base(s.org()), c.id))),
        Err(e) => {
            let errors = service_errors(e)?;
            Ok(oidc_page(&scope, &id, true, &f, false, errors))
        }
    }
}

/// The form fields of a saved connection's IdP step.
fn saved_fields(c: &Connection) -> (Fields, SamlInput, bool) {
    let mut f = Fields::new();
    f.insert("name".into(), c.name.clone());
    match &c.config {
        ConnectionConfig::Oidc(o) => {
            f.insert("issuer".into(), o.issuer.clone());
            f.insert("client_id".into(), o.client_id.clone());
            f.insert("scopes".into(), o.scopes.join(" "));
            let m = match o.token_endpoint_auth_method {
                crate::domain::TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
                crate::domain::TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
                crate::domain::TokenEndpointAuthMethod::None => "none",
            };
            f.insert("auth_method".into(), m.into());
            (f, SamlInput::default(), o.client_secret.is_some())
        }
        ConnectionConfig::Saml(s) => {
            let input = SamlInput {
                source: if s.idp_metadata_url.is_some() {
                    "url"
                } else {
                    "xml"
                }
                .into(),
                metadata_xml: s.idp_metadata_xml.clone().unwrap_or_default(),
                metadata_url: s.idp_metadata_url.clone().unwrap_or_default(),
                entity_id: s.idp_entity_id.clone().unwrap_or_default(),
                ..Default::default()
            };
            (f, input, false)
        }
        ConnectionConfig::Password(_) => (f, SamlInput::default(), false),
    }
}

/// `GET …/connections/{connection_id}/idp`.
pub(super) async fn idp_edit(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    super::writer(&scope)?;
    let c = scope.scope().db().connection(&connection_id(&raw)?).await?;
    let (f, input, secret_set) = saved_fields(&c);
    match &c.config {
        ConnectionConfig::Saml(_) => Ok(saml_page(
            &scope,
            &c.id,
            false,
            &input,
            &c.name,
            Errors::default(),
        )),
        ConnectionConfig::Oidc(_) => Ok(oidc_page(
            &scope,
            &c.id,
            false,
            &f,
            secret_set,
            Errors::default(),
        )),
        ConnectionConfig::Password(_) => Err(PortalError::NotFound),
    }
}

/// `POST …/connections/{connection_id}/idp`: new IdP details for a saved connection (its
/// mapping and state are kept; an OIDC secret left empty is kept).
pub(super) async fn idp_save(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let c = s.db().connection(&connection_id(&raw)?).await?;
    let mut dto = DtoConfig::from_domain(&c.config);
    let name;
    match (&c.config, &mut dto) {
        (ConnectionConfig::Saml(_), DtoConfig::Saml(cfg)) => {
            let input = saml_input(&f);
            name = field(&f, "name");
            if let Some(e) = name_error(&name) {
                return Ok(saml_page(
                    &scope,
                    &c.id,
                    false,
                    &input,
                    &name,
                    Errors::field(e),
                ));
            }
            let src = match setup::saml_source(&s.tools(), &c.id, &input).await {
                Ok(src) => src,
                Err(e) => {
                    return Ok(saml_page(
                        &scope,
                        &c.id,
                        false,
                        &input,
                        &name,
                        Errors::field(e),
                    ));
                }
            };
            cfg.idp_metadata_url = src.url;
            cfg.idp_metadata_xml = src.xml;
            cfg.idp_entity_id = src.entity_id;
        }
        (ConnectionConfig::Oidc(o), DtoConfig::Oidc(cfg)) => {
            let set = o.client_secret.is_some();
            let (n, issuer, secret, scopes, method) = match oidc_checked(&scope, &c.id, &f, set)
                .await
            {
                Ok(v) => v,
                Err(e) => return Ok(oidc_page(&scope, &c.id, false, &f, set, Errors::field(e))),
            };
            name = n;
            cfg.issuer = issuer;
            cfg.client_id = field(&f, "client_id").trim().to_owned();
            // Left out: the stored secret is kept (`into_domain`).
            cfg.client_secret = secret;
            cfg.scopes = scopes;
            cfg.token_endpoint_auth_method = method;
        }
        _ => return Err(PortalError::NotFound),
    }
    let patch = ConnectionPatch {
        version: Some(c.version),
        name: Some(name.trim().to_owned()),
        state: None,
        config: Some(dto),
    };
    // An active SAML connection must still pin a certificate with its new source.
    let tools = s.tools();
    let mut preview = c.clone();
    if let Some(cfg) = &patch.config {
        preview.config = cfg.clone().into_domain(None);
    }
    if let Err(e) = crate::admin::connection_ops::guard_activation(&tools, &preview).await {
        let (ff, input, set) = saved_fields(&c);
        let errors = Errors::form(e.message);
        return Ok(match &c.config {
            ConnectionConfig::Saml(_) => saml_page(&scope, &c.id, false, &input, &c.name, errors),
            _ => oidc_page(&scope, &c.id, false, &ff, set, errors),
        });
    }
    match service::update_connection(&s.ctx(), s.org(), &c.id, patch).await {
        Ok(saved) => {
            crate::admin::connection_ops::pin_after_save(&tools, &saved).await;
            pin_draft(&tools, &saved).await;
            scope
                .user()
                .set_flash(current_tr().t("portal-wizard-idp-saved"))
                .await;
            Ok(see_other(&format!("{}/{}", base(s.org()), saved.id)))
        }
        Err(e) => {
            let errors = service_errors(e)?;
            let (_, _, set) = saved_fields(&c);
            Ok(match &c.config {
                ConnectionConfig::Saml(_) => {
                    saml_page(&scope, &c.id, false, &saml_input(&f), &name, errors)
                }
                _ => oidc_page(&scope, &c.id, false, &f, set, errors),
            })
        }
    }
}
