//! The client commands as a person uses them: `twofold` in a real pseudo-terminal
//! (rexpect), against a real `twofold serve`, with mail read from the server's outbox or a
//! real SMTP server, TOTP codes from an independent implementation, and the QR code read
//! back from the characters the terminal showed.

mod admin;
mod factors;
mod json;
mod passkeys;
mod signin;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::PtySession;

use crate::support::{
    Finished, Server, TempDir, mailed_code, run, serve_cmd, totp_codes, twofold, twofold_detached,
};

#[path = "../../../../server/tests/api/mailbox.rs"]
#[allow(dead_code)]
mod mailbox;

pub const PASSWORD: &str = "correct horse battery staple";

/// A server, a person's configuration directory, and where the server's mail lands.
pub struct Desk {
    pub server: Server,
    pub data: TempDir,
    pub home: TempDir,
    sink: Option<mailbox::SmtpSink>,
}

impl Desk {
    /// A server whose mail goes to its outbox, with organisation `acme`.
    pub fn start() -> Desk {
        Desk::with(None, &[])
    }

    /// The same, the server's environment holding `env` too.
    pub fn start_with_env(env: &[(&str, &str)]) -> Desk {
        Desk::with(None, env)
    }

    /// A server that delivers its mail to a real SMTP server.
    pub fn with_smtp() -> Desk {
        let sink = mailbox::SmtpSink::start(mailbox::SinkOptions {
            tls: mailbox::SinkTls::None,
            auth: None,
            greylist: 0,
        });
        Desk::with(Some(sink), &[])
    }

    fn with(sink: Option<mailbox::SmtpSink>, env: &[(&str, &str)]) -> Desk {
        let data = TempDir::new();
        let mut cmd = serve_cmd(&data);
        cmd.envs(env.iter().copied());
        if let Some(s) = &sink {
            cmd.env("TWOFOLD_SMTP_HOST", "127.0.0.1")
                .env("TWOFOLD_SMTP_PORT", s.port.to_string())
                .env("TWOFOLD_SMTP_SECURITY", "none");
        }
        let server = Server::start(cmd);
        let desk = Desk {
            server,
            data,
            home: TempDir::new(),
            sink,
        };
        desk.operator(&["org", "create", "acme"], None);
        desk
    }

    /// An offline operator command on the server's database.
    pub fn operator(&self, args: &[&str], stdin: Option<&str>) -> Finished {
        let mut cmd = twofold();
        cmd.args(["--data-dir", &self.data.arg()]).args(args);
        let out = run(&mut cmd, stdin);
        assert!(out.status.success(), "{args:?}: {out:?}");
        out
    }

