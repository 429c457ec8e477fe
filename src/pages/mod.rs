//! The hosted pages: askama templates (`templates/`), the stylesheet (`static/lobby.css`,
//! embedded) and the per-org brand colour stylesheet, and the fixed error sentences (those of
//! federated sign-ins in `sso`).
//!
//! Branding (display name, logo, `--brand` colour) applies once the org is known. The colour
//! reaches the page as `/static/brand.css?c=rrggbb`: the value is validated as six hex digits
//! and the stylesheet is served from our own origin, so the CSP needs no inline styles.
//!
//! Every sentence comes from the message catalogs (`crate::i18n`): a fixed sentence is a
//! [`Msg`] (its catalog key), and each page's [`Chrome`] carries the translator (`c.tr`) in
//! the language chosen for the request — the browser's `Accept-Language`, overridden by the
//! sign-in request's `ui_locales` ([`Chrome::ui_lang`]).
//!
//! Owns: rendering and which sentence each page shows. Must not touch: storage, flow logic.
//! Templates escape HTML by default; the only markup from sentences is the catalog's own
//! (`Tr::h1`…, arguments escaped).

pub mod choice;
pub mod invite;
pub mod mail;
pub mod mfa;
pub mod org_link;
pub mod password;
pub mod sso;

pub use sso::{SsoErrorPage, sso_error_page, upstream_failure};

use crate::domain::Org;
use crate::i18n::{Lang, Msg, Tr};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The identifier page, for something that is not an email address.
pub const SENTENCE_EMAIL_INVALID: Msg = Msg::new("email-invalid");
/// The password page, for a wrong email or password (the same words for both: no enumeration).
pub const SENTENCE_WRONG_PASSWORD: Msg = Msg::new("wrong-password");
/// The password page, while the account or the client address is locked out.
pub const SENTENCE_LOCKED: Msg = Msg::new("locked-out");

/// Shared chrome of every page.
#[derive(Clone, Debug)]
pub struct Chrome {
    /// The page's title (and `<h1>`).
    pub title: Msg,
    /// The page's language and its sentences.
    pub tr: Tr,
    pub brand_name: String,
    pub logo_url: Option<String>,
    /// Six hex digits without `#`, already validated.
    pub color: Option<String>,
    pub request_id: String,
}

impl Chrome {
    /// A page in the browser's language (`Accept-Language`, else English).
    pub fn new(title: Msg, headers: &HeaderMap) -> Self {
        let lang = crate::i18n::negotiate(None, None, crate::i18n::accept_language(headers));
        Self {
            title,
            tr: Tr::new(lang),
            brand_name: "Lobby".into(),
            logo_url: None,
            color: None,
            request_id: crate::http::params::request_id(headers),
        }
    }

    /// The language the sign-in request asked for (`ui_locales`, resolved by the flow), which
    /// wins over the browser's; `None` keeps the browser's.
    pub fn ui_lang(mut self, lang: Option<Lang>) -> Self {
        if let Some(l) = lang {
            self.tr = Tr::new(l);
        }
        self
    }

    /// The title in the page's language.
    pub fn heading(&self) -> String {
        self.tr.msg(self.title)
    }

    /// Apply an org's branding.
    pub fn branded(mut self, org: Option<&Org>) -> Self {
        if let Some(o) = org {
            self.brand_name = o.display_name().to_owned();
            self.logo_url = o
                .branding
                .logo_url
                .clone()
                .filter(|u| crate::domain::validate_web_url(u, "logo").is_ok());
            self.color = o
                .branding
                .primary_color
                .as_deref()
                .and_then(|c| c.strip_prefix('#'))
                .filter(|c| valid_hex_color(c))
                .map(|c| c.to_ascii_lowercase());
        }
        self
    }
}

fn valid_hex_color(c: &str) -> bool {
    c.len() == 6 && c.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<Msg>,
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    pub email: String,
    pub error: Option<Msg>,
    /// The password form (the app allows Lobby's password connection, or the routed org
    /// signs in with passwords).
    pub offer_password: bool,
    /// "Email me a link to my organization's sign-in" and the org-name link: the email's domain
    /// is shared (marked so, or verified by nobody), `login::shared`.
    pub offer_org_link: bool,
}

pub struct OrgChoice {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub last_used: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "org_chooser.html")]
pub struct ChooserPage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    pub orgs: Vec<OrgChoice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub message: Msg,
}

