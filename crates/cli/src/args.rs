//! The command line: every command, its flags and its `--help`. Two kinds of command live
//! side by side and never take each other's flags: those that **talk to a Twofold server**
//! over its API (`--server`), as any user may, and those that **open the database
//! directly** (`--data-dir`, `--database-url`), for the operator on the server's machine.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The top-level help lists the commands in their two groups; clap has no per-subcommand
/// heading, so the list is written here (a unit test checks it names every command).
const TOP_HELP: &str = "\
{before-help}{about-with-newline}
{usage-heading} {usage}

Commands that talk to a Twofold server (--server URL or TWOFOLD_URL; your own session):
  login           Sign in: asks for your password and a code (or, with --sso, through
                  your organisation's identity provider in a browser), keeps the session
  logout          End the session and forget it
  whoami          Who you are signed in as, and how
  mfa             Your second factors: list, add-app, add-email, remove, prefer, show-qr,
                  regenerate
  recovery-codes  Your recovery codes: new, status
  sessions        Your sessions: list, end
  devices         Your remembered devices: list, forget
  org             Run your organisation: mfa, users, reset-mfa, unlock, audit
                  (and `org create`, which opens the database)

Commands that open the database directly (--data-dir / --database-url; on the server's
machine, as its operator; they work while the server runs):
  serve           Run the server
  org create      Create an organisation
  user            Users: create, import, and the break-glass list, reset-mfa, unlock,
                  set-password
  oidc            Identity providers (OpenID Connect) of an organisation: list, set,
                  remove
  secret-key      The key that encrypts TOTP secrets at rest
  backup          Copy the SQLite database into a new file (while servers run)
  restore         Put a backup back (servers stopped); codes used before stay refused

Other:
  completions     Print shell completions
  help            Print this message or the help of the given command

Options:
{options}{after-help}";

#[derive(Parser)]
#[command(
    name = "twofold",
    version,
    about = "Twofold: a self-hosted multi-factor authentication server, and its client",
    help_template = TOP_HELP,
    after_help = "Examples:\n  twofold serve\n  twofold login --server https://mfa.example.com --org acme\n  twofold mfa add-app\n  twofold --data-dir /var/lib/twofold user reset-mfa --org acme --username bob"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: Database,
    /// `text` for people, `json` for scripts (errors too, as one JSON line on stderr)
    #[arg(long, global = true, value_enum, default_value_t = Output::Text, help_heading = "Options")]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people (`table` is the same).
    #[value(alias = "table")]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Where the database is, for the commands that open it: given before the command
/// (`twofold --data-dir DIR user list`) or after it.
#[derive(Args, Clone, Debug, Default)]
#[command(
    next_help_heading = "Database (for serve, org create, user, oidc, secret-key, backup, restore)"
)]
pub struct Database {
    /// Where Twofold keeps its state [env: TWOFOLD_DATA_DIR] [default: ./twofold-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// postgres://… to share one database between servers [env: TWOFOLD_DATABASE_URL]
    /// [default: SQLite in the data directory]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl Database {
    /// The flags given after the command, else those given before it.
    pub fn or(self, before: Database) -> Database {
        Database {
            data_dir: self.data_dir.or(before.data_dir),
            database_url: self.database_url.or(before.database_url),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data_dir.is_none() && self.database_url.is_none()
    }
}

/// How a command that talks to a server reaches it, and where it reads secrets from.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Server")]
pub struct Remote {
    /// The Twofold server's address
    #[arg(
        long,
        global = true,
        env = "TWOFOLD_URL",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// Read the password from standard input (its first line) instead of asking
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Read codes from standard input (a line each, after the password) instead of asking
    #[arg(long, global = true)]
    pub code_stdin: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Sign in to a server: asks for what is missing (the password hidden), then a code
    /// from your preferred second factor, and keeps the session for the next commands.
    #[command(after_help = "\
Examples:
  twofold login --server https://mfa.example.com --org acme --username alice
  printf '%s\\n%s\\n' \"$PASSWORD\" \"$CODE\" | twofold login --org acme --username alice --password-stdin --code-stdin
  twofold login --org acme --sso okta

At the code prompt, type `email` to have a code mailed, `recovery` to use a recovery
code, or `app` to go back to your authenticator app. With --sso, open the address it
prints in a browser and sign in at the identity provider: the browser is sent back to
this command (on 127.0.0.1), which waits up to 5 minutes. The session is kept in
$XDG_CONFIG_HOME/twofold/sessions.json (mode 0600), never the password.")]
    Login(Login),
    /// End this server's session and forget it.
    #[command(after_help = "Example: twofold logout")]
    Logout(RemoteOnly),
    /// Who you are signed in as on this server, and how.
    #[command(after_help = "Example: twofold whoami --output json")]
    Whoami(RemoteOnly),
    /// Your second factors.
    Mfa(Mfa),
    /// Your recovery codes: one-use codes for when your phone and mailbox are out of reach.
    RecoveryCodes(RecoveryCodes),
    /// Your signed-in sessions.
    Sessions(Sessions),
    /// Devices where you chose to skip the second step for a while.
    Devices(Devices),
    /// Run your organisation (owners and admins), over the server's API; `org create`
    /// opens the database instead.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Run the server (opens the database).
    #[command(
        after_help = "Example: twofold --data-dir /var/lib/twofold serve --listen 0.0.0.0:8080"
    )]
    Serve {
        /// Address to listen on [env: TWOFOLD_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The origin people reach Twofold at, e.g. https://mfa.example.com (redirect URIs
        /// and passkeys hang off it) [env: TWOFOLD_PUBLIC_URL] [default: http://<listen>]
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Log lines as `text` (for people) or `json` (one object a line, with the
        /// request id, for log pipelines) [env: TWOFOLD_LOG_FORMAT] [default: text]
        #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
        log_format: Option<String>,
        #[command(flatten)]
        database: Database,
    },
    /// Manage users by opening the database directly (the operator's commands).
    #[command(subcommand)]
    User(UserCommand),
    /// An organisation's identity providers (OpenID Connect), by opening the database
    /// directly (the operator's commands; owners use the web console).
    #[command(subcommand)]
    Oidc(OidcCommand),
    /// Manage the key that encrypts TOTP secrets at rest.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// Copy the SQLite database into a new FILE while servers run (one consistent
    /// snapshot, mode 0600, never over an existing file) and say which secret keys the copy
    /// needs.
    #[command(
        after_help = "Example: twofold --data-dir /var/lib/twofold backup /var/backups/twofold/2026-05-01.db"
    )]
    Backup {
        /// The file to write; it must not exist
        file: PathBuf,
        #[command(flatten)]
        database: Database,
    },
    /// Put a backup back in place of the database, with every server stopped; codes
    /// accepted before the restore stay refused (authenticator apps' for a few minutes).
    #[command(after_help = "\
