//! Storage as the domain sees it: one [`Store`], and behind it an [`Engine`] from the
//! `twofold-store` crate, SQLite (the embedded default, through rusqlite) or PostgreSQL
//! (several server processes, through sqlx). Each area of the schema is a trait declared
//! here, in the module named after it (`users.rs`: [`UserRow`] and [`UsersStore`]) with
//! the SQL text both engines share, and implemented once per engine, in that engine's
//! folder of `twofold-store` under the same file name. No driver is reachable from here.
//!
//! Everything that matters for correctness (replay counters, lockouts, flows, sessions)
//! lives here, and every state change that races is a single conditional statement or
//! runs inside one transaction on SQLite's single writer, so the database decides the
//! winner — across tasks, restarts and processes.

pub mod audit;
pub mod backup;
pub mod code_check;
pub mod confirmations;
pub mod devices;
pub mod elevated;
pub mod factors;
pub mod flows;
pub mod import;
pub mod keys;
pub mod lockout;
pub mod oidc;
pub mod one_time;
pub mod orgs;
pub mod passkeys;
pub mod password_throttle;
pub mod policy;
pub mod recovery;
pub mod sessions;
pub mod settings;
pub mod users;

use std::ops::Deref;
use std::sync::Arc;

pub use audit::{AuditCursor, AuditFilter, AuditRow, AuditStore};
pub use backup::{BackupStore, Fenced, RestoreFence, Restored};
pub use code_check::{
    CheckOutcome, CheckRules, Checked, CodeCheck, CodeCheckStore, Evaluation, Finish, RuleError,
};
pub use confirmations::{ConfirmationRow, ConfirmationsStore};
pub use devices::{DeviceRow, DevicesStore};
pub use elevated::{ApiKeyRow, ElevatedRow, ElevatedStore};
pub use factors::{
    Activate, Activation, FactorKind, FactorRow, FactorState, FactorsStore, NewPending, TotpFactor,
    UnknownValue,
};
pub use flows::{FLOW_ENROLL, FLOW_MFA, FlowRow, FlowsStore};
pub use import::{ImportStore, ImportedUser};
pub use keys::KeysStore;
pub use lockout::{LockAfter, LockoutStore, Reservation};
pub use oidc::{FederatedIdentityRow, OidcHandoffRow, OidcLoginRow, OidcProviderRow, OidcStore};
pub use one_time::{OneTimeAccept, OneTimeCode, OneTimeOutcome, OneTimeStore};
pub use orgs::{OrgRow, OrgsStore};
pub use passkeys::{AddPasskey, CeremonyRow, PasskeyRow, PasskeysStore};
pub use password_throttle::PasswordThrottleStore;
pub use policy::{PolicyRow, PolicyStore};
pub use recovery::{RecoveryRow, RecoveryStore};
pub use sessions::{SessionRow, SessionsStore};
pub use settings::{OrgSettingsRow, SettingsStore};
pub use users::{ListedUser, UserRow, UserSearch, UsersStore};

/// Everything an engine provides: every area's trait, and looking after itself.
#[async_trait::async_trait]
pub trait Engine:
    AuditStore
    + BackupStore
    + CodeCheckStore
    + ConfirmationsStore
    + DevicesStore
    + ElevatedStore
    + FactorsStore
    + FlowsStore
    + ImportStore
    + KeysStore
    + LockoutStore
    + OidcStore
    + OneTimeStore
    + OrgsStore
    + PasskeysStore
    + PasswordThrottleStore
    + PolicyStore
    + RecoveryStore
    + SessionsStore
    + SettingsStore
    + UsersStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// The engine's name, for logs.
    fn name(&self) -> &'static str;
    /// A cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The engine's own integrity check (`ok` when sound; PostgreSQL has none to run).
    async fn integrity_check(&self) -> Result<String, StoreError>;
    /// Deletes sign-in flows, sessions and mailed codes that expired before `now`.
    async fn purge_expired_rows(&self, now: i64) -> Result<u64, StoreError>;
    /// Stops taking work once what was sent is done.
    async fn close(&self);
    /// Runs one statement whose binds are all text; answers the rows it changed.
    async fn exec_text(&self, sql: &'static str, args: &[&str]) -> Result<u64, StoreError>;
    /// What the engine records about itself for the metrics.
    fn metrics(&self) -> &crate::metrics::StoreMetrics;
    /// Sets the metrics that are readings rather than counts (the pool's use), just
    /// before they are scraped.
    fn refresh_metrics(&self) {}
    /// The migrations the database records as applied, against those this build has.
    async fn schema_versions(&self) -> Result<SchemaVersions, StoreError>;
}

/// How far the database's schema is, against this build's migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaVersions {
    pub applied: u32,
    pub known: u32,
}

/// `text` for a LIKE pattern with `ESCAPE '\\'`: its wildcards (`%`, `_`) and the escape
/// character itself stand for themselves.
pub fn like_escaped(text: &str) -> String {
    let mut p = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

/// The rows [`Engine::purge_expired_rows`] deletes. Binds: now.
pub const EXPIRED: [&str; 6] = [
    "DELETE FROM login_flows WHERE expires_at <= $1",
    "DELETE FROM sessions WHERE expires_at <= $1",
    "DELETE FROM confirmation_codes WHERE expires_at <= $1",
    "DELETE FROM oidc_logins WHERE expires_at <= $1",
    "DELETE FROM oidc_handoffs WHERE expires_at <= $1",
    "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint (named by the caller that knows which one it can hit).
    #[error("duplicate value for {0}")]
    Duplicate(&'static str),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// The engine's driver failed (its error kept opaque: the domain knows no driver).
    #[error("database error: {0}")]
    Database(EngineError),
    /// The transaction a write was part of did not commit.
    #[error("database commit failed: {0}")]
    Commit(String),
    /// A row the operation depends on is not there (it was deleted meanwhile).
    #[error("{0} not found")]
    Missing(&'static str),
    /// Row `0` of a batch failed (the import says which line it was).
    #[error("row {0}: {1}")]
    Row(usize, Box<StoreError>),
    /// The store was closed.
    #[error("the database is closed")]
    Closed,
}

/// A driver's error, boxed, with the one fact the store's callers act on.
#[derive(Debug)]
pub struct EngineError {
    source: Box<dyn std::error::Error + Send + Sync>,
    unique_violation: bool,
}

impl EngineError {
    /// Wraps an engine's error; `unique_violation` says whether it broke a uniqueness
    /// constraint (only the engine can tell).
    pub fn new(
        source: impl std::error::Error + Send + Sync + 'static,
        unique_violation: bool,
    ) -> Self {
        EngineError {
            source: Box::new(source),
            unique_violation,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        self.unique_violation
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl StoreError {
    /// Turns a unique violation into [`StoreError::Duplicate`]; the caller names the
    /// constraint because SQLite does not report names, only kinds.
    pub fn unique_as(self, constraint: &'static str) -> Self {
        match self {
            StoreError::Database(e) if e.is_unique_violation() => Self::Duplicate(constraint),
            other => other,
        }
    }
}

/// The database, whichever engine holds it, used through the store traits; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store(Arc<dyn Engine>);

impl Deref for Store {
    type Target = dyn Engine;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Store {
    pub fn new(engine: impl Engine + 'static) -> Store {
        Store(Arc::new(engine))
    }

    /// Deletes sign-in flows, sessions and mailed codes that expired before `now`, and
    /// password failures not added to for a day.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let failures = self.purge_password_failures(now - DAY_MS).await?;
        Ok(failures + self.purge_expired_rows(now).await?)
    }
}
