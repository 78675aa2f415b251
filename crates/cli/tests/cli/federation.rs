//! Federated sign-in from the command line, against a real OpenID Connect provider (the
//! server tests' `idp`: panva's `oidc-provider` on Node) and a real `twofold serve`: the
//! operator's `twofold oidc …`, `twofold login --sso` with the test playing the browser
//! between the printed address, the provider and the command's loopback listener, and a
//! federated owner's step-up at the provider for a guarded `twofold org …` command.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use twofold_proto::Me;

use crate::support::{PATIENCE, twofold_detached};
use crate::terminal::Desk;

#[path = "../../../server/tests/api/idp.rs"]
#[allow(dead_code)]
mod idp;

use idp::Idp;

const SECRET: &str = "twofold-client-secret-1f4e";

/// A server with organisation `acme`, a provider that knows it, `okta` configured with
/// `twofold oidc set`, and the federated user `fiona` known to both.
struct Fed {
    desk: Desk,
    idp: Idp,
}

fn claims(username: &str) -> Value {
    json!({
        "preferred_username": username,
        "email": format!("{username}@example.com"),
        "email_verified": true,
    })
}

impl Fed {
    async fn start() -> Fed {
        let idp = idp::start().await;
        let desk = Desk::start();
        desk.operator(
            &[
                "user",
                "create",
                "--org",
                "acme",
                "--username",
                "fiona",
                "--email",
                "fiona@example.com",
                "--federated",
            ],
            None,
        );
        idp.add_client("twofold", SECRET, &desk.server.url("/auth/oidc/callback"))
            .await;
        idp.add_account("sub-fiona", claims("fiona")).await;
        let set = desk.operator(
            &[
                "oidc",
                "set",
                "acme",
                "okta",
                "--issuer",
                &idp.issuer,
                "--client-id",
                "twofold",
                "--client-secret-stdin",
                "--public-url",
                &desk.server.url(""),
            ],
            Some(&format!("{SECRET}\n")),
        );
        assert!(
            set.stdout.contains(&format!(
                "Register this redirect URI at the provider: {}",
                desk.server.url("/auth/oidc/callback")
            )),
            "{set:?}"
        );
        assert!(
            set.stdout
                .starts_with("Identity provider okta of acme added:"),
            "{set:?}"
        );
        assert!(!set.stdout.contains(SECRET) && !set.stderr.contains(SECRET));
        Fed { desk, idp }
    }

    /// A federated user of `acme`, known to the provider as `sub-<name>` (signing in there
    /// with `amr`, if given).
    async fn federated_user(&self, name: &str, role: &str, amr: Option<&[&str]>) {
        let email = format!("{name}@example.com");
        self.desk.operator(
            &[
                "user",
                "create",
                "--org",
                "acme",
                "--username",
                name,
                "--email",
                &email,
                "--role",
                role,
                "--federated",
            ],
            None,
        );
        let sub = format!("sub-{name}");
        match amr {
            Some(amr) => {
                self.idp
                    .add_account_signing_in_with(&sub, claims(name), amr)
                    .await;
            }
            None => self.idp.add_account(&sub, claims(name)).await,
        }
    }

