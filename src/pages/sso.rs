//! The pages of a federated sign-in (OIDC or SAML through an org's own IdP): the error page
//! that can quote the IdP's own `error_description`, and its fixed sentences — among them what
//! the person is told for each kind of upstream failure ([`upstream_failure`]).
//!
//! Owns: the federated error page and its wording. Must not touch: deciding which failure
//! happened (`upstream`, `login`), audit.

use super::{Chrome, render};
use crate::domain::Org;
use crate::upstream::UpstreamFailure;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The IdP could not be reached or did not answer in time.
pub const SENTENCE_UNREACHABLE: &str = "Your organization's sign-in service could not be reached or did not answer in time. Try again in a few minutes; if this keeps happening, contact your IT administrator.";
/// The connection or the IdP is set up wrongly.
pub const SENTENCE_MISCONFIGURED: &str = "Your organization's sign-in is not set up correctly, so you cannot be signed in. Contact your IT administrator.";
/// The IdP's answer failed our checks.
pub const SENTENCE_REJECTED: &str = "Your organization's sign-in sent a response that failed our security checks, so you have not been signed in. Go back to the application and try again; if this keeps happening, contact your IT administrator.";
/// Shown when a callback does not belong to the sign-in this browser started.
pub const SENTENCE_MISMATCH: &str = "This sign-in response does not belong to the sign-in started in this browser, so you have not been signed in. Go back to the application and sign in again.";
/// Shown when the IdP itself answered with an error.
pub const SENTENCE_IDP_ERROR: &str = "Your organization's sign-in did not sign you in.";
/// Shown when the person cancelled or was refused at the IdP (`access_denied`).
pub const SENTENCE_IDP_DENIED: &str =
    "Sign-in was cancelled or refused at your organization's sign-in page.";
/// The app asked for a recent sign-in (`max_age`, `prompt=login`) and the IdP reported an
/// older authentication.
pub const SENTENCE_NOT_RECENT: &str = "This application needs you to have signed in again just now, and your organization's sign-in did not do so. Go back to the application and sign in again.";
/// The connection cannot sign anyone in to this app (inactive, not allowed, not usable).
pub const SENTENCE_CONNECTION_UNAVAILABLE: &str = "This organization's sign-in is not available for this application. Contact your IT administrator.";
/// A failure on our side.
pub const SENTENCE_SERVER: &str = "Something went wrong on our side. Try again in a few minutes.";
/// The SSO session could not be started.
pub const SENTENCE_UNAVAILABLE: &str =
    "Sign-in is temporarily unavailable. Try again in a few minutes.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_ORG_NO_ACCESS: &str =
    "Your organization does not have access to this application. Contact your IT administrator.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_EMAIL_MISSING: &str = "Your organization's sign-in did not tell us your email address, so you cannot be signed in. Contact your IT administrator.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_EMAIL_NOT_VERIFIED: &str = "Your organization's sign-in did not confirm your email address, so you cannot be signed in. Contact your IT administrator.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_INVALID: &str = "This invitation has already been used, was withdrawn or has expired. Ask your organization's administrator for a new invitation.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_WRONG_ORG: &str = "This invitation is for another organization. Sign in with that organization's account, or ask for a new invitation.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_EMAIL_MISMATCH: &str = "This invitation was sent to a different email address than the account you signed in with. Sign in with the invited account, or ask for a new invitation.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_NOT_PROVISIONED: &str = "You don't have access to this application yet. Ask your organization's administrator to invite you.";

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_MEMBERSHIP_SUSPENDED: &str =
    "Your access to this organization is suspended. Contact your organization's administrator.";

/// The status and sentence for a kind of upstream failure: 502 when the IdP could not be used,
/// 400 when its answer was refused.
pub fn upstream_failure(kind: UpstreamFailure) -> (StatusCode, &'static str) {
    match kind {
        UpstreamFailure::Unreachable => (StatusCode::BAD_GATEWAY, SENTENCE_UNREACHABLE),
        UpstreamFailure::Misconfigured => (StatusCode::BAD_GATEWAY, SENTENCE_MISCONFIGURED),
        UpstreamFailure::Rejected => (StatusCode::BAD_REQUEST, SENTENCE_REJECTED),
    }
}

/// The error page of a federated sign-in: a fixed sentence, optionally what the IdP itself
/// said (escaped by the template, bounded) and a link back to the app carrying an OAuth error.
#[derive(Template, WebTemplate)]
#[template(path = "sso_error.html")]
pub struct SsoErrorPage {
    pub c: Chrome,
    pub message: String,
    pub detail: Option<String>,
    pub back_url: Option<String>,
}

/// Control characters out, at most `max` characters, trimmed; `None` when nothing is left.
fn bounded(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|v| {
        v.chars()
            .filter(|c| !c.is_control())
            .take(max)
            .collect::<String>()
            .trim()
            .to_owned()
    })
    .filter(|v| !v.is_empty())
}

/// Render [`SsoErrorPage`]. `detail` is cut to 300 characters without control characters.
pub fn sso_error_page(
    headers: &HeaderMap,
    org: Option<&Org>,
    status: StatusCode,
    message: &str,
    detail: Option<&str>,
    back_url: Option<String>,
) -> Response {
    let title = if status.is_server_error() {
        "Sign-in unavailable"
    } else if status == StatusCode::FORBIDDEN {
        "Access denied"
    } else {
        "Sign-in problem"
    };
    let page = SsoErrorPage {
        c: Chrome::new(title, headers).branded(org),
        message: message.to_owned(),
        detail: bounded(detail, 300),
        back_url,
    };
    render(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_escapes_the_idp_text() {
        let h = HeaderMap::new();
        let page = SsoErrorPage {
            c: Chrome::new("Sign-in problem", &h),
            message: "m.".into(),
            detail: bounded(Some("<script>alert(1)</script>\u{7}"), 300),
            back_url: Some("https://app.example.com/cb?error=access_denied&state=x".into()),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("alert(1)"));
        assert!(!html.contains('\u{7}'));
        assert!(html.contains("id=\"idp-detail\""));
        assert!(html.contains("id=\"back-to-app\""));
    }

    #[test]
    fn upstream_failures_keep_their_statuses() {
        use UpstreamFailure::*;
        assert_eq!(upstream_failure(Unreachable).0, StatusCode::BAD_GATEWAY);
        assert_eq!(upstream_failure(Misconfigured).0, StatusCode::BAD_GATEWAY);
        assert_eq!(upstream_failure(Rejected).0, StatusCode::BAD_REQUEST);
        for k in [Unreachable, Misconfigured, Rejected] {
            assert!(upstream_failure(k).1.ends_with('.'));
        }
    }
}
