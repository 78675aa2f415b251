//! A real OpenID Connect provider for the federated sign-in tests: panva's certified
//! `oidc-provider` (Node) in `tests/support/oidc-provider/`, on plain HTTP on loopback, one
//! process per [`Idp`]. Its `/__test/` endpoints register clients and accounts, rotate the
//! signing key and tamper with the next ID token; [`IdpBrowser`] plays the user's browser
//! through the provider's sign-in page.
//!
//! Needs Node 20+ and npm (on every machine of this kind); the packages are installed from
//! the lock file when missing. Without Node the tests fail saying so: they never skip.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

/// The provider's script and lock file. Spelt through `../server` so that the CLI's tests,
/// which include this file too, find them from their own crate.
const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../server/tests/support/oidc-provider"
);

/// `npm ci` when `node_modules` was not installed from this very lock file (as the SDK
/// test does); once at a time, so tests starting together install once.
fn install(dir: &Path) {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let lock = std::fs::read(dir.join("package-lock.json")).unwrap();
    let digest = {
        use sha2::Digest;
        data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(&lock))
    };
    let marker = dir.join("node_modules/.twofold-lock-sha256");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == digest) {
        return;
    }
    eprintln!("installing the test OpenID provider's packages (npm ci in {DIR})");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run npm (the OpenID Connect tests need Node 20+ and npm): {e}")
        });
    assert!(status.success(), "npm ci failed in {DIR}");
    std::fs::write(&marker, digest).unwrap();
}

/// A running test OpenID provider. Dropping it ends the process (which also ends by itself
/// when its stdin closes, should the test process die without dropping it).
pub struct Idp {
    /// `http://127.0.0.1:<port>`: no trailing slash, no path.
    pub issuer: String,
    /// Its stdin stays open (piped) as long as this handle lives.
    child: Child,
    http: reqwest::Client,
}

