//! The self-service password pages (`/login/password/forgot`, `/login/password/reset/{token}`)
//! and the reset email (text and HTML), with every sentence they show.
//!
//! Owns: the wording and rendering of those pages and of the message. Must not touch: tokens,
//! storage, rate limits (`login::reset`).

use super::Chrome;
use askama::Template;
use askama_web::WebTemplate;

/// The answer to every accepted "forgot password" request, whether or not the account exists.
pub const SENTENCE_RESET_SENT: &str = "If this email belongs to an account that signs in with a password, we have sent it a link to choose a new password. The link works once, for 30 minutes. Check your inbox and spam folder.";
/// A reset link whose token was never issued (or was mistyped).
pub const SENTENCE_RESET_UNKNOWN: &str = "This password reset link is not valid. Check that you copied the whole link, or ask for a new one.";
/// A reset link already used (or replaced when another reset completed).
pub const SENTENCE_RESET_USED: &str = "This password reset link was already used. If you did not change your password, ask for a new link.";
/// A reset link past its 30 minutes.
pub const SENTENCE_RESET_EXPIRED: &str =
    "This password reset link has expired: links work for 30 minutes. Ask for a new one.";
/// The two new passwords differ.
pub const SENTENCE_PASSWORDS_DIFFER: &str = "The two passwords are not the same. Type them again.";
/// Too many reset requests or attempts from this network.
pub const SENTENCE_RESET_LIMITED: &str =
    "Too many password reset requests from your network. Wait an hour and try again.";
/// After a successful reset.
pub const SENTENCE_PASSWORD_CHANGED: &str = "Your password has been changed and you have been signed out everywhere. Go back to the application and sign in with your new password.";

/// `GET /login/password/forgot`, and its answer.
#[derive(Template, WebTemplate)]
#[template(path = "forgot_password.html")]
pub struct ForgotPage {
    pub c: Chrome,
    pub csrf: String,
    /// The sign-in flow it came from (to go back to it), if any.
    pub flow: Option<String>,
    pub email: String,
    pub error: Option<&'static str>,
    /// Set once the request was accepted: the page then only says so.
    pub sent: Option<&'static str>,
}

/// `GET /login/password/reset/{token}`: choose a new password.
#[derive(Template, WebTemplate)]
#[template(path = "reset_password.html")]
pub struct ResetPage {
    pub c: Chrome,
    pub csrf: String,
    /// The form's action (the same path, token included).
    pub action: String,
    pub email: String,
    pub error: Option<&'static str>,
}

/// A fixed sentence on the reset pages (changed, expired, used, unknown, limited).
#[derive(Template, WebTemplate)]
#[template(path = "reset_done.html")]
pub struct ResetNoticePage {
    pub c: Chrome,
    pub message: &'static str,
    /// `true` for an error (shown as an alert), `false` for the success notice.
    pub is_error: bool,
    /// Offer the "forgot password" form again (expired, used, unknown links).
    pub offer_new_link: bool,
}

/// The reset message, plain text.
#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct ResetMailText<'a> {
    pub brand_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
}

/// The reset message, HTML.
#[derive(Template)]
#[template(path = "mail/password_reset.html")]
pub struct ResetMailHtml<'a> {
    pub brand_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
    /// Six hex digits, validated (`Chrome::branded`), or none.
    pub color: Option<&'a str>,
}

/// The reset message's subject.
pub fn reset_mail_subject(brand_name: &str) -> String {
    format!("Reset your {brand_name} password")
}
