//! The storage engines behind `twofold-core`'s store traits: SQLite, the embedded default
//! (rusqlite, `sqlite/`), and PostgreSQL for several servers sharing one database (sqlx,
//! `postgres/`). Each engine implements every area's trait in the file named after it;
//! the SQL text both share is in the core's `store` module, beside the trait.

pub mod postgres;
pub mod sqlite;

pub use postgres::Postgres;
pub use sqlite::Sqlite;

use twofold_core::config::{Database, SqliteSync};
use twofold_core::store::{Store, StoreError};

/// Opens the database (creating a SQLite file if needed) and brings its schema up to date.
pub async fn open(db: &Database) -> Result<Store, StoreError> {
    open_with(db, SqliteSync::Normal).await
}

/// [`open`], with SQLite's commits synced as `sync` says (PostgreSQL has its own setting,
/// `synchronous_commit`, on the server).
pub async fn open_with(db: &Database, sync: SqliteSync) -> Result<Store, StoreError> {
    Ok(match db {
        // Opening and migrating a local file takes milliseconds.
        Database::Sqlite(path) => Store::new(Sqlite::open_with(path, sync)?),
        Database::Postgres(url) => Store::new(Postgres::open(url).await?),
    })
}
