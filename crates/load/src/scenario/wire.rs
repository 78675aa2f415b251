//! The HTTP side: one pooled `reqwest::Client` (keep-alive connections reused by every
//! worker), the request bodies built without a serialiser in the hot path, and each answer
//! reduced to an [`Answer`] plus the flow token when there is one.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use twofold_proto::{ErrorCode, LoginRequest};

use crate::LoadError;
use crate::stats::Answer;

pub(crate) const AUTHENTICATED: Answer = Answer::new(200, "authenticated");
pub(crate) const MFA_REQUIRED: Answer = Answer::new(200, "mfa_required");
pub(crate) const INVALID_CODE: Answer = Answer::new(401, "invalid_code");

/// A server answer, reduced to what the scenarios need.
#[derive(Debug, PartialEq)]
pub(crate) struct Reply {
    pub answer: Answer,
    /// The `flow_token` of a `mfa_required` answer.
    pub flow_token: Option<String>,
}

/// The endpoints of the servers and the client that talks to them.
pub(crate) struct Wire {
    client: reqwest::Client,
    /// Each server's sign-in and second-step endpoints: one server, or several sharing
    /// one database, taken in turn.
    servers: Vec<(Url, Url)>,
    next: AtomicUsize,
    pub healthz: Url,
    base: Url,
}

impl Wire {
    /// `pool` is how many idle connections to keep per server: at least one per
    /// concurrent worker, so no request pays for a new TCP connection once it is warm.
    /// `also` are further servers of the same deployment (one shared database): logins
    /// and second steps go to each server in turn, so a flow begun on one is often
    /// finished on another. Plain GETs go to `base` alone.
    pub fn new(
        base: &Url,
        also: &[Url],
        pool: usize,
        timeout: Duration,
    ) -> Result<Wire, LoadError> {
        let client = reqwest::Client::builder()
            // Loopback only: never route through a proxy from the environment.
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(pool)
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let join = |base: &Url, path: &str| {
            base.join(path).map_err(|e| LoadError::Url {
                url: base.to_string(),
                reason: e.to_string(),
            })
        };
        let servers = std::iter::once(base)
            .chain(also)
            .map(|b| Ok((join(b, "/api/v1/auth/login")?, join(b, "/api/v1/auth/mfa")?)))
            .collect::<Result<Vec<_>, LoadError>>()?;
        Ok(Wire {
            servers,
            next: AtomicUsize::new(0),
            healthz: join(base, "/healthz")?,
            base: base.clone(),
            client,
        })
    }

    /// The next server's (sign-in, second step) endpoints.
    fn next_server(&self) -> &(Url, Url) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.servers.len();
        &self.servers[i]
    }

    /// A sign-in endpoint: the next server's.
    pub fn login(&self) -> &Url {
        &self.next_server().0
    }

    /// A second-step endpoint: the next server's.
    pub fn mfa(&self) -> &Url {
        &self.next_server().1
    }

    /// `path` on the server, for plain GETs.
    pub fn url(&self, path: &str) -> Result<Url, LoadError> {
        self.base.join(path).map_err(|e| LoadError::Url {
            url: format!("{}{path}", self.base),
            reason: e.to_string(),
        })
    }

    pub async fn post_json(&self, url: &Url, body: Vec<u8>) -> Reply {
        let sent = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await;
        finish(sent).await
    }

    pub async fn get(&self, url: &Url) -> Reply {
        finish(self.client.get(url.clone()).send().await).await
    }
}

/// Reads the whole body (so the connection goes back to the pool) and classifies it.
async fn finish(sent: Result<reqwest::Response, reqwest::Error>) -> Reply {
    let res = match sent {
        Ok(res) => res,
        Err(e) => return no_answer(&e),
    };
    let status = res.status().as_u16();
    match res.bytes().await {
        Ok(body) => classify(status, &body),
        Err(e) => no_answer(&e),
    }
}

/// Status 0: no (complete) HTTP answer.
fn no_answer(e: &reqwest::Error) -> Reply {
    let label = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect_error"
    } else if e.is_body() || e.is_decode() {
        "body_error"
    } else {
        "request_error"
    };
    Reply {
        answer: Answer::new(0, label),
        flow_token: None,
    }
}

/// A 2xx sign-in answer: only the fields the tool uses (serde skips the others).
#[derive(Deserialize)]
struct SignInBody<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    flow_token: Option<String>,
}

/// A problem document's code, as the enum (no allocation) or, for a code this build does
/// not know, as text.
#[derive(Deserialize)]
struct KnownProblem {
    code: ErrorCode,
}

#[derive(Deserialize)]
struct OtherProblem {
    code: String,
}

