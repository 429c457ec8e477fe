//! The self-service password pages (`/login/password/forgot`, `/login/password/reset/{token}`)
//! and the reset email (text and HTML), with every sentence they show.
//!
//! Owns: the wording and rendering of those pages and of the message. Must not touch: tokens,
//! storage, rate limits (`login::reset`).

use super::Chrome;
use crate::domain::password_policy::PasswordRejection;
use crate::i18n::{Msg, Tr};
use askama::Template;
use askama_web::WebTemplate;

/// The answer to every accepted "forgot password" request, whether or not the account exists.
pub const SENTENCE_RESET_SENT: Msg = Msg::new("reset-sent");
/// A reset link whose token was never issued (or was mistyped).
pub const SENTENCE_RESET_UNKNOWN: Msg = Msg::new("reset-unknown");
/// A reset link already used (or replaced when another reset completed).
pub const SENTENCE_RESET_USED: Msg = Msg::new("reset-used");
/// A reset link past its 30 minutes.
pub const SENTENCE_RESET_EXPIRED: Msg = Msg::new("reset-expired");
/// The two new passwords differ.
pub const SENTENCE_PASSWORDS_DIFFER: Msg = Msg::new("passwords-differ");
/// Too many reset requests or attempts from this network.
pub const SENTENCE_RESET_LIMITED: Msg = Msg::new("reset-limited");
/// After a successful reset.
pub const SENTENCE_PASSWORD_CHANGED: Msg = Msg::new("password-changed");

/// Why a new password was refused (`domain::password_policy`), as the page says it.
pub fn rejection(r: PasswordRejection) -> Msg {
    Msg::new(match r {
        PasswordRejection::TooShort => "password-too-short",
        PasswordRejection::TooLong => "password-too-long",
        PasswordRejection::Common => "password-common",
        PasswordRejection::IsEmail => "password-is-email",
    })
}

/// `GET /login/password/forgot`, and its answer.
#[derive(Template, WebTemplate)]
#[template(path = "forgot_password.html")]
pub struct ForgotPage {
    pub c: Chrome,
    pub csrf: String,
    /// The sign-in flow it came from (to go back to it), if any.
    pub flow: Option<String>,
    pub email: String,
    pub error: Option<Msg>,
    /// Set once the request was accepted: the page then only says so.
    pub sent: Option<Msg>,
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
    pub error: Option<Msg>,
}

/// A fixed sentence on the reset pages (changed, expired, used, unknown, limited).
#[derive(Template, WebTemplate)]
#[template(path = "reset_done.html")]
pub struct ResetNoticePage {
    pub c: Chrome,
    pub message: Msg,
    /// `true` for an error (shown as an alert), `false` for the success notice.
    pub is_error: bool,
    /// Offer the "forgot password" form again (expired, used, unknown links).
    pub offer_new_link: bool,
}

/// The reset message, plain text.
#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct ResetMailText<'a> {
    pub tr: Tr,
    pub brand_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
}

/// The reset message, HTML.
#[derive(Template)]
#[template(path = "mail/password_reset.html")]
pub struct ResetMailHtml<'a> {
    pub tr: Tr,
    pub brand_name: &'a str,
    pub email: &'a str,
    pub link: &'a str,
    /// Six hex digits, validated (`Chrome::branded`), or none.
    pub color: Option<&'a str>,
}

/// The reset message's subject.
pub fn reset_mail_subject(tr: Tr, brand_name: &str) -> String {
    tr.t1("mail-reset-subject", "brand", brand_name)
}
