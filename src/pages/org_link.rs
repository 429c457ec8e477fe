//! The pages and the message of the emailed org chooser (a shared email domain, issue 16
//! item 3): the "if this address belongs to an organization, we sent a link" page (the same
//! for every address), the chooser the link opens, the message itself, and the fixed sentences
//! of a link that cannot be used.
//!
//! Owns: the templates' data and their fixed sentences. Must not touch: who is listed, tokens,
//! flows (that is `login::shared`).

use super::Chrome;
use crate::i18n::{Msg, Tr};
use askama::Template;
use askama_web::WebTemplate;

/// The title of the "we sent a link" page and of the chooser.
pub const TITLE_ORG_LINK: Msg = Msg::new("title-org-link");
/// The answer to every request for a link, sent or not.
pub const SENTENCE_ORG_LINK_SENT: Msg = Msg::new("org-link-sent");
/// The link is unknown, expired, or was already used.
pub const SENTENCE_ORG_LINK_EXPIRED: Msg = Msg::new("org-link-expired");
/// The link was opened in another browser than the one that asked for it.
pub const SENTENCE_ORG_LINK_OTHER_BROWSER: Msg = Msg::new("org-link-other-browser");
/// The org picked is not one of those listed for the address (a forged or stale form).
pub const SENTENCE_ORG_LINK_NOT_LISTED: Msg = Msg::new("org-link-not-listed");
/// Too many link requests from this network or for this address.
pub const SENTENCE_ORG_LINK_LIMITED: Msg = Msg::new("org-link-limited");

/// One org of the chooser.
pub struct OrgLinkChoice {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub logo_url: Option<String>,
    /// Listed for a pending invitation (not yet a membership).
    pub invited: bool,
}

/// "If this address belongs to an organization, we sent a link."
#[derive(Template, WebTemplate)]
#[template(path = "org_link_sent.html")]
pub struct OrgLinkSentPage {
    pub c: Chrome,
    pub message: Msg,
    pub is_error: bool,
    /// The flow, for the way back to the sign-in page.
    pub flow: String,
}

/// The orgs the proven address can sign in to (one button each; also when there is one).
#[derive(Template, WebTemplate)]
#[template(path = "org_link_chooser.html")]
pub struct OrgLinkChooserPage {
    pub c: Chrome,
    pub app_name: String,
    pub email: String,
    pub flow: String,
    pub csrf: String,
    pub orgs: Vec<OrgLinkChoice>,
}

/// The message, plain text.
#[derive(Template)]
#[template(path = "mail/org_link.txt")]
pub struct OrgLinkMailText<'a> {
    pub tr: Tr,
    pub app_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
}

/// The message, HTML.
#[derive(Template)]
#[template(path = "mail/org_link.html")]
pub struct OrgLinkMailHtml<'a> {
    pub tr: Tr,
    pub app_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
}

/// The message's subject.
pub fn org_link_subject(tr: Tr, app_name: &str) -> String {
    tr.t1("mail-org-link-subject", "app", app_name)
}