Examples:
  twofold --data-dir /var/lib/twofold restore /var/backups/twofold/2026-05-01.db
  twofold --database-url postgres://twofold@db/twofold restore --in-place

It prints when authenticator-app codes are accepted again: start the servers after that.")]
    Restore(Restore),
    /// Print the shell completion script for SHELL.
    #[command(after_help = "Example: twofold completions bash > /etc/bash_completion.d/twofold")]
    Completions { shell: clap_complete::Shell },
}

#[derive(Args)]
pub struct Restore {
    /// The backup to put back (a file `twofold backup` wrote)
    #[arg(required_unless_present = "in_place", conflicts_with = "in_place")]
    pub file: Option<PathBuf>,
    /// The database already holds the restored data (PostgreSQL after pg_restore, say):
    /// only refuse the codes accepted before and end what was in progress
    #[arg(long)]
    pub in_place: bool,
    #[command(flatten)]
    pub database: Database,
}

#[derive(Args)]
pub struct Login {
    /// The organisation (asked for if missing)
    #[arg(long)]
    pub org: Option<String>,
    /// Your username (asked for if missing)
    #[arg(long)]
    pub username: Option<String>,
    /// Sign in through the organisation's identity provider PROVIDER, in a browser,
    /// instead of with a password
    #[arg(long, value_name = "PROVIDER", conflicts_with = "username")]
    pub sso: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct RemoteOnly {
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct Mfa {
    #[command(subcommand)]
    pub command: MfaCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// A factor, by its id or its name.
#[derive(Args)]
pub struct FactorRef {
    /// The factor's id, or its name as `twofold mfa list` shows it
    pub factor: String,
}

#[derive(Subcommand)]
pub enum MfaCommand {
    /// List your factors.
    #[command(after_help = "Example: twofold mfa list")]
    List,
    /// Add an authenticator app: draws its QR code here, prints the key for typing, then
    /// asks for the first code.
    #[command(after_help = "Example: twofold mfa add-app --name \"Work phone\" --preferred")]
    AddApp {
        /// A name for your list (default \"Authenticator app\")
        #[arg(long)]
        name: Option<String>,
        /// Make it your preferred factor
        #[arg(long)]
        preferred: bool,
    },
    /// Add codes by email, to your address: asks for the code mailed to it.
    #[command(after_help = "Example: twofold mfa add-email")]
    AddEmail {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        preferred: bool,
    },
    /// Remove a factor: asks for a code from it (for a passkey, another second factor,
    /// unless you passed one in the last 10 minutes).
    #[command(after_help = "Example: twofold mfa remove \"Old phone\"")]
    Remove(FactorRef),
    /// Rename a factor (any kind: an app, email, a passkey).
    #[command(after_help = "Example: twofold mfa rename Passkey \"Blue YubiKey\"")]
    Rename {
        #[command(flatten)]
        factor: FactorRef,
        /// Its new name: 1 to 64 printable characters
        new_name: String,
    },
    /// Make a factor the one asked for first at sign-in.
    #[command(after_help = "Example: twofold mfa prefer Email")]
    Prefer(FactorRef),
    /// Draw an app's QR code again, to add it to another device (if your organisation
    /// allows it).
    #[command(after_help = "Example: twofold mfa show-qr Phone")]
    ShowQr(FactorRef),
    /// Move an app to a new secret (a new or lost phone): draws the new QR code and asks
    /// for a code from it. The old secret works until then.
    #[command(after_help = "Example: twofold mfa regenerate Phone")]
    Regenerate(FactorRef),
}

#[derive(Args)]
pub struct RecoveryCodes {
    #[command(subcommand)]
    pub command: RecoveryCommand,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand)]
pub enum RecoveryCommand {
    /// Make ten new codes, shown once; the old ones stop working.
    #[command(after_help = "Example: twofold recovery-codes new")]
    New,
    /// How many unused codes are left.
    #[command(after_help = "Example: twofold recovery-codes status")]
    Status,
}

#[derive(Args)]
pub struct Sessions {
    #[command(subcommand)]
    pub command: Option<SessionsCommand>,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// List your sessions (the default).
    #[command(after_help = "Example: twofold sessions list")]
    List,
    /// End one session, or every one but this with --others.
    #[command(
        after_help = "Examples:\n  twofold sessions end 0193a5c2-…\n  twofold sessions end --others"
    )]
    End {
        /// The session's id, as `twofold sessions` shows it
        #[arg(required_unless_present = "others", conflicts_with = "others")]
        id: Option<String>,
        /// Every session but this one
        #[arg(long)]
        others: bool,
    },
}

