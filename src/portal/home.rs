//! `/portal` (the orgs the signed-in person reaches; exactly one → straight to it) and the org
//! overview `/portal/orgs/{org_id}`.
//!
//! Owns: these two pages. Must not touch: rights (`PortalScope`), writes.

use super::PortalCtx;
use super::scope::PortalScope;
use super::session::PortalUser;
use super::view::{Layout, PageResult, Section, render, see_other};
use crate::admin::auth::Caller;
use crate::domain::{OrgRole, OrgStatus};
use crate::i18n::Msg;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

pub fn routes() -> Router<PortalCtx> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/", get(home))
        .route("/portal/orgs/{org_id}", get(overview))
}

/// Page sentences.
mod text {
    use crate::i18n::Msg;
    pub const HOME_TITLE: Msg = Msg::new("portal-home-title");
}

pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/home.html")]
struct HomePage {
    l: Layout,
    orgs: Vec<OrgRow>,
}

/// `GET /portal`.
async fn home(State(ctx): State<PortalCtx>, user: PortalUser) -> PageResult {
    let s = ctx.storage.as_ref();
    let ids = match user.caller() {
        Caller::OrgAdmin(c) => crate::admin::scope::reach(s, &c).await?,
        // An operator's own org first; every org is on the operator pages.
        _ => vec![user.home.clone()],
    };
    let mut orgs = Vec::new();
    for id in ids {
        if let Some(o) = s.get_org(&id).await? {
            orgs.push(OrgRow {
                id: o.id.to_string(),
                name: o.display_name().to_owned(),
                slug: o.slug.to_string(),
                parent: o.parent_id.as_ref().map(|p| p.to_string()),
            });
        }
    }
    if orgs.len() == 1 && !user.is_operator {
        return Ok(see_other(&format!("/portal/orgs/{}", orgs[0].id)));
    }
    let page = HomePage {
        l: Layout::plain(
            &super::view::current_tr().msg(text::HOME_TITLE),
            Section::Home,
            Some(&user),
        ),
        orgs,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One section on the overview: a link and what it is for.
pub struct SectionLink {
    pub label: String,
    pub href: String,
    pub id: &'static str,
    pub about: String,
}

/// What a section is for, in the overview's list.
fn about(s: Section) -> Option<Msg> {
    Some(match s {
        Section::Members => Msg::new("portal-about-members"),
        Section::Invitations => Msg::new("portal-about-invitations"),
        Section::Connections => Msg::new("portal-about-connections"),
        Section::Domains => Msg::new("portal-about-domains"),
        Section::Branding => Msg::new("portal-about-branding"),
        Section::Audit => Msg::new("portal-about-audit"),
        Section::Children => Msg::new("portal-about-children"),
        _ => return None,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/overview.html")]
struct OverviewPage {
    l: Layout,
    name: String,
    slug: String,
    active: bool,
    parent: Option<String>,
    my_roles: Vec<&'static str>,
    inherited: bool,
    sections: Vec<SectionLink>,
}

/// `GET /portal/orgs/{org_id}`.
async fn overview(p: PortalScope) -> PageResult {
    let org = p.org();
    let user = p.user();
    let tr = p.tr();
    let sections = Section::ORG
        .iter()
        .filter(|s| **s != Section::Overview && p.sees(**s))
        .map(|s| SectionLink {
            label: s.label(),
            href: p.href(*s),
            id: s.id(),
            about: about(*s).map(|m| tr.msg(m)).unwrap_or_default(),
        })
        .collect();
    let inherited = org.id != user.home;
    let page = OverviewPage {
        l: p.layout(&tr.t("portal-overview-title"), Section::Overview),
        name: org.display_name().to_owned(),
        slug: org.slug.to_string(),
        active: org.status == OrgStatus::Active,
        parent: org.parent_id.as_ref().map(|x| x.to_string()),
        my_roles: if user.is_operator {
            vec!["operator"]
        } else if inherited {
            vec![OrgRole::OrgAdmin.as_str()]
        } else {
            user.roles.iter().map(|r| r.as_str()).collect()
        },
        inherited,
        sections,
    };
    Ok(render(StatusCode::OK, &page))
}