pub struct LogoutConfirm {
    pub csrf: String,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// The language asked for (`ui_locales`), carried to the signed-out page.
    pub ui_locales: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage {
    pub c: Chrome,
    pub confirm: Option<LogoutConfirm>,
}

/// Titles shared by several pages.
pub const TITLE_ACCESS_DENIED: Msg = Msg::new("title-access-denied");
pub const TITLE_UNAVAILABLE: Msg = Msg::new("title-unavailable");
pub const TITLE_PROBLEM: Msg = Msg::new("title-problem");

/// Every error a person can meet on the hosted pages: a fixed sentence and a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageError {
    UnknownClient,
    BadRedirectUri,
    BadRequest,
    TooLarge,
    FlowExpired,
    WrongBrowser,
    Csrf,
    NoAccess,
    OrgNotAllowed,
    SsoNotAvailable,
    LogoutInvalid,
    Unavailable,
    /// Too many password checks at once: wait a moment.
    Busy,
    /// Over a request rate limit (`login::rate_limit`).
    TooManyRequests,
    Server,
    Unknown,
}

impl PageError {
    pub const ALL: [PageError; 16] = [
        Self::UnknownClient,
        Self::BadRedirectUri,
        Self::BadRequest,
        Self::TooLarge,
        Self::FlowExpired,
        Self::WrongBrowser,
        Self::Csrf,
        Self::NoAccess,
        Self::OrgNotAllowed,
        Self::SsoNotAvailable,
        Self::LogoutInvalid,
        Self::Unavailable,
        Self::Busy,
        Self::TooManyRequests,
        Self::Server,
        Self::Unknown,
    ];

    /// The code used in `/login/error?e=…`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::BadRedirectUri => "bad_redirect_uri",
            Self::BadRequest => "bad_request",
            Self::TooLarge => "too_large",
            Self::FlowExpired => "flow_expired",
            Self::WrongBrowser => "wrong_browser",
            Self::Csrf => "csrf",
            Self::NoAccess => "no_access",
            Self::OrgNotAllowed => "org_not_allowed",
            Self::SsoNotAvailable => "sso_not_available",
            Self::LogoutInvalid => "logout_invalid",
            Self::Unavailable => "unavailable",
            Self::Busy => "busy",
            Self::TooManyRequests => "too_many_requests",
            Self::Server => "server",
            Self::Unknown => "unknown",
        }
    }

    pub fn title(self) -> Msg {
        match self {
            Self::NoAccess | Self::OrgNotAllowed => TITLE_ACCESS_DENIED,
            Self::LogoutInvalid => Msg::new("title-sign-out-failed"),
            Self::Unavailable | Self::Server | Self::Busy | Self::TooManyRequests => {
                TITLE_UNAVAILABLE
            }
            _ => TITLE_PROBLEM,
        }
    }

    pub fn message(self) -> Msg {
        Msg::new(match self {
            Self::UnknownClient => "error-unknown-client",
            Self::BadRedirectUri => "error-bad-redirect-uri",
            Self::BadRequest => "error-bad-request",
            Self::TooLarge => "error-too-large",
            Self::FlowExpired => "error-flow-expired",
            Self::WrongBrowser => "error-wrong-browser",
            Self::Csrf => "error-csrf",
            Self::NoAccess => "error-no-access",
            Self::OrgNotAllowed => "error-org-not-allowed",
            Self::SsoNotAvailable => "error-sso-not-available",
            Self::LogoutInvalid => "error-logout-invalid",
            Self::Unavailable => "error-unavailable",
            Self::Busy => "error-busy",
            Self::TooManyRequests => "error-too-many-requests",
            Self::Server => "error-server",
            Self::Unknown => "error-unknown",
        })
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::Csrf | Self::NoAccess | Self::OrgNotAllowed => StatusCode::FORBIDDEN,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SsoNotAvailable => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Server => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|e| e.code() == code)
            .unwrap_or(Self::Unknown)
    }
}

/// Render a page with a status; HTML pages are never cached.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, axum::response::Html(html)).into_response();
            no_store(&mut res);
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error.").into_response()
        }
    }
}

/// The hosted pages' policy: everything from our origin, except org logos (absolute https
/// URLs, DESIGN §1 branding). No inline script or style. No `form-action`: browsers apply it to
/// the redirect that follows a form POST, which here goes to the client's redirect_uri.
/// (`http::layers` keeps a CSP a handler sets.)
pub const PAGE_CSP: &str = "default-src 'self'; img-src 'self' https:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn no_store(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
}