#[derive(Args)]
pub struct Devices {
    #[command(subcommand)]
    pub command: Option<DevicesCommand>,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand)]
pub enum DevicesCommand {
    /// List your remembered devices (the default).
    #[command(after_help = "Example: twofold devices list")]
    List,
    /// Forget a device: its next sign-in asks for a second factor again.
    #[command(after_help = "Example: twofold devices forget 0193a5c2-…")]
    Forget { id: String },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organisation; prints its id. Opens the database directly.
    #[command(
        after_help = "Example: twofold --data-dir /var/lib/twofold org create acme --name \"Acme Corp\""
    )]
    Create {
        /// Short name used to sign in: lower-case letters, digits and '-'.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        database: Database,
    },
    /// Require MFA in your organisation, or stop requiring it.
    Mfa(OrgMfa),
    /// Your organisation's users with their MFA status.
    #[command(after_help = "Example: twofold org users")]
    Users(RemoteOnly),
    /// Remove all of a user's second factors and end their sessions (a lost phone); they
    /// enrol again at their next sign-in.
    #[command(after_help = "Example: twofold org reset-mfa bob")]
    ResetMfa(OrgUserRef),
    /// Clear a user's second-factor lock.
    #[command(after_help = "Example: twofold org unlock bob")]
    Unlock(OrgUserRef),
    /// The organisation's security events, newest first.
    #[command(
        after_help = "Examples:\n  twofold org audit --limit 20\n  twofold org audit --user bob --event mfa"
    )]
    Audit {
        /// How many events (1 to 500)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        /// Only the events this username did or that concern them
        #[arg(long)]
        user: Option<String>,
        /// Only this event (`mfa.reset`) or area (`mfa`)
        #[arg(long)]
        event: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Args)]
