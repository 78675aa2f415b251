//! The SQLite engine (the embedded default), through rusqlite: [`Sqlite`] runs reads in
//! place and writes on one writer thread; each store trait is implemented in the file
//! named after its area, reading rows by column name.

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod code_check;
mod columns;
pub(crate) mod confirmations;
pub(crate) mod devices;
pub(crate) mod elevated;
mod engine;
pub(crate) mod factors;
pub(crate) mod flows;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod lockout;
mod migrate;
pub(crate) mod oidc;
pub(crate) mod one_time;
pub(crate) mod orgs;
pub(crate) mod passkeys;
pub(crate) mod password_throttle;
pub(crate) mod policy;
pub(crate) mod recovery;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod users;

pub use engine::Sqlite;

use twofold_core::metrics::StoreMetrics;
use twofold_core::store::{EXPIRED, Engine, EngineError, SchemaVersions, StoreError};

/// What work on a connection fails with, the driver's error or the store's own; it becomes
/// a [`StoreError`] where a job's answer leaves the engine.
#[derive(Debug)]
pub(crate) enum Error {
    Driver(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Driver(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            Error::Driver(e) => driver(e),
        }
    }
}

/// The store's error for a driver's.
pub(crate) fn driver(e: rusqlite::Error) -> StoreError {
    let unique = engine::is_unique_violation(&e);
    StoreError::Database(EngineError::new(e, unique))
}

#[async_trait::async_trait]
impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn metrics(&self) -> &StoreMetrics {
        Sqlite::metrics(self)
    }

    async fn schema_versions(&self) -> Result<SchemaVersions, StoreError> {
        let applied = self.read(|c| {
            c.query_row("SELECT count(*) FROM _twofold_migrations", [], |r| {
                r.get::<_, u32>(0)
            })
        })?;
        Ok(SchemaVersions {
            applied,
            known: migrate::KNOWN,
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())))
    }

    async fn integrity_check(&self) -> Result<String, StoreError> {
        self.read(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
    }

    async fn purge_expired_rows(&self, now: i64) -> Result<u64, StoreError> {
        self.write(move |c| {
            let mut n = 0;
            for sql in EXPIRED {
                n += c.prepare_cached(sql)?.execute([now])?;
            }
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn close(&self) {
        Sqlite::close(self);
    }

    async fn exec_text(&self, sql: &'static str, args: &[&str]) -> Result<u64, StoreError> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.write(move |c| {
            let n = c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.iter()))?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }
}
