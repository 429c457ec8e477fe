//! Sending an invitation's email after the service created or renewed it: the link
//! (`<public URL>/invite/<token>`), rendered by `pages::mail` with the org's branding and handed
//! to the mailer. A failed delivery does not undo the invitation (the response says
//! `email_sent: false` and the audit log has `invitation.email_failed`); resend retries.
//!
//! Owns: choosing what the email names (org, app, inviter, sign-in kind). Must not touch: the
//! invitation itself (service), the wording (pages::mail), delivery (mail).

use super::scope::Tools;
use super::service::{Ctx, SResult};
use crate::domain::{ConnectionKind, ConnectionState, Invitation};
use crate::i18n::{Lang, Tr};
use crate::pages::mail::{InvitationMail, invitation};

/// The invitation link for a token.
pub fn link(t: &Tools<'_>, token: &str) -> String {
    t.config.url(&format!("/invite/{token}"))
}

/// Render and send the invitation email in `lang`; `Ok(true)` when the mailer took it.
pub async fn deliver(
    t: &Tools<'_>,
    ctx: &Ctx<'_>,
    inv: &Invitation,
    token: &str,
    lang: Lang,
) -> SResult<bool> {
    let s = ctx.storage;
    let Some(org) = s.get_org(&inv.org_id).await? else {
        return Ok(false);
    };
    let app = match &inv.app_id {
        Some(a) => s.get_app(a).await?,
        None => None,
    };
    let no_app = Tr::new(lang).t("mail-invite-no-app");
    let app_name = app.as_ref().map_or(no_app.as_str(), |a| a.name.as_str());
    let sso = s
        .list_connections(&org.id)
        .await?
        .iter()
        .any(|c| c.state == ConnectionState::Active && c.kind() != ConnectionKind::Password);
    // The invitation page opens in the email's language (`ui_locales`, as an app would ask).
    let link = match lang {
        Lang::En => link(t, token),
        other => format!("{}?ui_locales={}", link(t, token), other.tag()),
    };
    let mail = invitation(&InvitationMail {
        to: inv.email.as_str(),
        org: &org,
        app_name,
        inviter: inv.inviter_name.as_deref(),
        link: &link,
        expires_at: inv.expires_at,
        sso,
        lang,
    });
    let result = match mail {
        Ok(m) => t.mailer.send(m).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot render the invitation email: {e}")),
    };
    match result {
        Ok(()) => Ok(true),
        Err(reason) => {
            tracing::warn!(invitation = %inv.id, error = %reason, "invitation email not sent");
            ctx.audit(
                Some(&inv.org_id),
                "invitation.email_failed",
                ("invitation", inv.id.as_str()),
                None::<&()>,
                Some(&serde_json::json!({ "reason": reason })),
            )
            .await?;
            Ok(false)
        }
    }
}
