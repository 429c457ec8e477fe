//! The outbox: without SMTP, each message is written as `<data dir>/outbox/<ulid>.eml` (the
//! complete RFC 5322 message, the same bytes SMTP would send; the ULIDs come from one monotonic
//! generator per mailer, so the names sort in the order the messages were written, even
//! within one millisecond) and logged with its recipient, subject and first link, so a
//! developer or the demo can follow an invitation without a mail server. The files hold
//! single-use links: the directory is created 0700 and each file 0600; nothing deletes them
//! (remove them as you would a log).
//!
//! Owns: writing the files. Must not touch: what a message says.

use super::{MailError, Mailer, OutgoingMail, build_message, first_link};
use async_trait::async_trait;
use lettre::message::Mailbox;
use std::path::PathBuf;

pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
    names: std::sync::Mutex<ulid::Generator>,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self {
            dir,
            from,
            names: std::sync::Mutex::new(ulid::Generator::new()),
        }
    }

    /// The next file name's ULID: later than every one before it (a plain `Ulid::new()` has a
    /// random part, so two made in the same millisecond sort either way).
    fn next_name(&self) -> ulid::Ulid {
        let mut g = self
            .names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The generator fails only after 2^80 names in one millisecond.
        g.generate().unwrap_or_else(|_| ulid::Ulid::new())
    }

    /// Where messages are written.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let raw = build_message(&self.from, &mail)?.formatted();
        let dir = self.dir.clone();
        let name = format!("{}.eml", self.next_name());
        let path = dir.join(&name);
        let written = path.clone();
        tokio::task::spawn_blocking(move || write_private(&dir, &written, &raw))
            .await
            .map_err(|e| MailError(format!("outbox writer failed: {e}")))?
            .map_err(|e| MailError(format!("cannot write {}: {e}", path.display())))?;
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            link = first_link(&mail.text).unwrap_or("-"),
            file = %path.display(),
            "mail written to the outbox (LOBBY_SMTP_URL is not set)"
        );
        Ok(())
    }
}

/// Write `bytes` to `path` (via a temporary name, then rename, so a reader never sees half a
/// message), owner-only permissions on Unix.
fn write_private(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let tmp = path.with_extension("eml.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_message_is_one_eml_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("outbox");
        let m = OutboxMailer::new(dir.clone(), "Lobby <no-reply@example.com>".parse().unwrap());
        for n in 0..2 {
            m.send(OutgoingMail {
                to: "ana@example.com".into(),
                subject: format!("Message {n}"),
                text: "Open http://127.0.0.1:8080/invite/t".into(),
                html: "<p>hi</p>".into(),
            })
            .await
            .unwrap();
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
        let first = std::fs::read_to_string(&files[0]).unwrap();
        assert!(first.contains("Subject: Message 0"), "{first}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read a message");
        }
    }
}
