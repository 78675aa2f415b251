//! Configuration: defaults, then `<data-dir>/twofold.toml`, then `TWOFOLD_*` environment
//! variables, then command-line flags, merged into one validated [`Config`].
//!
//! Every bad value is a one-line [`ConfigError`] naming the setting and where it came
//! from, so an operator can fix it without reading a backtrace.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

pub use environment::Environment;

use self::layers::Layers;
use self::values::{Count, DbUrl, NonEmpty, NonEmptyText, NonZero, Port, Ranges, Secs, Sender};

mod environment;
mod layers;
mod values;

/// The name of the optional configuration file inside the data directory.
pub const CONFIG_FILE: &str = "twofold.toml";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Twofold's public address: an origin (`https://mfa.example.com`,
/// `http://localhost:8080`), without a path, query, fragment or credentials, kept without a
/// trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(s: &str) -> Result<PublicUrl, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or("expected an origin like https://mfa.example.com")?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return Err(format!("the scheme must be http or https, not {scheme:?}"));
        }
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() {
            return Err("the host is missing".into());
        }
        if host.contains(['/', '?', '#']) {
            return Err("give the origin only: no path, query or fragment".into());
        }
        if host.contains('@') {
            return Err("no user name or password in the address".into());
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the host contains a space or a control character".into());
        }
        let port = match host.rsplit_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => host.rsplit_once(':').map(|(_, p)| p),
        };
        if port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0)) {
            return Err("the port must be a number from 1 to 65535".into());
        }
        Ok(PublicUrl(format!(
            "{}://{host}",
            scheme.to_ascii_lowercase()
        )))
    }

    /// `http://<listen address>`, the default.
    pub fn of_listen(listen: SocketAddr) -> PublicUrl {
        PublicUrl(format!("http://{listen}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether people reach Twofold over HTTPS.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The host (and port, if any), e.g. for the WebAuthn relying party.
    pub fn host(&self) -> &str {
        self.0.split_once("://").map_or("", |(_, h)| h)
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the service keeps its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: a SQLite file (WAL mode).
    Sqlite(PathBuf),
    /// Shared by several server processes: a `postgres://` URL.
    Postgres(String),
}

/// The parts of a `postgres://[user[:password]@][host][:port][/database][?options]` URL a
/// typing mistake breaks: no spaces, a numeric port, each `%` escape complete.
fn check_postgres_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(char::is_whitespace) {
        return Err("it contains a space");
    }
    let bytes = url.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let escape = bytes.get(i + 1..i + 3);
        if *b == b'%' && !escape.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return Err("a % is not followed by two hex digits");
        }
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    // `[::1]:5432`: the port follows the bracket.
    let port = match host_port.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    match port {
        Some(p) if p.parse::<u16>().is_err() => Err("the port is not a number from 0 to 65535"),
        _ => Ok(()),
    }
}

impl Database {
    fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Checked now so a malformed URL is a configuration error, not a start failure
            // (the driver, in twofold-store, reads the rest when it connects).
            check_postgres_url(url).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite:// URL has no file path".into());
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            Err("expected a postgres://… or sqlite://… URL".into())
        }
    }
}

/// When a SQLite commit is on disk (`sqlite_synchronous`): see docs/PERFORMANCE.md,
/// "Durability".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Each commit is written to the WAL and synced at the next checkpoint: a power cut
    /// may lose the last moments' commits (a code accepted then could be accepted once
    /// more), never the file.
    #[default]
    Normal,
    /// Each commit (a batch of the writer's) is synced before anyone is answered: every
    /// acknowledged claim survives a power cut.
    Full,
}

impl FromStr for SqliteSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(Self::Normal),
            "full" => Ok(Self::Full),
            _ => Err("expected \"normal\" or \"full\"".into()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected \"text\" or \"json\"".into()),
        }
    }
}

/// The rules of the security table in DESIGN.md that an operator may tune.
#[derive(Clone, Debug)]
pub struct Security {
    /// TOTP steps accepted either side of the current one.
    pub totp_window: u32,
    /// Consecutive failed second-factor attempts that lock a user.
    pub lockout_threshold: u32,
    /// The first lock's length; each further failure doubles it.
    pub lockout_base: Duration,
    /// The longest a single lock lasts.
    pub lockout_max: Duration,
    /// How long a sign-in flow waits for its second factor.
    pub flow_ttl: Duration,
    /// How long a sign-in that must enrol a first factor waits for it (finding the app
    /// and scanning takes longer than typing a code).
    pub enrollment_flow_ttl: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Password hashes computed at once (each takes ~19 MiB and a core for a while).
    pub password_hash_concurrency: usize,
    /// Hashes requests may have waiting or running; beyond, a sign-in is answered 503
    /// `overloaded` at once instead of waiting without end.
    pub password_hash_queue: usize,
    /// Authenticator apps a user may have at once (1: "one at a time").
    pub max_totp_factors: u32,
    /// How long a remembered device skips the second step.
    pub remember_device_ttl: Duration,
    /// Remembered devices per user; the oldest is forgotten beyond this.
    pub max_remembered_devices: u32,
}

