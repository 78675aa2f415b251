//! `twofold-load`: the command line over the `twofold_load` library.
//!
//! ```text
//! twofold-load prepare --users 1000 --out users.csv [--prefix load] [--period 30] [--password-cost fast|owasp]
//! twofold-load run <mfa-step|sign-in|wrong-codes|storm|hello> --users-file users.csv [--url …] [--json] …
//! twofold-load hello [--listen 127.0.0.1:8081]
//! twofold-load argon2-baseline [--duration 5s]
//! ```
//!
//! Exit codes: 0 done; 1 a check failed (wrong codes over the lockout budget, or accepted);
//! 2 a usage or setup error, printed as one line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use twofold_load::scenario::{self, RunConfig, Scenario};
use twofold_load::units::parse_duration;
use twofold_load::users::{self, PasswordCost, PrepareOptions};
use twofold_load::{baseline, hello, target};

#[derive(Parser)]
#[command(
    name = "twofold-load",
    version,
    about = "Drives a running Twofold server over loopback HTTP like many clients, and measures it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a users CSV for `twofold user import`: one shared known password (hashed once)
    /// and a fresh TOTP secret per user.
    Prepare {
        /// How many users.
        #[arg(long)]
        users: usize,
        /// Where to write the CSV (it holds every user's TOTP secret).
        #[arg(long)]
        out: PathBuf,
        /// Usernames are <prefix>-000001, ….
        #[arg(long, default_value = "load")]
        prefix: String,
        /// TOTP period in seconds; each user can verify once per period.
        #[arg(long, default_value_t = 30)]
        period: u64,
        /// `fast` (Argon2id m=8 KiB, t=1: for mfa-step; load populations only) or `owasp`
        /// (m=19456 KiB, t=2, as the server hashes: for sign-in and storm).
        #[arg(long, default_value_t = PasswordCost::Fast)]
        password_cost: PasswordCost,
    },
    /// Run a scenario against a running server and report throughput, latency, answers,
    /// and (with --server-pid) the server's CPU time and memory.
    Run(Box<RunArgs>),
    /// Serve GET / ("hello") and GET /healthz ("ok") with axum on a multi-thread runtime:
    /// the HTTP ceiling to compare with, pinned to the same core as the server.
    Hello {
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// Stop by itself after this long (or at Ctrl-C / SIGTERM).
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        max_duration: Duration,
    },
    /// Hash with Argon2id at the server's parameters (m=19456, t=2, p=1) back to back on
    /// one thread: the sign-in rate Argon2id alone allows per core.
    Argon2Baseline {
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// mfa-step, sign-in, wrong-codes, storm or hello.
    scenario: Scenario,
    /// The server's root URL; loopback only.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Another server of the same deployment (sharing the first one's database), given
    /// once per server: sign-ins and second steps go to each server in turn.
    #[arg(long, value_name = "URL")]
    also_url: Vec<String>,
    /// The organisation the users were imported into.
    #[arg(long, default_value = "load")]
    org: String,
    /// The CSV written by `prepare` (not needed for `hello`).
    #[arg(long)]
    users_file: Option<PathBuf>,
    /// Use N users of the file (the first N after --skip).
    #[arg(long)]
    users: Option<usize>,
    /// Leave out the first N users of the file: runs that follow each other can use users
    /// of their own (a user's TOTP step is accepted once; wrong-codes locks its users).
    #[arg(long, default_value_t = 0)]
    skip: usize,
    /// Concurrent workers of the measured phase.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Length of the measured phase at most.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Flows to prepare up front for mfa-step (default: one per user).
    #[arg(long)]
    flows: Option<usize>,
    /// Requests of the measured phase at most.
    #[arg(long, default_value_t = 10_000_000)]
    max_requests: u64,
    /// The server's process id: report its CPU time per request and its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A shell command to run through the measured phase only, such as
    /// `perf record -p PID -o FILE`: started just before the phase, sent SIGINT after it.
    #[arg(long, value_name = "COMMAND")]
    during: Option<String>,
    /// Write every request of the measured phase to this CSV (class, the time it was sent
    /// in microseconds since the Unix epoch, its latency in microseconds, its status).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// The path the hello scenario requests.
    #[arg(long, default_value = "/")]
    path: String,
    /// How long one request may take.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// An error and its exit code.
struct Failure(u8, anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(2, e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Failure(code, e)) => {
            eprintln!("twofold-load: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Prepare {
            users,
            out,
            prefix,
            period,
            password_cost,
        } => prepare(
            PrepareOptions {
                users,
                prefix,
                period,
                cost: password_cost,
            },
            &out,
        ),
        Command::Run(args) => run_scenario(*args),
        Command::Hello {
            listen,
            max_duration,
        } => serve_hello(listen, max_duration),
        Command::Argon2Baseline { duration, json } => {
            let report = baseline::argon2_baseline(duration, 1_000_000)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn prepare(opts: PrepareOptions, out: &std::path::Path) -> Result<ExitCode, Failure> {
    let list = users::generate_users(&opts)?;
    users::write_users_csv(out, &list)?;
    let (m, t, p) = opts.cost.params();
    println!(
        "wrote {} users to {} (password {:?}, Argon2id m={m},t={t},p={p}; TOTP period {} s)",
        list.len(),
        out.display(),
        users::LOAD_PASSWORD,
        opts.period
    );
    if opts.cost == PasswordCost::Fast {
        println!(
            "fast password hashes: for load populations only (they make the password step nearly free)"
        );
    }
    println!("next, with the server's data directory:");
    println!("  twofold --data-dir <dir> org create load   # if the organisation does not exist");
    println!(
        "  twofold --data-dir <dir> user import --org load {}",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_scenario(args: RunArgs) -> Result<ExitCode, Failure> {
    // Refuse a remote target before reading a large users file.
    target::loopback_url(&args.url)?;
    for url in &args.also_url {
        target::loopback_url(url)?;
    }
    let population = match (&args.users_file, args.scenario.needs_users()) {
        (Some(path), _) => {
            let limit = args.users.map(|n| n.saturating_add(args.skip));
            let mut all = users::read_users_csv(path, limit)?;
            if args.skip >= all.len() {
                return Err(Failure(
                    2,
                    anyhow::anyhow!(
                        "--skip {} leaves none of the {} users of {}",
                        args.skip,
                        all.len(),
                        path.display()
                    ),
                ));
            }
            all.drain(..args.skip);
            all
        }
        (None, false) => Vec::new(),
        (None, true) => {
            return Err(Failure(
                2,
                anyhow::anyhow!(
                    "scenario {} needs --users-file (written by `twofold-load prepare`)",
                    args.scenario
                ),
            ));
        }
    };
    let config = RunConfig {
        concurrency: args.concurrency,
        duration: args.duration,
        flows: args.flows,
        max_requests: args.max_requests,
        server_pid: args.server_pid,
        during: args.during,
        also: args.also_url,
        path: args.path,
        timeline: args.timeline,
        request_timeout: args.timeout,
        ..RunConfig::new(args.scenario, args.url, args.org, population)
    };
    // One thread: the tool is meant to be pinned to one core (taskset), where a
    // multi-thread runtime would only add cross-thread wake-ups.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = rt.block_on(scenario::run(config))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    if report.check_failed() {
        eprintln!(
            "twofold-load: the server evaluated more wrong codes than its lockout allows, or accepted one"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn serve_hello(listen: SocketAddr, max_duration: Duration) -> Result<ExitCode, Failure> {
    let listen = target::loopback_listen(listen)?;
    // Multi-thread, like `twofold serve`, so the ceiling is measured on the same runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "hello server listening on http://{addr} (stops after {} s, or at Ctrl-C)",
            max_duration.as_secs()
        );
        hello::serve(listener, stop_signal(max_duration)).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes at Ctrl-C, SIGTERM, or after `limit`, whichever is first.
async fn stop_signal(limit: Duration) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without the handler, Ctrl-C and the time limit still stop the server.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = tokio::time::sleep(limit) => {}
    }
}
