//! The PostgreSQL engine (several servers sharing one database), through sqlx: [`Postgres`]
//! holds the connection pool; each store trait is implemented in the file named after its
//! area. Migrations are sqlx's, which records a checksum of each and refuses a changed one.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod code_check;
pub(crate) mod confirmations;
pub(crate) mod devices;
pub(crate) mod elevated;
pub(crate) mod factors;
pub(crate) mod flows;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod lockout;
pub(crate) mod oidc;
pub(crate) mod one_time;
pub(crate) mod orgs;
pub(crate) mod passkeys;
pub(crate) mod password_throttle;
pub(crate) mod policy;
pub(crate) mod recovery;
mod rows;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod users;

pub(crate) use rows::FromPg;

use twofold_core::metrics::StoreMetrics;
use twofold_core::store::{EXPIRED, Engine, EngineError, SchemaVersions, StoreError};

/// The store's error for a driver's.
pub(crate) fn pg(e: sqlx::Error) -> StoreError {
    match e {
        // The same answer as a closed SQLite store's.
        sqlx::Error::PoolClosed => StoreError::Closed,
        e => {
            let unique = is_unique_violation(&e);
            StoreError::Database(EngineError::new(e, unique))
        }
    }
}

/// `.db()?` turns a driver's result into the store's.
pub(crate) trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(pg)
    }
}

/// A handle on one PostgreSQL database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Postgres {
    pub(crate) pool: PgPool,
    metrics: StoreMetrics,
}

/// The migrations, built into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Postgres {
    /// Connects and brings the schema up to date. Concurrent starts are serialised by
    /// sqlx's migration lock.
    pub async fn open(url: &str) -> Result<Postgres, StoreError> {
        let opts =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Postgres {
            pool,
            metrics: StoreMetrics::postgres(),
        })
    }
}

/// True if `e` is a unique violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait::async_trait]
impl Engine for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    fn refresh_metrics(&self) {
        if let StoreMetrics::Postgres { connections, idle } = &self.metrics {
            connections.set(i64::from(self.pool.size()));
            idle.set(i64::try_from(self.pool.num_idle()).unwrap_or(i64::MAX));
        }
    }

    async fn schema_versions(&self) -> Result<SchemaVersions, StoreError> {
        let applied: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .db()?;
        Ok(SchemaVersions {
            applied: u32::try_from(applied).unwrap_or(u32::MAX),
            known: u32::try_from(MIGRATOR.iter().count()).unwrap_or(u32::MAX),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }

    async fn integrity_check(&self) -> Result<String, StoreError> {
        Ok("ok".into())
    }

    async fn purge_expired_rows(&self, now: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for sql in EXPIRED {
            n += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await
                .db()?
                .rows_affected();
        }
        Ok(n)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn exec_text(&self, sql: &'static str, args: &[&str]) -> Result<u64, StoreError> {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        Ok(q.execute(&self.pool).await.db()?.rows_affected())
    }
}
