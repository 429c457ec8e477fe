//! The pre-authentication pages that pick how to reach an org's IdP: "Sign in with …" (an org
//! with several IdPs for the app) and "Sign in with your organization's name" (for people
//! whose email domain nobody has verified).
//!
//! Owns: the two templates' data and their fixed sentences. Must not touch: routing (that is
//! `login::sso_choice` over `login::discovery`), flows, audit.

use super::Chrome;
use crate::i18n::Msg;
use askama::Template;
use askama_web::WebTemplate;

/// The title of the "Sign in with …" page.
pub const TITLE_CHOOSE_CONNECTION: Msg = Msg::new("title-choose-connection");
/// The title of the org-name page.
pub const TITLE_SSO_BY_ORG: Msg = Msg::new("title-sso-by-org");
/// No org by that name (id or slug) signs in to the app through its own IdP. The same
/// sentence for an unknown name, an org not linked to the app and an org without SSO.
pub const SENTENCE_SSO_ORG_UNKNOWN: Msg = Msg::new("sso-org-unknown");
/// The org-name field was empty or not a name at all.
pub const SENTENCE_SSO_ORG_EMPTY: Msg = Msg::new("sso-org-empty");

/// One IdP of the org, as a button.
pub struct ConnectionChoice {
    pub id: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "connection_choice.html")]
pub struct ConnectionChoicePage {
    pub c: Chrome,
    pub app_name: String,
    pub org_name: String,
    pub flow: String,
    pub csrf: String,
    pub connections: Vec<ConnectionChoice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "sso_org.html")]
pub struct SsoOrgPage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    pub organization: String,
    pub error: Option<Msg>,
}
