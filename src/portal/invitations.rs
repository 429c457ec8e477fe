//! Invitations of an org: the list by state (pending, accepted, expired, revoked, all; paged by
//! `cursor`/`limit`), the invite form (email, app, app roles inside the org's allowed role
//! groups, org roles), and resend / revoke.
//!
//! Every request goes through `PortalScope`; every write through the admin API's own
//! functions (`admin::users::invite`, `resend`, `change_invitation`: the scope's org-role
//! limits, `admin::service`, the email).
//!
//! Owns: these pages and their sentences. Must not touch: rights, validation, storage writes.

use super::PortalCtx;
use super::form::{CsrfForm, many};
use super::members::{
    AppChoices, ORG_ROLES, app_role_choices, form_field, parse_org_roles, parse_roles,
};
use super::scope::PortalScope;
use super::view::{FieldErrors, Layout, PageResult, PortalError, Section, render, see_other};
use crate::admin::dto::{InvitationCreate, InvitationPatch, InvitationStatus as DtoInvStatus};
use crate::admin::service::{page_request, page_vec};
use crate::domain::{AppId, AppRoles, Email, Invitation, InvitationId, InvitationState};
use crate::i18n::Msg;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn routes() -> Router<PortalCtx> {
    Router::new()
        .route("/portal/orgs/{org_id}/invitations", get(list).post(create))
        .route(
            "/portal/orgs/{org_id}/invitations/{invitation_id}/resend",
            post(resend),
        )
        .route(
            "/portal/orgs/{org_id}/invitations/{invitation_id}/revoke",
            post(revoke),
        )
}

/// Page sentences (catalog keys).
mod text {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-invitations-title");
    pub const EMAIL_INVALID: Msg = Msg::new("portal-invitations-email-invalid");
    pub const APP_INVALID: Msg = Msg::new("portal-invitations-app-invalid");
    pub const NOT_SENT: Msg = Msg::new("portal-invitations-not-sent");
    pub const RESENT: Msg = Msg::new("portal-invitations-resent");
    pub const REVOKED: Msg = Msg::new("portal-invitations-revoked");
    pub const BAD_LIMIT: Msg = Msg::new("portal-members-limit-invalid");
    pub const AUTO_APP: Msg = Msg::new("portal-invitations-app-auto");
}

/// The states the list filters by.
const STATES: [(&str, Msg); 5] = [
    ("pending", Msg::new("portal-invitations-state-pending")),
    ("accepted", Msg::new("portal-invitations-state-accepted")),
    ("expired", Msg::new("portal-invitations-state-expired")),
    ("revoked", Msg::new("portal-invitations-state-revoked")),
    ("all", Msg::new("portal-invitations-state-all")),
];