pub struct OrgUserRef {
    /// The user's username
    pub user: String,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct OrgMfa {
    #[command(subcommand)]
    pub command: OrgMfaCommand,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand)]
pub enum OrgMfaCommand {
    /// Whether MFA is required, since when and by whom.
    #[command(after_help = "Example: twofold org mfa status")]
    Status,
    /// Require a second factor of every user (federated users aside).
    #[command(
        after_help = "Examples:\n  twofold org mfa enable --keep-sessions --grace-days 7\n  twofold org mfa enable --invalidate-sessions"
    )]
    Enable {
        /// End every session of the organisation now, yours too: everyone signs in again
        /// and meets the requirement
        #[arg(
            long,
            required_unless_present = "keep_sessions",
            conflicts_with = "keep_sessions"
        )]
        invalidate_sessions: bool,
        /// Let open sessions run until they expire
        #[arg(long)]
        keep_sessions: bool,
        /// Days (0 to 30) users without a factor may still sign in
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=30))]
        grace_days: Option<u32>,
    },
    /// Stop requiring MFA: asks for the code mailed to you.
    #[command(after_help = "Example: twofold org mfa disable")]
    Disable,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; prints the new user's id.
    #[command(
        after_help = "Example: echo 'a long passphrase' | twofold user create --org acme --username alice --email alice@example.com --role admin --password-stdin"
    )]
    Create(UserCreate),
    /// Import users from a CSV file with the columns
    /// `username,email,role,password_hash_or_password,totp_uri` (header line optional).
    ///
    /// The password column takes an Argon2, scrypt (PHC format) or bcrypt ($2b$…) hash,
    /// or a plain password to hash; `totp_uri` takes the user's existing `otpauth://`
    /// entry. Every row is checked first: if any is bad, each is reported with its line
    /// number and nothing is imported.
    #[command(after_help = "Example: twofold user import --org acme --dry-run users.csv")]
    Import {
        #[arg(long)]
        org: String,
        /// Check the file and report bad rows; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The CSV file, or `-` for standard input.
        file: PathBuf,
        #[command(flatten)]
        database: Database,
    },
    /// Break-glass: list an organisation's users with their MFA status and any lock.
    #[command(after_help = "Example: twofold user list --org acme")]
    List {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        database: Database,
    },
    /// Break-glass: remove all of a user's second factors, end their sessions and clear
    /// any lock (a lost phone, when no admin can sign in). The user is mailed and enrols
    /// again at their next sign-in. Audited as done by the operator.
    #[command(after_help = "Example: twofold user reset-mfa --org acme --username alice")]
    ResetMfa(UserRef),
    /// Break-glass: clear a user's second-factor lock and the wait on their password.
    /// Audited as done by the operator.
    #[command(after_help = "Example: twofold user unlock --org acme --username alice")]
    Unlock(UserRef),
    /// Break-glass: set a user's password, read from standard input. Their sessions and
    /// remembered devices end and they are mailed. Audited as done by the operator.
    #[command(
        after_help = "Example: printf '%s\\n' 'a new passphrase' | twofold user set-password --org acme --username alice --password-stdin"
    )]
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        /// Read the password from standard input (one line); required: a password is
        /// never taken as an argument, where the process list and the shell history
        /// would keep it.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Args)]
pub struct UserRef {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub username: String,
    #[command(flatten)]
    pub database: Database,
}

#[derive(Args)]
pub struct UserCreate {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    #[arg(long, value_enum, default_value_t = RoleArg::Member)]
    pub role: RoleArg,
    /// Signs in through the organisation's identity provider: no password, no TOTP here.
    #[arg(long)]
    pub federated: bool,
    /// Read the password from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub database: Database,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Owner,
    Admin,
    Member,
}

