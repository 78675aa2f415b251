//! Structured logs: a whole run through every path that carries a secret — passwords, the
//! TOTP secret, TOTP, emailed and recovery codes, session, flow and elevated tokens, an
//! API key, the web form's CSRF token and cookies, the break-glass password, the secret
//! key — with `--log-format json` at the most verbose level (`TWOFOLD_LOG=trace`, every
//! crate, sqlx and hyper included); then the logs of the server and of the offline
//! commands are searched for every value used or received. Every line must be one JSON
//! object, and every line a request caused must carry that request's id, the one its
//! answer's `x-request-id` header gave.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::{
    PATIENCE, Server, TempDir, assert_python_totp_matches_rfc_6238, assert_uuid, base32_decode,
    run, totp_codes, twofold,
};

const ORG: &str = "acme";
const USER: &str = "alice";

/// The values that must never be logged, and how each may be searched for.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn keep(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// Where in `log` one of the values appears, if one does. A value of 8 characters or
    /// more is searched for anywhere (the tokens, secrets, keys and passwords are long
    /// and random: a chance match is impossible). A shorter one (a 6-digit code) could
    /// match part of an unrelated number (a timestamp's fraction, a latency), so it counts
    /// only as a whole token: not next to a letter, a digit or a decimal point — as it
    /// would appear if logged (`"code":"123456"`, `code=123456`, `code 123456`).
    fn found_in(&self, log: &str) -> Option<String> {
        for (what, value) in &self.0 {
            let hit = if value.len() >= 8 {
                log.contains(value.as_str())
            } else {
                whole_token(log, value)
            };
            if hit {
                let at = log.find(value.as_str()).unwrap_or(0);
                let line = log[..at].rsplit('\n').next().unwrap_or("").len();
                let start = at - line;
                let end = log[at..].find('\n').map_or(log.len(), |n| at + n);
                return Some(format!("{what} ({value}) in: {}", &log[start..end]));
            }
        }
        None
    }
}

fn whole_token(haystack: &str, needle: &str) -> bool {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
    haystack.match_indices(needle).any(|(at, _)| {
        !joins(haystack[..at].chars().next_back())
            && !joins(haystack[at + needle.len()..].chars().next())
    })
}

