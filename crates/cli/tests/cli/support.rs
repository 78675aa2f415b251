//! What every test needs: a private temporary directory, the `twofold` binary with a clean
//! environment, a running server that is always stopped, an HTTP client for the API, and
//! TOTP codes from an implementation that is not ours.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use twofold_proto::{ErrorCode, LoginResponse, Me, PROBLEM_JSON, Problem, TotpEnrollment};

/// How long any one child process or request may take before the test gives up. Generous:
/// password hashing on a loaded two-core machine is slow, and a hang must fail, not block.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The marker the server logs once it accepts connections; the real address follows it.
const LISTENING: &str = "Twofold is listening on http://";

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // pid + counter is unique within this run; the nanoseconds keep a directory left
        // behind by an earlier, killed run (same pid reused) from being picked up again.
        let dir = std::env::temp_dir().join(format!(
            "twofold-cli-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `twofold` binary under test, with every `TWOFOLD_*` variable of the caller's
/// environment removed so a developer's own settings cannot change what a test sees.
pub fn twofold() -> Command {
    clean(Command::new(env!("CARGO_BIN_EXE_twofold")))
}

/// [`twofold`] in a session of its own (`setsid`): no controlling terminal to prompt on.
pub fn twofold_detached() -> Command {
    let mut cmd = Command::new("setsid");
    cmd.arg("--wait").arg(env!("CARGO_BIN_EXE_twofold"));
    clean(cmd)
}

fn clean(mut cmd: Command) -> Command {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TWOFOLD_") {
            cmd.env_remove(k);
        }
    }
    // Plain log lines: the tests search them for text.
    cmd.env("NO_COLOR", "1");
    cmd.stdin(Stdio::null());
    cmd
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The one line a failed command must print, checked to be the only one.
    pub fn one_error_line(&self) -> &str {
        let lines = self.stderr_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr, got: {:?}",
            self.stderr
        );
        let line = lines[0];
        assert!(line.starts_with("twofold: "), "{line:?}");
        line
    }

    /// Standard output of a successful command that prints one value.
    pub fn one_stdout_line(&self) -> &str {
        assert!(self.status.success(), "command failed: {self:?}");
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stdout: {self:?}");
        lines[0]
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs a command to completion, feeding it `stdin`. A command still running after
/// [`PATIENCE`] (say, a server that should have refused to start) is killed and fails the
/// test instead of hanging it.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Finished {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    if let Some(input) = stdin {
        let mut pipe = child.0.stdin.take().unwrap();
        // A command that fails before reading may have closed its end already; what it
        // printed is what the test checks, so a broken pipe here is not an error.
        let _ = pipe.write_all(input.as_bytes());
        // Dropping the pipe closes it: the command sees end of input.
    }
    let out = drain(child.0.stdout.take().unwrap());
    let err = drain(child.0.stderr.take().unwrap());
    let status = wait_for_exit(&mut child.0);
    Finished {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Polls until the child exits; kills it and fails after [`PATIENCE`].
fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {PATIENCE:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A running `twofold serve`, killed on drop so a failing test never leaves one behind.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Where its outbox is, as its command says (`--data-dir`, `TWOFOLD_DATA_DIR`, or
    /// `twofold-data` in its working directory).
    outbox: PathBuf,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `cmd` (a `serve` command that should listen on port 0) and waits until it
    /// logs its address and answers `/healthz`.
    pub fn start(mut cmd: Command) -> Server {
        let outbox = data_dir_of(&cmd).join("outbox");
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        // Reads stderr for as long as the process lives, so the pipe never fills and
        // blocks the server's logging, and keeps every line for the test to inspect.
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let addr = listening_addr(&line);
                    {
                        let mut log = log.lock().unwrap();
                        log.push_str(&line);
                        log.push('\n');
                    }
                    // Logged first, so a test that is told the address sees the line.
                    if let Some(addr) = addr {
                        let _ = tx.send(addr);
                    }
                }
            })
        };
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            outbox,
            log,
            reader: Some(reader),
        };
        match rx.recv_timeout(PATIENCE) {
            Ok(addr) => server.addr = addr,
            Err(_) => {
                let status = server.child.try_wait().ok().flatten();
                panic!(
                    "the server did not start (exit status {status:?}); its log:\n{}",
                    server.log()
                );
            }
        }
        server.wait_until_healthy();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn api(&self) -> Api {
        Api {
            outbox: Some(self.outbox.clone()),
            ..Api::new(self.url(""))
        }
    }

    /// Everything the server has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Bounded polling of `/healthz`: the address is logged after the port is bound, so
    /// this normally succeeds at once.
    fn wait_until_healthy(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(self.addr) {
                let req = format!(
                    "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.addr
                );
                let mut answer = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.1 200")
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never answered; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit; answers its status and full log.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.signal("-TERM")
    }

    /// Kills the process with SIGKILL, as a crash, the OOM killer or a pulled plug of a
    /// container would: no shutdown, no flush, requests in flight cut off. The signal is
    /// sent directly (no `kill` process to start), so it lands the moment this is called.
    /// Answers the exit status and the full log.
    pub fn kill(mut self) -> (ExitStatus, String) {
        // `Child::kill` is SIGKILL on Unix.
        self.child.kill().unwrap();
        let status = wait_for_exit(&mut self.child);
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        (status, self.log())
    }

    /// Sends `signal` (as `kill` spells it, e.g. `-INT`) and waits for the process to
    /// exit; answers its status and full log.
    pub fn signal(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success(), "kill {signal} {pid} failed");
        let status = wait_for_exit(&mut self.child);
        // The process is gone, so its stderr is at end of file: the reader finishes.
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in the server's "listening" log line, if this is that line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(LISTENING)? + LISTENING.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_hexdigit() || ".:[]".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The data directory a `twofold` command uses.
fn data_dir_of(cmd: &Command) -> PathBuf {
    let cwd = cmd
        .get_current_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::env::current_dir().unwrap());
    let args: Vec<&std::ffi::OsStr> = cmd.get_args().collect();
    let flag = args
        .windows(2)
        .find(|w| w[0] == "--data-dir")
        .map(|w| PathBuf::from(w[1]));
    let env = cmd
        .get_envs()
        .find(|(k, _)| *k == "TWOFOLD_DATA_DIR")
        .and_then(|(_, v)| v)
        .map(PathBuf::from);
    cwd.join(
        flag.or(env)
            .unwrap_or_else(|| PathBuf::from("twofold-data")),
    )
}