    /// Creates user `name` of `acme` (`name@example.com`) with [`PASSWORD`].
    pub fn user(&self, name: &str, role: &str) {
        let email = format!("{name}@example.com");
        self.operator(
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
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
    }

    /// `twofold ARGS` as this person runs it: their configuration directory, this server.
    pub fn command(&self, args: &[&str]) -> Command {
        self.configure(twofold(), args)
    }

    fn configure(&self, mut cmd: Command, args: &[&str]) -> Command {
        cmd.env("XDG_CONFIG_HOME", self.home.path())
            .env("TWOFOLD_URL", self.server.url(""))
            .env("TERM", "dumb")
            .args(args);
        cmd
    }

    /// `twofold ARGS` in a pseudo-terminal of its own.
    pub fn terminal(&self, args: &[&str]) -> Screen {
        let session = rexpect::session::spawn_command(self.command(args), Some(30_000))
            .expect("cannot start twofold in a pseudo-terminal");
        Screen {
            session,
            seen: String::new(),
        }
    }

    /// `twofold login` by a script: the password, and `code` if given, on stdin.
    pub fn sign_in(&self, user: &str, code: Option<&str>) {
        let mut args = vec![
            "login",
            "--org",
            "acme",
            "--username",
            user,
            "--password-stdin",
        ];
        let mut stdin = format!("{PASSWORD}\n");
        if let Some(code) = code {
            args.push("--code-stdin");
            stdin.push_str(&format!("{code}\n"));
        }
        let out = self.script(&args, Some(&stdin));
        assert!(out.status.success(), "{out:?}");
    }

    /// `twofold ARGS` without a terminal (a script), fed `stdin`. Started in a session of
    /// its own, so that it has no controlling terminal even when the tests run in one,
    /// where it would ask the developer's terminal for a password.
    pub fn script(&self, args: &[&str], stdin: Option<&str>) -> Finished {
        run(&mut self.configure(twofold_detached(), args), stdin)
    }

    fn mail_dir(&self) -> PathBuf {
        match &self.sink {
            Some(s) => s.out_dir(),
            None => self.data.join("outbox"),
        }
    }

    /// How many messages the server has delivered so far.
    pub fn mail_count(&self) -> usize {
        std::fs::read_dir(self.mail_dir())
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    /// The code in the newest message to `user` with `subject` delivered after the first
    /// `after` messages, waiting for its delivery (the mail queue sends it a moment later).
    pub fn code_mailed(&self, user: &str, subject: &str, after: usize) -> String {
        let to = format!("{user}@example.com");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.mail_count() > after
                && let Some(code) = mailed_code(&self.mail_dir(), &to, subject)
            {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "no mail {subject:?} to {to} arrived"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The kept sessions file.
    pub fn sessions_file(&self) -> PathBuf {
        self.home.join("twofold/sessions.json")
    }
}

/// The code of `secret` for the current time step plus `offset` steps.
pub fn totp(secret: &str, offset: i64) -> String {
    totp_codes(secret, &[offset]).remove(0).code
}

/// What a person sees and types in one pseudo-terminal.
pub struct Screen {
    pub session: PtySession,
    /// Everything shown so far, in order.
    pub seen: String,
}

impl Screen {
    /// Waits for `text`, failing with the screen so far if it does not come. Answers what
    /// was shown before it.
    pub fn expect(&mut self, text: &str) -> String {
        match self.session.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
                before
            }
            Err(e) => panic!(
                "waited for {text:?} ({e}); the screen so far:\n{}",
                self.seen
            ),
        }
    }

    pub fn type_line(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    /// Answers `prompt` with `line`.
    pub fn answer(&mut self, prompt: &str, line: &str) {
        self.expect(prompt);
        self.type_line(line);
    }

    /// Waits for the program to end, which must be a success.
    pub fn finish_ok(self) {
        let (status, screen) = self.finish();
        assert_eq!(status, 0, "{screen}");
    }

    /// Waits for the program to end; answers its exit status and the rest of its output.
    pub fn finish(mut self) -> (i32, String) {
        let rest = self.session.exp_eof().unwrap_or_default();
        self.seen.push_str(&rest);
        let status = self.session.process.wait().unwrap();
        match status {
            rexpect::process::wait::WaitStatus::Exited(_, code) => (code, self.seen),
            other => panic!("twofold did not exit normally: {other:?}\n{}", self.seen),
        }
    }
}

/// The QR code drawn in `screen` (half blocks, ANSI colours) read back into its modules and
/// decoded, as a phone camera would decode the picture: answers what it encodes.
pub fn read_terminal_qr(screen: &str) -> String {
    let screen = &as_utf8(screen);
    let lines: Vec<String> = screen
        .lines()
        .map(strip_ansi)
        .filter(|l| l.chars().any(|c| matches!(c, '█' | '▀' | '▄')))
        .collect();
    assert!(!lines.is_empty(), "no QR code on the screen:\n{screen}");
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap();
    // Each character is two modules, one above the other; 4 pixels a module, and a white
    // margin around it all.
    const PX: usize = 4;
    let margin = 4 * PX;
    let (w, h) = (width * PX + 2 * margin, lines.len() * 2 * PX + 2 * margin);
    let mut dark = vec![false; width * lines.len() * 2];
    for (row, line) in lines.iter().enumerate() {
        for (col, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            dark[(2 * row) * width + col] = top;
            dark[(2 * row + 1) * width + col] = bottom;
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        if x < margin || y < margin || x >= w - margin || y >= h - margin {
            return 255;
        }
        let (mx, my) = ((x - margin) / PX, (y - margin) / PX);
        if dark[my * width + mx] { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "expected one QR code on the screen:\n{screen}"
    );
    grids[0].decode().expect("the QR code does not decode").1
}

/// rexpect hands over each byte read as a `char`: the UTF-8 of the block characters comes
/// back as several Latin-1 ones. Reassembled here.
fn as_utf8(seen: &str) -> String {
    let bytes: Option<Vec<u8>> = seen.chars().map(|c| u8::try_from(c).ok()).collect();
    match bytes {
        Some(b) => String::from_utf8_lossy(&b).into_owned(),
        None => seen.to_owned(),
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-byte.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// The `secret` of an `otpauth://` URI.
pub fn secret_of(uri: &str) -> String {
    uri.split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap()
        .to_owned()
}
