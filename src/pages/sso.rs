//! The pages of a federated sign-in (OIDC or SAML through an org's own IdP): the error page
//! that can quote the IdP's own `error_description`, and its fixed sentences — among them what
//! the person is told for each kind of upstream failure ([`upstream_failure`]).
//!
//! Owns: the federated error page and its wording. Must not touch: deciding which failure
//! happened (`upstream`, `login`), audit.

use super::{Chrome, TITLE_ACCESS_DENIED, TITLE_PROBLEM, TITLE_UNAVAILABLE, render};
use crate::domain::Org;
use crate::i18n::{Lang, Msg};
use crate::upstream::UpstreamFailure;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The IdP could not be reached or did not answer in time.
pub const SENTENCE_UNREACHABLE: Msg = Msg::new("sso-unreachable");
/// The connection or the IdP is set up wrongly.
pub const SENTENCE_MISCONFIGURED: Msg = Msg::new("sso-misconfigured");
/// The IdP's answer failed our checks.
pub const SENTENCE_REJECTED: Msg = Msg::new("sso-rejected");
/// Shown when a callback does not belong to the sign-in this browser started.
pub const SENTENCE_MISMATCH: Msg = Msg::new("sso-mismatch");
/// Shown when the IdP itself answered with an error.
pub const SENTENCE_IDP_ERROR: Msg = Msg::new("sso-idp-error");
/// Shown when the person cancelled or was refused at the IdP (`access_denied`).
pub const SENTENCE_IDP_DENIED: Msg = Msg::new("sso-idp-denied");
/// The app asked for a recent sign-in (`max_age`, `prompt=login`) and the IdP reported an
/// older authentication.
pub const SENTENCE_NOT_RECENT: Msg = Msg::new("sso-not-recent");
/// The connection cannot sign anyone in to this app (inactive, not allowed, not usable).
pub const SENTENCE_CONNECTION_UNAVAILABLE: Msg = Msg::new("sso-connection-unavailable");
/// A failure on our side.
pub const SENTENCE_SERVER: Msg = Msg::new("error-server");
/// The SSO session could not be started.
pub const SENTENCE_UNAVAILABLE: Msg = Msg::new("error-unavailable");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_ORG_NO_ACCESS: Msg = Msg::new("sso-org-no-access");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_EMAIL_MISSING: Msg = Msg::new("sso-email-missing");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_EMAIL_NOT_VERIFIED: Msg = Msg::new("sso-email-not-verified");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_INVALID: Msg = Msg::new("sso-invitation-invalid");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_WRONG_ORG: Msg = Msg::new("sso-invitation-wrong-org");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_INVITATION_EMAIL_MISMATCH: Msg = Msg::new("sso-invitation-email-mismatch");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_NOT_PROVISIONED: Msg = Msg::new("sso-not-provisioned");

/// A federated sign-in refused by the linking rules (`login::identity`).
pub const SENTENCE_MEMBERSHIP_SUSPENDED: Msg = Msg::new("sso-membership-suspended");

/// The status and sentence for a kind of upstream failure: 502 when the IdP could not be used,
/// 400 when its answer was refused.
pub fn upstream_failure(kind: UpstreamFailure) -> (StatusCode, Msg) {
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
    pub message: Msg,
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

/// Render [`SsoErrorPage`]. `detail` is cut to 300 characters without control characters;
/// `ui_lang` is the sign-in request's language (`ui_locales`), when known.
pub fn sso_error_page(
    headers: &HeaderMap,
    org: Option<&Org>,
    status: StatusCode,
    message: Msg,
    detail: Option<&str>,
    back_url: Option<String>,
    ui_lang: Option<Lang>,
) -> Response {
    let title = if status.is_server_error() {
        TITLE_UNAVAILABLE
    } else if status == StatusCode::FORBIDDEN {
        TITLE_ACCESS_DENIED
    } else {
        TITLE_PROBLEM
    };
    let page = SsoErrorPage {
        c: Chrome::new(title, headers).branded(org).ui_lang(ui_lang),
        message,
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
            c: Chrome::new(TITLE_PROBLEM, &h),
            message: SENTENCE_IDP_ERROR,
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
            assert!(upstream_failure(k).1.en().ends_with('.'));
        }
    }
}
