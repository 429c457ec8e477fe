//! The Domains page of an org (`/portal/orgs/{org_id}/domains`): the org's email domains with
//! their status, adding one, the DNS TXT record to publish, verifying it, removing one (after
//! a confirmation page), and marking a verified domain shared ("other organizations' members
//! also use this domain": discovery then offers the emailed org chooser instead of routing the
//! domain straight here).
//!
//! Owns: the page and the plain-words outcomes of a verification. Must not touch: who may do
//! what (the `PortalScope` extractor asks the admin layer's rights table), when a domain
//! counts as verified (`admin::service::verify_domain`), DNS itself.

use super::view::{FieldErrors, see_other};
use super::{CsrfForm, Layout, PortalError, PortalScope, Section};
use crate::admin::dto::DomainCreate;
use crate::admin::service::{self, ServiceError};
use crate::domain::{EmailDomain, OrgDomain};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The sentences of this page (catalog keys).
mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-domains-title");
    pub const ADDED: Msg = Msg::new("portal-domains-added");
    pub const REMOVED: Msg = Msg::new("portal-domains-removed");
    pub const DUPLICATE: Msg = Msg::new("portal-domains-duplicate");
    pub const NOT_FOUND_YET: Msg = Msg::new("portal-domains-not-found-yet");
    pub const WRONG_VALUE: Msg = Msg::new("portal-domains-wrong-value");
    pub const TAKEN: Msg = Msg::new("portal-domains-taken");
    pub const DNS_DOWN: Msg = Msg::new("portal-domains-dns-down");
    pub const STILL_THERE: Msg = Msg::new("portal-domains-still-there");
    pub const GONE_BUT_KEPT: Msg = Msg::new("portal-domains-gone-but-kept");
    pub const NOW_SHARED: Msg = Msg::new("portal-domains-now-shared");
    pub const NOW_EXCLUSIVE: Msg = Msg::new("portal-domains-now-exclusive");
}

pub fn routes() -> Router<super::PortalCtx> {
    Router::new()
        .route("/portal/orgs/{org_id}/domains", get(list).post(add))
        .route(
            "/portal/orgs/{org_id}/domains/{domain}/verify",
            axum::routing::post(verify),
        )
        .route(
            "/portal/orgs/{org_id}/domains/{domain}/sharing",
            axum::routing::post(sharing),
        )
        .route(
            "/portal/orgs/{org_id}/domains/{domain}/delete",
            get(confirm_delete).post(delete),
        )
        .route(
            "/portal/orgs/{org_id}/domains/{domain}/take-over",
            get(confirm_take_over).post(take_over),
        )
}

/// What a verification (or a failed add) says next to one domain.
pub struct Notice {
    pub ok: bool,
    pub text: String,
    /// For an operator, when another org has verified the domain: the take-over page.
    pub take_over: Option<String>,
}

pub struct DomainRow {
    /// ASCII form (in URLs and ids).
    pub domain: String,
    /// Unicode form, for display.
    pub unicode: String,
    pub verified: bool,
    /// Other organizations' members also use it (no direct routing here).
    pub shared: bool,
    /// `YYYY-MM-DD`, when verified.
    pub verified_on: Option<String>,
    pub txt_name: String,
    pub txt_value: String,
    pub notice: Option<Notice>,
}

