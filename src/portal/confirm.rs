//! A confirmation page (`portal/confirm_text.html`, the shape of `portal/confirm.html`) whose words are all run-time strings, for pages
//! whose sentences come from the catalogs (the button's label included).
//!
//! Owns: this page shape. Must not touch: what is confirmed (the caller's POST does it).

use super::Layout;
use askama::Template;
use askama_web::WebTemplate;

#[derive(Template, WebTemplate)]
#[template(path = "portal/confirm_text.html")]
pub struct Confirm {
    pub l: Layout,
    /// The question, as the lead sentence.
    pub question: String,
    /// What happens, one sentence each.
    pub consequences: Vec<String>,
    /// Where the button POSTs (with the session's CSRF token).
    pub action: String,
    pub confirm_label: String,
    /// Where Cancel goes.
    pub cancel: String,
}
