//! Outgoing email (invitations, password resets): one message shape and one trait. SMTP
//! (`LOBBY_SMTP_URL`, via lettre) when configured, else an outbox directory under the data dir
//! (each message written as a file and logged), so the demo and the tests work without a
//! mail server.
//!
//! Owns: delivering a rendered message. Must not touch: what a message says (its caller
//! renders it), storage, HTTP.

use async_trait::async_trait;

/// One rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message could not be handed over (logged; the caller decides what the user sees).
#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}
