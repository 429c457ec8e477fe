//! The portal's connections area and its IdP setup wizard (issue 14 item 2):
//! `/portal/orgs/{org_id}/connections` (list), `…/new` (choose SAML or OpenID Connect),
//! `…/new/saml` and `…/new/oidc` (Lobby's details to give the IdP, then the IdP's), then per
//! connection `…/{connection_id}` (overview), `…/idp` (the IdP step again), `…/mapping`
//! (attribute/claim mapping with presets, groups → roles), `…/test` (the admin API's checks
//! in plain words, and a real test sign-in: `login::test_signin`), `…/test/result`,
//! `…/activate` and `…/disable`.
//!
//! Everything goes through the org's `OrgScope` (the `PortalScope` extractor: the settings
//! area is `org_admin`'s, anyone else gets the 404 page) and `admin::service`; activation
//! uses the admin API's own guard (a SAML connection is never active without a pinned signing
//! certificate).
//!
//! Owns: these pages. Must not touch: the rights table, connection rules (`admin::service`),
//! protocol code (`upstream`), the sign-in flow (`login`).

mod mapping;
pub mod presets;
pub mod setup;
mod test;
mod views;
mod wizard;

use super::{PortalCtx, PortalError, PortalScope, Section};
use crate::admin::dto::{ConnectionPatch, ConnectionState as DtoState};
use crate::admin::service;
use crate::domain::{Connection, ConnectionConfig, ConnectionId, ConnectionState, OrgId};
use crate::upstream::saml::sp_urls;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use std::collections::BTreeMap;
use views::{Errors, Row, ShowPage, SpInfo, cert_words, kind_words, state_words};

pub fn routes() -> Router<PortalCtx> {
    let c = "/portal/orgs/{org_id}/connections";
    Router::new()
        .route(c, get(list))
        .route(&format!("{c}/new"), get(wizard::choose))
        .route(
            &format!("{c}/new/saml"),
            get(wizard::saml_new).post(wizard::saml_create),
        )
        .route(
            &format!("{c}/new/saml/{{connection_id}}/metadata.xml"),
            get(wizard::sp_metadata),
        )
        .route(
            &format!("{c}/new/oidc"),
            get(wizard::oidc_new).post(wizard::oidc_create),
        )
        .route(&format!("{c}/{{connection_id}}"), get(show))
        .route(
            &format!("{c}/{{connection_id}}/idp"),
            get(wizard::idp_edit).post(wizard::idp_save),
        )
        .route(
            &format!("{c}/{{connection_id}}/mapping"),
            get(mapping::get).post(mapping::post),
        )
        .route(&format!("{c}/{{connection_id}}/test"), get(test::page))
        .route(
            &format!("{c}/{{connection_id}}/test/sign-in"),
            post(test::sign_in),
        )
        .route(
            &format!("{c}/{{connection_id}}/test/result"),
            get(test::result),
        )
        .route(&format!("{c}/{{connection_id}}/activate"), post(activate))
        .route(&format!("{c}/{{connection_id}}/disable"), post(disable))
}

/// `/portal/orgs/{org}/connections`.
pub(crate) fn base(org: &OrgId) -> String {
    format!("/portal/orgs/{org}/connections")
}

/// The wizard's forms are for those who may change connections (a viewer reads only).
pub(crate) fn writer(scope: &PortalScope) -> Result<(), PortalError> {
    if scope.may_change(Section::Connections) {
        Ok(())
    } else {
        Err(PortalError::NotFound)
    }
}

/// A submitted form, field by field.
pub(crate) type Fields = BTreeMap<String, String>;

pub(crate) fn field(f: &Fields, name: &str) -> String {
    f.get(name).cloned().unwrap_or_default()
}

/// The connection id of a path, or the 404 page.
pub(crate) fn connection_id(raw: &str) -> Result<ConnectionId, PortalError> {
    ConnectionId::parse(raw).map_err(|_| PortalError::NotFound)
}

/// Lobby's SAML details for connection `id` (saved or not yet).
pub(crate) fn sp_info(scope: &PortalScope, id: &ConnectionId) -> SpInfo {
    let org = scope.scope().org();
    let urls = sp_urls(scope.scope().tools().config, id);
    SpInfo {
        metadata_url: urls.entity_id.clone(),
        entity_id: urls.entity_id,
        acs: urls.acs,
        download: format!("{}/new/saml/{id}/metadata.xml", base(org)),
    }
}

