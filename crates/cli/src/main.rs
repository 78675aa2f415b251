//! `twofold`: one binary that runs the server and talks to it, as `vault server` and
//! `vault login` do. Two kinds of command, kept apart in folders, flags and `--help`:
//!
//! - `remote/`: the commands that talk to a Twofold server over its API as the signed-in
//!   user (`login`, `mfa`, `org mfa enable`, …), through `twofold-client`;
//! - `database/`: the commands that open the database directly, for the operator on the
//!   server's machine (`serve`, `org create`, `user …`, `oidc …`, `secret-key`).
//!
//! Exit codes: 0 success, 1 the command failed, 2 bad configuration or usage. Errors are
//! one line on stderr naming the problem (a JSON object with `--output json`).

mod args;
mod clock;
mod database;
mod failure;
mod log_writer;
mod logging;
mod output;
mod remote;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command, OrgCommand};
use database::Offline;
use failure::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let out = cli.output;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => ExitCode::from(f.report(out)),
    }
}

/// A command line clap refused: its own text for people (and `--help`, `--version`), one
/// JSON line with `--output json`.
fn usage_error(e: clap::Error) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json");
    if !json || !e.use_stderr() {
        e.exit();
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad usage");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    ExitCode::from(Failure::usage(message).report(args::Output::Json))
}

fn run(cli: Cli) -> Result<(), Failure> {
    let Cli {
        database: before,
        output,
        command,
    } = cli;
    let offline = match command {
        Command::Serve {
            listen,
            public_url,
            log_format,
            database,
        } => Offline::Serve {
            listen,
            public_url,
            log_format,
            database,
        },
        Command::Org(OrgCommand::Create {
            slug,
            name,
            database,
        }) => Offline::CreateOrg {
            slug,
            name,
            database,
        },
        Command::User(u) => Offline::User(u),
        Command::Oidc(o) => Offline::Oidc(o),
        Command::SecretKey(k) => Offline::SecretKey(k),
        Command::Backup { file, database } => Offline::Backup { file, database },
        Command::Restore(r) => Offline::Restore(r),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "twofold", &mut std::io::stdout());
            return Ok(());
        }
        server_command => {
            if !before.is_empty() {
                return Err(Failure::usage(
                    "--data-dir and --database-url are for the commands that open the \
                     database; this one talks to a server: give --server URL (or TWOFOLD_URL)",
                ));
            }
            return remote::run(server_command, output);
        }
    };
    database::run(offline, before, output)
}
