//! The invitation pages (`/invite/{token}`): the invitation (who invited, the org, the app, and
//! the next step: the org's sign-in, or choosing a password), the "you're in" page after
//! accepting, and the fixed sentence for each invitation that cannot be used.
//!
//! Owns: the wording of these pages. Must not touch: accepting (`login::invite`).

use super::Chrome;
use crate::i18n::{Msg, Tr};
use askama::Template;
use askama_web::WebTemplate;

/// An invitation link whose token no invitation has (mistyped, cut short, or altered).
pub const SENTENCE_INVITE_UNKNOWN: Msg = Msg::new("invite-unknown");
/// An invitation already accepted (links work once).
pub const SENTENCE_INVITE_ACCEPTED: Msg = Msg::new("invite-accepted");
/// An invitation past its validity.
pub const SENTENCE_INVITE_EXPIRED: Msg = Msg::new("invite-expired");
/// An invitation withdrawn by the organization's administrators.
pub const SENTENCE_INVITE_REVOKED: Msg = Msg::new("invite-revoked");
/// The organization or the app of the invitation can no longer be signed in to.
pub const SENTENCE_INVITE_UNAVAILABLE: Msg = Msg::new("invite-unavailable");
/// The two password fields differ.
pub const SENTENCE_PASSWORDS_DIFFER: Msg = Msg::new("passwords-differ");

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
    pub error: Option<Msg>,
}

#[derive(Template, WebTemplate)]
#[template(path = "invite_done.html")]
pub struct InviteDonePage {
    pub c: Chrome,
    pub org_name: String,
    pub next_step: String,
}

/// "An administrator of Acme" when the invitation names nobody.
pub fn inviter_words(tr: Tr, inviter: Option<&str>, org_name: &str) -> String {
    match inviter {
        Some(i) => i.to_owned(),
        None => tr.t1("inviter-admin-of", "org", org_name),
    }
}

/// The next step after accepting, when the app has no sign-in start page to send the person to.
pub fn done_next_step(tr: Tr, app_name: &str, signed_in: bool) -> String {
    if signed_in {
        tr.t1("invite-next-signed-in", "app", app_name)
    } else {
        tr.t1("invite-next-password", "app", app_name)
    }
}
