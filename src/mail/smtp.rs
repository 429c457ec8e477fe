//! SMTP delivery with lettre (async, tokio, rustls). `LOBBY_SMTP_URL` is lettre's connection
//! URL: `smtps://user:pass@host:465` (implicit TLS, RFC 8314), `smtp://user:pass@host:587?tls=required`
//! (STARTTLS, refused if the server does not offer it), `smtp://host:25?tls=opportunistic`, or
//! plain `smtp://host:port` (no TLS: only for a relay on loopback or a test server). TLS
//! certificates are checked against the webpki roots. One connection per message, 15-second
//! timeout.
//!
//! Owns: handing a message to the SMTP server. Must not touch: what a message says.

use super::{MailError, Mailer, OutgoingMail, build_message};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// How long one delivery may take (connect, TLS, every command).
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url` (see the module comment); fails on a URL lettre does not accept.
    /// The URL may hold a password: it is never part of the error.
    pub fn new(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| {
                anyhow::anyhow!(
                    "LOBBY_SMTP_URL is not an SMTP URL like smtps://user:pass@host:465 or smtp://host:587?tls=required"
                )
            })?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, &mail)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError(format!("SMTP: {e}")))?;
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail handed to the SMTP server");
        Ok(())
    }
}