/// An invitation's state in words (the badge).
fn state_words(s: InvitationState) -> String {
    super::view::current_tr().msg(match s {
        InvitationState::Pending => Msg::new("portal-invitation-pending"),
        InvitationState::Accepted => Msg::new("portal-invitation-accepted"),
        InvitationState::Expired => Msg::new("portal-invitation-expired"),
        InvitationState::Revoked => Msg::new("portal-invitation-revoked"),
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

pub struct Row {
    pub id: String,
    pub email: String,
    pub state: &'static str,
    /// The state in words.
    pub state_label: String,
    pub expires_at: String,
    pub roles: String,
    pub org_roles: Vec<&'static str>,
    pub pending: bool,
    /// Resend works for pending and expired invitations.
    pub resendable: bool,
}

pub struct Tab {
    pub value: &'static str,
    pub label: Msg,
    pub href: String,
    pub current: bool,
}

pub struct AppOpt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// What the invite form shows again after an error.
#[derive(Default)]
pub struct InviteDraft {
    pub email: String,
    pub app: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/invitations.html")]
struct ListPage {
    l: Layout,
    base: String,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    next: Option<String>,
    can_invite: bool,
    apps: Vec<AppOpt>,
    role_choices: Vec<AppChoices>,
    org_roles: Vec<(&'static str, String, bool)>,
    draft: InviteDraft,
    errors: FieldErrors,
}

fn state_str(s: InvitationState) -> &'static str {
    s.as_str()
}

async fn list_page(
    p: &PortalScope,
    q: ListQuery,
    draft: InviteDraft,
    held: AppRoles,
    org_roles_held: Vec<String>,
    errors: FieldErrors,
    status: StatusCode,
) -> PageResult {
    let state = q
        .state
        .as_deref()
        .filter(|s| STATES.iter().any(|(v, _)| v == s))
        .unwrap_or("pending")
        .to_owned();
    let limit = match q.limit.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<u32>()
                .map_err(|_| PortalError::invalid("limit", p.tr().msg(text::BAD_LIMIT)))?,
        ),
        None => None,
    };
    let page_req = page_request(limit, q.cursor.clone())?;
    let now = p.scope().tools().clock.now();
    let mut all: Vec<Invitation> = Vec::new();
    let mut req = crate::storage::PageRequest::first(500);
    loop {
        let page = p.scope().db().invitations(&req).await?;
        all.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => break,
        }
    }
    let filtered: Vec<Invitation> = all
        .into_iter()
        .filter(|i| state == "all" || state_str(i.state(now)) == state)
        .collect();
    let page = page_vec(filtered, |i| i.id.to_string(), &page_req);
    let apps = super::names::apps_in(page.items.iter().map(|i| &i.roles));
    let names = super::names::app_names(p.scope().ctx().storage, &apps).await?;
    let rows = page
        .items
        .iter()
        .map(|i| {
            let st = i.state(now);
            Row {
                id: i.id.to_string(),
                email: i.email.to_string(),
                state: state_str(st),
                state_label: state_words(st),
                expires_at: crate::admin::dto::ts(i.expires_at)
                    .chars()
                    .take(16)
                    .collect::<String>()
                    .replace('T', " "),
                roles: super::names::roles_in_words(&i.roles, &names),
                org_roles: i.org_roles.iter().map(|r| r.as_str()).collect(),
                pending: st == InvitationState::Pending,
                resendable: matches!(st, InvitationState::Pending | InvitationState::Expired),
            }
        })
        .collect();
    let base = p.href(Section::Invitations);
    let tabs = STATES
        .iter()
        .map(|(v, label)| Tab {
            value: v,
            label: *label,
            href: format!("{base}?state={v}"),
            current: *v == state,
        })
        .collect();
    let next = page.next.map(|n| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("state", &state);
        if let Some(l) = limit {
            s.append_pair("limit", &l.to_string());
        }
        s.append_pair("cursor", &n);
        format!("{base}?{}", s.finish())
    });
    let can_invite = p.may_change(Section::Invitations);
    let role_choices = app_role_choices(p, &held).await?;
    let storage = p.scope().ctx().storage;
    let mut apps = vec![AppOpt {
        value: String::new(),
        label: p.tr().msg(text::AUTO_APP),
        selected: draft.app.is_empty(),
    }];
    for link in p.scope().db().links().await? {
        let name = storage
            .get_app(&link.app_id)
            .await?
            .map_or_else(|| link.app_id.to_string(), |a| a.name);
        apps.push(AppOpt {
            selected: draft.app == link.app_id.as_str(),
            value: link.app_id.to_string(),
            label: name,
        });
    }
    let page = ListPage {
        l: p.layout(&p.tr().msg(text::TITLE), Section::Invitations),
        base,
        tabs,
        rows,
        next,
        can_invite,
        apps,
        role_choices,
        org_roles: ORG_ROLES
            .iter()
            .map(|(r, _)| {
                (
                    r.as_str(),
                    p.tr().msg(super::members::org_role_about(*r)),
                    org_roles_held.iter().any(|x| x == r.as_str()),
                )
            })
            .collect(),
        draft,
        errors,
    };
    Ok(render(status, &page))
}

