//! The Child organizations page (`/portal/orgs/{org_id}/children`): the org's child orgs the
//! signed-in admin reaches, a page at a time, a link to open each, and creating a child.
//!
//! Owns: the page. Must not touch: which children a caller reaches (`OrgDb::children`), who
//! may create one (the `PortalScope` extractor), what a valid org is (`admin::service`).

use super::view::{FieldErrors, see_other};
use super::wording::sentence;
use super::{CsrfForm, Layout, PortalError, PortalScope, Section};
use crate::admin::dto::OrgCreate;
use crate::admin::service::{self, page_request};
use crate::domain::{Org, Slug};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-children-title");
    pub const BAD_LIMIT: Msg = Msg::new("portal-children-bad-limit");
    pub const SLUG_TAKEN: Msg = Msg::new("portal-slug-taken");
}

pub fn routes() -> Router<super::PortalCtx> {
    Router::new().route("/portal/orgs/{org_id}/children", get(list).post(create))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub struct ChildRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub active: bool,
}

impl ChildRow {
    fn of(o: &Org) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.clone(),
            slug: o.slug.to_string(),
            active: o.status == crate::domain::OrgStatus::Active,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/children.html")]
pub struct ChildrenPage {
    pub l: Layout,
    pub base: String,
    pub org_name: String,
    pub can_create: bool,
    pub children: Vec<ChildRow>,
    pub older: Option<String>,
    pub paged: bool,
    pub form: CreateForm,
    pub errors: FieldErrors,
}

async fn page(ps: &PortalScope, q: &ListParams) -> Result<ChildrenPage, PortalError> {
    let req = page_request(q.limit, Some(q.cursor.clone()))
        .map_err(|_| PortalError::bad_request(ps.tr().msg(say::BAD_LIMIT)))?;
    let org = ps.scope().db().org().await?;
    let found = ps.scope().db().children(ps.scope().caller(), &req).await?;
    let base = ps.href(Section::Overview);
    Ok(ChildrenPage {
        l: ps.layout(&ps.tr().msg(say::TITLE), Section::Children),
        org_name: org.name.clone(),
        can_create: ps.may_change(Section::Children),
        children: found.items.iter().map(ChildRow::of).collect(),
        older: found.next.map(|c| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            s.append_pair("cursor", &c);
            if let Some(l) = q.limit {
                s.append_pair("limit", &l.to_string());
            }
            format!("{base}/children?{}", s.finish())
        }),
        paged: !q.cursor.is_empty(),
        base,
        form: CreateForm::default(),
        errors: FieldErrors::default(),
    })
}

async fn list(ps: PortalScope, Query(q): Query<ListParams>) -> Result<Response, PortalError> {
    Ok(page(&ps, &q).await?.into_response())
}

async fn create(
    ps: PortalScope,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<Response, PortalError> {
    let mut errors = FieldErrors::default();
    let slug = match Slug::parse(f.slug.trim()) {
        Ok(s) => Some(s),
        Err(e) => {
            errors.add("slug", sentence("short name", &e.message));
            None
        }
    };
    if let Err(e) = crate::domain::validate_name(f.name.trim()) {
        errors.add("name", sentence("name", &e.message));
    }
    let created = match slug {
        Some(slug) if errors.is_empty() => {
            let req = OrgCreate {
                id: None,
                slug,
                name: f.name.trim().to_owned(),
                status: None,
                parent_id: Some(ps.scope().org().clone()),
                branding: None,
            };
            match service::create_org(&ps.scope().ctx(), req).await {
                Ok(o) => Some(o),
                Err(e) if e.field.as_deref() == Some("slug") => {
                    errors.add("slug", ps.tr().msg(say::SLUG_TAKEN));
                    None
                }
                Err(e) if e.field.as_deref() == Some("name") => {
                    errors.add("name", sentence("name", &e.message));
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    match created {
        Some(o) => {
            ps.user()
                .set_flash(ps.tr().t1("portal-children-created", "name", &o.name))
                .await;
            Ok(see_other(&format!("/portal/orgs/{}", o.id)))
        }
        None => {
            let mut p = page(&ps, &ListParams::default()).await?;
            p.form = f;
            p.errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
    }
}