impl Default for Security {
    fn default() -> Self {
        Self {
            totp_window: 1,
            lockout_threshold: 5,
            lockout_base: Duration::from_secs(60),
            lockout_max: Duration::from_secs(3600),
            flow_ttl: Duration::from_secs(300),
            enrollment_flow_ttl: Duration::from_secs(900),
            session_ttl: Duration::from_secs(12 * 3600),
            // Leave a core for the request path on small machines.
            password_hash_concurrency: default_hash_concurrency(),
            password_hash_queue: default_hash_queue(default_hash_concurrency()),
            max_totp_factors: 5,
            remember_device_ttl: Duration::from_secs(30 * 86_400),
            max_remembered_devices: 10,
        }
    }
}

/// Leave a core for the request path on small machines.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

/// About half a second of hashing per thread waits at most (a hash takes ~25 ms).
fn default_hash_queue(concurrency: usize) -> usize {
    concurrency.saturating_mul(16).max(16)
}

/// An address range (`10.0.0.0/8`, `2001:db8::/32`, or one address) of proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("/{p} is not a prefix length of 0 to {max}"))?,
        };
        Ok(IpRange { addr, prefix })
    }
}

/// The HTTP server's limits: how long a client may take, how many may connect, and how
/// many failures one address may send.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Connections served at once; a few more are let in for `/healthz` only.
    pub max_connections: usize,
    /// From a connection's start (or its previous answer) to the end of a request's
    /// headers; an idle keep-alive connection is closed after as long.
    pub header_read_timeout: Duration,
    /// A whole request, its body included: then 408 `request_timeout`.
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (none: the peer is the client).
    pub trusted_proxies: Vec<IpRange>,
    /// Failed sign-in and code attempts one address may make in a burst ...
    pub ip_failure_burst: u32,
    /// ... and how fast that allowance comes back.
    pub ip_failures_per_minute: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            ip_failure_burst: 30,
            ip_failures_per_minute: 30,
        }
    }
}

/// 4,096, or half the process's open-files limit if that is lower, so connections can
/// never use up the descriptors the database and the listener need.
fn default_max_connections() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<usize>().ok())
        });
    match limit {
        Some(n) => (n / 2).clamp(64, 4096),
        None => 4096,
    }
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a trusted network (port 25).
    None,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

impl FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            _ => Err("expected \"starttls\", \"tls\" or \"none\"".into()),
        }
    }
}

/// The SMTP server mail goes to (`[smtp]` in `twofold.toml`, `TWOFOLD_SMTP_*`).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Redacted in `Debug`, never logged or shown.
    pub password: Option<SecretString>,
    /// Extra trusted root certificates (PEM), for a relay with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Connecting and each command's answer.
    pub timeout: Duration,
}

/// Where Twofold's mail goes and how patiently.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The `From:` of every message.
    pub from: String,
    /// `None`: no SMTP server; messages are written to `<data-dir>/outbox/`.
    pub smtp: Option<SmtpConfig>,
    pub retry: crate::mail::Retry,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Twofold <no-reply@localhost>".into(),
            smtp: None,
            retry: crate::mail::Retry::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The origin people reach Twofold at: OpenID Connect redirect URIs and the WebAuthn
    /// relying party hang off it. `None`: `http://<listen address>`, the address once bound
    /// ([`Config::public_url_for`]: port 0 is only known then).
    pub public_url: Option<PublicUrl>,
    pub database: Database,
    pub sqlite_synchronous: SqliteSync,
    /// The TOTP-secret encryption key (`<id>:<base64>`), when supplied rather than kept
    /// in the data directory. Redacted in `Debug`, never logged.
    pub secret_key: Option<SecretString>,
    /// Keys accepted beside the current one during a rotation (`<id>:<base64>`, separated
    /// by commas), when supplied; otherwise `<data_dir>/secret.key.previous` if it exists.
    /// Redacted in `Debug`, never logged.
    pub secret_key_previous: Option<SecretString>,
    /// The issuer name authenticator apps show next to the account.
    pub issuer: String,
    pub log_format: LogFormat,
    pub security: Security,
    pub mail: MailConfig,
    pub http: HttpLimits,
    pub metrics: MetricsConfig,
}

/// Where Prometheus reads the metrics: never open to the world by default.
#[derive(Clone, Debug, Default)]
pub struct MetricsConfig {
    /// A listener of their own (`metrics_listen`), serving `/metrics` only: bind it where
    /// only the scraper reaches (loopback, a private network).
    pub listen: Option<SocketAddr>,
    /// `/metrics` on the main listener too, for `Authorization: Bearer <token>`
    /// (`TWOFOLD_METRICS_TOKEN`). Redacted in `Debug`, never logged.
    pub token: Option<SecretString>,
}

