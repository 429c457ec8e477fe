//! The emails Lobby sends, rendered from askama templates under `templates/mail/` (plain text
//! and HTML, branded with the org's display name, logo and colour): the invitation, in the
//! language the sender chose (`InvitationMail::lang`; sentences from `crate::i18n`).
//!
//! Owns: what an email says. Must not touch: delivery (`mail`), storage.

use crate::domain::Org;
use crate::i18n::{Lang, Tr};
use crate::mail::OutgoingMail;
use askama::Template;
use time::OffsetDateTime;

/// The button colour when the org has none (six hex digits).
const DEFAULT_COLOR: &str = "2f6feb";

/// What an invitation email needs.
pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub org: &'a Org,
    pub app_name: &'a str,
    /// Who invited; `None`: "An administrator of <org>".
    pub inviter: Option<&'a str>,
    pub link: &'a str,
    pub expires_at: OffsetDateTime,
    /// The org signs in through its own IdP (else: the invitee chooses a password).
    pub sso: bool,
    /// The language of the email.
    pub lang: Lang,
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    tr: Tr,
    org_name: &'a str,
    app_name: &'a str,
    inviter: &'a str,
    link: &'a str,
    expires: &'a str,
    next_step: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    tr: Tr,
    subject: &'a str,
    org_name: &'a str,
    app_name: &'a str,
    inviter: &'a str,
    link: &'a str,
    expires: &'a str,
    next_step: &'a str,
    color: &'a str,
    logo_url: Option<&'a str>,
}

/// "on 13 December 2026 at 04:45 UTC" ("am 13. Dezember 2026 um 04:45 UTC").
pub fn expiry_words(tr: Tr, t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let month = tr.t(&format!("month-{}", u8::from(t.month())));
    let time = format!("{:02}:{:02}", t.hour(), t.minute());
    tr.args(
        "mail-expiry",
        &[
            ("day", &t.day()),
            ("month", &month),
            ("year", &t.year()),
            ("time", &time),
        ],
    )
}

/// The invitation email, or why it could not be rendered.
pub fn invitation(m: &InvitationMail<'_>) -> Result<OutgoingMail, askama::Error> {
    let tr = Tr::new(m.lang);
    let org_name = m.org.display_name();
    let inviter = crate::pages::invite::inviter_words(tr, m.inviter, org_name);
    let expires = expiry_words(tr, m.expires_at);
    let next_step = if m.sso {
        tr.t1("mail-invite-next-sso", "org", org_name)
    } else {
        tr.t("mail-invite-next-password")
    };
    let subject = tr.t3(
        "mail-invite-subject",
        "inviter",
        &inviter,
        "org",
        org_name,
        "app",
        m.app_name,
    );
    let color = m
        .org
        .branding
        .primary_color
        .as_deref()
        .and_then(|c| c.strip_prefix('#'))
        .filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or(DEFAULT_COLOR)
        .to_ascii_lowercase();
    let logo = m
        .org
        .branding
        .logo_url
        .as_deref()
        .filter(|u| crate::domain::validate_web_url(u, "logo").is_ok());
    let text = InvitationText {
        tr,
        org_name,
        app_name: m.app_name,
        inviter: &inviter,
        link: m.link,
        expires: &expires,
        next_step: &next_step,
    }
    .render()?;
    let html = InvitationHtml {
        tr,
        subject: &subject,
        org_name,
        app_name: m.app_name,
        inviter: &inviter,
        link: m.link,
        expires: &expires,
        next_step: &next_step,
        color: &color,
        logo_url: logo,
    }
    .render()?;
    Ok(OutgoingMail {
        to: m.to.to_owned(),
        subject,
        text,
        html,
    })
}
