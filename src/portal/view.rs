//! The portal's page chrome and errors: [`Layout`] (what `templates/portal/layout.html` needs:
//! title, org and its branding, navigation, CSRF token, flash, signed-in email), [`Section`],
//! [`FieldErrors`] for forms, and [`PortalError`] with its pages (400 with the fields' errors,
//! 403, 404, 5xx with the request id; the cause is logged, never shown).
//!
//! Owns: the layout's data, the error pages and their sentences, the portal's static files.
//! Must not touch: rights (`admin::scope`), sessions (`session`).

use crate::domain::Org;
use crate::http::ApiError;
use crate::i18n::{Msg, Tr};
use crate::storage::StorageError;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::BTreeMap;

/// The places of the portal (the navigation's items and the current one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `/portal`: the orgs in reach.
    Home,
    Overview,
    Members,
    Invitations,
    Connections,
    Domains,
    Branding,
    Audit,
    Children,
    /// The vendor operator's pages (`/portal/admin…`).
    Operator,
}

impl Section {
    /// The org sections in navigation order.
    pub const ORG: [Section; 8] = [
        Section::Overview,
        Section::Members,
        Section::Invitations,
        Section::Connections,
        Section::Domains,
        Section::Branding,
        Section::Audit,
        Section::Children,
    ];

    /// The navigation label's sentence.
    pub fn label_msg(self) -> Msg {
        match self {
            Self::Home => Msg::new("portal-nav-home"),
            Self::Overview => Msg::new("portal-nav-overview"),
            Self::Members => Msg::new("portal-nav-members"),
            Self::Invitations => Msg::new("portal-nav-invitations"),
            Self::Connections => Msg::new("portal-nav-connections"),
            Self::Domains => Msg::new("portal-nav-domains"),
            Self::Branding => Msg::new("portal-nav-branding"),
            Self::Audit => Msg::new("portal-nav-audit"),
            Self::Children => Msg::new("portal-nav-children"),
            Self::Operator => Msg::new("portal-nav-operator"),
        }
    }

    /// The navigation label in the request's language.
    pub fn label(self) -> String {
        current_tr().msg(self.label_msg())
    }

    /// The path below `/portal/orgs/{org_id}` ("" for the overview).
    pub fn tail(self) -> &'static str {
        match self {
            Self::Overview | Self::Home | Self::Operator => "",
            Self::Members => "/members",
            Self::Invitations => "/invitations",
            Self::Connections => "/connections",
            Self::Domains => "/domains",
            Self::Branding => "/branding",
            Self::Audit => "/audit",
            Self::Children => "/children",
        }
    }

    /// A stable id for the navigation link (`nav-members`…), for tests.
    pub fn id(self) -> &'static str {
        match self {
            Self::Home => "nav-home",
            Self::Overview => "nav-overview",
            Self::Members => "nav-members",
            Self::Invitations => "nav-invitations",
            Self::Connections => "nav-connections",
            Self::Domains => "nav-domains",
            Self::Branding => "nav-branding",
            Self::Audit => "nav-audit",
            Self::Children => "nav-children",
            Self::Operator => "nav-operator",
        }
    }
}

/// One navigation link.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub label: String,
    pub href: String,
    pub id: &'static str,
    pub current: bool,
}

/// The org a page is about, for its header and branding.
#[derive(Clone, Debug)]
pub struct OrgHeader {
    pub id: String,
    pub name: String,
    pub logo_url: Option<String>,
    /// Six hex digits without `#`, validated (for `/static/brand.css?c=`).
    pub color: Option<String>,
}

impl OrgHeader {
    pub fn of(org: &Org) -> Self {
        let chrome = crate::pages::Chrome::new(
            crate::i18n::Msg::new("title-sign-in"),
            &axum::http::HeaderMap::new(),
        )
        .branded(Some(org));
        Self {
            id: org.id.to_string(),
            name: org.display_name().to_owned(),
            logo_url: chrome.logo_url,
            color: chrome.color,
        }
    }
}

/// What `templates/portal/layout.html` shows around a page's content.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `<title>`: "Members · Acme · Lobby portal".
    pub title: String,
    /// The page's `<h1>`.
    pub heading: String,
    pub org: Option<OrgHeader>,
    pub nav: Vec<NavItem>,
    pub section: Section,
    pub csrf: String,
    pub flash: Option<String>,
    pub email: String,
    pub is_operator: bool,
    pub request_id: String,
    /// The page's language (`<html lang>`, every sentence of the chrome).
    pub tr: Tr,
    /// Where the language form returns to (this page's path for a GET, else `/portal`).
    pub path: String,
}

tokio::task_local! {
    /// The language and path of the portal request being served (set by `session::language`).
    static REQUEST: (Tr, String);
}

/// Run `f` with the portal request's language and path (what [`current_tr`] returns).
pub async fn with_request<F: std::future::Future>(tr: Tr, path: String, f: F) -> F::Output {
    REQUEST.scope((tr, path), f).await
}

/// The language of the portal request being served (English outside one).
pub fn current_tr() -> Tr {
    REQUEST.try_with(|r| r.0).unwrap_or_default()
}

fn current_path() -> String {
    REQUEST
        .try_with(|r| r.1.clone())
        .unwrap_or_else(|_| "/portal".into())
}

