//! `twofold`: runs the server (`serve`) and the offline admin commands, which open the same
//! database directly and work while a server is running on it (including the break-glass
//! ones, `user reset-mfa | unlock | set-password`, for when no admin can sign in).
//!
//! Exit codes: 0 success, 1 the command failed, 2 bad configuration or usage. Errors are
//! one line on stderr naming the problem.

mod break_glass;
mod import;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use twofold_server::config::{Environment, LogFormat};
use twofold_server::domain::users::{NewUser, Role};
use twofold_server::{Application, Config, Flags, SystemClock, Twofold};

#[derive(Parser)]
#[command(
    name = "twofold",
    version,
    about = "Self-hosted multi-factor authentication server"
)]
struct Cli {
    /// Where Twofold keeps its state [env: TWOFOLD_DATA_DIR] [default: ./twofold-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// postgres://… to share one database between servers [env: TWOFOLD_DATABASE_URL]
    /// [default: SQLite in the data directory]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [env: TWOFOLD_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the key that encrypts TOTP secrets at rest.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation; prints its id.
    Create {
        /// Short name used to sign in: lower-case letters, digits and '-'.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints the new user's id.
    Create(UserCreate),
    /// Import users from a CSV file with the columns
    /// `username,email,role,password_hash_or_password,totp_uri` (header line optional).
    ///
    /// The password column takes an Argon2, scrypt (PHC format) or bcrypt ($2b$…) hash,
    /// or a plain password to hash; `totp_uri` takes the user's existing `otpauth://`
    /// entry. Every row is checked first: if any is bad, each is reported with its line
    /// number and nothing is imported.
    Import {
        #[arg(long)]
        org: String,
        /// Check the file and report bad rows; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The CSV file, or `-` for standard input.
        file: PathBuf,
    },
    /// List an organisation's users with their MFA status and any lock.
    #[command(after_help = "Example: twofold user list --org acme")]
    List {
        #[arg(long)]
        org: String,
        /// `table` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Break-glass: remove all of a user's second factors, end their sessions and clear
    /// any lock (a lost phone, when no admin can sign in). The user is mailed and enrols
    /// again at their next sign-in. Audited as done by the operator.
    #[command(after_help = "Example: twofold user reset-mfa --org acme --username alice")]
    ResetMfa {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
    },
    /// Break-glass: clear a user's second-factor lock and the wait on their password.
    /// Audited as done by the operator.
    #[command(after_help = "Example: twofold user unlock --org acme --username alice")]
    Unlock {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
    },
    /// Break-glass: set a user's password, read from standard input. Their sessions and
    /// remembered devices end and they are mailed. Audited as done by the operator.
    #[command(
        after_help = "Example: printf '%s\\n' 'a new passphrase' | twofold user set-password --org acme --username alice --password-stdin"
    )]
    SetPassword {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        /// Read the password from standard input (one line); required: a password is
        /// never taken as an argument, where the process list and the shell history
        /// would keep it.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Args)]
struct UserCreate {
    #[arg(long)]
    org: String,
    #[arg(long)]
    username: String,
    #[arg(long)]
    email: String,
    #[arg(long, value_enum, default_value_t = RoleArg::Member)]
    role: RoleArg,
    /// Signs in through the organisation's identity provider: no password, no TOTP here.
    #[arg(long)]
    federated: bool,
    /// Read the password from standard input (one line).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Owner,
    Admin,
    Member,
}

#[derive(Subcommand)]
enum SecretKeyCommand {
    /// Print a new random key for TWOFOLD_SECRET_KEY (give the same one to every server
    /// sharing a PostgreSQL database).
    Generate,
}

/// A failure and the exit code it deserves.
pub(crate) struct Failure(u8, String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(1, e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("twofold: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::SecretKey(SecretKeyCommand::Generate) = cli.command {
        let key = twofold_server::crypto::secret_box::SecretKey::generate_text()?;
        println!("{}", key.as_str());
        return Ok(());
    }
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let flags = Flags {
        data_dir: cli.data_dir,
        listen,
        database_url: cli.database_url,
    };
    let config = Config::load(&flags, &Environment::from_process())
        .map_err(|e| Failure(2, e.to_string()))?;
    init_logging(
        config.log_format,
        matches!(cli.command, Command::Serve { .. }),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve(config).await,
            Command::Org(OrgCommand::Create { slug, name }) => {
                let tf = open(&config).await?;
                println!("{}", tf.create_org(&slug, name.as_deref()).await?);
                Ok(())
            }
            Command::User(UserCommand::Create(u)) => {
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
                println!("{id}");
                Ok(())
            }
            Command::User(UserCommand::Import { org, dry_run, file }) => {
                // Importing authenticator entries seals their secrets, so a real import
                // needs the server's key (like `serve`); a dry run touches no secret.
                let tf = if dry_run {
                    open(&config).await?
                } else {
                    let mut config = config;
                    // An offline command may use every core for plain passwords' hashes.
                    config.security.password_hash_concurrency =
                        std::thread::available_parallelism().map_or(1, |n| n.get());
                    twofold_server::open(&config, Arc::new(SystemClock)).await?
                };
                import::import(&tf, &org, &file, dry_run).await
            }
            Command::User(UserCommand::List { org, output }) => {
                let tf = open(&config).await?;
                break_glass::list(&tf, &org, output == Output::Json).await
            }
            Command::User(UserCommand::ResetMfa { org, username }) => {
                let tf = open(&config).await?;
                let (factors, sessions) = tf
                    .operator_reset_mfa(&org, &username, &break_glass::operator())
                    .await?;
                println!(
                    "reset {username}: {factors} factor(s) removed, {sessions} session(s) ended; \
                     they enrol again at their next sign-in"
                );
                break_glass::deliver_mail(&tf).await;
                Ok(())
            }
            Command::User(UserCommand::Unlock { org, username }) => {
                let tf = open(&config).await?;
                let had = tf
                    .operator_unlock(&org, &username, &break_glass::operator())
                    .await?;
                println!(
                    "unlocked {username}{}",
                    if had { "" } else { " (there was no lock)" }
                );
                Ok(())
            }
            Command::User(UserCommand::SetPassword { org, username, .. }) => {
                let password = read_password()?;
                let tf = open(&config).await?;
                let (sessions, devices) = tf
                    .operator_set_password(&org, &username, password, &break_glass::operator())
                    .await?;
                println!(
                    "password of {username} set; {sessions} session(s) ended, {devices} \
                     remembered device(s) forgotten"
                );
                break_glass::deliver_mail(&tf).await;
                Ok(())
            }
            Command::SecretKey(_) => Ok(()),
        }
    })
}

async fn open(config: &Config) -> Result<Twofold, Failure> {
    Ok(twofold_server::open_for_admin(config, Arc::new(SystemClock)).await?)
}

async fn serve(config: Config) -> Result<(), Failure> {
    let app = Application::build(&config, Arc::new(SystemClock)).await?;
    let stop = twofold_server::shutdown_signal();
    tracing::info!(
        url = %format!("http://{}", app.local_addr()),
        database = app.twofold().engine_name(),
        data_dir = %config.data_dir.display(),
        "Twofold is listening on http://{}", app.local_addr()
    );
    app.run_until_stopped(stop).await?;
    Ok(())
}

/// One line from stdin, without its line ending.
fn read_password() -> Result<zeroize::Zeroizing<String>, Failure> {
    let mut buf = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut buf)?;
    let line = buf.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Failure(
            1,
            "--password-stdin: no password on standard input".into(),
        ));
    }
    Ok(zeroize::Zeroizing::new(line.to_owned()))
}

fn init_logging(format: LogFormat, verbose: bool) {
    use tracing_subscriber::EnvFilter;
    // sqlx reports harmless PostgreSQL notices ("already exists, skipping") at info.
    let default = if verbose { "info,sqlx=warn" } else { "warn" };
    let filter = EnvFilter::try_from_env("TWOFOLD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
