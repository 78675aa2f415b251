//! Asking the person at the terminal: visible answers (an organisation, a username, a
//! code) and hidden ones (a password, a recovery code), read from the controlling terminal
//! so that stdout and stdin stay free for scripts. For scripts, `--password-stdin` and
//! `--code-stdin` read standard input instead: the password from its first line, then a
//! code from each further line. Notices go to stderr.

use std::io::{BufRead, BufReader, Write};

use zeroize::Zeroizing;

use crate::failure::Failure;

pub struct Term {
    password_stdin: bool,
    code_stdin: bool,
    /// Standard input's lines, read on first need.
    stdin: Option<std::io::Lines<std::io::StdinLock<'static>>>,
    password_taken: bool,
    /// `--output json`: stderr holds the error object alone.
    quiet: bool,
}

impl Term {
    pub fn new(password_stdin: bool, code_stdin: bool, quiet: bool) -> Term {
        Term {
            password_stdin,
            code_stdin,
            stdin: None,
            password_taken: false,
            quiet,
        }
    }

    /// Says something to the person, on a line of its own: on the terminal, or on stderr
    /// when there is none (but not when stderr is kept for `--output json`'s error).
    pub fn say(&self, text: &str) {
        match tty() {
            Ok(mut t) => {
                let _ = writeln!(t, "{text}");
            }
            Err(_) if !self.quiet => eprintln!("{text}"),
            Err(_) => {}
        }
    }

    /// Tells the person something they must see to go on (an address to open in a
    /// browser): on the terminal, else on stderr, even with `--output json`.
    pub fn tell(&self, text: &str) {
        match tty() {
            Ok(mut t) => {
                let _ = writeln!(t, "{text}");
            }
            Err(_) => eprintln!("{text}"),
        }
    }

    /// Codes come from a script: a refused one ends the command instead of asking again.
    pub fn scripted(&self) -> bool {
        self.code_stdin
    }

    /// Whether there is a terminal to ask on.
    pub fn interactive(&self) -> bool {
        tty().is_ok()
    }

    /// Whether a password can be had, by asking or from stdin.
    pub fn can_ask_password(&self) -> bool {
        (self.password_stdin && !self.password_taken) || tty().is_ok()
    }

    fn stdin_line(&mut self, what: &str) -> Result<Zeroizing<String>, Failure> {
        let lines = self
            .stdin
            .get_or_insert_with(|| std::io::stdin().lock().lines());
        match lines.next() {
            Some(Ok(line)) => Ok(Zeroizing::new(line.trim_end_matches('\r').to_owned())),
            Some(Err(e)) => Err(Failure::new(
                "input_required",
                format!("cannot read {what} from standard input: {e}"),
            )),
            None => Err(Failure::new(
                "input_required",
                format!("no {what} left on standard input"),
            )),
        }
    }

    /// A visible answer from the terminal; `default` is taken on an empty line.
    pub fn ask(&mut self, label: &str, default: Option<&str>) -> Result<String, Failure> {
        let prompt = match default {
            Some(d) => format!("{label} [{d}]: "),
            None => format!("{label}: "),
        };
        loop {
            let flag = format!(
                "--{}",
                label.to_ascii_lowercase().replace("organisation", "org")
            );
            let answer = read_visible(&prompt, &label.to_ascii_lowercase(), &flag)?;
            let answer = answer.trim();
            if !answer.is_empty() {
                return Ok(answer.to_owned());
            }
            if let Some(d) = default {
                return Ok(d.to_owned());
            }
        }
    }

    /// The password: stdin's first line with `--password-stdin`, else asked without echo.
    pub fn password(&mut self, label: &str) -> Result<Zeroizing<String>, Failure> {
        if self.password_stdin && !self.password_taken {
            self.password_taken = true;
            let line = self.stdin_line("password")?;
            if line.is_empty() {
                return Err(Failure::new(
                    "input_required",
                    "--password-stdin: the first line of standard input is empty",
                ));
            }
            return Ok(line);
        }
        tty().map_err(|_| no_terminal("password", "--password-stdin"))?;
        let answer = rpassword::prompt_password(format!("{label}: ")).map_err(|e| {
            Failure::new("input_required", format!("cannot read the password: {e}"))
        })?;
        Ok(Zeroizing::new(answer))
    }

    /// A code: the next stdin line with `--code-stdin`, else asked (visibly, unless
    /// `hidden`: a recovery code lasts until used, an app's code 30 seconds).
    pub fn code(&mut self, prompt: &str, hidden: bool) -> Result<Zeroizing<String>, Failure> {
        if self.code_stdin {
            if self.password_stdin && !self.password_taken {
                // The password comes first on stdin, even when it is not needed.
                self.password_taken = true;
                drop(self.stdin_line("password")?);
            }
            return self.stdin_line("code");
        }
        tty().map_err(|_| no_terminal("code", "--code-stdin"))?;
        if hidden {
            let answer = rpassword::prompt_password(prompt).map_err(|e| {
                Failure::new("input_required", format!("cannot read the code: {e}"))
            })?;
            return Ok(Zeroizing::new(answer));
        }
        Ok(Zeroizing::new(read_visible(
            prompt,
            "code",
            "--code-stdin",
        )?))
    }
}

fn no_terminal(what: &str, flag: &str) -> Failure {
    Failure::new(
        "input_required",
        format!("the {what} is needed and there is no terminal to ask for it: use {flag}"),
    )
}

/// The controlling terminal, for prompts that must not mix with stdout.
fn tty() -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
}

fn read_visible(prompt: &str, what: &str, flag: &str) -> Result<String, Failure> {
    let mut tty = tty().map_err(|_| no_terminal(what, flag))?;
    tty.write_all(prompt.as_bytes())
        .and_then(|()| tty.flush())
        .map_err(|e| Failure::new("input_required", format!("cannot ask for the {what}: {e}")))?;
    let mut line = String::new();
    let n = BufReader::new(tty)
        .read_line(&mut line)
        .map_err(|e| Failure::new("input_required", format!("cannot read the {what}: {e}")))?;
    if n == 0 {
        return Err(Failure::new(
            "input_required",
            format!("no {what} given (end of input)"),
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