impl Config {
    /// The public URL, given or `http://<bound>` for a server bound to `bound`.
    pub fn public_url_for(&self, bound: SocketAddr) -> PublicUrl {
        self.public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::of_listen(bound))
    }

    /// A configuration for the given data directory with every default, SQLite inside it.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            database: Database::Sqlite(data_dir.join("twofold.db")),
            sqlite_synchronous: SqliteSync::Normal,
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            secret_key: None,
            secret_key_previous: None,
            issuer: "Twofold".into(),
            log_format: LogFormat::Text,
            security: Security::default(),
            mail: MailConfig::default(),
            http: HttpLimits::default(),
            metrics: MetricsConfig::default(),
        }
    }

    /// Loads the configuration from the file, the environment (passed in, so tests need
    /// not touch the process's) and the flags, in that order of precedence. A `TWOFOLD_*`
    /// variable that is not a setting stops here, named: a misspelt setting must not be
    /// silently ignored.
    pub fn load(flags: &Flags, environment: &Environment) -> Result<Config, ConfigError> {
        environment.refuse_unknown()?;
        let env = |name: &str| environment.get(name);
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("TWOFOLD_DATA_DIR"))
            .unwrap_or_else(|| "./twofold-data".into());
        if data_dir.is_empty() {
            return Err(ConfigError::new("data directory must not be empty"));
        }
        let mut cfg = Config::with_data_dir(&data_dir);
        let set = Layers::read(&cfg.data_dir, environment, flags)?;

        if let Some(v) = set.get("listen")? {
            cfg.listen = v;
        }
        cfg.public_url = set.get("public_url")?;
        if let Some(DbUrl(db)) = set.get("database_url")? {
            cfg.database = db;
        }
        if let Some(NonEmpty(v)) = set.get("issuer")? {
            cfg.issuer = v;
        }
        if let Some(v) = set.get("log_format")? {
            cfg.log_format = v;
        }
        cfg.metrics.listen = set.get("metrics_listen")?;
        if let Some(v) = set.get("sqlite_synchronous")? {
            cfg.sqlite_synchronous = v;
        }
        cfg.metrics.token = metrics_token(&env)?;
        cfg.secret_key = secret_key(&env, "TWOFOLD_SECRET_KEY")?;
        cfg.secret_key_previous = secret_key(&env, "TWOFOLD_SECRET_KEY_PREVIOUS")?;

        let s = &mut cfg.security;
        let secs = |v: Option<Secs>, d: Duration| v.map_or(d, |Secs(n)| Duration::from_secs(n));
        s.totp_window = set.get("totp_window")?.unwrap_or(s.totp_window);
        if s.totp_window > 10 {
            return Err(ConfigError::new("totp_window must be 0 to 10 steps"));
        }
        s.lockout_threshold = set.get("lockout_threshold")?.unwrap_or(s.lockout_threshold);
        if !(1..=100).contains(&s.lockout_threshold) {
            return Err(ConfigError::new("lockout_threshold must be 1 to 100"));
        }
        s.lockout_base = secs(set.get("lockout_base_seconds")?, s.lockout_base);
        s.lockout_max = secs(set.get("lockout_max_seconds")?, s.lockout_max);
        if s.lockout_max < s.lockout_base {
            return Err(ConfigError::new(
                "lockout_max_seconds must not be less than lockout_base_seconds",
            ));
        }
        s.flow_ttl = secs(set.get("flow_ttl_seconds")?, s.flow_ttl);
        s.session_ttl = secs(set.get("session_ttl_seconds")?, s.session_ttl);
        if let Some(NonZero(n)) = set.get("password_hash_concurrency")? {
            s.password_hash_concurrency = n;
            s.password_hash_queue = default_hash_queue(n);
        }
        if let Some(Count(n)) = set.get("password_hash_queue")? {
            s.password_hash_queue = n;
        }
        s.max_totp_factors = set.get("max_totp_factors")?.unwrap_or(s.max_totp_factors);
        if !(1..=20).contains(&s.max_totp_factors) {
            return Err(ConfigError::new("max_totp_factors must be 1 to 20"));
        }
        if let Some(days) = set.get::<u32>("remember_device_days")? {
            if !(1..=365).contains(&days) {
                return Err(ConfigError::new("remember_device_days must be 1 to 365"));
            }
            s.remember_device_ttl = Duration::from_secs(u64::from(days) * 86_400);
        }
        s.max_remembered_devices = set
            .get("max_remembered_devices")?
            .unwrap_or(s.max_remembered_devices);
        if !(1..=100).contains(&s.max_remembered_devices) {
            return Err(ConfigError::new("max_remembered_devices must be 1 to 100"));
        }

        cfg.mail = mail_config(&set)?;

        let h = &mut cfg.http;
        if let Some(Count(n)) = set.get("max_connections")? {
            h.max_connections = n;
        }
        h.header_read_timeout = secs(
            set.get("header_read_timeout_seconds")?,
            h.header_read_timeout,
        );
        h.request_timeout = secs(set.get("request_timeout_seconds")?, h.request_timeout);
        if let Some(Ranges(r)) = set.get("trusted_proxies")? {
            h.trusted_proxies = r;
        }
        let per_address = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        if let Some(Count(n)) = set.get("ip_failure_burst")? {
            h.ip_failure_burst = per_address(n);
        }
        if let Some(Count(n)) = set.get("ip_failures_per_minute")? {
            h.ip_failures_per_minute = per_address(n);
        }
        Ok(cfg)
    }
}