/// The code in the newest mail to `to` in `outbox` whose subject is `subject`, if there is
/// one.
pub fn mailed_code(outbox: &Path, to: &str, subject: &str) -> Option<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files.iter().rev().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        if !text.contains(&format!("Subject: {subject}")) || !text.contains(&format!("To: {to}")) {
            return None;
        }
        let (_, rest) = text.split_once("Your code: ")?;
        rest.get(..6).map(str::to_owned)
    })
}

/// The common `serve` command: a data directory of the test's own and port 0.
pub fn serve_cmd(data_dir: &TempDir) -> Command {
    let mut cmd = twofold();
    cmd.args([
        "--data-dir",
        &data_dir.arg(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    cmd
}

/// `org create` + `user create` through the CLI, with `extra` arguments (say
/// `--database-url`) and `env` for both. Answers the user's id.
pub fn create_org_and_user(
    extra: &[&str],
    env: &[(&str, &str)],
    org: &str,
    username: &str,
    password: &str,
) -> String {
    create_org(extra, env, org);
    create_user(extra, env, org, username, password)
}

/// `org create` through the CLI, with `extra` arguments and `env`. Answers the org's id.
pub fn create_org(extra: &[&str], env: &[(&str, &str)], org: &str) -> String {
    let mut cmd = twofold();
    cmd.args(extra)
        .args(["org", "create", org])
        .envs(env.iter().copied());
    let id = run(&mut cmd, None).one_stdout_line().to_owned();
    assert_uuid(&id);
    id
}

/// `user create` (a member) in an existing organisation through the CLI, with `extra`
/// arguments and `env`. Answers the user's id.
pub fn create_user(
    extra: &[&str],
    env: &[(&str, &str)],
    org: &str,
    username: &str,
    password: &str,
) -> String {
    let mut cmd = twofold();
    cmd.args(extra)
        .args(["user", "create", "--org", org, "--username", username])
        .args([
            "--email",
            &format!("{username}@example.com"),
            "--password-stdin",
        ])
        .envs(env.iter().copied());
    let id = run(&mut cmd, Some(&format!("{password}\n")))
        .one_stdout_line()
        .to_owned();
    assert_uuid(&id);
    id
}

/// Fails unless `s` is a UUID in its canonical hyphenated form.
pub fn assert_uuid(s: &str) {
    let ok = s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    assert!(ok, "not a UUID: {s:?}");
}

/// The JSON API of one server.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    /// The server's outbox, where the codes it mails are read.
    outbox: Option<PathBuf>,
}

/// An answer: status and body, the body parsed as JSON when there is one.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// The problem document of an error answer, checked to be one.
    pub fn problem(&self) -> Problem {
        assert_eq!(self.content_type, PROBLEM_JSON, "{self:?}");
        serde_json::from_value(self.body.clone()).unwrap()
    }

    pub fn expect_problem(&self, status: u16, code: ErrorCode) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.problem().code, code, "{self:?}");
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        assert!(self.status.is_success(), "{self:?}");
        serde_json::from_value(self.body.clone()).unwrap()
    }
}