/// Where a service error belongs on the wizard's forms.
pub(crate) fn service_errors(e: service::ServiceError) -> Result<Errors, PortalError> {
    use service::ErrorKind;
    match e.kind {
        ErrorKind::Invalid | ErrorKind::Conflict | ErrorKind::BadRequest => {}
        _ => return Err(crate::http::ApiError::from(e).into()),
    }
    let field = e.field.as_deref().unwrap_or("");
    let name = match field.strip_prefix("config.").unwrap_or(field) {
        "name" => Some("name"),
        "issuer" => Some("issuer"),
        "client_id" => Some("client_id"),
        "client_secret" => Some("client_secret"),
        "scopes" => Some("scopes"),
        "idp_metadata_url" => Some("metadata_url"),
        "idp_metadata_xml" => Some("metadata_xml"),
        f if f.starts_with("role_mapping") => Some("mapping"),
        _ => None,
    };
    Ok(match name {
        Some(f) => Errors::field(setup::FieldError::new(f, sentence_of(&e.message))),
        None => Errors::form(sentence_of(&e.message)),
    })
}

/// A service message as a sentence (they are written lower-case, for the API), in the page's
/// language where the catalog has it.
fn sentence_of(m: &str) -> String {
    let m = crate::portal::service_text::translate(crate::portal::view::current_tr(), m)
        .unwrap_or_else(|| m.to_owned());
    let mut c = m.chars();
    let mut s: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return String::new(),
    };
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// `GET /portal/orgs/{org_id}/connections`.
async fn list(scope: PortalScope) -> Result<Response, PortalError> {
    let s = scope.scope();
    let tools = s.tools();
    let now = tools.clock.now().unix_timestamp();
    let mut rows = Vec::new();
    for c in s.db().connections().await? {
        let cert = match &c.config {
            ConnectionConfig::Saml(_) => {
                let st = tools.saml.stored_state(&c.id).await.ok().flatten();
                Some(cert_words(st.as_ref(), now))
            }
            _ => None,
        };
        rows.push(Row {
            id: c.id.to_string(),
            name: c.name.clone(),
            kind: kind_words(c.kind()),
            state: state_words(c.state),
            active: c.state == ConnectionState::Active,
            cert,
            editable: !matches!(c.config, ConnectionConfig::Password(_)),
        });
    }
    let page = views::ListPage {
        l: scope.layout(
            &scope.tr().t("portal-nav-connections"),
            Section::Connections,
        ),
        can_write: scope.may_change(Section::Connections),
        base: base(s.org()),
        rows,
    };
    Ok(super::view::render(axum::http::StatusCode::OK, &page))
}

/// The overview of one connection, with `errors` from a refused activation.
pub(crate) async fn show_page(
    scope: &PortalScope,
    c: &Connection,
    errors: Errors,
) -> Result<Response, PortalError> {
    let s = scope.scope();
    let tr = scope.tr();
    let mut facts: Vec<(String, String)> = Vec::new();
    let (sp, redirect_uri, maps) = match &c.config {
        ConnectionConfig::Saml(cfg) => {
            let source = match (&cfg.idp_metadata_url, &cfg.idp_metadata_xml) {
                (Some(u), _) => tr.t1("portal-conn-metadata-by-url", "url", u),
                (None, Some(_)) => tr.t("portal-conn-metadata-pasted"),
                (None, None) => tr.t("portal-conn-none"),
            };
            facts.push((tr.t("portal-conn-fact-metadata"), source));
            if let Ok(Some(st)) = s.tools().saml.stored_state(&c.id).await
                && let Some(md) = &st.metadata
            {
                facts.push((tr.t("portal-conn-fact-idp-entity-id"), md.entity_id.clone()));
                let now = s.tools().clock.now().unix_timestamp();
                facts.push((
                    tr.t("portal-conn-signing-cert"),
                    cert_words(Some(&st), now).0,
                ));
            }
            facts.push((
                tr.t("portal-conn-email-attribute"),
                cfg.attributes.email.clone(),
            ));
            facts.push((
                tr.t("portal-conn-name-attribute"),
                cfg.attributes.name.clone(),
            ));
            facts.push((
                tr.t("portal-conn-groups-attribute"),
                cfg.attributes
                    .groups
                    .clone()
                    .unwrap_or_else(|| tr.t("portal-none")),
            ));
            (Some(sp_info(scope, &c.id)), None, &cfg.role_mapping)
        }
        ConnectionConfig::Oidc(cfg) => {
            facts.push((tr.t("portal-conn-issuer"), cfg.issuer.clone()));
            facts.push((tr.t("portal-conn-client-id"), cfg.client_id.clone()));
            facts.push((
                tr.t("portal-conn-client-secret"),
                if cfg.client_secret.is_some() {
                    tr.t("portal-conn-secret-stored")
                } else {
                    tr.t("portal-conn-none")
                },
            ));
            facts.push((tr.t("portal-conn-scopes"), cfg.scopes.join(" ")));
            facts.push((tr.t("portal-conn-email-claim"), cfg.claims.email.clone()));
            facts.push((tr.t("portal-conn-name-claim"), cfg.claims.name.clone()));
            facts.push((
                tr.t("portal-conn-groups-claim"),
                cfg.claims
                    .groups
                    .clone()
                    .unwrap_or_else(|| tr.t("portal-none")),
            ));
            let uri = crate::login::oidc::redirect_uri_for(s.tools().config, &c.id);
            (None, Some(uri), &cfg.role_mapping)
        }
        ConnectionConfig::Password(_) => return Err(PortalError::NotFound),
    };
    let names = mapping::app_names(scope).await?;
    let mappings = maps
        .iter()
        .map(|m| mapping::mapping_words(m, &names))
        .collect();
    let other_active = s
        .db()
        .connections()
        .await?
        .into_iter()
        .filter(|o| {
            o.id != c.id
                && o.state == ConnectionState::Active
                && !matches!(o.config, ConnectionConfig::Password(_))
        })
        .map(|o| o.name)
        .collect();
    let page = ShowPage {
        l: scope.layout(&c.name, Section::Connections),
        can_write: scope.may_change(Section::Connections),
        base: base(s.org()),
        id: c.id.to_string(),
        kind: kind_words(c.kind()),
        state: state_words(c.state),
        active: c.state == ConnectionState::Active,
        sp,
        redirect_uri,
        facts,
        mappings,
        other_active,
        errors: errors.clone(),
    };
    let status = errors.status();
    Ok(super::view::render(status, &page))
}

