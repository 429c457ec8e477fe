//! The emails Lobby sends, rendered from askama templates under `templates/mail/` (plain text
//! and HTML, branded with the org's display name, logo and colour): the invitation.
//!
//! Owns: what an email says. Must not touch: delivery (`mail`), storage.

use crate::domain::Org;
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
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
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

/// "on 13 December 2026 at 04:45 UTC".
pub fn expiry_words(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!(
        "on [day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
    );
    t.format(&fmt).unwrap_or_else(|_| t.to_string())
}

/// The invitation email, or why it could not be rendered.
pub fn invitation(m: &InvitationMail<'_>) -> Result<OutgoingMail, askama::Error> {
    let org_name = m.org.display_name();
    let inviter = match m.inviter {
        Some(i) => i.to_owned(),
        None => format!("An administrator of {org_name}"),
    };
    let expires = expiry_words(m.expires_at);
    let next_step = if m.sso {
        format!("You will sign in with your {org_name} account.")
    } else {
        "You will choose a password for your account.".to_owned()
    };
    let subject = format!("{inviter} invited you to {} on {}", org_name, m.app_name);
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
        org_name,
        app_name: m.app_name,
        inviter: &inviter,
        link: m.link,
        expires: &expires,
        next_step: &next_step,
    }
    .render()?;
    let html = InvitationHtml {
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
