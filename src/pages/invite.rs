//! The invitation pages (`/invite/{token}`): the invitation (who invited, the org, the app, and
//! the next step: the org's sign-in, or choosing a password), the "you're in" page after
//! accepting, and the fixed sentence for each invitation that cannot be used.
//!
//! Owns: the wording of these pages. Must not touch: accepting (`login::invite`).

use super::Chrome;
use askama::Template;
use askama_web::WebTemplate;

/// An invitation link whose token no invitation has (mistyped, cut short, or altered).
pub const SENTENCE_INVITE_UNKNOWN: &str = "This invitation link is not valid. Open the link from the invitation email again, and check that it was not cut short.";
/// An invitation already accepted (links work once).
pub const SENTENCE_INVITE_ACCEPTED: &str =
    "This invitation was already accepted. Sign in to the application to continue.";
/// An invitation past its validity.
pub const SENTENCE_INVITE_EXPIRED: &str =
    "This invitation has expired. Ask the person who invited you to send a new one.";
/// An invitation withdrawn by the organization's administrators.
pub const SENTENCE_INVITE_REVOKED: &str = "This invitation was withdrawn by the organization. Ask its administrator if you still need access.";
/// The organization or the app of the invitation can no longer be signed in to.
pub const SENTENCE_INVITE_UNAVAILABLE: &str =
    "This invitation can't be used: the organization or the application is no longer available.";
/// The two password fields differ.
pub const SENTENCE_PASSWORDS_DIFFER: &str = "The two passwords are not the same. Type them again.";

/// What the invitee does next on the invitation page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteStep {
    /// Sign in through the org's own IdP.
    Sso,
    /// Choose a password (a password org, a new account).
    SetPassword,
    /// A password org, and the invitee already has a password: accept, then sign in with it.
    ExistingPassword,
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub c: Chrome,
    pub inviter: String,
    pub org_name: String,
    pub app_name: String,
    pub email: String,
    pub token: String,
    pub flow: String,
    pub csrf: String,
    pub step: InviteStep,
    pub error: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "invite_done.html")]
pub struct InviteDonePage {
    pub c: Chrome,
    pub org_name: String,
    pub next_step: String,
}

/// "An administrator of Acme" when the invitation names nobody.
pub fn inviter_words(inviter: Option<&str>, org_name: &str) -> String {
    match inviter {
        Some(i) => i.to_owned(),
        None => format!("An administrator of {org_name}"),
    }
}

/// The next step after accepting, when the app has no sign-in start page to send the person to.
pub fn done_next_step(app_name: &str, signed_in: bool) -> String {
    if signed_in {
        format!(
            "Open {app_name} and sign in: you are already signed in here, so it will take you straight in."
        )
    } else {
        format!("Open {app_name} and sign in with your email and password.")
    }
}
