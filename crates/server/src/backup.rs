//! Restoring a SQLite database from a backup, offline: the one operation that replaces the
//! database file itself, so it is composed here, where the domain's rule (the fence a
//! restore puts up) meets the engine that owns the file. Backups and fences of a database
//! in place go through the domain (`Twofold::backup`, `Twofold::fence_restored`).

use std::path::Path;
use std::sync::Arc;

use twofold_core::clock::Clock;
use twofold_core::config::{Config, Database};
use twofold_core::domain::DomainError;
use twofold_core::domain::backup::{Backup, restore_fence};
use twofold_core::store::{RestoreFence, Restored};

/// Copies the configured database into `to` (`Twofold::backup`); on PostgreSQL, says to
/// use pg_dump before trying to connect.
pub async fn backup(
    config: &Config,
    clock: Arc<dyn Clock>,
    to: &Path,
) -> Result<Backup, DomainError> {
    if let Database::Postgres(_) = config.database {
        return Err(DomainError::Conflict(
            twofold_core::domain::backup::POSTGRES_BACKUP.into(),
        ));
    }
    crate::open_for_admin(config, clock).await?.backup(to).await
}

/// Puts the backup at `from` in place of the configured SQLite database, which no server
/// may be using, with the fence of a restore at the clock's now (see
/// `twofold_core::domain::backup`). Answers the fence and what the restore did.
pub fn restore(
    config: &Config,
    from: &Path,
    clock: &dyn Clock,
) -> Result<(RestoreFence, Restored), DomainError> {
    let Database::Sqlite(live) = &config.database else {
        return Err(DomainError::Conflict(
            "restore puts back a SQLite backup; put a PostgreSQL database back with \
             pg_restore, then run `twofold restore --in-place` (see the README, \"Backups \
             and restore\")"
                .into(),
        ));
    };
    twofold_core::files::private_data_dir(&config.data_dir).map_err(|e| {
        DomainError::Internal(format!("cannot create {}: {e}", config.data_dir.display()))
    })?;
    let fence = restore_fence(clock.now(), &config.security);
    let restored = twofold_store::Sqlite::restore(from, live, fence)?;
    Ok((fence, restored))
}
