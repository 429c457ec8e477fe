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

/// Page sentences (one place, for translation later).
mod text {
    pub const HOME_TITLE: &str = "Your organizations";
    pub const OVERVIEW_TITLE: &str = "Overview";
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
        l: Layout::plain(text::HOME_TITLE, Section::Home, Some(&user)),
        orgs,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One section on the overview: a link and what it is for.
pub struct SectionLink {
    pub label: &'static str,
    pub href: String,
    pub id: &'static str,
    pub about: &'static str,
}

fn about(s: Section) -> &'static str {
    match s {
        Section::Members => {
            "Who belongs to this organization, their roles, suspension and removal."
        }
        Section::Invitations => "Invite people by email; resend or revoke pending invitations.",
        Section::Connections => {
            "Connect your identity provider (SAML or OIDC) so your people sign in with it."
        }
        Section::Domains => "Verify the email domains your organization owns.",
        Section::Branding => "Your name, logo and colour on the sign-in page.",
        Section::Audit => "Every change made in this organization, and sign-ins.",
        Section::Children => "Organizations below this one.",
        _ => "",
    }
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
    let sections = Section::ORG
        .iter()
        .filter(|s| **s != Section::Overview && p.sees(**s))
        .map(|s| SectionLink {
            label: s.label(),
            href: p.href(*s),
            id: s.id(),
            about: about(*s),
        })
        .collect();
    let inherited = org.id != user.home;
    let page = OverviewPage {
        l: p.layout(text::OVERVIEW_TITLE, Section::Overview),
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
