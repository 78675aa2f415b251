//! The commands that open the database directly: `serve`, `org create`, `user …` (the
//! operator's, including break-glass for when no admin can sign in), `oidc …` (an
//! organisation's identity providers) and `secret-key`.
//! They run on the server's machine, with its configuration, and never go through HTTP.

mod backup;
mod break_glass;
mod import;
mod oidc;
mod secret_key;

use std::io::Read;

use twofold_server::config::{Environment, LogFormat};
use twofold_server::domain::users::{NewUser, Role};
use twofold_server::{Application, Config, Flags, Twofold};

use crate::args::{Database, OidcCommand, Output, RoleArg, SecretKeyCommand, UserCommand};
use crate::failure::Failure;
use crate::output;

/// One of the commands of this module, with where its database is.
pub enum Offline {
    Serve {
        listen: Option<String>,
        public_url: Option<String>,
        /// `text` or `json` (clap checked it): replaces the configured format.
        log_format: Option<String>,
        database: Database,
    },
    CreateOrg {
        slug: String,
        name: Option<String>,
        database: Database,
    },
    User(UserCommand),
    Oidc(OidcCommand),
    SecretKey(SecretKeyCommand),
    Backup {
        file: std::path::PathBuf,
        database: Database,
    },
    Restore(crate::args::Restore),
}

impl Offline {
    /// The command's own `--data-dir` / `--database-url` (given after it).
    fn database(&mut self) -> Database {
        match self {
            Offline::User(
                UserCommand::Create(crate::args::UserCreate { database, .. })
                | UserCommand::Import { database, .. }
                | UserCommand::List { database, .. }
                | UserCommand::ResetMfa(crate::args::UserRef { database, .. })
                | UserCommand::Unlock(crate::args::UserRef { database, .. })
                | UserCommand::SetPassword {
                    user: crate::args::UserRef { database, .. },
                    ..
                },
            )
            | Offline::Oidc(
                OidcCommand::List { database, .. }
                | OidcCommand::Set(crate::args::OidcSet { database, .. })
                | OidcCommand::Remove { database, .. },
            )
            | Offline::Serve { database, .. }
            | Offline::CreateOrg { database, .. }
            | Offline::Backup { database, .. }
            | Offline::Restore(crate::args::Restore { database, .. }) => std::mem::take(database),
            Offline::SecretKey(
                SecretKeyCommand::Rotate { database } | SecretKeyCommand::Retire { database, .. },
            ) => std::mem::take(database),
            Offline::SecretKey(SecretKeyCommand::Generate) => Database::default(),
        }
    }
}