/// `GET /portal/orgs/{org_id}/invitations`.
async fn list(p: PortalScope, Query(q): Query<ListQuery>) -> PageResult {
    list_page(
        &p,
        q,
        InviteDraft::default(),
        AppRoles::new(),
        vec![],
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct InviteForm {
    email: Option<String>,
    app: Option<String>,
    #[serde(default, deserialize_with = "many")]
    roles: Vec<String>,
    #[serde(default, deserialize_with = "many")]
    org_roles: Vec<String>,
}

/// `POST /portal/orgs/{org_id}/invitations`.
async fn create(p: PortalScope, CsrfForm(f): CsrfForm<InviteForm>) -> PageResult {
    let draft = InviteDraft {
        email: f.email.clone().unwrap_or_default(),
        app: f.app.clone().unwrap_or_default(),
    };
    let held: AppRoles = parse_roles(&f.roles)
        .map(|r| {
            r.into_iter()
                .map(|(a, v)| (a, v.into_iter().collect()))
                .collect()
        })
        .unwrap_or_default();
    let result = invite(&p, &f).await;
    match result {
        Ok(msg) => {
            p.user().set_flash(msg).await;
            Ok(see_other(&format!(
                "{}?state=pending",
                p.href(Section::Invitations)
            )))
        }
        Err(PortalError::Invalid {
            message,
            field,
            status,
        }) => {
            let mut e = FieldErrors::new();
            e.add(field.as_deref().map_or("form".into(), form_field), message);
            list_page(
                &p,
                ListQuery::default(),
                draft,
                held,
                f.org_roles,
                e,
                status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn invite(p: &PortalScope, f: &InviteForm) -> Result<String, PortalError> {
    let email = Email::parse(f.email.as_deref().unwrap_or("").trim())
        .map_err(|_| PortalError::invalid("email", p.tr().msg(text::EMAIL_INVALID)))?;
    let app_id = match f.app.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(
            AppId::parse(a)
                .map_err(|_| PortalError::invalid("app", p.tr().msg(text::APP_INVALID)))?,
        ),
        None => None,
    };
    let req = InvitationCreate {
        id: None,
        email: email.clone(),
        roles: parse_roles(&f.roles)?,
        org_roles: parse_org_roles(&f.org_roles)?,
        expires_in_secs: None,
        app_id,
        inviter_name: p.user().name.clone(),
        // The email is in the language the admin is using the portal in (the API takes any).
        locale: Some(p.tr().tag().to_owned()),
    };
    let done = crate::admin::users::invite(p.scope(), req)
        .await
        .map_err(|e| {
            let mut pe = PortalError::from(e);
            // The API's field names are the form's, except the app.
            if let PortalError::Invalid { field, .. } = &mut pe
                && field.as_deref() == Some("app_id")
            {
                *field = Some("app".into());
            }
            pe
        })?;
    Ok(if done.email_sent {
        p.tr().t1("portal-invitations-sent", "email", &email)
    } else {
        p.tr().msg(text::NOT_SENT)
    })
}

fn invitation_of(raw: &str) -> Result<InvitationId, PortalError> {
    raw.parse().map_err(|_| PortalError::NotFound)
}

#[derive(Deserialize)]
struct Empty {}

/// `POST …/invitations/{id}/resend`.
async fn resend(
    p: PortalScope,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let id = invitation_of(&id)?;
    let done = crate::admin::users::resend(p.scope(), &id, p.tr().lang()).await?;
    p.user()
        .set_flash(p.tr().msg(if done.email_sent {
            text::RESENT
        } else {
            text::NOT_SENT
        }))
        .await;
    Ok(see_other(&format!(
        "{}?state=pending",
        p.href(Section::Invitations)
    )))
}

/// `POST …/invitations/{id}/revoke`.
async fn revoke(
    p: PortalScope,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let id = invitation_of(&id)?;
    crate::admin::users::change_invitation(
        p.scope(),
        &id,
        InvitationPatch {
            status: Some(DtoInvStatus::Revoked),
            ..InvitationPatch::default()
        },
    )
    .await?;
    p.user().set_flash(p.tr().msg(text::REVOKED)).await;
    Ok(see_other(&format!(
        "{}?state=revoked",
        p.href(Section::Invitations)
    )))
}