    /// `twofold ARGS` without a terminal, running in the background.
    fn background(&self, args: &[&str]) -> Background {
        let mut cmd = twofold_detached();
        cmd.env("XDG_CONFIG_HOME", self.desk.home.path())
            .env("TWOFOLD_URL", self.desk.server.url(""))
            .env("TERM", "dumb")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// `twofold login --sso okta --org acme` with `extra` arguments, in the background:
    /// answers it and the sign-in address it printed.
    fn login_sso(&self, extra: &[&str]) -> (Background, String) {
        let server = self.desk.server.url("");
        let mut args = vec![
            "login", "--sso", "okta", "--org", "acme", "--server", &server,
        ];
        args.extend_from_slice(extra);
        let mut login = self.background(&args);
        let said = login.line_after("Open this address in a browser to sign in through okta:");
        let start = login.next_line();
        assert!(
            start.starts_with(&format!(
                "{server}/auth/oidc/acme/okta/start?redirect_uri=http%3A%2F%2F127.0.0.1%3A"
            )),
            "{said:?} then {start:?}"
        );
        (login, start)
    }

    /// The browser's trip from Twofold's sign-in address through the provider (as `sub`)
    /// and back to Twofold: answers where Twofold's callback sends the browser.
    async fn browse_to_app(&self, start: &str, sub: &str) -> String {
        let mut browser = Browser::new();
        let to_idp = browser.get(start).await;
        assert_eq!(to_idp.0, StatusCode::SEE_OTHER);
        let callback = self.idp.sign_in(&to_idp.1.unwrap(), sub).await;
        assert!(
            callback.starts_with(&self.desk.server.url("/auth/oidc/callback?")),
            "{callback}"
        );
        let (status, to_app) = browser.get(&callback).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let to_app = to_app.unwrap();
        assert!(to_app.starts_with("http://127.0.0.1:"), "{to_app}");
        to_app
    }

    fn whoami(&self) -> Me {
        let out = self.desk.script(&["whoami", "--output", "json"], None);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_str(&out.stdout).unwrap()
    }
}

/// A command running in the background; killed if the test ends first.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its stderr so far.
    seen: Vec<String>,
}

impl Background {
    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(e) => panic!("no more lines on stderr ({e}); so far: {:?}", self.seen),
        }
    }

    /// Reads stderr up to the line `text`: answers the lines before it.
    fn line_after(&mut self, text: &str) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            let line = self.next_line();
            if line == text {
                return before;
            }
            before.push(line);
        }
    }

    /// Waits for the command to end: its exit status, stdout and the rest of its stderr.
    fn finish(mut self) -> (i32, String, Vec<String>) {
        let deadline = std::time::Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the command did not end; its stderr: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut stdout).unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code().unwrap_or(-1), stdout, self.seen.clone())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A browser at Twofold: keeps its cookies, follows no redirect.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(PATIENCE)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// GET `url`: the status and the Location.
    async fn get(&mut self, url: &str) -> (StatusCode, Option<String>) {
        let (status, location, _) = self.get_page(url).await;
        (status, location)
    }

    /// GET `url`: the status, the Location and the body.
    async fn get_page(&mut self, url: &str) -> (StatusCode, Option<String>, String) {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut request = self.http.get(url);
        if !cookie.is_empty() {
            request = request.header("cookie", cookie.join("; "));
        }
        let res = request.send().await.unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, res.text().await.unwrap())
    }
}

