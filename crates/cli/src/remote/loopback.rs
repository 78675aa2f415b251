//! The browser's way back to the CLI after signing in at an identity provider (RFC 8252,
//! OAuth 2.0 for native apps): a listener on `127.0.0.1` and a port of the system's
//! choosing (§7.3), a PKCE verifier and its S256 challenge (RFC 7636 §4.1-4.2) and a
//! random `state` that the answer must carry back unchanged.
//!
//! ```text
//!  CLI: bind 127.0.0.1:0, verifier, challenge, state ──► prints the address to open
//!  browser ──► Twofold ──► provider (sign in) ──► Twofold's callback
//!          ──► GET http://127.0.0.1:<port>/callback?code&state   (or ?error&state)
//!  CLI: state is ours? ──► answers the browser a short page ──► exchanges code + verifier
//! ```
//!
//! A hand-written HTTP/1.1 answer to one GET: the listener serves nothing else (other
//! paths get a 404, connections that send nothing are dropped after a while, as a
//! browser's speculative ones do).

use std::time::Duration;

use sha2::Digest;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::failure::Failure;

/// How long a person has to sign in at the provider.
pub const PATIENCE: Duration = Duration::from_secs(5 * 60);

/// How long a connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest request head read.
const MAX_REQUEST: usize = 16 * 1024;

/// `n` random bytes in base64url without padding.
pub fn random_text(n: usize) -> Result<String, Failure> {
    let mut bytes = vec![0u8; n];
    twofold_server::crypto::random_bytes(&mut bytes)?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&bytes))
}