#[derive(Subcommand)]
pub enum OidcCommand {
    /// List an organisation's identity providers, and the redirect URI to register at
    /// them.
    #[command(after_help = "Example: twofold --data-dir /var/lib/twofold oidc list acme")]
    List {
        /// The organisation's slug
        org: String,
        #[command(flatten)]
        public: PublicUrl,
        #[command(flatten)]
        database: Database,
    },
    /// Add or replace (whole) identity provider NAME: the options left out take their
    /// defaults, but for the client secret, which an existing provider keeps when
    /// --client-secret-stdin is not given. Prints the redirect URI to register at the
    /// provider. Audited as done by the operator.
    #[command(after_help = "\
Example:
  printf '%s\\n' \"$CLIENT_SECRET\" | twofold oidc set acme okta --issuer https://acme.okta.com \\
      --client-id 0oa1b2c3 --client-secret-stdin --allowed-domain acme.com")]
    Set(OidcSet),
    /// Remove identity provider NAME. Its users stay, but cannot sign in until a provider
    /// is configured again. Audited as done by the operator.
    #[command(after_help = "Example: twofold oidc remove acme okta")]
    Remove {
        /// The organisation's slug
        org: String,
        /// The provider's name
        name: String,
        #[command(flatten)]
        database: Database,
    },
}

/// The public URL the redirect URI hangs off, for the commands that print it.
#[derive(Args, Clone, Debug, Default)]
pub struct PublicUrl {
    /// The origin people reach Twofold at, as `serve` is given it, for the redirect URI
    /// shown [env: TWOFOLD_PUBLIC_URL] [default: http://<listen>]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Args)]
pub struct OidcSet {
    /// The organisation's slug
    pub org: String,
    /// The provider's name, in its sign-in URL: lowercase letters, digits and '-'
    pub name: String,
    /// The provider's issuer, exactly as its ID tokens say (https://…; plain http only
    /// on a loopback host)
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// The client id registered at the provider
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// Read the client secret from standard input (its first line); without it, an
    /// existing provider keeps its secret. Never taken as an argument, where the process
    /// list and the shell history would keep it.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// A scope to ask for besides `openid` (repeat it; default: profile, email)
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The ID token claim holding the username here [default: preferred_username]
    #[arg(long, value_name = "CLAIM")]
    pub username_claim: Option<String>,
    /// Only people with a verified email address at this domain may sign in (repeat it;
    /// default: any)
    #[arg(long = "allowed-domain", value_name = "DOMAIN")]
    pub allowed_domains: Vec<String>,
    /// Create unknown people at their first sign-in, as members (default: only users
    /// created beforehand may sign in)
    #[arg(long)]
    pub create_users: bool,
    /// Let password users link this provider to their account, by the same verified
    /// email
    #[arg(long)]
    pub link_by_email: bool,
    #[command(flatten)]
    pub public: PublicUrl,
    #[command(flatten)]
    pub database: Database,
}

#[derive(Subcommand)]
pub enum SecretKeyCommand {
    /// Print a new random key for TWOFOLD_SECRET_KEY (give the same one to every server
    /// sharing a PostgreSQL database).
    #[command(after_help = "Example: twofold secret-key generate > /etc/twofold/secret-key")]
    Generate,
    /// Re-seal every secret still sealed under an older key with the current key, while
    /// servers run. Takes the keys as `serve` does: the new key as TWOFOLD_SECRET_KEY and
    /// the old ones as TWOFOLD_SECRET_KEY_PREVIOUS (or <data-dir>/secret.key and
    /// secret.key.previous). Fails while any secret is left under another key.
    #[command(after_help = "\
Example:
  TWOFOLD_SECRET_KEY_FILE=/etc/twofold/secret-key \\
  TWOFOLD_SECRET_KEY_PREVIOUS_FILE=/etc/twofold/secret-key.previous \\
      twofold --database-url postgres://twofold@db/twofold secret-key rotate")]
    Rotate {
        #[command(flatten)]
        database: Database,
    },
    /// Take key ID out of service once `rotate` left nothing sealed under it: servers
    /// given it as their current key refuse to start from then on. Needs no key.
    #[command(
        after_help = "Example: twofold --data-dir /var/lib/twofold secret-key retire k1a2b3c4d"
    )]
    Retire {
        /// The key's id: the part of the key before the ':'
        id: String,
        #[command(flatten)]
        database: Database,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_top_level_help_names_every_command() {
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(
                TOP_HELP.contains(&format!("\n  {name} ")),
                "{name} is missing from the top-level help"
            );
        }
    }

    /// Every leaf command shows an example in its `--help`.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            let leaves: Vec<_> = cmd.get_subcommands().collect();
            if leaves.is_empty() {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Example"), "{path} has no example in --help");
            }
            for sub in leaves {
                walk(sub, &path);
            }
        }
        let top = Cli::command();
        for sub in top.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, "twofold");
        }
    }
}
