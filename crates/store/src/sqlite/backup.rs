//! The SQLite side of [`twofold_core::store::backup`]: a copy with `VACUUM INTO` while
//! servers write, and putting a copy back in place of the database file ([`Sqlite::restore`]).
//!
//! `VACUUM INTO` reads the database in one read transaction, so the copy is the database as
//! of one commit, whatever the writer commits meanwhile (WAL readers never wait for it and
//! it never waits for them). The copy is a single file in rollback-journal mode, with no WAL
//! beside it to forget, plus a small table saying when it was taken.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{Sqlite, driver};
use twofold_core::store::StoreError;
use twofold_core::store::backup::*;

/// The copy's own record: when it was taken. Dropped again when it is restored.
const RECORD: &str = "twofold_backup";

#[async_trait::async_trait]
impl BackupStore for Sqlite {
    async fn copy_to(&self, to: &Path, taken_at: i64) -> Result<Vec<String>, StoreError> {
        let target = utf8(to)?.to_owned();
        // A read: it runs on a reader connection, beside the writer.
        self.read(|c| c.execute("VACUUM INTO ?1", [&target]).map(|_| ()))?;
        let copy = Connection::open_with_flags(
            to,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(driver)?;
        // The live database is in WAL mode and its copy says so; a backup is one file.
        copy.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .map_err(driver)?;
        copy.execute_batch(&format!(
            "CREATE TABLE {RECORD} (taken_at BIGINT NOT NULL); \
             INSERT INTO {RECORD} (taken_at) VALUES ({taken_at});"
        ))
        .map_err(driver)?;
        key_ids(&copy).map_err(driver)
    }

    async fn fence_restored(&self, fence: RestoreFence) -> Result<Fenced, StoreError> {
        self.write(move |c| Ok(put_fence_up(c, fence)?)).await
    }
}

/// Runs [`FENCE_APP_STEPS`] and [`END_IN_PROGRESS`] on `c`, inside its transaction.
fn put_fence_up(c: &Connection, fence: RestoreFence) -> rusqlite::Result<Fenced> {
    let raised = c.execute(FENCE_APP_STEPS, [fence.now_secs, fence.steps_ahead])?;
    let mut ended = 0;
    for sql in END_IN_PROGRESS {
        ended += c.execute(sql, [])?;
    }
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    Ok(Fenced {
        app_factors: count(raised),
        in_progress_ended: count(ended),
    })
}

fn key_ids(c: &Connection) -> rusqlite::Result<Vec<String>> {
    c.prepare(SEALED_KEY_IDS)?
        .query_map([], |r| r.get(0))?
        .collect()
}

fn utf8(path: &Path) -> Result<&str, StoreError> {
    path.to_str()
        .ok_or_else(|| StoreError::Connect(format!("{}: not a UTF-8 path", path.display())))
}

/// An error of the restore that names the file it is about.
fn at(path: &Path, what: impl std::fmt::Display) -> StoreError {
    StoreError::Connect(format!("{}: {what}", path.display()))
}

impl Sqlite {
    /// Puts the copy at `backup` in place of the database file `live`, which nothing may
    /// have open (a running server): brings the copy's schema up to date, puts `fence` up
    /// in it, and only then replaces `live` with it, in one rename — so a restore that
    /// stops half-way leaves the old database, never an unfenced copy. `backup` itself is
    /// only read.
    pub fn restore(
        backup: &Path,
        live: &Path,
        fence: RestoreFence,
    ) -> Result<Restored, StoreError> {
        let source = Connection::open_with_flags(
            backup,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| at(backup, e))?;
        let verdict: String = source
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| at(backup, format!("not a Twofold backup ({e})")))?;
        if verdict != "ok" {
            return Err(at(backup, format!("the copy is damaged: {verdict}")));
        }
        let is_twofold: bool = source
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_twofold_migrations')",
                [],
                |r| r.get(0),
            )
            .map_err(driver)?;
        if !is_twofold {
            return Err(at(backup, "not a Twofold database"));
        }

        // Held until the copy is ready: a server that starts meanwhile waits, then fails.
        let guard = lock_unused(live)?;

        let mut name = live.file_name().unwrap_or_default().to_owned();
        name.push(".restoring");
        let staged = live.with_file_name(name);
        remove_if_there(&staged)?;
        twofold_core::files::write_new_private(&staged, b"").map_err(|e| at(&staged, e))?;
        let restored = stage(&source, &staged, fence);
        drop(source);
        let restored = match restored {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e);
            }
        };

        // Closing the only connection checkpoints the old WAL into the old file and
        // deletes it; a WAL or shared-memory file a crashed server left is removed, as it
        // belongs to the old database and would be replayed into the new one.
        drop(guard);
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = live.as_os_str().to_owned();
            side.push(suffix);
            remove_if_there(Path::new(&side))?;
        }
        std::fs::rename(&staged, live).map_err(|e| at(live, e))?;
        if let Some(dir) = live.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| at(dir, e))?;
        }
        Ok(restored)
    }
}

/// A connection holding `live` exclusively, proving that nothing else has it open (every
/// connection in WAL mode keeps a lock that an exclusive one cannot pass), or an error
/// saying it is in use. Nothing to hold if there is no database yet.
fn lock_unused(live: &Path) -> Result<Option<Connection>, StoreError> {
    if !live.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| at(live, e))?;
    let locked = conn
        .busy_timeout(std::time::Duration::ZERO)
        .and_then(|()| conn.pragma_update(None, "locking_mode", "EXCLUSIVE"))
        .and_then(|()| conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;"));
    match locked {
        Ok(()) => Ok(Some(conn)),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Err(at(
                live,
                "in use (is a server running on it?): stop every server and command using \
                 this data directory, then restore",
            ))
        }
        Err(e) => Err(at(live, e)),
    }
}

/// Copies `source` into the empty file `staged`, migrates it and puts the fence up.
fn stage(source: &Connection, staged: &Path, fence: RestoreFence) -> Result<Restored, StoreError> {
    source
        .execute("VACUUM INTO ?1", [utf8(staged)?])
        .map_err(|e| at(staged, e))?;
    let mut conn = Connection::open_with_flags(
        staged,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| at(staged, e))?;
    // Everything lands in the one file that is renamed into place: no WAL beside it.
    conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(driver)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(driver)?;
    // A copy from an older release is brought up to this one's schema first.
    super::migrate::run(&mut conn)?;
    let tx = conn.transaction().map_err(driver)?;
    let taken_at: Option<i64> = if has_table(&tx, RECORD)? {
        tx.query_row(&format!("SELECT MAX(taken_at) FROM {RECORD}"), [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(driver)?
        .flatten()
    } else {
        None
    };
    tx.execute_batch(&format!("DROP TABLE IF EXISTS {RECORD}"))
        .map_err(driver)?;
    let fenced = put_fence_up(&tx, fence).map_err(driver)?;
    let secret_key_ids = key_ids(&tx).map_err(driver)?;
    tx.commit().map_err(driver)?;
    conn.close().map_err(|(_, e)| driver(e))?;
    // On disk before it replaces the database.
    std::fs::File::open(staged)
        .and_then(|f| f.sync_all())
        .map_err(|e| at(staged, e))?;
    Ok(Restored {
        taken_at,
        secret_key_ids,
        fenced,
    })
}

fn has_table(c: &Connection, name: &str) -> Result<bool, StoreError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
    .map_err(driver)
}

fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(at(path, e)),
        _ => Ok(()),
    }
}