#[test]
fn a_six_digit_code_counts_only_as_a_whole_token() {
    assert!(whole_token(r#"{"code":"123456"}"#, "123456"));
    assert!(whole_token("code=123456 next", "123456"));
    assert!(!whole_token(
        r#""timestamp":"2025-01-02T03:04:05.123456Z""#,
        "123456"
    ));
    assert!(!whole_token(r#""latency":1234567"#, "123456"));
    assert!(!whole_token(r#""id":"0194a123456f""#, "123456"));
}

/// The run's HTTP side: every answer's `x-request-id` is kept, and every secret sent or
/// received.
struct Client {
    http: reqwest::Client,
    base: String,
    outbox: PathBuf,
    ids: Vec<String>,
    /// Mails already read.
    seen: HashSet<PathBuf>,
    secrets: Secrets,
}

/// An answer.
struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        self.json()
    }

    /// The value a `Set-Cookie` of this answer gives cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(SET_COOKIE).iter().find_map(|v| {
            let v = v.to_str().ok()?;
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (n, value) = pair.split_once('=')?;
            (n == name && !value.is_empty()).then(|| value.to_owned())
        })
    }
}

impl Client {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let id = res
            .headers()
            .get("x-request-id")
            .expect("every answer names its request")
            .to_str()
            .unwrap()
            .to_owned();
        assert_uuid(&id);
        self.ids.push(id);
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Answer {
            status,
            headers,
            text,
        }
    }

    async fn api(
        &mut self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        elevated: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(t) = elevated {
            req = req.header("x-elevated-token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn post(&mut self, path: &str, bearer: Option<&str>, body: Value) -> Answer {
        self.api(Method::POST, path, bearer, None, Some(body)).await
    }

    async fn page(
        &mut self,
        method: Method,
        path: &str,
        cookies: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", cookies);
        if !form.is_empty() {
            req = req.form(form);
        }
        self.send(req).await
    }

    /// `POST /auth/login` with `password`: the answer.
    async fn login(&mut self, password: &str) -> Value {
        let body = json!({"org": ORG, "username": USER, "password": password});
        self.post("/auth/login", None, body).await.expect(200)
    }

    /// The session token of a sign-in's answer, kept.
    fn session(&mut self, signed_in: &Value) -> String {
        assert_eq!(signed_in["status"], "authenticated", "{signed_in}");
        let session = signed_in["session_token"].as_str().unwrap().to_owned();
        self.secrets.keep("session token", &session);
        session
    }

    /// Signs in with the password up to the second step: the flow token.
    async fn flow(&mut self, password: &str) -> String {
        let a = self.login(password).await;
        assert_eq!(a["status"], "mfa_required", "{a}");
        let flow = a["flow_token"].as_str().unwrap().to_owned();
        self.secrets.keep("flow token", &flow);
        flow
    }

    /// Ends a second step: the session token.
    async fn mfa(&mut self, flow: &str, method: &str, code: &str) -> String {
        let a = self
            .post(
                "/auth/mfa",
                None,
                json!({"flow_token": flow, "method": method, "code": code}),
            )
            .await
            .expect(200);
        self.session(&a)
    }

    /// The code in the newest mail not read yet whose subject is `subject`.
    async fn mailed_code(&mut self, subject: &str) -> String {
        for _ in 0..500 {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&self.outbox)
                .map(|d| d.map(|e| e.unwrap().path()).collect())
                .unwrap_or_default();
            files.sort();
            for f in files.iter().rev() {
                if self.seen.contains(f) || f.extension().is_none_or(|x| x != "eml") {
                    continue;
                }
                let text = std::fs::read_to_string(f).unwrap();
                if !text.contains(&format!("Subject: {subject}")) {
                    continue;
                }
                self.seen.insert(f.clone());
                let (_, rest) = text.split_once("Your code: ").unwrap();
                let code = rest[..6].to_owned();
                self.secrets
                    .keep(&format!("mailed code ({subject})"), &code);
                return code;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail {subject:?} in {}", self.outbox.display());
    }
}

/// A `twofold` command logging JSON at the most verbose level, with the test's key.
fn cli(dir: &TempDir, key: &str, args: &[&str]) -> Command {
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg()])
        .args(args)
        .env("TWOFOLD_LOG", "trace")
        .env("TWOFOLD_LOG_FORMAT", "json")
        .env("TWOFOLD_SECRET_KEY", key);
    cmd
}

/// Every line of `log` parsed, each checked to be a JSON object with the fields every line
/// has.
fn parse(log: &str, whose: &str) -> Vec<serde_json::Map<String, Value>> {
    log.lines()
        .map(|line| {
            let Ok(Value::Object(o)) = serde_json::from_str::<Value>(line) else {
                panic!("a line of {whose}'s log is not a JSON object: {line}");
            };
            for field in ["timestamp", "level", "target"] {
                assert!(o[field].is_string(), "no {field} in {line}");
            }
            if let Some(id) = o.get("request_id") {
                assert_uuid(id.as_str().unwrap());
            }
            o
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_of_a_whole_run_carry_request_ids_and_no_secret() {
    assert_python_totp_matches_rfc_6238();
    let dir = TempDir::new();
    let mut secrets = Secrets::default();
    let mut cli_logs = Vec::new();

    let key = run(twofold().args(["secret-key", "generate"]), None)
        .one_stdout_line()
        .to_owned();
    secrets.keep("secret key", &key);
    let password = "correct horse battery staple";
    secrets.keep("password", password);
    let created = run(&mut cli(&dir, &key, &["org", "create", ORG]), None);
    assert!(created.status.success(), "{created:?}");
    cli_logs.push(("org create", created.stderr));
    let created = run(
        cli(
            &dir,
            &key,
            &["user", "create", "--org", ORG, "--username", USER],
        )
        .args([
            "--email",
            "alice@example.com",
            "--role",
            "owner",
            "--password-stdin",
        ]),
        Some(&format!("{password}\n")),
    );
    assert!(created.status.success(), "{created:?}");
    cli_logs.push(("user create", created.stderr));

    // The server's standard output goes to the same pipe as its log: both are searched.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        r#"exec "$0" "$@" 1>&2"#,
        env!("CARGO_BIN_EXE_twofold"),
    ]);
    cmd.args(["--data-dir", &dir.arg(), "serve", "--listen", "127.0.0.1:0"])
        .args(["--log-format", "json"]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TWOFOLD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("TWOFOLD_LOG", "trace")
        .env("TWOFOLD_SECRET_KEY", &key)
        .stdin(std::process::Stdio::null());
    let server = Server::start(cmd);
    let mut c = Client {
        http: reqwest::Client::builder()
            .timeout(PATIENCE)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: server.url(""),
        outbox: dir.join("outbox"),
        ids: Vec::new(),
        seen: HashSet::new(),
        secrets,
    };

    // Password only, then a first authenticator app confirmed by a mailed code.
    let a = c.login(password).await;
    let first = c.session(&a);
    c.post("/me/factors/totp", Some(&first), json!({"name": "Phone"}))
        .await
        .expect(202);
    let confirm = c.mailed_code("Your code to add an authenticator app").await;
    let e = c
        .post(
            "/me/factors/totp",
            Some(&first),
            json!({"name": "Phone", "confirmation_code": confirm}),
        )
        .await
        .expect(201);
    let secret = e["secret"].as_str().unwrap().to_owned();
    let factor = e["id"].as_str().unwrap().to_owned();
    c.secrets.keep("TOTP secret", &secret);
    c.secrets
        .keep("TOTP secret, lower case", &secret.to_lowercase());
    let raw: String = base32_decode(&secret)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    c.secrets.keep("TOTP secret, hex", &raw);
    c.secrets.keep("otpauth URI", e["uri"].as_str().unwrap());
    // One clock reading: activation takes step P, the sign-in P+1 (see signin.rs).
    let codes = totp_codes(&secret, &[0, 1]);
    for code in &codes {
        c.secrets.keep("TOTP code", &code.code);
    }
    c.post(
        &format!("/me/factors/{factor}/activate"),
        Some(&first),
        json!({"code": codes[0].code}),
    )
    .await
    .expect(200);
    c.post("/auth/logout", Some(&first), json!({}))
        .await
        .expect(204);

    // Password and a wrong code, then the right one.
    let flow = c.flow(password).await;
    let mut wrong = codes[1].code.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    c.secrets.keep("wrong TOTP code", &wrong);
    c.post(
        "/auth/mfa",
        None,
        json!({"flow_token": flow, "method": "totp", "code": wrong}),
    )
    .await
    .expect(401);
    let session = c.mfa(&flow, "totp", &codes[1].code).await;

    // Email as a second factor; a step-up with an emailed code; recovery codes and an API
    // key with the elevated token; the API key introspects it; a new password.
    let email = c
        .post("/me/factors/email", Some(&session), json!({}))
        .await
        .expect(201);
    let code = c
        .mailed_code("Your code to set up sign-in codes by email")
        .await;
    let id = email["id"].as_str().unwrap();
    c.post(
        &format!("/me/factors/{id}/activate"),
        Some(&session),
        json!({"code": code}),
    )
    .await
    .expect(200);
    c.post("/auth/step-up/email/send", Some(&session), json!({}))
        .await;
    let code = c.mailed_code("Your code to confirm a change").await;
    let up = c
        .post(
            "/auth/step-up",
            Some(&session),
            json!({"method": "email", "code": code, "scopes": ["mfa:manage"]}),
        )
        .await
        .expect(200);
    let elevated = up["elevated_token"].as_str().unwrap().to_owned();
    c.secrets.keep("elevated token", &elevated);
    let rc = c
        .api(
            Method::POST,
            "/me/recovery-codes",
            Some(&session),
            Some(&elevated),
            None,
        )
        .await
        .expect(201);
    let recovery: Vec<String> = rc["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    for r in &recovery {
        c.secrets.keep("recovery code", r);
        c.secrets
            .keep("recovery code, lower case", &r.to_lowercase());
        c.secrets
            .keep("recovery code, no dash", &r.replace('-', ""));
    }
    let k = c
        .api(
            Method::POST,
            &format!("/orgs/{ORG}/api-keys"),
            Some(&session),
            Some(&elevated),
            Some(json!({"name": "ci"})),
        )
        .await
        .expect(201);
    let api_key = k["key"].as_str().unwrap().to_owned();
    c.secrets.keep("API key", &api_key);
    let i = c
        .post(
            "/tokens/introspect",
            Some(&api_key),
            json!({"token": elevated}),
        )
        .await
        .expect(200);
    assert_eq!(i["active"], true, "{i}");
    let new_password = "purple monkey dishwasher 42";
    c.secrets.keep("new password", new_password);
    c.api(
        Method::PUT,
        "/me/password",
        Some(&session),
        None,
        Some(json!({"current_password": password, "new_password": new_password})),
    )
    .await
    .expect(204);
    c.post("/auth/logout", Some(&session), json!({})).await;

    // Sign in with an emailed code, then with a recovery code.
    let flow = c.flow(new_password).await;
    c.post("/auth/mfa/email/send", None, json!({"flow_token": flow}))
        .await
        .expect(200);
    let code = c.mailed_code("Your sign-in code").await;
    let s = c.mfa(&flow, "email", &code).await;
    c.post("/auth/logout", Some(&s), json!({}))
        .await
        .expect(204);
    let flow = c.flow(new_password).await;
    let s = c.mfa(&flow, "recovery_code", &recovery[0]).await;
    c.api(Method::GET, "/me", Some(&s), None, None)
        .await
        .expect(200);

    // The web pages: the form's CSRF token, the flow and session cookies.
    let login = c.page(Method::GET, "/login", "", &[]).await;
    let csrf = login.cookie("twofold-csrf").expect("a CSRF cookie");
    c.secrets.keep("CSRF token", &csrf);
    assert!(
        login.text.contains(&csrf),
        "the form repeats the CSRF token"
    );
    let cookies = format!("twofold-csrf={csrf}");
    let step = c
        .page(
            Method::POST,
            "/login",
            &cookies,
            &[
                ("csrf", &csrf),
                ("org", ORG),
                ("username", USER),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(step.status, 303, "{}", step.text);
    let flow = step.cookie("twofold-flow").expect("a flow cookie");
    c.secrets.keep("flow cookie", &flow);
    let cookies = format!("{cookies}; twofold-flow={flow}");
    let done = c
        .page(
            Method::POST,
            "/login/code",
            &cookies,
            &[
                ("csrf", &csrf),
                ("method", "recovery_code"),
                ("code", &recovery[1]),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let web_session = done.cookie("twofold-session").expect("a session cookie");
    c.secrets.keep("session cookie", &web_session);
    let home = c
        .page(
            Method::GET,
            "/account/security",
            &format!("twofold-session={web_session}"),
            &[],
        )
        .await;
    assert_eq!(home.status, 200, "{}", home.text);

    // Break-glass: the operator sets a password offline; it signs in.
    let glass = "break glass in case of emergency";
    c.secrets.keep("break-glass password", glass);
    let set = run(
        cli(
            &dir,
            &key,
            &["user", "set-password", "--org", ORG, "--username", USER],
        )
        .arg("--password-stdin"),
        Some(&format!("{glass}\n")),
    );
    assert!(set.status.success(), "{set:?}");
    cli_logs.push(("user set-password", set.stderr));
    c.flow(glass).await;

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}");

    // Every line is a JSON object...
    let lines = parse(&log, "the server");
    for (whose, log) in &cli_logs {
        parse(log, whose);
    }
    // ...the log really is verbose (else this proves nothing: on SQLite nothing logs at
    // trace level, but every answer is logged at debug)...
    let levels: HashSet<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert!(levels.contains("DEBUG"), "{levels:?}");
    // ...every request has its lines, and they carry its id: the answered line of every
    // request made, and the events of the sign-ins...
    let mut by_id: BTreeMap<&str, Vec<&serde_json::Map<String, Value>>> = BTreeMap::new();
    for l in &lines {
        if let Some(id) = l.get("request_id").and_then(Value::as_str) {
            by_id.entry(id).or_default().push(l);
        }
    }
    for id in &c.ids {
        let mine = by_id
            .get(id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(
            mine.iter()
                .any(|l| l.get("message") == Some(&json!("answered"))),
            "no answered line with request_id {id}"
        );
    }
    // ...and a line that names an event or an answer is never outside its request (mail
    // is delivered in the span of the request that queued it).
    for l in &lines {
        if l.contains_key("event") || l.get("message") == Some(&json!("answered")) {
            assert!(
                l.contains_key("request_id"),
                "a request's line without its id: {l:?}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l.get("event") == Some(&json!("mail.sent")) && l.contains_key("request_id")),
        "mail delivery carries the request id"
    );
    // ...and no secret appears anywhere.
    if let Some(found) = c.secrets.found_in(&log) {
        panic!("the server logged {found}");
    }
    for (whose, log) in &cli_logs {
        if let Some(found) = c.secrets.found_in(log) {
            panic!("{whose} logged {found}");
        }
    }
}
