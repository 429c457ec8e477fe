//! The Branding page of an org (`/portal/orgs/{org_id}/branding`): display name, logo URL
//! and primary colour of the hosted sign-in pages, with a server-rendered preview of the
//! sign-in card (the saved values on GET; the typed values after "Preview", before saving).
//!
//! Owns: the page and the preview. Must not touch: what a valid branding is
//! (`domain::Branding::validate`, through the admin service), who may change it (the
//! `PortalScope` extractor and `OrgScope::check_org_patch`). The preview colour reaches the
//! page as `/static/brand.css?c=rrggbb&for=preview` (no inline style: the CSP forbids it).

use super::view::{FieldErrors, see_other};
use super::wording::sentence;
use super::{CsrfForm, Layout, PortalError, PortalScope, Section};
use crate::admin::dto::{Branding, OrgPatch};
use crate::admin::service;
use crate::domain::{self as d, Org};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-branding-title");
    pub const SAVED: Msg = Msg::new("portal-branding-saved");
    pub const CHANGED_MEANWHILE: Msg = Msg::new("portal-branding-changed-meanwhile");
    pub const PREVIEW_ONLY: Msg = Msg::new("portal-branding-preview-only");
}

pub fn routes() -> Router<super::PortalCtx> {
    Router::new().route("/portal/orgs/{org_id}/branding", get(show).post(submit))
}

/// The form's values (as typed) and what the preview shows.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BrandingForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub logo_url: String,
    #[serde(default)]
    pub primary_color: String,
    /// The org version the form was rendered from (form fields are text).
    #[serde(default)]
    pub version: String,
    /// `preview` or `save`.
    #[serde(default)]
    pub intent: String,
}

impl BrandingForm {
    fn of(o: &Org) -> Self {
        Self {
            display_name: o.branding.display_name.clone().unwrap_or_default(),
            logo_url: o.branding.logo_url.clone().unwrap_or_default(),
            primary_color: o.branding.primary_color.clone().unwrap_or_default(),
            version: o.version.to_string(),
            intent: String::new(),
        }
    }

    /// Empty fields mean "not set"; the colour is lowercased with its `#`.
    fn branding(&self) -> Branding {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let color = opt(&self.primary_color).map(|c| {
            let c = c.to_ascii_lowercase();
            if c.starts_with('#') {
                c
            } else {
                format!("#{c}")
            }
        });
        Branding {
            display_name: opt(&self.display_name),
            logo_url: opt(&self.logo_url),
            primary_color: color,
        }
    }
}

/// The sign-in card as it will look.
pub struct Preview {
    pub name: String,
    pub logo_url: Option<String>,
    /// Six hex digits, validated, for `/static/brand.css?c=…&for=preview`.
    pub color: Option<String>,
}