impl DomainRow {
    fn of(d: &OrgDomain) -> Self {
        Self {
            domain: d.domain.to_string(),
            unicode: d.domain.to_unicode(),
            verified: d.verified,
            shared: d.shared,
            verified_on: d.verified_at.map(super::wording::date),
            txt_name: d.txt_record_name(),
            txt_value: d.txt_record_value(),
            notice: None,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/domains.html")]
pub struct DomainsPage {
    pub l: Layout,
    pub base: String,
    pub can_write: bool,
    pub domains: Vec<DomainRow>,
    /// The add form's value and error (after a refused add).
    pub form_domain: String,
    pub errors: FieldErrors,
}

async fn page(ps: &PortalScope) -> Result<DomainsPage, PortalError> {
    let mut domains: Vec<OrgDomain> = ps.scope().db().domains().await?;
    domains.sort_by(|a, b| a.domain.as_str().cmp(b.domain.as_str()));
    Ok(DomainsPage {
        l: ps.layout(&ps.tr().msg(say::TITLE), Section::Domains),
        base: ps.href(Section::Overview),
        can_write: ps.may_change(Section::Domains),
        domains: domains.iter().map(DomainRow::of).collect(),
        form_domain: String::new(),
        errors: FieldErrors::default(),
    })
}

async fn list(ps: PortalScope) -> Result<Response, PortalError> {
    Ok(page(&ps).await?.into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub domain: String,
}

async fn add(ps: PortalScope, CsrfForm(f): CsrfForm<AddForm>) -> Result<Response, PortalError> {
    let req = DomainCreate {
        domain: f.domain.trim().to_owned(),
        verified: None,
        shared: None,
    };
    match service::create_domain(&ps.scope().ctx(), ps.scope().org(), req).await {
        Ok(d) => {
            ps.user().set_flash(ps.tr().msg(say::ADDED)).await;
            Ok(see_other(&format!(
                "{}/domains#d-{}",
                ps.href(Section::Overview),
                d.domain.as_str()
            )))
        }
        Err(e) if e.field.is_some() || e.code == "duplicate" => {
            let mut p = page(&ps).await?;
            p.form_domain = f.domain;
            let text = if e.code == "duplicate" {
                ps.tr().msg(say::DUPLICATE)
            } else {
                super::wording::sentence("domain", &e.message)
            };
            p.errors.add("domain", text);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct SharingForm {
    /// `true`: shared with other organizations' members; anything else: routes here only.
    #[serde(default)]
    pub shared: String,
}

/// `POST …/domains/{domain}/sharing`: mark the domain shared or exclusive (the admin layer's
/// `update_domain`, audited as `domain.update`).
async fn sharing(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<SharingForm>,
) -> Result<Response, PortalError> {
    let domain = domain_in_path(&domain)?;
    let shared = f.shared == "true";
    let patch = crate::admin::dto::DomainPatch {
        verified: None,
        shared: Some(shared),
    };
    service::update_domain(&ps.scope().ctx(), ps.scope().org(), &domain, patch, false).await?;
    let flash = if shared {
        say::NOW_SHARED
    } else {
        say::NOW_EXCLUSIVE
    };
    ps.user().set_flash(ps.tr().msg(flash)).await;
    Ok(see_other(&format!(
        "{}/domains#d-{}",
        ps.href(Section::Overview),
        domain.as_str()
    )))
}

fn domain_in_path(s: &str) -> Result<EmailDomain, PortalError> {
    EmailDomain::parse(s).map_err(|_| PortalError::NotFound)
}

#[derive(Deserialize)]
pub struct Empty {}

async fn verify(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let domain = domain_in_path(&domain)?;
    run_verify(&ps, &domain, false).await
}

/// Check the TXT record (the admin layer's `verify_domain`; `force`: the operator's
/// override of another org's verification, as the API's `?force=true`) and say the outcome.
async fn run_verify(
    ps: &PortalScope,
    domain: &EmailDomain,
    force: bool,
) -> Result<Response, PortalError> {
    // Make sure the domain is this org's before asking DNS (a 404 otherwise).
    let before = ps.scope().db().domain(domain).await?;
    let previous_owner = if force {
        owner_elsewhere(ps, domain).await?
    } else {
        None
    };
    let tools = ps.scope().tools();
    let outcome = service::verify_domain(
        &ps.scope().ctx(),
        tools.txt_resolver,
        ps.scope().org(),
        domain,
        force,
    )
    .await;
    let (status, notice) = match outcome {
        Ok(v) if !before.verified => {
            let shown = v.domain.domain.to_unicode();
            let flash = match &previous_owner {
                Some(o) => ps
                    .tr()
                    .t2("portal-domain-taken-over", "domain", &shown, "org", &o.name),
                None => ps
                    .tr()
                    .t1("portal-domains-verified-flash", "domain", &shown),
            };
            ps.user().set_flash(&flash).await;
            return Ok(see_other(&format!(
                "{}/domains#d-{}",
                ps.href(Section::Overview),
                domain.as_str()
            )));
        }
        Ok(v) if v.record_found => (StatusCode::OK, ok(say::STILL_THERE)),
        Ok(_) => (StatusCode::OK, ok(say::GONE_BUT_KEPT)),
        Err(e) => {
            let mut n = refused(&e);
            if e.code == "domain_taken" && operator_only(ps).is_ok() {
                n.take_over = Some(format!(
                    "{}/domains/{}/take-over",
                    ps.href(Section::Overview),
                    domain.as_str()
                ));
            }
            (status_of(&e), n)
        }
    };
    let mut p = page(ps).await?;
    if let Some(row) = p.domains.iter_mut().find(|r| r.domain == domain.as_str()) {
        row.notice = Some(notice);
    }
    Ok((status, p).into_response())
}

fn ok(s: crate::i18n::Msg) -> Notice {
    Notice {
        ok: true,
        text: super::view::current_tr().msg(s),
        take_over: None,
    }
}

/// The plain-words sentence for a verification the service refused.
fn refused(e: &ServiceError) -> Notice {
    let tr = super::view::current_tr();
    let text = match e.code {
        "txt_record_missing" => tr.msg(say::NOT_FOUND_YET),
        "txt_record_mismatch" => tr.msg(say::WRONG_VALUE),
        "domain_taken" => tr.msg(say::TAKEN),
        "dns_unavailable" => tr.msg(say::DNS_DOWN),
        _ => super::service_text::localize(&e.message),
    };
    Notice {
        ok: false,
        text,
        take_over: None,
    }
}

fn status_of(e: &ServiceError) -> StatusCode {
    crate::http::ApiError::from(e.clone()).status
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/confirm.html")]
pub struct ConfirmPage {
    pub l: Layout,
    pub question: String,
    pub consequences: Vec<String>,
    pub action: String,
    pub confirm_label: crate::i18n::Msg,
    pub cancel: String,
}

async fn confirm_delete(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    if !ps.may_change(Section::Domains) {
        return Err(PortalError::NotFound);
    }
    let domain = domain_in_path(&domain)?;
    let d = ps.scope().db().domain(&domain).await?;
    let shown = d.domain.to_unicode();
    let tr = ps.tr();
    let mut consequences = vec![tr.t1("portal-domains-remove-stops", "domain", &shown)];
    if d.verified {
        consequences.push(tr.t1("portal-domains-remove-again", "domain", &shown));
    }
    consequences.push(tr.t("portal-domains-remove-members-stay"));
    Ok(ConfirmPage {
        l: ps.layout(
            &tr.t1("portal-domains-remove-title", "domain", &shown),
            Section::Domains,
        ),
        question: tr.t1("portal-domains-remove-question", "domain", &shown),
        consequences,
        action: format!(
            "{}/domains/{}/delete",
            ps.href(Section::Overview),
            d.domain.as_str()
        ),
        confirm_label: crate::i18n::Msg::new("portal-domains-remove-confirm"),
        cancel: format!("{}/domains", ps.href(Section::Overview)),
    }
    .into_response())
}

async fn delete(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    let domain = domain_in_path(&domain)?;
    service::delete_domain(&ps.scope().ctx(), ps.scope().org(), &domain).await?;
    ps.user().set_flash(ps.tr().msg(say::REMOVED)).await;
    Ok(see_other(&format!(
        "{}/domains",
        ps.href(Section::Overview)
    )))
}

// ---------------------------------------------------------------------------------------
// The operator's take-over of a domain another org has verified

/// The other org that has verified `domain`, if any.
async fn owner_elsewhere(
    ps: &PortalScope,
    domain: &EmailDomain,
) -> Result<Option<crate::domain::Org>, PortalError> {
    let s = ps.scope().ctx().storage;
    match s.find_verified_domain_org(domain).await? {
        Some(o) if &o != ps.scope().org() => Ok(s.get_org(&o).await?),
        _ => Ok(None),
    }
}

/// Operators only (the admin layer's `require_operator`, as for the API's `?force=true`);
/// everyone else gets the 404 page.
fn operator_only(ps: &PortalScope) -> Result<(), PortalError> {
    ps.scope()
        .require_operator("take over a domain another organization has verified")
        .map_err(|_| PortalError::NotFound)
}

/// `GET …/domains/{domain}/take-over`: what moving the domain here does, and the button.
async fn confirm_take_over(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    operator_only(&ps)?;
    let domain = domain_in_path(&domain)?;
    let d = ps.scope().db().domain(&domain).await?;
    let back = format!("{}/domains", ps.href(Section::Overview));
    let Some(owner) = owner_elsewhere(&ps, &domain).await? else {
        // Nobody else holds it (any more): an ordinary verification will do.
        return Ok(see_other(&back));
    };
    let this = ps.scope().db().org().await?;
    let tr = ps.tr();
    let shown = d.domain.to_unicode();
    let say = |key: &str| {
        tr.t3(
            key,
            "domain",
            &shown,
            "org",
            &owner.name,
            "this",
            &this.name,
        )
    };
    Ok(super::confirm::Confirm {
        l: ps.layout(
            &tr.t1("portal-domain-take-over-title", "domain", &shown),
            Section::Domains,
        ),
        question: say("portal-domain-take-over-question"),
        consequences: vec![
            say("portal-domain-take-over-effect-owner"),
            say("portal-domain-take-over-effect-dns"),
            say("portal-domain-take-over-effect-sign-in"),
        ],
        action: format!(
            "{}/domains/{}/take-over",
            ps.href(Section::Overview),
            d.domain.as_str()
        ),
        confirm_label: tr.t("portal-domain-take-over-button"),
        cancel: back,
    }
    .into_response())
}

/// `POST …/domains/{domain}/take-over`: the verification with the operator's override.
async fn take_over(
    ps: PortalScope,
    Path((_org, domain)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PortalError> {
    operator_only(&ps)?;
    let domain = domain_in_path(&domain)?;
    run_verify(&ps, &domain, true).await
}