/// Runs `cmd`; `before` is the `--data-dir` / `--database-url` given before the command,
/// which the command's own override.
pub fn run(mut cmd: Offline, before: Database, out: Output) -> Result<(), Failure> {
    if let Offline::SecretKey(SecretKeyCommand::Generate) = cmd {
        let key = twofold_server::crypto::secret_box::SecretKey::generate_text()?;
        return output::print(out, &serde_json::json!({ "key": key.as_str() }), |_| {
            println!("{}", key.as_str());
        });
    }
    let db = cmd.database().or(before);
    let flags = Flags {
        data_dir: db.data_dir,
        listen: match &cmd {
            Offline::Serve { listen, .. } => listen.clone(),
            _ => None,
        },
        public_url: match &cmd {
            Offline::Serve { public_url, .. } => public_url.clone(),
            // Only for the redirect URI they print.
            Offline::Oidc(
                OidcCommand::List { public, .. }
                | OidcCommand::Set(crate::args::OidcSet { public, .. }),
            ) => public.public_url.clone(),
            _ => None,
        },
        database_url: db.database_url,
    };
    let mut config = Config::load(&flags, &Environment::from_process())
        .map_err(|e| Failure::usage(e.to_string()))?;
    if let Offline::Serve {
        log_format: Some(f),
        ..
    } = &cmd
    {
        config.log_format = f
            .parse()
            .map_err(|e| Failure::usage(format!("--log-format: {e}")))?;
    }
    // Dropped last: the lines logged until the end are written before the command ends.
    let _flush = init_logging(config.log_format, matches!(cmd, Offline::Serve { .. }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_in(cmd, config, out))
}

/// Prints a new id: the id alone, or `{"id": …}`.
fn print_id(out: Output, id: &str) -> Result<(), Failure> {
    output::print(out, &serde_json::json!({ "id": id }), |_| println!("{id}"))
}

async fn run_in(cmd: Offline, config: Config, out: Output) -> Result<(), Failure> {
    match cmd {
        Offline::Serve { .. } => serve(config).await,
        Offline::SecretKey(cmd) => secret_key::run(cmd, &config, out).await,
        Offline::CreateOrg { slug, name, .. } => {
            let tf = open(&config).await?;
            print_id(
                out,
                &tf.create_org(&slug, name.as_deref()).await?.to_string(),
            )
        }
        Offline::Oidc(cmd) => oidc::run(cmd, &config, out).await,
        Offline::Backup { file, .. } => backup::backup(&config, &file, out).await,
        Offline::Restore(r) => backup::restore(r, &config, out).await,
        Offline::User(UserCommand::Create(u)) => {
            let password = if u.password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let tf = open(&config).await?;
            let id = tf
                .create_user(NewUser {
                    org: u.org,
                    username: u.username,
                    email: u.email,
                    role: match u.role {
                        RoleArg::Owner => Role::Owner,
                        RoleArg::Admin => Role::Admin,
                        RoleArg::Member => Role::Member,
                    },
                    federated: u.federated,
                    password,
                })
                .await?;
            print_id(out, &id.to_string())
        }
        Offline::User(UserCommand::Import {
            org, dry_run, file, ..
        }) => {
            // Importing authenticator entries seals their secrets, so a real import
            // needs the server's key (like `serve`); a dry run touches no secret.
            let tf = if dry_run {
                open(&config).await?
            } else {
                let mut config = config;
                // An offline command may use every core for plain passwords' hashes.
                config.security.password_hash_concurrency =
                    std::thread::available_parallelism().map_or(1, |n| n.get());
                twofold_server::open(&config, crate::clock::clock()).await?
            };
            import::import(&tf, &org, &file, dry_run, out).await
        }
        Offline::User(UserCommand::List { org, .. }) => {
            let tf = open(&config).await?;
            break_glass::list(&tf, &org, out).await
        }
        Offline::User(UserCommand::ResetMfa(u)) => {
            let tf = open(&config).await?;
            let (factors, sessions) = tf
                .operator_reset_mfa(&u.org, &u.username, &break_glass::operator())
                .await?;
            break_glass::deliver_mail(&tf).await;
            let result = serde_json::json!({
                "username": u.username, "factors_removed": factors, "sessions_ended": sessions,
            });
            output::print(out, &result, |_| {
                println!(
                    "reset {}: {factors} factor(s) removed, {sessions} session(s) ended; \
                     they enrol again at their next sign-in",
                    u.username
                );
            })
        }
        Offline::User(UserCommand::Unlock(u)) => {
            let tf = open(&config).await?;
            let had = tf
                .operator_unlock(&u.org, &u.username, &break_glass::operator())
                .await?;
            let result = serde_json::json!({ "username": u.username, "was_locked": had });
            output::print(out, &result, |_| {
                let none = if had { "" } else { " (there was no lock)" };
                println!("unlocked {}{none}", u.username);
            })
        }
        Offline::User(UserCommand::SetPassword { user: u, .. }) => {
            let password = read_password()?;
            let tf = open(&config).await?;
            let (sessions, devices) = tf
                .operator_set_password(&u.org, &u.username, password, &break_glass::operator())
                .await?;
            break_glass::deliver_mail(&tf).await;
            let result = serde_json::json!({
                "username": u.username, "sessions_ended": sessions, "devices_forgotten": devices,
            });
            output::print(out, &result, |_| {
                println!(
                    "password of {} set; {sessions} session(s) ended, {devices} \
                     remembered device(s) forgotten",
                    u.username
                );
            })
        }
    }
}

async fn open(config: &Config) -> Result<Twofold, Failure> {
    Ok(twofold_server::open_for_admin(config, crate::clock::clock()).await?)
}

async fn serve(config: Config) -> Result<(), Failure> {
    let app = Application::build(&config, crate::clock::clock()).await?;
    let stop = twofold_server::shutdown_signal();
    tracing::info!(
        url = %format!("http://{}", app.local_addr()),
        public_url = %config.public_url_for(app.local_addr()),
        database = app.twofold().engine_name(),
        data_dir = %config.data_dir.display(),
        "Twofold is listening on http://{}", app.local_addr()
    );
    if let Some(at) = app.metrics_addr() {
        tracing::info!(url = %format!("http://{at}/metrics"), "metrics for Prometheus at http://{at}/metrics");
    }
    app.run_until_stopped(stop).await?;
    Ok(())
}

/// The password, from stdin's first line (`--password-stdin`).
fn read_password() -> Result<zeroize::Zeroizing<String>, Failure> {
    read_stdin_line("--password-stdin", "password")
}

/// One line from stdin (its first), without its line ending: a secret given with `flag`.
fn read_stdin_line(flag: &str, what: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    let mut buf = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut buf)?;
    let line = buf.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Failure::new(
            "input_required",
            format!("{flag}: no {what} on standard input"),
        ));
    }
    Ok(zeroize::Zeroizing::new(line.to_owned()))
}

/// Starts logging to standard error, through the writing thread of `log_writer` when it
/// starts; answers what waits for the last lines.
fn init_logging(format: LogFormat, verbose: bool) -> Option<crate::log_writer::Flush> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    // sqlx reports harmless PostgreSQL notices ("already exists, skipping") at info.
    let default = if verbose { "info,sqlx=warn" } else { "warn" };
    let filter = EnvFilter::try_from_env("TWOFOLD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let (writer, flush) = match crate::log_writer::start() {
        Some((writer, flush)) => (BoxMakeWriter::new(writer), Some(flush)),
        None => (BoxMakeWriter::new(std::io::stderr), None),
    };
    let builder = builder.with_writer(writer);
    match format {
        LogFormat::Json => builder
            .event_format(crate::logging::Json)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .init(),
        LogFormat::Text => builder.init(),
    }
    flush
}
