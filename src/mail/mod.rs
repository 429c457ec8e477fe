//! Outgoing email (invitations, password resets): one message shape and one trait. SMTP
//! (`LOBBY_SMTP_URL`, via lettre) when configured, else an outbox directory under the data dir
//! (each message written as a file and logged), so the demo and the tests work without a
//! mail server.
//!
//! Both deliveries build the same RFC 5322 message ([`build_message`]: `multipart/alternative`,
//! plain text first, then HTML), so what lands in the outbox is exactly what SMTP would send.
//!
//! Owns: delivering a rendered message. Must not touch: what a message says (its caller
//! renders it), storage, HTTP.

mod outbox;
mod smtp;

pub use outbox::OutboxMailer;
pub use smtp::SmtpMailer;

use crate::config::Config;
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use std::sync::{Arc, Mutex};

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

/// The mailer the configuration asks for: SMTP when `LOBBY_SMTP_URL` is set, else the outbox
/// directory `<data dir>/outbox/`.
pub fn from_config(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let from = config.mail_from()?;
    match &config.smtp_url {
        Some(url) => Ok(Arc::new(SmtpMailer::new(url.expose(), from)?)),
        None => Ok(Arc::new(OutboxMailer::new(
            config.data_dir.join("outbox"),
            from,
        ))),
    }
}

/// The RFC 5322 message for `mail` from `from`: `multipart/alternative` (text, then HTML).
pub fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<lettre::Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError(format!("recipient is not an email address: {e}")))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError(format!("cannot build the message: {e}")))
}

/// The first `http://` or `https://` link of a plain-text body (for the log line).
pub fn first_link(text: &str) -> Option<&str> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Keeps every message in memory instead of delivering it: for tests (inject it with
/// `app::Boot::mailer`) and for embedding Lobby where another component reads the messages.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingMail>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: "ana@example.com".into(),
            subject: "You're invited to Acme".into(),
            text: "Open https://login.example.com/invite/abc?x=1 to accept.\n".into(),
            html: "<p><a href=\"https://login.example.com/invite/abc\">Accept</a></p>".into(),
        }
    }

    #[test]
    fn the_message_is_multipart_text_then_html() {
        let from: Mailbox = "Lobby <no-reply@example.com>".parse().unwrap();
        let raw = String::from_utf8(build_message(&from, &mail()).unwrap().formatted()).unwrap();
        assert!(raw.contains("From: Lobby <no-reply@example.com>"), "{raw}");
        assert!(raw.contains("To: ana@example.com"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let text = raw.find("text/plain").expect("a text part");
        let html = raw.find("text/html").expect("an html part");
        assert!(text < html, "plain text comes first (RFC 2046 §5.1.4)");
    }

    #[test]
    fn a_bad_recipient_is_an_error_not_a_panic() {
        let from: Mailbox = "no-reply@example.com".parse().unwrap();
        let mut m = mail();
        m.to = "not an address".into();
        assert!(build_message(&from, &m).is_err());
    }

    #[test]
    fn the_first_link_is_found() {
        assert_eq!(
            first_link(&mail().text),
            Some("https://login.example.com/invite/abc?x=1")
        );
        assert_eq!(first_link("no link here"), None);
    }
}