/// The page the command's loopback listener answers the browser.
async fn at_loopback(url: &str) -> (StatusCode, String) {
    let (status, _, body) = Browser::new().get_page(url).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_user_signs_in_with_login_sso_through_a_browser() {
    let f = Fed::start().await;
    let server = f.desk.server.url("");

    // The operator's list shows the provider and never its secret.
    let list = f
        .desk
        .operator(&["oidc", "list", "acme", "--output", "json"], None);
    assert!(!list.stdout.contains(SECRET), "{}", list.stdout);
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "okta");
    assert_eq!(list[0]["issuer"], f.idp.issuer.as_str());
    assert_eq!(list[0]["client_id"], "twofold");
    assert_eq!(list[0]["create_users"], false);
    assert!(list[0].get("client_secret").is_none(), "{list}");
    let table = f.desk.operator(&["oidc", "list", "acme"], None).stdout;
    let row = table.lines().find(|l| l.starts_with("okta ")).unwrap();
    assert!(
        row.contains("existing only") && row.contains("any"),
        "{table}"
    );

    let (login, start) = f.login_sso(&[]);
    let to_app = f.browse_to_app(&start, "sub-fiona").await;
    let (status, page) = at_loopback(&to_app).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Signed in to Twofold. You can close this tab."),
        "{page}"
    );
    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr:?}");
    assert!(
        stdout.starts_with(&format!("Signed in to {server} as fiona (org acme) until ")),
        "{stdout}"
    );
    let me = f.whoami();
    assert_eq!((me.username.as_str(), me.federated), ("fiona", true));
    assert!(
        me.session.amr.contains(&"fed".to_owned()),
        "{:?}",
        me.session
    );

    // Again, for a script: the same JSON as a password sign-in, the address still told
    // (on stderr, there being no terminal), and the session replaced.
    let (login, start) = f.login_sso(&["--output", "json"]);
    let to_app = f.browse_to_app(&start, "sub-fiona").await;
    assert_eq!(at_loopback(&to_app).await.0, StatusCode::OK);
    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr:?}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    let mut keys: Vec<&String> = result.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["expires_at", "org", "server", "username"],
        "{result}"
    );
    assert_eq!(
        (&result["server"], &result["org"], &result["username"]),
        (&json!(server), &json!("acme"), &json!("fiona"))
    );
    // The first session was ended when this one replaced it.
    let sessions = f.desk.script(&["sessions", "--output", "json"], None);
    let sessions: Value = serde_json::from_str(&sessions.stdout).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(f.whoami().username, "fiona");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sso_refused_by_twofold_fails_in_one_line_with_the_reason() {
    let f = Fed::start().await;
    // Known to the provider, not to Twofold.
    f.idp.add_account("sub-gil", claims("gil")).await;
    let (login, start) = f.login_sso(&[]);
    let to_app = f.browse_to_app(&start, "sub-gil").await;
    assert!(to_app.contains("error=access_denied"), "{to_app}");
    let (status, page) = at_loopback(&to_app).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("there is no user &quot;gil&quot;"), "{page}");
    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 1, "{stdout}\n{stderr:?}");
    assert_eq!(stdout, "");
    let last = stderr.last().unwrap();
    assert!(
        last.starts_with("twofold: not signed in: there is no user \"gil\" in this organisation"),
        "{stderr:?}"
    );
    assert!(
        !f.desk.sessions_file().exists()
            || !std::fs::read_to_string(f.desk.sessions_file())
                .unwrap()
                .contains("gil")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_login_of_a_federated_user_names_login_sso() {
    let f = Fed::start().await;
    let out = f.desk.script(
        &[
            "login",
            "--org",
            "acme",
            "--username",
            "fiona",
            "--password-stdin",
        ],
        Some("any password at all\n"),
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.contains("`twofold login --sso okta --org acme`"),
        "{line}"
    );

    let out = f.desk.script(
        &[
            "login",
            "--org",
            "acme",
            "--username",
            "fiona",
            "--password-stdin",
            "--output",
            "json",
        ],
        Some("any password at all\n"),
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "use_identity_provider", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_oidc_commands_fail_in_one_line_and_change_nothing() {
    let f = Fed::start().await;
    let operator = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = crate::support::twofold();
        cmd.args(["--data-dir", &f.desk.data.arg()]).args(args);
        crate::support::run(&mut cmd, stdin)
    };
    // `oidc set acme NAME --issuer ISSUER --client-id twofold`, with the secret on stdin
    // when given.
    let set = |name: &str, issuer: &str, secret: Option<&str>| {
        let mut args = vec![
            "oidc",
            "set",
            "acme",
            name,
            "--issuer",
            issuer,
            "--client-id",
            "twofold",
        ];
        if secret.is_some() {
            args.push("--client-secret-stdin");
        }
        operator(&args, secret)
    };
    // An issuer over plain http that is not on loopback: the domain's words.
    let out = set("okta", "http://login.example.com", None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.one_error_line()
            .contains("it must be https (plain http only on a loopback host)"),
        "{out:?}"
    );
    // A new provider without its secret.
    let out = set("azure", "https://login.example.com", None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.one_error_line()
            .contains("a new provider needs its client secret"),
        "{out:?}"
    );
    // --client-secret-stdin with nothing on stdin.
    let out = set("azure", "https://login.example.com", Some(""));
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.one_error_line().contains("--client-secret-stdin"),
        "{out:?}"
    );
    // Removing a provider that is not there.
    let out = operator(&["oidc", "remove", "acme", "azure"], None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(out.one_error_line(), "twofold: identity provider not found");
    let out = operator(
        &["oidc", "remove", "acme", "azure", "--output", "json"],
        None,
    );
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["error"]["message"], "identity provider not found");
    // Usage: a missing --issuer.
    let out = operator(&["oidc", "set", "acme", "okta", "--client-id", "x"], None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    // An unknown organisation.
    let out = operator(&["oidc", "list", "nowhere"], None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(out.one_error_line(), "twofold: organisation not found");

    // Nothing changed: okta as set up, no azure.
    let list = operator(&["oidc", "list", "acme", "--output", "json"], None);
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["issuer"], f.idp.issuer.as_str());

    // Replaced without the secret: kept (fiona still signs in), other settings replaced.
    let out = operator(
        &[
            "oidc",
            "set",
            "acme",
            "okta",
            "--issuer",
            &f.idp.issuer,
            "--client-id",
            "twofold",
            "--allowed-domain",
            "example.com",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .starts_with("Identity provider okta of acme replaced:"),
        "{out:?}"
    );
    let list = operator(&["oidc", "list", "acme", "--output", "json"], None);
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(list[0]["allowed_email_domains"], json!(["example.com"]));
    let (login, start) = f.login_sso(&[]);
    let to_app = f.browse_to_app(&start, "sub-fiona").await;
    assert_eq!(at_loopback(&to_app).await.0, StatusCode::OK);
    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr:?}");

    // And removed.
    let out = operator(&["oidc", "remove", "acme", "okta"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("okta of acme removed"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_owner_steps_up_at_the_provider_for_a_guarded_command() {
    let f = Fed::start().await;
    // Her provider sign-ins are a password only: her session is aal 1, so a guarded
    // command needs a step-up at once.
    f.federated_user("olga", "owner", Some(&["pwd"])).await;
    f.desk.user("bob", "member");
    let (login, start) = f.login_sso(&[]);
    let to_app = f.browse_to_app(&start, "sub-olga").await;
    assert_eq!(at_loopback(&to_app).await.0, StatusCode::OK);
    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr:?}");
    let me = f.whoami();
    assert_eq!((me.username.as_str(), me.session.aal), ("olga", 1));

    // A provider sign-in with a password alone cannot confirm a change: refused, in one
    // line, and nothing reset.
    let mut refused = f.background(&["org", "reset-mfa", "bob"]);
    refused.line_after(
        "This change needs you to sign in again at your identity provider. Open this \
         address in a browser:",
    );
    let authorize = refused.next_line();
    let callback = f.idp.sign_in(&authorize, "sub-olga").await;
    let (_, to_app) = Browser::new().get(&callback).await;
    at_loopback(&to_app.unwrap()).await;
    let (code, stdout, stderr) = refused.finish();
    assert_eq!(code, 1, "{stdout}\n{stderr:?}");
    assert!(
        format!("{stderr:?}").contains("did not report a second factor"),
        "{stderr:?}"
    );
    // Her provider asks for a second factor now: the step-up confirms the change.
    f.idp
        .add_account_signing_in_with("sub-olga", claims("olga"), &["pwd", "otp"])
        .await;
    let mut reset = f.background(&["org", "reset-mfa", "bob"]);
    reset.line_after(
        "This change needs you to sign in again at your identity provider. Open this \
         address in a browser:",
    );
    let authorize = reset.next_line();
    assert!(authorize.starts_with(&f.idp.issuer), "{authorize}");
    // The provider sends the browser to Twofold's callback, which sends it on to the
    // command (no cookie needed: the step-up was started over the API).
    let callback = f.idp.sign_in(&authorize, "sub-olga").await;
    let (status, to_app) = Browser::new().get(&callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = at_loopback(&to_app.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (code, stdout, stderr) = reset.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr:?}");
    assert!(stdout.starts_with("MFA of bob reset"), "{stdout}");
}
