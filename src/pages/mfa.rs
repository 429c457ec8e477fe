//! The second-factor pages (`/login/mfa`): enrolment of an authenticator app (QR code, secret,
//! recovery codes) and the challenge, with every sentence they show, and the QR code as inline
//! SVG (`qrcodegen`; no external service, nothing the CSP would have to allow).
//!
//! Owns: the wording and rendering of those pages. Must not touch: codes, storage, the flow
//! (`login::mfa`).

use super::Chrome;
use crate::i18n::Msg;
use askama::Template;
use askama_web::WebTemplate;
use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

pub const TITLE_ENROLL: Msg = Msg::new("title-mfa-enroll");
pub const TITLE_CHALLENGE: Msg = Msg::new("title-mfa-challenge");
/// A code that is not the current one of the authenticator app.
pub const SENTENCE_WRONG_CODE: Msg = Msg::new("mfa-wrong-code");
/// A code of a time step already used.
pub const SENTENCE_REPLAYED: Msg = Msg::new("mfa-replayed-code");
/// Neither six digits nor a recovery code.
pub const SENTENCE_MALFORMED: Msg = Msg::new("mfa-malformed-code");
/// A recovery code that is not one of the user's unused ones.
pub const SENTENCE_WRONG_RECOVERY: Msg = Msg::new("mfa-wrong-recovery-code");
/// Too many wrong codes.
pub const SENTENCE_LOCKED: Msg = Msg::new("mfa-locked");

/// `/login/mfa` at the enrolment stage.
#[derive(Template, WebTemplate)]
#[template(path = "mfa_enroll.html")]
pub struct EnrollPage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    /// The `otpauth://` URL as an SVG QR code (made here, from the URL only).
    pub qr_svg: String,
    pub otpauth_url: String,
    /// The secret in base32, for typing it in.
    pub secret: String,
    pub recovery_codes: Vec<String>,
    /// "Skip" (optional policy).
    pub may_skip: bool,
    pub remember_offered: bool,
    /// Passkey enrolment is offered too (`login::mfa::hooks`).
    pub passkeys_offered: bool,
    pub error: Option<Msg>,
}

/// `/login/mfa` at the challenge stage.
#[derive(Template, WebTemplate)]
#[template(path = "mfa_challenge.html")]
pub struct ChallengePage {
    pub c: Chrome,
    pub app_name: String,
    pub flow: String,
    pub csrf: String,
    /// The user has an authenticator app (the code form is shown).
    pub has_totp: bool,
    /// Unused recovery codes, when the user has an authenticator app.
    pub recovery_remaining: Option<usize>,
    /// The user has passkeys ("Use a passkey" is shown, `login::mfa::hooks`).
    pub has_passkeys: bool,
    pub remember_offered: bool,
    pub error: Option<Msg>,
}

/// The QR code of `text` as an SVG element: one path of dark modules on a white square with a
/// four-module quiet zone. Empty when the text is too long for a QR code.
pub fn qr_svg(text: &str) -> String {
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let border = 4;
    let n = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {n} {n}\" width=\"{w}\" height=\"{w}\" role=\"img\" id=\"totp-qr\" shape-rendering=\"crispEdges\"><rect width=\"{n}\" height=\"{n}\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></svg>",
        w = n * 5
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_an_svg_of_the_text() {
        let s = qr_svg("otpauth://totp/x:a@b.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(s.starts_with("<svg ") && s.ends_with("</svg>"));
        assert!(s.contains("<path d=\"M"));
        assert!(!s.contains("<script") && !s.contains("style"));
        assert!(qr_svg(&"x".repeat(5000)).is_empty());
    }
}
