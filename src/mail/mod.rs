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

/// TEMPORARY (until the invites branch's mail wiring is merged): keeps messages in memory.
#[derive(Default)]
pub struct MemoryMailer {
    sent: std::sync::Mutex<Vec<OutgoingMail>>,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message handed over so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingMail> {
        self.sent.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The messages sent to `to` (case-insensitive), oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<OutgoingMail> {
        self.sent()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .collect()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError("mail store poisoned".into()))?
            .push(mail);
        Ok(())
    }
}

/// TEMPORARY: the first link of a text body.
pub fn first_link(text: &str) -> Option<&str> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}
