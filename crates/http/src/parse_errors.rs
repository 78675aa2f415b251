//! hyper answers a request it cannot parse (a broken request line, headers too large, a
//! URL too long) itself, before any of our code runs, with an empty 400, 431 or 414. This
//! wrapper around a connection's socket replaces those answers with problem documents like
//! every other error of the API.
//!
//! It recognises them by shape: a `4xx` head with `content-length: 0` and no
//! `content-type`, which none of our own answers has (every error we send is a problem
//! document). hyper writes such an answer in one piece (the wrapper tells it that vectored
//! writes are not supported, so it flattens its buffers) and then closes the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use twofold_proto::{ErrorCode, PROBLEM_JSON, Problem};

/// A socket whose hyper-made error answers become problem documents.
pub struct ProblemAnswers<S> {
    inner: S,
    /// A replacement answer being written, and how much of it is.
    replacement: Vec<u8>,
    written: usize,
    /// The length of the original write the replacement stands for, reported once done.
    stands_for: usize,
}

impl<S> ProblemAnswers<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            replacement: Vec::new(),
            written: 0,
            stands_for: 0,
        }
    }
}

/// The problem document for a head hyper wrote, if `buf` is one.
fn replacement_for(buf: &[u8]) -> Option<Vec<u8>> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    // Exactly the head: hyper's own error answers have no body.
    if head_end + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()?
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    if !headers.iter().any(|h| h == "content-length: 0")
        || headers.iter().any(|h| h.starts_with("content-type:"))
    {
        return None;
    }
    let detail = match status {
        400 => "the request could not be read as HTTP/1.1 (a malformed request line or header)",
        413 => "the request is larger than this server accepts",
        414 => "the URL is too long",
        431 => "the request's headers are too large",
        _ => return None,
    };
    let code = if status == 413 {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::InvalidRequest
    };
    let title = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let body = serde_json::to_vec(&Problem {
        type_uri: code.type_uri(),
        title: title.to_owned(),
        status,
        detail: detail.to_owned(),
        code,
        retry_after: None,
        clock_skew_seconds: None,
        scope: None,
        providers: None,
    })
    .ok()?;
    let mut out = format!(
        "HTTP/1.1 {status} {title}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nx-request-id: {}\r\nconnection: close\r\n\r\n",
        body.len(),
        uuid::Uuid::now_v7()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemAnswers<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> ProblemAnswers<S> {
    /// Writes what is left of the replacement; ready once all of it is written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.replacement.len() {
            let rest = &self.replacement[self.written..];
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemAnswers<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_empty() {
            if let Some(replacement) = replacement_for(buf) {
                this.replacement = replacement;
                this.written = 0;
                this.stands_for = buf.len();
            } else {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        match this.drain(cx) {
            Poll::Ready(Ok(())) => {
                // Done: later writes (there should be none) pass through.
                this.replacement.clear();
                Poll::Ready(Ok(std::mem::take(&mut this.stands_for)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    /// No: hyper then writes each answer's head in one piece, where it can be recognised.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hypers_own_answers_are_replaced_and_ours_are_not() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 07:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement_for(hyper_431).unwrap()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(
            out.contains("content-type: application/problem+json"),
            "{out}"
        );
        assert!(out.contains(r#""code":"invalid_request""#), "{out}");
        assert!(out.contains(r#""status":431"#), "{out}");

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement_for(ours).is_none());
        let no_content = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement_for(no_content).is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}";
        assert!(replacement_for(with_body).is_none());
    }
}