/// A PKCE verifier (43 characters of 32 random bytes) and its S256 challenge.
pub struct Pkce {
    pub verifier: zeroize::Zeroizing<String>,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Result<Pkce, Failure> {
        let verifier = zeroize::Zeroizing::new(random_text(32)?);
        Ok(Pkce {
            challenge: challenge_of(&verifier),
            verifier,
        })
    }
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`.
fn challenge_of(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// The CLI's address on loopback, listening for the browser.
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// What the browser came back with.
#[derive(Debug, PartialEq)]
enum Outcome {
    Code(String),
    Refused(String),
    /// A request with another `state`: not this command's sign-in (any web page may send
    /// the browser here), so it is answered and the wait goes on.
    Stranger,
}

impl Loopback {
    pub async fn bind() -> Result<Loopback, Failure> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            Failure::new(
                "failed",
                format!("cannot listen on 127.0.0.1 for the browser: {e}"),
            )
        })?;
        let port = listener.local_addr()?.port();
        Ok(Loopback { listener, port })
    }

    /// Where the browser is sent back to.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits (up to [`PATIENCE`]) for the browser's `GET /callback`, answers it a short
    /// page, and answers the one-time code; `done` is what the page says on success. A
    /// `state` other than `state`, or an `error`, ends it with a failure.
    pub async fn code(self, state: &str, done: &str) -> Result<String, Failure> {
        tokio::time::timeout(PATIENCE, self.answer(state, done))
            .await
            .map_err(|_| {
                Failure::new(
                    "timed_out",
                    "no answer from the browser within 5 minutes: run the command again",
                )
            })?
    }

    /// The first `/callback` of this sign-in (its `state`), answered a page.
    async fn answer(self, state: &str, done: &str) -> Result<String, Failure> {
        loop {
            let (mut stream, target) = self.callback().await?;
            let outcome = outcome(&target, state);
            let page = match &outcome {
                Ok(Outcome::Code(_)) => page(200, "Signed in", done),
                Ok(Outcome::Refused(why)) => {
                    page(400, "Not signed in", &format!("Not signed in: {why}"))
                }
                Ok(Outcome::Stranger) => page(
                    400,
                    "Not this sign-in",
                    "This is not the sign-in the waiting command started; it goes on waiting.",
                ),
                Err(f) => page(400, "Not signed in", &f.message),
            };
            // The browser missing its page changes nothing for the command.
            let _ = write_all(&mut stream, page.as_bytes()).await;
            return match outcome? {
                Outcome::Code(code) => Ok(code),
                Outcome::Refused(why) => Err(Failure::new(
                    "access_denied",
                    format!("not signed in: {why}"),
                )),
                Outcome::Stranger => continue,
            };
        }
    }

    /// The first connection that asks for `/callback`, and its request target.
    async fn callback(&self) -> Result<(TcpStream, String), Failure> {
        let mut pending = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    // A failed accept (a connection reset at once) is that connection's
                    // problem only.
                    if let Ok((stream, _)) = accepted {
                        pending.spawn(read_request(stream));
                    }
                }
                Some(done) = pending.join_next(), if !pending.is_empty() => {
                    if let Ok(Some(found)) = done {
                        return Ok(found);
                    }
                }
            }
        }
    }
}

/// Reads one request; answers `/callback`'s stream and target, and anything else a 404.
async fn read_request(mut stream: TcpStream) -> Option<(TcpStream, String)> {
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&stream))
        .await
        .ok()??;
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    let path = target.split('?').next().unwrap_or(target);
    if method == "GET" && path == "/callback" {
        return Some((stream, target.to_owned()));
    }
    let _ = write_all(
        &mut stream,
        page(404, "Not found", "Nothing here.").as_bytes(),
    )
    .await;
    None
}

/// The request line and headers, up to the blank line.
async fn read_head(stream: &TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        stream.readable().await.ok()?;
        match stream.try_read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
        if head.len() > MAX_REQUEST {
            return None;
        }
    }
    String::from_utf8(head).ok()
}

async fn write_all(stream: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What `/callback?…` says, checked against our `state`.
fn outcome(target: &str, state: &str) -> Result<Outcome, Failure> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
    };
    if param("state").as_deref() != Some(state) {
        return Ok(Outcome::Stranger);
    }
    if let Some(error) = param("error") {
        let why = param("error_description")
            .filter(|d| !d.is_empty())
            .unwrap_or(error);
        return Ok(Outcome::Refused(why));
    }
    match param("code").filter(|c| !c.is_empty()) {
        Some(code) => Ok(Outcome::Code(code)),
        None => Err(Failure::new(
            "federation_failed",
            "the browser came back without a code",
        )),
    }
}

/// A short HTML page with its status line and headers.
fn page(status: u16, title: &str, text: &str) -> String {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} - Twofold</title></head>\n<body><p>{}</p></body></html>\n",
        escape_html(title),
        escape_html(text)
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space; a `%` not
/// followed by two hex digits stays as it is).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything but RFC 3986's unreserved characters.
const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters: a query value or a
/// path segment.
pub fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = Pkce::new().unwrap();
        assert_eq!((p.verifier.len(), p.challenge.len()), (43, 43));
    }

    #[test]
    fn the_answer_is_read_from_the_query_and_checked_against_the_state() {
        assert_eq!(
            outcome("/callback?code=a%2Bb&state=s1", "s1").unwrap(),
            Outcome::Code("a+b".into())
        );
        assert_eq!(
            outcome(
                "/callback?error=access_denied&error_description=no+such+user%21&state=s1",
                "s1"
            )
            .unwrap(),
            Outcome::Refused("no such user!".into())
        );
        assert_eq!(
            outcome("/callback?code=a&state=other", "s1").unwrap(),
            Outcome::Stranger
        );
        assert_eq!(
            outcome("/callback?code=a", "s1").unwrap(),
            Outcome::Stranger
        );
        assert!(outcome("/callback?state=s1", "s1").is_err());
    }

    #[test]
    fn values_are_percent_encoded_and_decoded() {
        let text = "http://127.0.0.1:5/callback?x=1 2&é";
        assert_eq!(percent_decode(&percent_encode(text)), text);
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[tokio::test]
    async fn the_browser_gets_a_page_and_the_command_the_code() {
        let lb = Loopback::bind().await.unwrap();
        let uri = lb.redirect_uri();
        let waiting = tokio::spawn(async move { lb.code("st", "Done.").await });
        let port = uri
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/callback")
            .to_owned();
        // A speculative connection that says nothing, and a stray request, first.
        let _idle = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        let stray = get(&port, "/favicon.ico").await;
        assert!(stray.starts_with("HTTP/1.1 404"), "{stray}");
        // Another sign-in's answer (any page may send a browser here): the wait goes on.
        let other = get(&port, "/callback?code=evil&state=not-ours").await;
        assert!(other.starts_with("HTTP/1.1 400"), "{other}");
        let answer = get(&port, "/callback?code=c0de&state=st").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("Done."), "{answer}");
        assert_eq!(waiting.await.unwrap().unwrap(), "c0de");
    }

    async fn get(port: &str, target: &str) -> String {
        let port = port.to_owned();
        let target = target.to_owned();
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
            write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap()
    }
}