impl Api {
    pub fn new(base: String) -> Api {
        let http = reqwest::Client::builder()
            .timeout(PATIENCE)
            // Loopback only: never go through a proxy from the environment.
            .no_proxy()
            .build()
            .unwrap();
        Api {
            base,
            http,
            outbox: None,
        }
    }

    /// Sends a request and reads the answer; a request that gets no answer fails the
    /// test (see [`Api::try_send`] for one that may not).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.try_send(method, path, bearer, body).await.unwrap()
    }

    /// Like [`Api::send`], but a request that gets no answer (the server died, say) is an
    /// error for the caller to handle rather than a failed test.
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let content_type = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // A body cut off half-way is no answer either.
        let bytes = res.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{status} answer is not JSON ({e}): {bytes:?}");
            })
        };
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    pub async fn login_answer(&self, org: &str, username: &str, password: &str) -> Answer {
        self.send(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"org": org, "username": username, "password": password})),
        )
        .await
    }

    pub async fn login(&self, org: &str, username: &str, password: &str) -> LoginResponse {
        self.login_answer(org, username, password).await.json()
    }

    /// Signs in a user without an active factor: answers the session token.
    pub async fn login_password_only(&self, org: &str, username: &str, password: &str) -> String {
        match self.login(org, username, password).await {
            LoginResponse::Authenticated { session_token, .. } => session_token,
            other => panic!("expected a session, got {other:?}"),
        }
    }

    /// Signs in a user with an active factor up to the second step: answers the flow token.
    pub async fn start_flow(&self, org: &str, username: &str, password: &str) -> String {
        match self.login(org, username, password).await {
            LoginResponse::MfaRequired {
                flow_token,
                methods,
                ..
            } => {
                assert_eq!(methods, vec![twofold_proto::Method::Totp]);
                flow_token
            }
            other => panic!("expected mfa_required, got {other:?}"),
        }
    }

    pub async fn mfa(&self, flow_token: &str, code: &str) -> Answer {
        self.send(
            reqwest::Method::POST,
            "/auth/mfa",
            None,
            Some(json!({"flow_token": flow_token, "method": "totp", "code": code})),
        )
        .await
    }

    pub async fn me(&self, session: &str) -> Me {
        self.send(reqwest::Method::GET, "/me", Some(session), None)
            .await
            .json()
    }

    pub async fn logout(&self, session: &str) {
        let a = self
            .send(reqwest::Method::POST, "/auth/logout", Some(session), None)
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    }

    /// Adds a first authenticator app: the code mailed first (read from the server's
    /// outbox), then the app.
    pub async fn enroll_totp(&self, session: &str) -> TotpEnrollment {
        let a = self
            .send(
                reqwest::Method::POST,
                "/me/factors/totp",
                Some(session),
                Some(json!({"name": "Test phone"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
        let outbox = self.outbox.as_deref().expect("an Api from Server::api");
        let to = self.me(session).await.email;
        // The mail is queued: give its delivery a moment.
        let mut code = None;
        for _ in 0..250 {
            code = mailed_code(outbox, &to, "Your code to add an authenticator app");
            if code.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let code = code.expect("the code was not mailed");
        let a = self
            .send(
                reqwest::Method::POST,
                "/me/factors/totp",
                Some(session),
                Some(json!({"name": "Test phone", "confirmation_code": code})),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        let e: TotpEnrollment = a.json();
        // The third-party generator below assumes the default parameters: make sure the
        // server said so in the Key URI it gave the authenticator app.
        assert!(
            e.uri.ends_with("&algorithm=SHA1&digits=6&period=30"),
            "{}",
            e.uri
        );
        e
    }

    pub async fn activate(&self, session: &str, factor_id: &str, code: &str) -> Answer {
        self.send(
            reqwest::Method::POST,
            &format!("/me/factors/{factor_id}/activate"),
            Some(session),
            Some(json!({"code": code})),
        )
        .await
    }
}

/// Runs every future as a task of its own, all at once, and answers their outputs in the
/// order given. A panic in one fails the caller with that panic.
pub async fn concurrently<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) written with Python's standard library only: an
/// implementation independent of ours, like the authenticator app a user would have.
/// Prints `<step> <code>` for each step offset given after the secret, all from one
/// reading of the clock; `--at T` replaces the clock by T (for the RFC's test vector).
const PY_TOTP: &str = r#"
import base64, hashlib, hmac, struct, sys, time
args = sys.argv[1:]
now = time.time()
if args[0] == "--at":
    now = float(args[1]); args = args[2:]
secret = args[0].upper()
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
for offset in args[1:]:
    step = int(now) // 30 + int(offset)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    n = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000
    print(step, "%06d" % n)
"#;

/// One code from the Python generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyCode {
    pub step: u64,
    pub code: String,
}

fn python_totp(args: &[String]) -> Vec<PyCode> {
    // python3 is part of the machine: if it is missing the test must fail, not skip.
    let out = Command::new("python3")
        .arg("-c")
        .arg(PY_TOTP)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (required by these tests): {e}"));
    assert!(out.status.success(), "python3 failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (step, code) = l.split_once(' ').unwrap();
            PyCode {
                step: step.parse().unwrap(),
                code: code.to_owned(),
            }
        })
        .collect()
}

/// Codes for the current time step plus each of `offsets`, from one reading of the clock.
pub fn totp_codes(secret_base32: &str, offsets: &[i64]) -> Vec<PyCode> {
    let mut args = vec![secret_base32.to_owned()];
    args.extend(offsets.iter().map(i64::to_string));
    let codes = python_totp(&args);
    assert_eq!(codes.len(), offsets.len());
    codes
}

/// Codes for the time step at `unix_secs` plus each of `offsets` (for a server whose clock
/// a test moved).
pub fn totp_codes_at(secret_base32: &str, unix_secs: u64, offsets: &[i64]) -> Vec<PyCode> {
    let mut args = vec![
        "--at".to_owned(),
        unix_secs.to_string(),
        secret_base32.to_owned(),
    ];
    args.extend(offsets.iter().map(i64::to_string));
    let codes = python_totp(&args);
    assert_eq!(codes.len(), offsets.len());
    codes
}

/// Checks the Python generator itself against RFC 6238 appendix B (SHA-1, T = 59 s,
/// secret "12345678901234567890": 94287082, of which 6 digits are 287082), so a failing
/// sign-in cannot be blamed on the test's own generator.
pub fn assert_python_totp_matches_rfc_6238() {
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // base32 of "12345678901234567890"
    let codes = python_totp(&["--at".into(), "59".into(), secret.into(), "0".into()]);
    assert_eq!(
        codes,
        vec![PyCode {
            step: 1,
            code: "287082".into()
        }]
    );
}

/// RFC 4648 base32 without padding, decoded independently of the code under test.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {s:?}"));
        acc = (acc << 5) | u32::try_from(v).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).unwrap());
        }
    }
    out
}

/// Every file under `dir`, recursively, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                // A -wal/-shm file may vanish between listing and reading: skip it.
                out.push((path, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