/// `TWOFOLD_METRICS_TOKEN`, or the file `TWOFOLD_METRICS_TOKEN_FILE` names: long enough
/// that guessing it is hopeless. The value itself is never echoed.
fn metrics_token(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    let token = match (
        env("TWOFOLD_METRICS_TOKEN"),
        env("TWOFOLD_METRICS_TOKEN_FILE"),
    ) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "TWOFOLD_METRICS_TOKEN and TWOFOLD_METRICS_TOKEN_FILE are both set; keep one",
            ));
        }
        (Some(t), None) => SecretString::from(t),
        (None, Some(path)) => read_secret_file("TWOFOLD_METRICS_TOKEN_FILE", &path)?,
    };
    let t = token.expose_secret().trim();
    if t.len() >= 32 && !t.contains(char::is_whitespace) {
        Ok(Some(SecretString::from(t.to_owned())))
    } else {
        Err(ConfigError::new(
            "the metrics token (TWOFOLD_METRICS_TOKEN or its _FILE) must be at least 32 \
             characters with no spaces (e.g. from `openssl rand -hex 32`)",
        ))
    }
}

/// `name` (`TWOFOLD_SECRET_KEY`, or `TWOFOLD_SECRET_KEY_PREVIOUS`: a list) or the file
/// `<name>_FILE` names, checked here so a malformed key is a configuration error (exit 2)
/// naming the setting; the value itself is never echoed.
fn secret_key(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<SecretString>, ConfigError> {
    use crate::crypto::secret_box::SecretKey;
    let file_name = format!("{name}_FILE");
    let (key, origin) = match (env(name), env(&file_name)) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(format!(
                "set only one of {name} and {file_name}"
            )));
        }
        (Some(k), None) => (SecretString::from(k), name.to_owned()),
        (None, Some(path)) => (
            SecretString::from(
                Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::new(format!("cannot read {file_name} {path}: {e}"))
                })?)
                .trim(),
            ),
            file_name,
        ),
        (None, None) => return Ok(None),
    };
    let text = key.expose_secret();
    if name.ends_with("_PREVIOUS") {
        SecretKey::parse_list(text).map(drop)
    } else {
        SecretKey::parse(text).map(drop)
    }
    .map_err(|e| ConfigError::new(format!("invalid {origin}: {e}")))?;
    Ok(Some(key))
}

/// The `smtp.*` settings. SMTP is on when a host is given; `from` applies to the outbox
/// too.
fn mail_config(set: &Layers<'_>) -> Result<MailConfig, ConfigError> {
    let mut mail = MailConfig::default();
    if let Some(Sender(from)) = set.get("smtp.from")? {
        mail.from = from;
    }
    let host: Option<NonEmptyText> = set.get("smtp.host")?;
    let security: Option<SmtpSecurity> = set.get("smtp.security")?;
    let port: Option<Port> = set.get("smtp.port")?;
    let username: Option<NonEmptyText> = set.get("smtp.username")?;
    // A password file, from either layer, wins over a password given inline.
    let password = match set.given("smtp.password_file") {
        Some(file) => Some(read_secret_file(&file.short, &file.text)?),
        None => set
            .get::<NonEmptyText>("smtp.password")?
            .map(|NonEmptyText(p)| SecretString::from(p)),
    };
    let ca_file: Option<NonEmptyText> = set.get("smtp.ca_file")?;
    let timeout: Option<Secs> = set.get("smtp.timeout_seconds")?;
    let Some(NonEmptyText(host)) = host else {
        let others = security.is_some()
            || port.is_some()
            || username.is_some()
            || password.is_some()
            || ca_file.is_some()
            || timeout.is_some();
        if others {
            return Err(ConfigError::new(
                "smtp settings are given but smtp.host (TWOFOLD_SMTP_HOST) is not",
            ));
        }
        return Ok(mail);
    };
    let security = security.unwrap_or(SmtpSecurity::StartTls);
    let username = username.map(|NonEmptyText(u)| u);
    match (&username, &password) {
        (Some(_), None) => {
            return Err(ConfigError::new(
                "smtp.username is set but no smtp.password (or TWOFOLD_SMTP_PASSWORD[_FILE])",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "an SMTP password is set but no smtp.username",
            ));
        }
        (Some(_), Some(_)) if security == SmtpSecurity::None => {
            // A password must never cross the network in clear.
            return Err(ConfigError::new(
                "smtp.username needs smtp.security = \"starttls\" or \"tls\": \"none\" would send the password in clear",
            ));
        }
        _ => {}
    }
    let ca_pem = match ca_file {
        Some(NonEmptyText(path)) => {
            let pem = std::fs::read(&path)
                .map_err(|e| ConfigError::new(format!("cannot read smtp.ca_file {path}: {e}")))?;
            if !pem
                .windows(b"-----BEGIN CERTIFICATE-----".len())
                .any(|w| w == b"-----BEGIN CERTIFICATE-----")
            {
                return Err(ConfigError::new(format!(
                    "smtp.ca_file {path} holds no PEM certificate"
                )));
            }
            Some(pem)
        }
        None => None,
    };
    mail.smtp = Some(SmtpConfig {
        host,
        port: port.map_or(security.default_port(), |Port(p)| p),
        security,
        username,
        password,
        ca_pem,
        timeout: timeout.map_or(Duration::from_secs(30), |Secs(n)| Duration::from_secs(n)),
    });
    Ok(mail)
}