impl Layout {
    /// A page outside any org (home, operator pages, errors).
    pub fn plain(heading: &str, section: Section, user: Option<&super::PortalUser>) -> Self {
        let tr = current_tr();
        let mut nav = Vec::new();
        if let Some(u) = user {
            nav.push(NavItem {
                label: Section::Home.label(),
                href: "/portal".into(),
                id: Section::Home.id(),
                current: section == Section::Home,
            });
            if u.is_operator {
                nav.push(NavItem {
                    label: Section::Operator.label(),
                    href: "/portal/admin".into(),
                    id: Section::Operator.id(),
                    current: section == Section::Operator,
                });
            }
        }
        Self {
            title: format!("{heading} · {}", tr.t("portal-name")),
            heading: heading.to_owned(),
            org: None,
            nav,
            section,
            csrf: user.map(|u| u.csrf.clone()).unwrap_or_default(),
            flash: user.and_then(|u| u.flash.clone()),
            email: user.map(|u| u.email.clone()).unwrap_or_default(),
            is_operator: user.is_some_and(|u| u.is_operator),
            request_id: crate::http::current_request_id().unwrap_or_default(),
            tr,
            path: current_path(),
        }
    }
}

/// Errors of a form's fields, by field name (the `name` of the input).
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// Why a portal request failed, as the person sees it.
#[derive(Debug)]
pub enum PortalError {
    /// Nobody (or nobody any more) is signed in: a GET goes to the sign-in, a POST gets 403.
    SignedOut { return_to: String, get: bool },
    /// A POST without the session's CSRF token.
    Csrf,
    /// Out of reach, lacking the right, or not there: always the same 404.
    NotFound,
    /// A request the portal cannot act on (400, 409, 422): the sentence, and the field.
    Invalid {
        status: StatusCode,
        message: String,
        field: Option<String>,
    },
    /// A failure on our side: logged, the generic page with the request id.
    Internal(String),
}

const SENTENCE_CSRF: Msg = Msg::new("portal-error-csrf");
const SENTENCE_SIGNED_OUT: Msg = Msg::new("portal-error-signed-out");
const SENTENCE_NOT_FOUND: Msg = Msg::new("portal-error-not-found");
const SENTENCE_INTERNAL: Msg = Msg::new("portal-error-internal");

impl PortalError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Invalid {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: None,
        }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: Some(field.into()),
        }
    }
    /// The status of the page.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::SignedOut { get: true, .. } => StatusCode::SEE_OTHER,
            Self::SignedOut { .. } | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Invalid { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    /// The field a form should mark, with its sentence (for re-rendering the form).
    pub fn field_errors(&self) -> Option<FieldErrors> {
        match self {
            Self::Invalid {
                message,
                field: Some(f),
                ..
            } => {
                let mut e = FieldErrors::new();
                e.add(f.clone(), message.clone());
                Some(e)
            }
            _ => None,
        }
    }
}

impl From<ApiError> for PortalError {
    /// The admin layer's answer to an action: 404 is the 404 page; other 4xx keep their
    /// sentence and field (a 403 here is a field-level limit such as "only an org_admin may
    /// grant org_admin": the page itself was allowed); 5xx are logged. (Whether the page is
    /// allowed at all is `PortalScope`'s check, where 403 and 404 are both the 404 page.)
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED => Self::NotFound,
            s if s.is_client_error() => Self::Invalid {
                status: if s == StatusCode::UNPROCESSABLE_ENTITY {
                    StatusCode::BAD_REQUEST
                } else {
                    s
                },
                // The service's English, in the page's language where the catalog has it.
                message: super::service_text::localize(&e.message),
                field: e.field.clone(),
            },
            _ => Self::Internal(format!("{e:?}")),
        }
    }
}

impl From<crate::admin::service::ServiceError> for PortalError {
    fn from(e: crate::admin::service::ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<StorageError> for PortalError {
    fn from(e: StorageError) -> Self {
        Self::Internal(e.to_string())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/error.html")]
struct ErrorPage {
    l: Layout,
    message: String,
    field: Option<String>,
    sign_in: Option<String>,
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let status = self.status();
        let tr = current_tr();
        let (heading, message, field, sign_in) = match self {
            Self::SignedOut {
                return_to,
                get: true,
            } => {
                let q: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return", &return_to)
                    .finish();
                return Redirect::to(&format!("/portal/login?{q}")).into_response();
            }
            Self::SignedOut { .. } => (
                tr.t("portal-error-signed-out-title"),
                tr.msg(SENTENCE_SIGNED_OUT),
                None,
                Some("/portal/login".to_owned()),
            ),
            Self::Csrf => (
                tr.t("portal-error-csrf-title"),
                tr.msg(SENTENCE_CSRF),
                None,
                None,
            ),
            Self::NotFound => (
                tr.t("portal-error-not-found-title"),
                tr.msg(SENTENCE_NOT_FOUND),
                None,
                None,
            ),
            Self::Invalid { message, field, .. } => {
                (tr.t("portal-error-invalid-title"), message, field, None)
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "portal request failed");
                (
                    tr.t("portal-error-internal-title"),
                    tr.msg(SENTENCE_INTERNAL),
                    None,
                    None,
                )
            }
        };
        let page = ErrorPage {
            l: Layout::plain(&heading, Section::Home, None),
            message,
            field,
            sign_in,
        };
        render(status, &page)
    }
}

/// Render a portal page (the portal's security headers are added by its middleware).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                current_tr().msg(SENTENCE_INTERNAL),
            )
                .into_response()
        }
    }
}

/// A page, or the error page.
pub type PageResult = Result<Response, PortalError>;

/// `303 See Other` to a portal path (after a POST).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

const PORTAL_CSS: &str = include_str!("../../static/portal.css");
const PORTAL_JS: &str = include_str!("../../static/portal.js");

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// `GET /portal/static/portal.css`.
pub async fn stylesheet() -> Response {
    static_file(PORTAL_CSS, "text/css; charset=utf-8")
}

/// `GET /portal/static/portal.js`: small progressive enhancements (copy buttons); every page
/// works without it.
pub async fn script() -> Response {
    static_file(PORTAL_JS, "text/javascript; charset=utf-8")
}