/// Starts a fresh provider: no clients, no accounts, a new RS256 signing key.
pub async fn start() -> Idp {
    tokio::task::spawn_blocking(|| install(Path::new(DIR)))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node (the OpenID Connect tests need Node 20+ and npm): {e}")
        });

    // Its diagnostics go to this test's captured output (threads spawned from the test's
    // thread inherit the capture) and are kept in case it never says where it listens.
    let stderr_text = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let kept = Arc::clone(&stderr_text);
    let stderr_thread = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("idp: {line}");
            let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
            kept.push_str(&line);
            kept.push('\n');
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = first_tx.send(lines.next().and_then(Result::ok));
        for line in lines {
            let Ok(line) = line else { break };
            eprintln!("idp (stdout): {line}");
        }
    });

    let first = tokio::time::timeout(Duration::from_secs(60), first_rx).await;
    let Ok(Ok(Some(line))) = first else {
        let _ = child.kill();
        let _ = child.wait();
        let _ = stderr_thread.join();
        let text = stderr_text
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        panic!(
            "`node provider.mjs` in {DIR} did not print its issuer ({}); its stderr:\n{text}",
            if first.is_err() {
                "timed out"
            } else {
                "it ended"
            }
        );
    };
    let announced: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the test OpenID provider printed {line:?}, not JSON: {e}"));
    let issuer = announced["issuer"]
        .as_str()
        .unwrap_or_else(|| panic!("the test OpenID provider printed {line:?}, without an issuer"))
        .to_owned();

    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Idp {
        issuer,
        child,
        http,
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    /// A `/__test/` control call: JSON in (a POST) or none (a GET), JSON out.
    async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__test/{path}", self.issuer);
        let request = match body {
            Some(body) => self.http.post(&url).json(&body),
            None => self.http.get(&url),
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("the test OpenID provider did not answer {url}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "the test OpenID provider answered {status} to {url}: {text}"
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{url} answered {text:?}, not JSON: {e}"))
    }

    /// Registers (or replaces) a confidential client: `client_secret_basic` (and `_post`),
    /// the authorization code grant, `require_auth_time`.
    pub async fn add_client(&self, id: &str, secret: &str, redirect_uri: &str) {
        self.control(
            "clients",
            Some(json!({
                "client_id": id,
                "client_secret": secret,
                "redirect_uris": [redirect_uri],
            })),
        )
        .await;
    }

    /// Adds (or replaces) the account `sub`. Its `claims` (`preferred_username`, `email`,
    /// `email_verified`, `name`, ...) reach the ID token under the usual scopes (`profile`,
    /// `email`); a claim no standard scope covers (say `groups`) comes with `openid`.
    pub async fn add_account(&self, sub: &str, claims: Value) {
        self.control("accounts", Some(json!({ "sub": sub, "claims": claims })))
            .await;
    }

    /// [`Idp::add_account`] whose sign-ins report `amr` (instead of `pwd`, `otp`).
    pub async fn add_account_signing_in_with(&self, sub: &str, claims: Value, amr: &[&str]) {
        let body = json!({ "sub": sub, "claims": claims, "amr": amr });
        self.control("accounts", Some(body)).await;
    }

    /// A new signing key with a new `kid`: from now on the JWKS holds only it and every
    /// token is signed with it. Returns the new `kid`.
    pub async fn rotate_keys(&self) -> String {
        let answer = self.control("rotate", Some(json!({}))).await;
        answer["kid"].as_str().unwrap().to_owned()
    }

    /// The ID token of the next token response (only that one) is replaced: `nonce` (another
    /// nonce), `expired` (`exp` 10 minutes ago), `audience` (`aud` "someone-else"), `issuer`
    /// (`iss` "http://evil.example"), all properly signed; `foreign_key` (unchanged claims,
    /// signed by a key not in the JWKS under the published `kid`); `none` cancels.
    pub async fn tamper(&self, mode: &str) {
        self.control("tamper", Some(json!({ "mode": mode }))).await;
    }

    /// The query parameters of the latest authorization request (`GET /auth`) as a JSON
    /// object (`null` before the first).
    pub async fn last_auth_request(&self) -> Value {
        self.control("last-auth-request", None).await
    }

    /// A browser with cookies of its own, kept between its sign-ins.
    pub fn browser(&self) -> IdpBrowser {
        IdpBrowser {
            issuer: Url::parse(&self.issuer).unwrap(),
            http: self.http.clone(),
            jar: CookieJar::default(),
            showed_login_form: false,
        }
    }

    /// Signs `sub` in from a fresh browser: follows `authorize_url` through the provider,
    /// fills in its sign-in form and returns the first redirect that leaves the provider
    /// (the client's redirect_uri with `code` and `state`, or an `error`).
    pub async fn sign_in(&self, authorize_url: &str, sub: &str) -> String {
        self.browser().sign_in(authorize_url, sub).await
    }
}

/// The user's browser at the provider: follows redirects, keeps the provider's cookies
/// between calls (so its session lasts), fills in the sign-in form.
pub struct IdpBrowser {
    issuer: Url,
    http: reqwest::Client,
    jar: CookieJar,
    showed_login_form: bool,
}

impl IdpBrowser {
    /// Follows `authorize_url` through the provider; if it shows its sign-in form (no
    /// session yet, `prompt=login`, `max_age` passed), signs in as `sub`; if it does not (a
    /// session is there), goes on without. Returns the Location of the first redirect off
    /// the provider's origin, as sent.
    pub async fn sign_in(&mut self, authorize_url: &str, sub: &str) -> String {
        let origin = self.issuer.origin();
        let mut url = Url::parse(authorize_url)
            .unwrap_or_else(|e| panic!("authorization URL {authorize_url:?}: {e}"));
        assert!(
            url.origin() == origin,
            "the authorization URL {authorize_url} is not on the test OpenID provider {}",
            self.issuer
        );
        self.showed_login_form = false;
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..30 {
            let mut request = match form.take() {
                Some(fields) => self.http.post(url.clone()).form(&fields),
                None => self.http.get(url.clone()),
            };
            if let Some(cookies) = self.jar.header_for(url.path()) {
                request = request.header(COOKIE, cookies);
            }
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("the test OpenID provider did not answer {url}: {e}"));
            self.jar.store(url.path(), response.headers());
            let status = response.status();

            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .unwrap_or_else(|| panic!("{status} without a Location from {url}"))
                    .to_str()
                    .unwrap()
                    .to_owned();
                let next = url
                    .join(&location)
                    .unwrap_or_else(|e| panic!("Location {location:?} from {url}: {e}"));
                if next.origin() != origin {
                    return location;
                }
                url = next;
                continue;
            }

            let body = response.text().await.unwrap();
            if status == StatusCode::OK {
                if let Some(action) = login_form_action(&body) {
                    assert!(
                        !self.showed_login_form,
                        "the test OpenID provider showed its sign-in form again after \
                         {sub} signed in (at {url})"
                    );
                    self.showed_login_form = true;
                    url = url.join(&action).unwrap();
                    form = Some(vec![("sub".to_owned(), sub.to_owned())]);
                    continue;
                }
                // A page that submits itself (e.g. signing the previous account out first
                // when another one signs in).
                if let Some((action, fields)) = self_submitting_form(&body) {
                    url = url.join(&action).unwrap();
                    form = Some(fields);
                    continue;
                }
            }
            panic!(
                "the test OpenID provider answered {status} at {url} while {sub} signed in:\n{body}"
            );
        }
        panic!("signing {sub} in at the test OpenID provider went round in circles ({url})");
    }

    /// Whether the last [`IdpBrowser::sign_in`] went through the sign-in form (or the
    /// provider let it through on its session).
    pub fn showed_login_form(&self) -> bool {
        self.showed_login_form
    }
}