/// The error page for `e`, branded when the org is known.
pub fn error_page(e: PageError, headers: &HeaderMap, org: Option<&Org>) -> Response {
    error_page_in(e, headers, org, None)
}

/// [`error_page`] in the sign-in request's language (`ui_locales`), when there is one.
pub fn error_page_in(
    e: PageError,
    headers: &HeaderMap,
    org: Option<&Org>,
    ui_lang: Option<Lang>,
) -> Response {
    let page = ErrorPage {
        c: Chrome::new(e.title(), headers)
            .branded(org)
            .ui_lang(ui_lang),
        message: e.message(),
    };
    render(e.status(), &page)
}

/// `GET /login/error?e=<code>[&ui_locales=…]`: the fixed sentence for a known code, in the
/// language `ui_locales` names (else the browser's).
pub async fn error_route(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let p = crate::http::params::Params::from_query(q.as_deref());
    let e = PageError::from_code(p.get("e").ok().flatten().unwrap_or("unknown"));
    let ui = crate::i18n::from_ui_locales(p.get("ui_locales").ok().flatten());
    error_page_in(e, &headers, None, ui)
}

const LOBBY_CSS: &str = include_str!("../../static/lobby.css");

/// `GET /static/lobby.css`.
pub async fn stylesheet() -> Response {
    css(LOBBY_CSS.to_owned())
}

const PASSKEY_JS: &str = include_str!("../../static/passkey.js");

/// `GET /static/passkey.js`: the passkey ceremonies of the second-factor pages (from our own
/// origin, so the pages' CSP allows it without inline script).
pub async fn passkey_script() -> Response {
    let mut res = PASSKEY_JS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// `GET /static/brand.css?c=rrggbb`: one custom property, from a strictly validated value.
/// With `&for=preview` it applies only inside `.brand-preview` (the portal's branding
/// preview, on a page that keeps its own colour).
pub async fn brand_stylesheet(RawQuery(q): RawQuery) -> Response {
    let p = crate::http::params::Params::from_query(q.as_deref());
    let selector = match p.get("for").ok().flatten() {
        None => ":root",
        Some("preview") => ".brand-preview",
        Some(_) => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
    };
    match p.get("c").ok().flatten() {
        Some(c) if valid_hex_color(c) => css(format!(
            "{selector} {{ --brand: #{}; }}\n",
            c.to_ascii_lowercase()
        )),
        _ => (StatusCode::NOT_FOUND, "Not found.").into_response(),
    }
}

fn css(body: String) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// The auto-POST page (SAML HTTP-POST binding): a form the nonce'd script submits.
#[derive(Template)]
#[template(path = "saml_post.html")]
pub struct AutoPostPage {
    pub c: Chrome,
    pub action: String,
    /// `SAMLRequest` (or `SAMLResponse`).
    pub field: &'static str,
    pub message: String,
    pub relay_state: String,
    pub nonce: String,
}

/// The page's CSP: our stylesheet, the one nonce'd script, nothing else.
pub fn auto_post_csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' https:; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip_and_have_sentences() {
        for e in PageError::ALL {
            assert_eq!(PageError::from_code(e.code()), e);
            assert!(e.message().en().ends_with('.'));
            assert!(e.message().get(Lang::De).ends_with('.'));
        }
        assert_eq!(PageError::from_code("<script>"), PageError::Unknown);
    }

    #[test]
    fn pages_escape_input() {
        let h = HeaderMap::new();
        let p = LoginPage {
            c: Chrome::new(Msg::new("title-sign-in"), &h),
            app_name: "<b>CRM</b>".into(),
            flow: "f".into(),
            csrf: "c".into(),
            email: "\"><script>alert(1)</script>".into(),
            error: None,
        };
        let html = p.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>CRM"));
        assert!(html.contains("id=\"email\""));
        assert!(html.contains("id=\"submit\""));
        assert!(html.contains("<main"));
        assert!(html.contains("<label for=\"email\">"));
    }

    #[test]
    fn colors_are_validated() {
        assert!(valid_hex_color("1a2B3c"));
        assert!(!valid_hex_color("1a2b3"));
        assert!(!valid_hex_color("red;}x"));
    }
}