/// `GET …/connections/{connection_id}`.
async fn show(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let c = scope.scope().db().connection(&connection_id(&raw)?).await?;
    show_page(&scope, &c, Errors::default()).await
}

/// Set the state of a connection through the admin layer's guard and service.
async fn set_state(
    scope: &PortalScope,
    raw: &str,
    state: DtoState,
) -> Result<Result<Connection, (Connection, Errors)>, PortalError> {
    let s = scope.scope();
    let id = connection_id(raw)?;
    let cur = s.db().connection(&id).await?;
    if matches!(cur.config, ConnectionConfig::Password(_)) {
        return Err(PortalError::NotFound);
    }
    let tools = s.tools();
    let mut preview = cur.clone();
    preview.state = state.into();
    if let Err(e) = crate::admin::connection_ops::guard_activation(&tools, &preview).await {
        let msg = e.message.clone();
        return Ok(Err((
            cur,
            Errors::form(
                scope
                    .tr()
                    .t1("portal-conn-fix-then-retry", "problem", sentence_of(&msg)),
            ),
        )));
    }
    let patch = ConnectionPatch {
        version: Some(cur.version),
        state: Some(state),
        ..Default::default()
    };
    match service::update_connection(&s.ctx(), s.org(), &id, patch).await {
        Ok(c) => {
            crate::admin::connection_ops::pin_after_save(&tools, &c).await;
            Ok(Ok(c))
        }
        Err(e) => Ok(Err((cur, service_errors(e)?))),
    }
}

/// `POST …/{connection_id}/activate`.
async fn activate(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    super::CsrfForm(_f): super::CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    match set_state(&scope, &raw, DtoState::Active).await? {
        Ok(c) => {
            scope
                .user()
                .set_flash(scope.tr().t1("portal-conn-activated", "name", &c.name))
                .await;
            Ok(super::view::see_other(&format!(
                "{}/{}",
                base(scope.scope().org()),
                c.id
            )))
        }
        Err((c, errors)) => show_page(&scope, &c, errors).await,
    }
}

/// `POST …/{connection_id}/disable`.
async fn disable(
    scope: PortalScope,
    Path((_org, raw)): Path<(String, String)>,
    super::CsrfForm(_f): super::CsrfForm<Fields>,
) -> Result<Response, PortalError> {
    match set_state(&scope, &raw, DtoState::Disabled).await? {
        Ok(c) => {
            scope
                .user()
                .set_flash(scope.tr().t1("portal-conn-disabled", "name", &c.name))
                .await;
            Ok(super::view::see_other(&format!(
                "{}/{}",
                base(scope.scope().org()),
                c.id
            )))
        }
        Err((c, errors)) => show_page(&scope, &c, errors).await,
    }
}