/// The action of the provider's sign-in form, if the page is that form.
fn login_form_action(html: &str) -> Option<String> {
    if !html.contains(r#"name="sub""#) {
        return None;
    }
    let form = &html[html.find("<form")?..];
    attribute(&form[..form.find('>')?], "action")
}

/// An auto-submitting form page (oidc-provider's form post): its action and hidden fields.
fn self_submitting_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    if !html.contains("document.forms[0].submit()") {
        return None;
    }
    let form = &html[html.find("<form")?..];
    let action = attribute(&form[..form.find('>')?], "action")?;
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input") {
        rest = &rest[at..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            fields.push((name, value));
        }
        rest = &rest[end..];
    }
    Some((action, fields))
}

/// `name="…"` in one tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(unescape_html(&tag[start..start + len]))
}

fn unescape_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// Just enough of a cookie store for one origin: names, values, paths; deletions (an
/// expiry in 1970 or `Max-Age` 0) remove.
#[derive(Default)]
struct CookieJar {
    /// (name, path, value).
    cookies: Vec<(String, String, String)>,
}

impl CookieJar {
    fn store(&mut self, request_path: &str, headers: &HeaderMap) {
        for header in headers.get_all(SET_COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let mut path = default_path(request_path);
            let mut deleted = false;
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
                match key.as_str() {
                    "path" if val.starts_with('/') => path = val.to_owned(),
                    "max-age" => deleted |= val.parse::<i64>().is_ok_and(|age| age <= 0),
                    "expires" => deleted |= val.contains("1970"),
                    _ => {}
                }
            }
            self.cookies.retain(|(n, p, _)| !(n == name && *p == path));
            if !deleted {
                self.cookies.push((name.to_owned(), path, value.to_owned()));
            }
        }
    }

    fn header_for(&self, request_path: &str) -> Option<String> {
        let mut matching: Vec<_> = self
            .cookies
            .iter()
            .filter(|(_, path, _)| path_matches(request_path, path))
            .collect();
        // Longer paths first, as browsers send them.
        matching.sort_by_key(|(_, path, _)| std::cmp::Reverse(path.len()));
        let header = matching
            .iter()
            .map(|(name, _, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        (!header.is_empty()).then_some(header)
    }
}

/// RFC 6265 §5.1.4.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(at) => request_path[..at].to_owned(),
    }
}

/// RFC 6265 §5.1.4.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}