fn label(text: Cow<'_, str>) -> Cow<'static, str> {
    match text.as_ref() {
        "authenticated" => Cow::Borrowed("authenticated"),
        "mfa_required" => Cow::Borrowed("mfa_required"),
        _ => Cow::Owned(text.into_owned()),
    }
}

pub(crate) fn classify(status: u16, body: &[u8]) -> Reply {
    let ok = (200..300).contains(&status);
    let reply = |label: Cow<'static, str>, flow_token| Reply {
        answer: Answer { status, label },
        flow_token,
    };
    if body.first() == Some(&b'{') {
        if ok {
            return match serde_json::from_slice::<SignInBody>(body) {
                Ok(SignInBody {
                    status: Some(s),
                    flow_token,
                }) => reply(label(s), flow_token),
                _ => reply(Cow::Borrowed("json"), None),
            };
        }
        if let Ok(p) = serde_json::from_slice::<KnownProblem>(body) {
            return reply(Cow::Borrowed(p.code.as_str()), None);
        }
        if let Ok(p) = serde_json::from_slice::<OtherProblem>(body) {
            return reply(Cow::Owned(p.code), None);
        }
        return reply(Cow::Borrowed("json"), None);
    }
    let text = match body {
        b"" => "empty",
        b"ok" => "ok",
        b"hello" => "hello",
        _ => "text",
    };
    reply(Cow::Borrowed(text), None)
}

/// The body of `POST /auth/login` for one user, built once per user.
pub(crate) fn login_body(org: &str, username: &str, password: &str) -> Result<Vec<u8>, LoadError> {
    serde_json::to_vec(&LoginRequest {
        org: org.into(),
        username: username.into(),
        password: password.into(),
        device_token: None,
    })
    .map_err(|e| LoadError::Config(format!("encoding a login request: {e}")))
}

/// Everything of an `MfaRequest` body before the code, built once per flow, so a request
/// costs one copy and the code's six digits.
pub(crate) fn mfa_body_prefix(flow_token: &str) -> Result<Vec<u8>, LoadError> {
    let token = serde_json::to_string(flow_token)
        .map_err(|e| LoadError::Setup(format!("encoding a flow token: {e}")))?;
    Ok(format!(r#"{{"flow_token":{token},"method":"totp","code":""#).into_bytes())
}

/// `prefix` + `code` + `"}`. The code is digits, which need no JSON escaping.
pub(crate) fn mfa_body(prefix: &[u8], code: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(prefix.len() + code.len() + 2);
    body.extend_from_slice(prefix);
    body.extend_from_slice(code.as_bytes());
    body.extend_from_slice(b"\"}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use twofold_proto::{Method, MfaRequest};

    #[test]
    fn bodies_are_what_the_server_parses() {
        let prefix = mfa_body_prefix("flow_abc\"def").unwrap();
        let body = mfa_body(&prefix, "012345");
        // The proto type rejects unknown fields, as the server does.
        let req: MfaRequest = serde_json::from_slice(&body).unwrap();
        assert_eq!(req.flow_token, "flow_abc\"def");
        assert_eq!(req.method, Method::Totp);
        assert_eq!(req.code, "012345");
        let login: LoginRequest =
            serde_json::from_slice(&login_body("load", "load-000001", "pw").unwrap()).unwrap();
        assert_eq!(login.username, "load-000001");
    }

    #[test]
    fn answers_are_classified() {
        let r = classify(
            200,
            br#"{"status":"mfa_required","flow_token":"f1","methods":["totp"],"expires_at":"x"}"#,
        );
        assert_eq!(r.answer, MFA_REQUIRED);
        assert_eq!(r.flow_token.as_deref(), Some("f1"));
        let r = classify(
            200,
            br#"{"status":"authenticated","session_token":"s","expires_at":"x"}"#,
        );
        assert_eq!(r.answer, AUTHENTICATED);
        assert_eq!(r.flow_token, None);
        let r = classify(
            429,
            br#"{"type":"t","title":"t","status":429,"detail":"d","code":"too_many_attempts","retry_after":60}"#,
        );
        assert_eq!(r.answer.to_string(), "429 too_many_attempts");
        let r = classify(401, br#"{"status":401,"code":"some_new_code"}"#);
        assert_eq!(r.answer.to_string(), "401 some_new_code");
        assert_eq!(classify(500, b"{oops").answer.to_string(), "500 json");
        assert_eq!(classify(200, b"ok").answer.to_string(), "200 ok");
        assert_eq!(classify(200, b"hello").answer.to_string(), "200 hello");
        assert_eq!(classify(404, b"").answer.to_string(), "404 empty");
        assert_eq!(classify(502, b"Bad gateway").answer.to_string(), "502 text");
    }
}
