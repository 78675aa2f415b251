//! Mail to users: the messages (`messages`) and the outbox they go to.
//!
//! With no SMTP server configured (the embedded default) each message is written as an
//! `.eml` file (RFC 5322, plain text and HTML) to `<data-dir>/outbox/`, where an operator
//! or a mail pickup can take it, and a line is logged — with the address and subject, never
//! a code. Sending never fails the action that caused it: a failure is logged.

pub mod messages;

use std::path::{Path, PathBuf};

use crate::clock::Timestamp;

/// One message to one address.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}: a header would hold a line break")]
    HeaderInjection(&'static str),
    #[error("cannot write to the outbox {path}: {source}")]
    Outbox {
        path: String,
        source: std::io::Error,
    },
}

/// Where mail goes.
#[derive(Clone, Debug)]
pub struct Mailer {
    outbox: PathBuf,
    from: String,
}

impl Mailer {
    /// Writes mail to `outbox` as `.eml` files, from `from`.
    pub fn outbox(outbox: &Path, from: &str) -> Self {
        Self {
            outbox: outbox.to_path_buf(),
            from: from.to_owned(),
        }
    }

    /// The folder `.eml` files are written to.
    pub fn outbox_dir(&self) -> &Path {
        &self.outbox
    }

    /// Sends `mail`; logs the outcome. Never fails the caller: what caused the mail has
    /// happened and must be answered as such.
    pub fn send(&self, mail: &Mail, at: Timestamp) {
        match self.write_eml(mail, at) {
            Ok(path) => tracing::info!(
                event = "mail.queued",
                to = %mail.to,
                subject = %mail.subject,
                file = %path.display(),
            ),
            Err(e) => {
                tracing::error!(event = "mail.failed", to = %mail.to, subject = %mail.subject, error = %e)
            }
        }
    }

    fn write_eml(&self, mail: &Mail, at: Timestamp) -> Result<PathBuf, MailError> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let text = render(mail, &self.from, at, &id)?;
        let io = |source| MailError::Outbox {
            path: self.outbox.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.outbox).map_err(io)?;
        // Written aside and renamed, so whoever picks mail up never sees half a message.
        let tmp = self.outbox.join(format!(".{id}.tmp"));
        let path = self.outbox.join(format!("{}-{id}.eml", at.as_millis()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }
}

/// The message as RFC 5322 text with a `multipart/alternative` body.
fn render(mail: &Mail, from: &str, at: Timestamp, id: &str) -> Result<String, MailError> {
    for (name, value) in [("To", &mail.to), ("Subject", &mail.subject)] {
        if value.contains(['\r', '\n']) {
            return Err(MailError::HeaderInjection(name));
        }
    }
    let boundary = format!("=_twofold_{id}");
    let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
    Ok(format!(
        "Date: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@twofold>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {text}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {html}\r\n\
         --{boundary}--\r\n",
        date = at.to_rfc5322(),
        to = mail.to,
        subject = mail.subject,
        text = crlf(&mail.text),
        html = crlf(&mail.html),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mail() -> Mail {
        Mail {
            to: "ann@example.com".into(),
            subject: "Hello".into(),
            text: "line one\nline two".into(),
            html: "<p>hi</p>".into(),
        }
    }

    #[test]
    fn renders_both_parts_with_crlf_line_ends() {
        let at = Timestamp::from_millis(0);
        let eml = render(&mail(), "Twofold <no-reply@localhost>", at, "abc").unwrap();
        assert!(eml.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
        assert!(eml.contains("\r\nTo: ann@example.com\r\n"));
        assert!(eml.contains("line one\r\nline two\r\n"));
        assert!(eml.contains("Content-Type: text/html; charset=utf-8"));
        assert!(eml.ends_with("--=_twofold_abc--\r\n"));
        assert!(!eml.replace("\r\n", "").contains('\n'), "bare LF");
    }

    #[test]
    fn a_line_break_in_a_header_is_refused() {
        let bad = Mail {
            to: "ann@example.com\r\nBcc: eve@example.com".into(),
            ..mail()
        };
        let e = render(&bad, "x", Timestamp::from_millis(0), "abc").unwrap_err();
        assert!(matches!(e, MailError::HeaderInjection("To")));
    }
}
