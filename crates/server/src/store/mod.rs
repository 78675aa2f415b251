//! Storage: the only place with SQL. One [`Store`] over SQLite (embedded default) or
//! PostgreSQL (several server processes), with the same SQL text for both wherever the
//! dialects agree (`$1` placeholders work on both) and migrations kept side by side.
//!
//! Everything that matters for correctness (replay counters, lockouts, flows, sessions)
//! lives here, and every state change that races is a single conditional statement, so
//! the database decides the winner — across tasks, restarts and processes.

mod factors;
mod flows;
mod import;
mod keys;
mod lockout;
mod orgs;
mod sessions;
mod signin;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::Database;

pub use factors::FactorRow;
pub use flows::FlowRow;
pub use import::ImportedUser;
pub use lockout::Reservation;
pub use orgs::OrgRow;
pub use sessions::SessionRow;
pub use signin::SignInCommit;
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
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// Turns a unique violation into [`StoreError::Duplicate`]; the caller names the
    /// constraint because SQLite does not report names, only kinds.
    fn unique_as(e: sqlx::Error, constraint: &'static str) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Duplicate(constraint),
            _ => Self::Db(e),
        }
    }
}

/// A connection pool to one of the two engines.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite allows one writer at a time. Several connections that all write would meet
/// SQLite's busy handler, which *sleeps* (1 ms, 2 ms, 5 ms, …) until the lock is free:
/// under load that is most of a request's time. So every write goes through one writer
/// connection, where writes queue without sleeping, and reads use a pool of their own
/// (WAL lets them run beside the writer and see every committed write).
#[derive(Clone, Debug)]
pub struct SqlitePools {
    read: SqlitePool,
    write: SqlitePool,
}

/// Runs the same expression against whichever engine the store holds, with `$pool` bound
/// to SQLite's `$side` pool (`reader` or `writer`) or to the PostgreSQL pool. Both arms
/// must produce the same type, so engine-specific results are mapped inside the expression.
macro_rules! on_engine {
    ($store:expr, $side:ident, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(pools) => {
                let $pool = pools.$side();
                $body
            }
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_engine;

/// [`on_engine!`] for statements that only read.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::store::on_engine!($store, reader, $pool => $body)
    };
}
pub(crate) use on_pool;

/// [`on_engine!`] for statements that write (SQLite's single writer connection).
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::store::on_engine!($store, writer, $pool => $body)
    };
}
pub(crate) use on_writer;

impl SqlitePools {
    fn reader(&self) -> &SqlitePool {
        &self.read
    }
    fn writer(&self) -> &SqlitePool {
        &self.write
    }
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) and brings its schema up to
    /// date. Concurrent starts on PostgreSQL are serialised by sqlx's migration lock.
    pub async fn open(db: &Database) -> Result<Store, StoreError> {
        let store = match db {
            Database::Sqlite(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // Other processes (the admin CLI, a second server) may hold the write
                    // lock for a moment: wait rather than fail.
                    .busy_timeout(Duration::from_secs(10));
                let connect = |max: u32| {
                    SqlitePoolOptions::new()
                        .max_connections(max)
                        .connect_with(opts.clone())
                };
                let err = |e: sqlx::Error| StoreError::Connect(format!("{}: {e}", path.display()));
                // The writer first: it creates the file and switches it to WAL.
                let write = connect(1).await.map_err(err)?;
                let read = connect(8).await.map_err(err)?;
                Store::Sqlite(SqlitePools { read, write })
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
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let res = match self {
            Store::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p.writer()).await,
            Store::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        };
        res.map_err(|e| StoreError::Migrate(e.to_string()))
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
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// SQLite's own integrity check (`ok` when sound); PostgreSQL has none to run.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        match self {
            Store::Sqlite(p) => Ok(sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
                .fetch_one(p.reader())
                .await?),
            Store::Postgres(_) => Ok("ok".into()),
        }
    }

    /// Deletes sign-in flows and sessions that expired before `now`.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let flows = on_writer!(self, p => sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
            .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        let sessions = on_writer!(self, p => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(flows + sessions)
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(p) => {
                p.read.close().await;
                p.write.close().await;
            }
            Store::Postgres(p) => p.close().await,
        }
    }
}