impl Preview {
    /// Only values that pass validation are previewed (an invalid one shows Lobby's default).
    fn of(org: &Org, b: &Branding) -> Self {
        let db: d::Branding = b.clone().into();
        let name = db
            .display_name
            .clone()
            .filter(|n| d::validate_name(n).is_ok())
            .unwrap_or_else(|| org.name.clone());
        Self {
            name,
            logo_url: db
                .logo_url
                .clone()
                .filter(|u| d::validate_web_url(u, "logo_url").is_ok()),
            color: db
                .primary_color
                .as_deref()
                .and_then(|c| c.strip_prefix('#'))
                .filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_owned),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/branding.html")]
pub struct BrandingPage {
    pub l: Layout,
    pub base: String,
    pub can_write: bool,
    pub form: BrandingForm,
    pub errors: FieldErrors,
    /// A sentence above the form (concurrent change, preview only).
    pub note: Option<crate::i18n::Msg>,
    pub preview: Preview,
    pub org_name: String,
}

async fn render(
    ps: &PortalScope,
    org: &Org,
    form: BrandingForm,
    errors: FieldErrors,
    note: Option<crate::i18n::Msg>,
) -> Result<BrandingPage, PortalError> {
    Ok(BrandingPage {
        l: ps.layout(&ps.tr().msg(say::TITLE), Section::Branding),
        base: ps.href(Section::Overview),
        can_write: ps.may_change(Section::Branding),
        preview: Preview::of(org, &form.branding()),
        form,
        errors,
        note,
        org_name: org.name.clone(),
    })
}

async fn show(ps: PortalScope) -> Result<Response, PortalError> {
    let org = ps.scope().db().org().await?;
    let form = BrandingForm::of(&org);
    Ok(render(&ps, &org, form, FieldErrors::default(), None)
        .await?
        .into_response())
}

/// The form field of a branding error's path (`branding.logo_url` → `logo_url`).
fn field_of(path: &str) -> Option<(&'static str, &'static str)> {
    [
        ("display_name", "display name"),
        ("logo_url", "logo URL"),
        ("primary_color", "primary colour"),
    ]
    .into_iter()
    .find(|(f, _)| path.contains(f))
}

/// Every field's error at once (the domain rule stops at the first one).
fn check(b: &Branding) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let one_by_one = [
        Branding {
            display_name: b.display_name.clone(),
            ..Branding::default()
        },
        Branding {
            logo_url: b.logo_url.clone(),
            ..Branding::default()
        },
        Branding {
            primary_color: b.primary_color.clone(),
            ..Branding::default()
        },
    ];
    for part in one_by_one {
        if let Err(e) = d::Branding::from(part).validate()
            && let Some((field, label)) = field_of(&e.field)
        {
            errors.add(field, sentence(label, &e.message));
        }
    }
    errors
}

async fn submit(
    ps: PortalScope,
    CsrfForm(form): CsrfForm<BrandingForm>,
) -> Result<Response, PortalError> {
    let org = ps.scope().db().org().await?;
    let branding = form.branding();
    let errors = check(&branding);
    if !errors.is_empty() {
        let page = render(&ps, &org, form, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if form.intent == "preview" {
        return Ok(render(&ps, &org, form, errors, Some(say::PREVIEW_ONLY))
            .await?
            .into_response());
    }
    let patch = OrgPatch {
        version: form.version.trim().parse().ok(),
        branding: Some(branding),
        ..OrgPatch::default()
    };
    ps.scope().check_org_patch(&patch)?;
    match service::update_org(&ps.scope().ctx(), ps.scope().org(), patch).await {
        Ok(_) => {
            ps.user().set_flash(ps.tr().msg(say::SAVED)).await;
            Ok(see_other(&format!(
                "{}/branding",
                ps.href(Section::Overview)
            )))
        }
        Err(e) if e.code == "version_conflict" => {
            let mut form = form;
            form.version = org.version.to_string();
            let page = render(&ps, &org, form, errors, Some(say::CHANGED_MEANWHILE)).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => match e.field.as_deref().and_then(field_of) {
            Some((field, label)) => {
                let mut errors = FieldErrors::default();
                errors.add(field, sentence(label, &e.message));
                let page = render(&ps, &org, form, errors, None).await?;
                Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
            }
            None => Err(e.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_unset_and_colours_normalized() {
        let f = BrandingForm {
            display_name: "  ".into(),
            logo_url: String::new(),
            primary_color: "1A2B3C".into(),
            ..Default::default()
        };
        let b = f.branding();
        assert_eq!(b.display_name, None);
        assert_eq!(b.logo_url, None);
        assert_eq!(b.primary_color.as_deref(), Some("#1a2b3c"));
        assert!(check(&b).is_empty());
    }

    #[test]
    fn errors_land_on_their_fields() {
        let f = BrandingForm {
            logo_url: "javascript:alert(1)".into(),
            ..Default::default()
        };
        let e = check(&f.branding());
        assert!(
            e.get("logo_url")
                .unwrap()
                .starts_with("The logo URL must be")
        );
        let f = BrandingForm {
            primary_color: "red".into(),
            ..Default::default()
        };
        assert!(check(&f.branding()).has("primary_color"));
    }
}
