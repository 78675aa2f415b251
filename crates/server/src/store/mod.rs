//! Storage: the only place with SQL. One [`Store`] over SQLite (embedded default, through
//! rusqlite: see `sqlite`) or PostgreSQL (several server processes, through sqlx), with
//! the same SQL text for both wherever the dialects agree (`$1` placeholders work on both;
//! on SQLite they must first appear in order, as they are bound by position) and
//! migrations kept side by side.
//!
//! Everything that matters for correctness (replay counters, lockouts, flows, sessions)
//! lives here, and every state change that races is a single conditional statement or
//! runs inside one transaction on SQLite's single writer, so the database decides the
//! winner — across tasks, restarts and processes.

mod audit;
mod code_check;
mod confirmations;
mod devices;
mod elevated;
mod factors;
mod flows;
mod import;
mod keys;
mod lockout;
mod one_time;
mod orgs;
mod password_throttle;
mod policy;
mod recovery;
mod sessions;
mod settings;
mod sqlite;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Database;

pub use audit::{AuditCursor, AuditRow};
pub use code_check::{AuditOrigin, CheckOutcome, CodeCheck, Evaluation, Finish, Matcher};
pub use confirmations::ConfirmationRow;
pub use devices::DeviceRow;
pub use elevated::{ApiKeyRow, ElevatedRow};
pub use factors::{Activate, Activation, EMAIL, FactorRow, NewPending, TOTP};
pub use flows::{FLOW_ENROLL, FLOW_MFA, FlowRow};
pub use import::ImportedUser;
pub use lockout::{LockAfter, Reservation};
pub use one_time::{OneTimeAccept, OneTimeCode, OneTimeOutcome};
pub use orgs::OrgRow;
pub use policy::PolicyRow;
pub use recovery::RecoveryRow;
pub use sessions::SessionRow;
pub use settings::OrgSettingsRow;
pub use sqlite::Sqlite;
pub use users::UserRow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint (named by the caller that knows which one it can hit).
    #[error("duplicate value for {0}")]
    Duplicate(&'static str),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] sqlx::Error),
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

impl StoreError {
    /// Turns a unique violation into [`StoreError::Duplicate`]; the caller names the
    /// constraint because SQLite does not report names, only kinds.
    fn unique_as(e: impl Into<StoreError>, constraint: &'static str) -> Self {
        match e.into() {
            StoreError::Postgres(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Self::Duplicate(constraint)
            }
            StoreError::Sqlite(e) if sqlite::is_unique_violation(&e) => Self::Duplicate(constraint),
            other => other,
        }
    }
}

/// One of the two engines. Each store function has one arm per engine; the SQL text is
/// shared wherever the dialects agree (`$1` placeholders work on both).
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(Sqlite),
    Postgres(PgPool),
}

impl Store {
    /// Runs one statement whose binds are all text, on either engine; answers the rows it
    /// changed.
    pub(crate) async fn exec_text(
        &self,
        sql: &'static str,
        args: &[&str],
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
                db.write(move |c| {
                    let n = c
                        .prepare_cached(sql)?
                        .execute(rusqlite::params_from_iter(args.iter()))?;
                    Ok(u64::try_from(n).unwrap_or(u64::MAX))
                })
                .await
            }
            Store::Postgres(p) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(*a);
                }
                Ok(q.execute(p).await?.rows_affected())
            }
        }
    }

    /// Opens the database (creating a SQLite file if needed) and brings its schema up to
    /// date. Concurrent starts on PostgreSQL are serialised by sqlx's migration lock.
    pub async fn open(db: &Database) -> Result<Store, StoreError> {
        let store = match db {
            Database::Sqlite(path) => {
                // Opening and migrating a local file takes milliseconds.
                return Sqlite::open(path).map(Store::Sqlite);
            }
            Database::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                Store::Postgres(pool)
            }
        };
        if let Store::Postgres(p) = &store {
            sqlx::migrate!("./migrations/postgres")
                .run(p)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
        }
        Ok(store)
    }

    /// The engine's name, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| c.query_row("SELECT 1", [], |_| Ok(()))),
            Store::Postgres(p) => Ok(sqlx::query("SELECT 1").execute(p).await.map(|_| ())?),
        }
    }

    /// SQLite's own integrity check (`ok` when sound); PostgreSQL has none to run.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        match self {
            Store::Sqlite(db) => {
                db.read(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            }
            Store::Postgres(_) => Ok("ok".into()),
        }
    }

    /// Deletes sign-in flows, sessions and mailed codes that expired before `now`, and
    /// password failures not added to for a day.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let failures = self.purge_password_failures(now - DAY_MS).await?;
        Ok(failures + self.purge_expired_rows(now).await?)
    }

    async fn purge_expired_rows(&self, now: i64) -> Result<u64, StoreError> {
        const EXPIRED: [&str; 3] = [
            "DELETE FROM login_flows WHERE expires_at <= $1",
            "DELETE FROM sessions WHERE expires_at <= $1",
            "DELETE FROM confirmation_codes WHERE expires_at <= $1",
        ];
        match self {
            Store::Sqlite(db) => {
                db.write(move |c| {
                    let mut n = 0;
                    for sql in EXPIRED {
                        n += c.prepare_cached(sql)?.execute([now])?;
                    }
                    Ok(u64::try_from(n).unwrap_or(u64::MAX))
                })
                .await
            }
            Store::Postgres(p) => {
                let mut n = 0;
                for sql in EXPIRED {
                    n += sqlx::query(sql).bind(now).execute(p).await?.rows_affected();
                }
                Ok(n)
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(db) => db.close(),
            Store::Postgres(p) => p.close().await,
        }
    }
}
