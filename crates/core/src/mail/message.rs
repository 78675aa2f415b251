//! A [`Mail`] as an RFC 5322 message with a `multipart/alternative` body (plain text
//! and HTML), built by lettre so that encodings and line lengths are right for any
//! content. The same bytes go to the SMTP server or into the outbox.

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use super::{Mail, MailError};
use crate::clock::Timestamp;

/// Parses an address such as `Twofold <no-reply@example.com>` or `ann@example.com`.
pub fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|e| MailError::Address {
        address: address.to_owned(),
        reason: format!("{e}"),
    })
}

/// The message `mail` from `from`, dated `at` (the injected clock's time).
pub fn build(mail: &Mail, from: &Mailbox, at: Timestamp) -> Result<Message, MailError> {
    if mail.subject.contains(['\r', '\n']) {
        return Err(MailError::HeaderInjection("Subject"));
    }
    let to = mailbox(&mail.to)?;
    let id = format!(
        "<{}@{}>",
        uuid::Uuid::now_v7().simple(),
        from.email.domain()
    );
    let date = SystemTime::UNIX_EPOCH + Duration::from_millis(at.as_millis().max(0).unsigned_abs());
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .date(date)
        .message_id(Some(id))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError::Build(e.to_string()))
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
        let eml = build(
            &mail(),
            &mailbox("Twofold <no-reply@localhost>").unwrap(),
            at,
        )
        .unwrap();
        let eml = String::from_utf8(eml.formatted()).unwrap();
        assert!(
            eml.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
            "{eml}"
        );
        assert!(eml.contains("\r\nTo: ann@example.com\r\n"), "{eml}");
        assert!(eml.contains("@localhost>\r\n"), "{eml}");
        assert!(eml.contains("line one\r\nline two\r\n"), "{eml}");
        assert!(
            eml.contains("Content-Type: text/html; charset=utf-8"),
            "{eml}"
        );
        assert!(!eml.replace("\r\n", "").contains('\n'), "bare LF");
    }

    #[test]
    fn non_ascii_text_and_long_lines_are_encoded() {
        let m = Mail {
            text: format!("Téléphone — {}", "x".repeat(2000)),
            ..mail()
        };
        let eml = build(
            &m,
            &mailbox("Twofold <no-reply@localhost>").unwrap(),
            Timestamp::from_millis(0),
        )
        .unwrap();
        let eml = String::from_utf8(eml.formatted()).unwrap();
        assert!(
            eml.lines().all(|l| l.len() <= 998),
            "a line over 998 octets"
        );
        assert!(eml.is_ascii(), "8-bit content left unencoded");
    }

    #[test]
    fn a_line_break_in_a_header_is_refused() {
        let bad = Mail {
            to: "ann@example.com\r\nBcc: eve@example.com".into(),
            ..mail()
        };
        let e = build(
            &bad,
            &mailbox("x@localhost").unwrap(),
            Timestamp::from_millis(0),
        )
        .unwrap_err();
        assert!(matches!(e, MailError::Address { .. }), "{e}");
        let bad = Mail {
            subject: "Hi\r\nBcc: eve@example.com".into(),
            ..mail()
        };
        let e = build(
            &bad,
            &mailbox("x@localhost").unwrap(),
            Timestamp::from_millis(0),
        )
        .unwrap_err();
        assert!(matches!(e, MailError::HeaderInjection("Subject")));
    }
}
