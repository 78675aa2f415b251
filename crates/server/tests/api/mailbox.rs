//! Reading the mail a test server sent: from its `.eml` outbox, or from a real SMTP
//! server (`tests/support/smtp_sink.py`, aiosmtpd) running as its own process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use twofold_server::config::{SmtpConfig, SmtpSecurity};

/// The SMTP server's script and requirements. Spelt through `../server` so that the CLI's
/// tests, which include this file too, find them from their own crate.
const SUPPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/support");

/// One message as received, parsed as MIME.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: String,
    pub from: String,
    pub subject: String,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part.
    pub html: String,
    /// The SMTP envelope and session (SMTP only): `rcpt_tos`, `tls`, `auth_login`.
    pub envelope: serde_json::Value,
}

impl Received {
    pub fn parse(raw: &[u8], envelope: serde_json::Value) -> Received {
        let m = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("not a MIME message");
        let addr = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned()
        };
        Received {
            to: addr(m.to()),
            from: addr(m.from()),
            subject: m.subject().unwrap_or_default().to_owned(),
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
            envelope,
        }
    }

    /// The 6-digit code after "Your code: ".
    pub fn code(&self) -> String {
        let rest = self
            .text
            .split("Your code: ")
            .nth(1)
            .expect("no code in the mail");
        rest[..6].to_owned()
    }
}

/// Every `.eml` in `dir` (sorted by name), each with its `.json` envelope if any.
pub fn read_dir(dir: &Path) -> Vec<Received> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let envelope = std::fs::read(f.with_extension("json"))
                .map(|j| serde_json::from_slice(&j).unwrap())
                .unwrap_or(serde_json::Value::Null);
            Received::parse(&std::fs::read(f).unwrap(), envelope)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkTls {
    None,
    StartTls,
    Implicit,
}

/// How the SMTP server behaves.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    pub tls: SinkTls,
    /// Require AUTH with these credentials.
    pub auth: Option<(&'static str, &'static str)>,
    /// Answer the first N messages with 451.
    pub greylist: u32,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            tls: SinkTls::StartTls,
            auth: Some(("twofold", "smtp-secret-password")),
            greylist: 0,
        }
    }
}

/// A Python with aiosmtpd (tests/support/requirements.txt) for the SMTP server:
/// `TWOFOLD_TEST_SMTP_PYTHON` if set, else a virtual environment made once under the
/// build's temporary directory from the pinned requirements, and reused by later runs
/// (it is made again when the requirements change). Needs `python3` and PyPI.
fn smtp_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Ok(p) = std::env::var("TWOFOLD_TEST_SMTP_PYTHON") {
                return PathBuf::from(p);
            }
            let requirements = Path::new(SUPPORT).join("requirements.txt");
            let pinned = std::fs::read(&requirements).unwrap();
            let digest = {
                use sha2::Digest;
                let d = sha2::Sha256::digest(&pinned);
                data_encoding::HEXLOWER.encode(&d[..8])
            };
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("smtp-venv-{digest}"));
            let python = venv.join("bin/python");
            // Test binaries (and runs) may start at once: one makes it, the others wait.
            std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).unwrap();
            let lock = std::fs::File::create(venv.with_extension("lock")).unwrap();
            lock.lock().unwrap();
            let ready = venv.join(".ready");
            if !ready.exists() {
                eprintln!(
                    "installing aiosmtpd for the mail tests into {}",
                    venv.display()
                );
                let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
                assert!(
                    ok(Command::new("python3")
                        .args(["-m", "venv", "--clear"])
                        .arg(&venv)),
                    "python3 -m venv failed: the mail tests need python3 with venv"
                );
                assert!(
                    ok(Command::new(&python)
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check"
                        ])
                        .args(["--no-input", "-r"])
                        .arg(&requirements)),
                    "installing aiosmtpd from PyPI failed (see above)"
                );
                std::fs::write(&ready, b"").unwrap();
            }
            python
        })
        .clone()
}

/// A real SMTP server on loopback, stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    pub options: SinkOptions,
    dir: PathBuf,
    child: Child,
    _stdin: ChildStdin,
}

impl SmtpSink {
    /// Starts the server, on the Python of [`smtp_python`].
    pub fn start(options: SinkOptions) -> SmtpSink {
        let dir =
            std::env::temp_dir().join(format!("twofold-smtp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        let python = smtp_python().display().to_string();
        let script = Path::new(SUPPORT).join("smtp_sink.py");
        let mut cmd = Command::new(&python);
        cmd.args(["-W", "ignore"])
            .arg(&script)
            .arg("--out")
            .arg(dir.join("out"))
            .arg("--certs")
            .arg(dir.join("certs"))
            .args(["--greylist", &options.greylist.to_string()])
            .args([
                "--tls",
                match options.tls {
                    SinkTls::None => "none",
                    SinkTls::StartTls => "starttls",
                    SinkTls::Implicit => "implicit",
                },
            ]);
        if let Some((user, password)) = options.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} for the SMTP server: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(port) = line.trim().strip_prefix("READY ") else {
            let status = child.wait().unwrap();
            panic!("the SMTP server did not start ({status}); see its message above");
        };
        SmtpSink {
            port: port.parse().unwrap(),
            options,
            dir,
            child,
            _stdin: stdin,
        }
    }

    /// The PEM of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("certs/ca.pem")).unwrap()
    }

    /// A configuration that delivers to this server as it expects (TLS, credentials,
    /// its CA trusted).
    pub fn smtp_config(&self) -> SmtpConfig {
        let tls = self.options.tls != SinkTls::None;
        SmtpConfig {
            host: "localhost".into(),
            port: self.port,
            security: match self.options.tls {
                SinkTls::None => SmtpSecurity::None,
                SinkTls::StartTls => SmtpSecurity::StartTls,
                SinkTls::Implicit => SmtpSecurity::Tls,
            },
            username: self.options.auth.map(|(u, _)| u.to_owned()),
            password: self.options.auth.map(|(_, p)| p.into()),
            ca_pem: tls.then(|| self.ca_pem()),
            timeout: Duration::from_secs(10),
        }
    }

    /// Where the messages it accepts are kept.
    pub fn out_dir(&self) -> PathBuf {
        self.dir.join("out")
    }

    /// Every message the server accepted, oldest first.
    pub fn received(&self) -> Vec<Received> {
        read_dir(&self.dir.join("out"))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