/// A secret kept in a file (`*_FILE`): its content without the trailing line break.
fn read_secret_file(setting: &str, path: &str) -> Result<SecretString, ConfigError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {setting} {path}: {e}")))?,
    );
    let value = text.trim_end_matches(['\r', '\n']);
    if value.is_empty() {
        return Err(ConfigError::new(format!("{setting} {path} is empty")));
    }
    Ok(SecretString::from(value))
}

/// The settings that may come from command-line flags (as typed, validated here).
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub data_dir: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn load(dir: &Path, flags: Flags, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let flags = Flags {
            data_dir: Some(dir.display().to_string()),
            ..flags
        };
        Config::load(&flags, &Environment::from_pairs(env))
    }

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("twofold-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn defaults_are_sqlite_in_the_data_dir_on_localhost_8080() {
        let cfg = Config::load(&Flags::default(), &Environment::default()).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("./twofold-data"));
        assert_eq!(cfg.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            cfg.database,
            Database::Sqlite("./twofold-data/twofold.db".into())
        );
        assert_eq!(cfg.security.lockout_threshold, 5);
    }

    #[test]
    fn http_limits_and_trusted_proxies_come_from_file_and_environment() {
        let d = tmp();
        std::fs::write(
            d.join(CONFIG_FILE),
            "trusted_proxies = \"10.0.0.0/8, 2001:db8::/32\"\nmax_connections = 100\n",
        )
        .unwrap();
        let cfg = load(&d, Flags::default(), &[("TWOFOLD_IP_FAILURE_BURST", "7")]).unwrap();
        let h = &cfg.http;
        assert_eq!((h.max_connections, h.ip_failure_burst), (100, 7));
        assert_eq!(h.header_read_timeout, Duration::from_secs(10));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(h.trusted_proxies[0].contains(ip("10.1.2.3")));
        assert!(h.trusted_proxies[0].contains(ip("::ffff:10.1.2.3")));
        assert!(!h.trusted_proxies[0].contains(ip("11.0.0.1")));
        assert!(h.trusted_proxies[1].contains(ip("2001:db8:ffff::1")));
        assert!(!h.trusted_proxies[1].contains(ip("2001:db9::1")));
        let e = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_TRUSTED_PROXIES", "10.0.0.0/33")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("invalid TWOFOLD_TRUSTED_PROXIES"), "{e}");
        assert!(e.contains("/33 is not a prefix length"), "{e}");
        let e = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_PASSWORD_HASH_QUEUE", "0")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("TWOFOLD_PASSWORD_HASH_QUEUE"), "{e}");
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let d = tmp();
        std::fs::write(
            d.join(CONFIG_FILE),
            "listen = \"127.0.0.1:1000\"\ntotp_window = 2\n",
        )
        .unwrap();
        let cfg = load(&d, Flags::default(), &[]).unwrap();
        assert_eq!(cfg.listen.port(), 1000);
        assert_eq!(cfg.security.totp_window, 2);
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_LISTEN", "127.0.0.1:2000")],
        )
        .unwrap();
        assert_eq!(cfg.listen.port(), 2000);
        let flags = Flags {
            listen: Some("127.0.0.1:3000".into()),
            ..Flags::default()
        };
        let cfg = load(&d, flags, &[("TWOFOLD_LISTEN", "127.0.0.1:2000")]).unwrap();
        assert_eq!(cfg.listen.port(), 3000);
    }

    #[test]
    fn bad_values_name_the_setting_and_source_on_one_line() {
        let d = tmp();
        let e = load(&d, Flags::default(), &[("TWOFOLD_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid TWOFOLD_LISTEN \"nowhere\": expected an address like 127.0.0.1:8080"
        );
        let flags = Flags {
            database_url: Some("mysql://x".into()),
            ..Flags::default()
        };
        let e = load(&d, flags, &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid --database-url: expected a postgres://"),
            "{e}"
        );
        assert!(!e.contains("mysql://x"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn unknown_key_in_file_is_an_error_naming_it() {
        let d = tmp();
        std::fs::write(
            d.join(CONFIG_FILE),
            "listen = \"127.0.0.1:1\"\nlisten_addr = 3\n",
        )
        .unwrap();
        let e = load(&d, Flags::default(), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown field `listen_addr`"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn sqlite_commits_are_synced_at_checkpoints_unless_full_is_asked_for() {
        let d = tmp();
        let cfg = load(&d, Flags::default(), &[]).unwrap();
        assert_eq!(cfg.sqlite_synchronous, SqliteSync::Normal);
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_SQLITE_SYNCHRONOUS", "full")],
        )
        .unwrap();
        assert_eq!(cfg.sqlite_synchronous, SqliteSync::Full);
        let e = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_SQLITE_SYNCHRONOUS", "off")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("expected \"normal\" or \"full\""), "{e}");
    }

    #[test]
    fn metrics_are_off_unless_given_a_listener_or_a_long_enough_token() {
        let d = tmp();
        let cfg = load(&d, Flags::default(), &[]).unwrap();
        assert!(cfg.metrics.listen.is_none() && cfg.metrics.token.is_none());
        let token = "0123456789abcdef0123456789abcdef";
        let cfg = load(
            &d,
            Flags::default(),
            &[
                ("TWOFOLD_METRICS_LISTEN", "127.0.0.1:9464"),
                ("TWOFOLD_METRICS_TOKEN", token),
            ],
        )
        .unwrap();
        assert_eq!(cfg.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(cfg.metrics.token.as_ref().unwrap().expose_secret(), token);
        assert!(!format!("{cfg:?}").contains(token));
        let e = load(&d, Flags::default(), &[("TWOFOLD_METRICS_TOKEN", "short")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be at least 32 characters"), "{e}");
        assert!(!e.contains("short"), "{e}");
        // From a file (a container's secret), its line ending dropped.
        let file = d.join("metrics-token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        let path = file.to_str().unwrap();
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_METRICS_TOKEN_FILE", path)],
        )
        .unwrap();
        assert_eq!(cfg.metrics.token.as_ref().unwrap().expose_secret(), token);
        let both = [
            ("TWOFOLD_METRICS_TOKEN", token),
            ("TWOFOLD_METRICS_TOKEN_FILE", path),
        ];
        let e = load(&d, Flags::default(), &both).unwrap_err().to_string();
        assert!(e.contains("both set"), "{e}");
        assert!(!e.contains(token), "{e}");
    }

    #[test]
    fn malformed_secret_key_is_a_config_error_that_does_not_echo_it() {
        let d = tmp();
        let e = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_SECRET_KEY", "k1:not-a-real-key-value")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("invalid TWOFOLD_SECRET_KEY: "), "{e}");
        assert!(!e.contains("not-a-real-key-value"), "{e}");
    }

    #[test]
    fn malformed_previous_key_is_a_config_error_naming_its_variable() {
        let d = tmp();
        let good = crate::crypto::secret_box::SecretKey::generate_text().unwrap();
        let e = load(
            &d,
            Flags::default(),
            &[(
                "TWOFOLD_SECRET_KEY_PREVIOUS",
                format!("{},k2:not-a-real-key-value", *good).as_str(),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("invalid TWOFOLD_SECRET_KEY_PREVIOUS: "),
            "{e}"
        );
        assert!(!e.contains("not-a-real-key-value"), "{e}");
    }

    #[test]
    fn previous_keys_come_from_their_variable_and_are_redacted() {
        let d = tmp();
        let (a, b) = (
            crate::crypto::secret_box::SecretKey::generate_text().unwrap(),
            crate::crypto::secret_box::SecretKey::generate_text().unwrap(),
        );
        let file = d.join("previous");
        std::fs::write(&file, format!("{}\n{}\n", *a, *b)).unwrap();
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_SECRET_KEY_PREVIOUS_FILE", file.to_str().unwrap())],
        )
        .unwrap();
        let list = cfg.secret_key_previous.as_ref().unwrap().expose_secret();
        assert_eq!(
            crate::crypto::secret_box::SecretKey::parse_list(list)
                .unwrap()
                .len(),
            2
        );
        let shown = format!("{cfg:?}");
        let (_, key_text) = a.split_once(':').unwrap();
        assert!(!shown.contains(key_text), "{shown}");
    }

    #[test]
    fn debug_output_redacts_the_secret_key_and_the_smtp_password() {
        let d = tmp();
        let key = crate::crypto::secret_box::SecretKey::generate_text()
            .unwrap()
            .to_string();
        let pw = d.join("pw");
        std::fs::write(&pw, "hunter2-smtp\n").unwrap();
        let cfg = load(
            &d,
            Flags::default(),
            &[
                ("TWOFOLD_SECRET_KEY", key.as_str()),
                ("TWOFOLD_SMTP_HOST", "mail.example.com"),
                ("TWOFOLD_SMTP_USERNAME", "twofold"),
                ("TWOFOLD_SMTP_PASSWORD_FILE", pw.to_str().unwrap()),
            ],
        )
        .unwrap();
        let shown = format!("{cfg:?}");
        let (_, key_text) = key.split_once(':').unwrap();
        assert!(!shown.contains(key_text), "{shown}");
        assert!(!shown.contains("hunter2-smtp"), "{shown}");
        assert!(shown.contains("mail.example.com"), "{shown}");
    }

    #[test]
    fn a_misspelt_variable_stops_loading_with_its_name() {
        let d = tmp();
        let e = load(&d, Flags::default(), &[("TWOFOLD_LISTN", "127.0.0.1:1")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "unknown environment variable TWOFOLD_LISTN (did you mean TWOFOLD_LISTEN?)"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_public_url_defaults_to_the_listen_address_and_is_checked() {
        let d = tmp();
        let cfg = load(&d, Flags::default(), &[("TWOFOLD_LISTEN", "127.0.0.1:0")]).unwrap();
        assert_eq!(cfg.public_url, None);
        let bound = SocketAddr::from(([127, 0, 0, 1], 41234));
        assert_eq!(cfg.public_url_for(bound).as_str(), "http://127.0.0.1:41234");
        let flags = Flags {
            public_url: Some("HTTPS://mfa.example.com/".into()),
            ..Flags::default()
        };
        let cfg = load(&d, flags, &[("TWOFOLD_PUBLIC_URL", "http://ignored")]).unwrap();
        let url = cfg.public_url.unwrap();
        assert_eq!(url.as_str(), "https://mfa.example.com", "the flag wins");
        assert!(url.is_https());
        assert_eq!(url.host(), "mfa.example.com");
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_PUBLIC_URL", "http://[::1]:8443")],
        )
        .unwrap();
        assert_eq!(cfg.public_url.unwrap().host(), "[::1]:8443");
        for (bad, why) in [
            ("mfa.example.com", "expected an origin"),
            ("ftp://mfa.example.com", "scheme must be http or https"),
            ("https://mfa.example.com/twofold", "no path"),
            ("https://mfa.example.com?x=1", "no path, query"),
            ("https://user:pw@mfa.example.com", "no user name"),
            ("https://mfa.example.com:0", "port must be"),
            ("https://mfa.example.com:99999", "port must be"),
            ("https://", "host is missing"),
        ] {
            let e = load(&d, Flags::default(), &[("TWOFOLD_PUBLIC_URL", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("invalid TWOFOLD_PUBLIC_URL") && e.contains(why),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn the_client_commands_server_variable_is_not_a_mistake() {
        let d = tmp();
        assert!(
            load(
                &d,
                Flags::default(),
                &[("TWOFOLD_URL", "http://127.0.0.1:8080")]
            )
            .is_ok()
        );
    }

    #[test]
    fn a_malformed_postgres_url_is_a_configuration_error() {
        for bad in [
            "postgres://u@h:54x2/db",
            "postgres://u@h:99999/db",
            "postgres://u@h/my db",
            "postgresql://u:p%zz@h/db",
        ] {
            let e = Database::parse(bad).unwrap_err();
            assert!(e.starts_with("not a valid PostgreSQL URL: "), "{bad}: {e}");
        }
        for good in [
            "postgres://postgres@127.0.0.1:5432/twofold",
            "postgres://[::1]:5432/db?sslmode=disable",
            "postgresql://u:p%40ss@h/db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            assert_eq!(Database::parse(good), Ok(Database::Postgres(good.into())));
        }
    }

    #[test]
    fn postgres_url_selects_postgres() {
        let d = tmp();
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_DATABASE_URL", "postgres://u@h/db")],
        )
        .unwrap();
        assert_eq!(cfg.database, Database::Postgres("postgres://u@h/db".into()));
    }

    #[test]
    fn smtp_comes_from_the_file_and_the_environment() {
        let d = tmp();
        std::fs::write(
            d.join(CONFIG_FILE),
            "[smtp]\nhost = \"mail.example.com\"\nusername = \"twofold\"\npassword = \"from-file\"\n\
             from = \"Acme <mfa@acme.example>\"\n",
        )
        .unwrap();
        let cfg = load(&d, Flags::default(), &[]).unwrap();
        let smtp = cfg.mail.smtp.as_ref().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("mail.example.com", 587));
        assert_eq!(smtp.security, SmtpSecurity::StartTls);
        assert_eq!(cfg.mail.from, "Acme <mfa@acme.example>");
        assert_eq!(
            smtp.password.as_ref().map(ExposeSecret::expose_secret),
            Some("from-file")
        );
        assert!(
            !format!("{cfg:?}").contains("from-file"),
            "password in Debug"
        );
        let pw = d.join("pw");
        std::fs::write(&pw, "from-secret-file\n").unwrap();
        let cfg = load(
            &d,
            Flags::default(),
            &[
                ("TWOFOLD_SMTP_SECURITY", "tls"),
                ("TWOFOLD_SMTP_PASSWORD_FILE", pw.to_str().unwrap()),
            ],
        )
        .unwrap();
        let smtp = cfg.mail.smtp.unwrap();
        assert_eq!((smtp.security, smtp.port), (SmtpSecurity::Tls, 465));
        assert_eq!(
            smtp.password.as_ref().map(ExposeSecret::expose_secret),
            Some("from-secret-file")
        );
    }

    #[test]
    fn no_smtp_host_means_the_outbox() {
        let d = tmp();
        let cfg = load(
            &d,
            Flags::default(),
            &[("TWOFOLD_SMTP_FROM", "a@b.example")],
        )
        .unwrap();
        assert!(cfg.mail.smtp.is_none());
        assert_eq!(cfg.mail.from, "a@b.example");
        let e = load(&d, Flags::default(), &[("TWOFOLD_SMTP_PORT", "2525")]).unwrap_err();
        assert!(e.to_string().contains("smtp.host"), "{e}");
    }

    #[test]
    fn bad_smtp_settings_are_one_line_errors_that_never_echo_the_password() {
        let d = tmp();
        let host = ("TWOFOLD_SMTP_HOST", "mail.example.com");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[host, ("TWOFOLD_SMTP_PORT", "0")],
                "invalid TWOFOLD_SMTP_PORT \"0\"",
            ),
            (
                &[host, ("TWOFOLD_SMTP_SECURITY", "ssl")],
                "invalid TWOFOLD_SMTP_SECURITY",
            ),
            (
                &[host, ("TWOFOLD_SMTP_FROM", "not an address")],
                "invalid TWOFOLD_SMTP_FROM",
            ),
            (&[host, ("TWOFOLD_SMTP_USERNAME", "u")], "no smtp.password"),
            (
                &[host, ("TWOFOLD_SMTP_PASSWORD", "hunter2")],
                "no smtp.username",
            ),
            (
                &[
                    host,
                    ("TWOFOLD_SMTP_SECURITY", "none"),
                    ("TWOFOLD_SMTP_USERNAME", "u"),
                    ("TWOFOLD_SMTP_PASSWORD", "hunter2"),
                ],
                "in clear",
            ),
            (
                &[host, ("TWOFOLD_SMTP_PASSWORD", " ")],
                "invalid TWOFOLD_SMTP_PASSWORD:",
            ),
            (
                &[host, ("TWOFOLD_SMTP_CA_FILE", "/nonexistent/ca.pem")],
                "cannot read smtp.ca_file",
            ),
        ];
        for (env, want) in cases {
            let e = load(&d, Flags::default(), env).unwrap_err().to_string();
            assert!(e.contains(want), "{env:?}: {e}");
            assert!(!e.contains('\n') && !e.contains("hunter2"), "{e}");
        }
        std::fs::write(d.join(CONFIG_FILE), "[smtp]\nhots = \"x\"\n").unwrap();
        let e = load(&d, Flags::default(), &[]).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "twofold.toml (line 2): unknown field `hots` (did you mean `host`?): \
                 it is not a Twofold setting"
            ),
            "{e}"
        );
    }

    #[test]
    fn file_values_are_text_numbers_or_lists_of_text() {
        let d = tmp();
        std::fs::write(
            d.join(CONFIG_FILE),
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\ntotp_window = \"2\"\n",
        )
        .unwrap();
        let cfg = load(&d, Flags::default(), &[]).unwrap();
        assert_eq!(cfg.http.trusted_proxies.len(), 2);
        assert_eq!(cfg.security.totp_window, 2);
        std::fs::write(d.join(CONFIG_FILE), "\ntotp_window = true\n").unwrap();
        let e = load(&d, Flags::default(), &[]).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "twofold.toml (line 2): `totp_window`: expected a string or a whole number"
            ),
            "{e}"
        );
        std::fs::write(d.join(CONFIG_FILE), "smtp = 3\n").unwrap();
        let e = load(&d, Flags::default(), &[]).unwrap_err().to_string();
        assert!(
            e.ends_with("(line 1): `smtp`: expected a table, [smtp]"),
            "{e}"
        );
    }
}
