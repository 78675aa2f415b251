//! The SQLite schema's migrations and the runner that applies them, each in its own
//! transaction, recording a SHA-256 checksum of each one's SQL; a migration whose text
//! changed after it ran stops the server instead of leaving two databases that claim the
//! same version with different schemas.

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use twofold_core::store::StoreError;

/// The migrations, in order: (name, SQL). Never edit one that has shipped; add the next.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_core",
        include_str!("../../migrations/sqlite/0001_core.sql"),
    ),
    (
        "0002_flows_by_token",
        include_str!("../../migrations/sqlite/0002_flows_by_token.sql"),
    ),
    (
        "0003_audit_events",
        include_str!("../../migrations/sqlite/0003_audit_events.sql"),
    ),
    (
        "0004_mfa_policy",
        include_str!("../../migrations/sqlite/0004_mfa_policy.sql"),
    ),
    (
        "0005_confirmation_codes",
        include_str!("../../migrations/sqlite/0005_confirmation_codes.sql"),
    ),
    (
        "0006_session_details",
        include_str!("../../migrations/sqlite/0006_session_details.sql"),
    ),
    (
        "0007_recovery_codes",
        include_str!("../../migrations/sqlite/0007_recovery_codes.sql"),
    ),
    (
        "0008_step_up",
        include_str!("../../migrations/sqlite/0008_step_up.sql"),
    ),
    (
        "0009_factor_details",
        include_str!("../../migrations/sqlite/0009_factor_details.sql"),
    ),
    (
        "0010_remembered_devices",
        include_str!("../../migrations/sqlite/0010_remembered_devices.sql"),
    ),
    (
        "0011_email_factors",
        include_str!("../../migrations/sqlite/0011_email_factors.sql"),
    ),
    (
        "0012_hardening",
        include_str!("../../migrations/sqlite/0012_hardening.sql"),
    ),
    (
        "0013_console",
        include_str!("../../migrations/sqlite/0013_console.sql"),
    ),
    (
        "0014_oidc_providers",
        include_str!("../../migrations/sqlite/0014_oidc_providers.sql"),
    ),
    (
        "0015_oidc_sign_in",
        include_str!("../../migrations/sqlite/0015_oidc_sign_in.sql"),
    ),
    (
        "0016_passkeys",
        include_str!("../../migrations/sqlite/0016_passkeys.sql"),
    ),
    (
        "0017_retired_secret_keys",
        include_str!("../../migrations/sqlite/0017_retired_secret_keys.sql"),
    ),
    (
        "0018_lighter_sessions",
        include_str!("../../migrations/sqlite/0018_lighter_sessions.sql"),
    ),
];

/// How many migrations this build has.
// A few dozen at most: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) const KNOWN: u32 = MIGRATIONS.len() as u32;

/// Where the applied migrations are recorded. `user_version` is kept in step too, for
/// tools that look at it.
const HISTORY: &str = "CREATE TABLE IF NOT EXISTS _twofold_migrations ( \
     version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum BLOB NOT NULL, \
     adopted INTEGER NOT NULL DEFAULT 0)";

fn checksum(sql: &str) -> Vec<u8> {
    Sha256::digest(sql.as_bytes()).to_vec()
}

/// Brings the schema up to date, after checking that the migrations already applied are
/// the ones this build carries.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    migrate(conn).map_err(|e| match e {
        Failure::Sql(e) => StoreError::Migrate(e.to_string()),
        Failure::Changed(msg) => StoreError::Migrate(msg),
    })
}

enum Failure {
    Sql(rusqlite::Error),
    Changed(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), Failure> {
    conn.execute_batch(HISTORY)?;
    let mut done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if done == 0 {
        done = adopt_sqlx_history(conn)?;
    }
    for (n, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(n).unwrap_or(i64::MAX).saturating_add(1);
        let recorded: Option<(String, Vec<u8>)> = conn
            .query_row(
                "SELECT name, checksum FROM _twofold_migrations WHERE version = $1",
                [version],
                |r| Ok((r.get("name")?, r.get("checksum")?)),
            )
            .optional()?;
        match recorded {
            Some((was, sum)) if was != *name || sum != checksum(sql) => {
                return Err(Failure::Changed(format!(
                    "migration {version} ({name}) is not the one this database ran ({was}): \
                     its SQL was changed after it shipped"
                )));
            }
            Some(_) => continue,
            None if version <= done => {
                // Applied before checksums were recorded: trusted as it is, once.
                conn.execute(
                    "INSERT INTO _twofold_migrations (version, name, checksum, adopted) \
                     VALUES ($1, $2, $3, 1)",
                    rusqlite::params![version, name, checksum(sql)],
                )?;
                continue;
            }
            None => {}
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO _twofold_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            rusqlite::params![version, name, checksum(sql)],
        )?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// Databases made before the engine moved off sqlx record their migrations in sqlx's
/// table instead of `user_version`: take its count over, so nothing runs twice.
fn adopt_sqlx_history(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    let applied: i64 = conn.query_row(
        "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
        [],
        |r| r.get(0),
    )?;
    conn.pragma_update(None, "user_version", applied)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::path::PathBuf;

    use super::*;

    fn temp_db() -> PathBuf {
        std::env::temp_dir()
            .join(format!("twofold-sqlite-{}", uuid::Uuid::new_v4()))
            .join("twofold.db")
    }

    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".sql")
                    .to_owned()
            })
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn a_migration_changed_after_it_ran_stops_the_open_naming_it() {
        let path = temp_db();
        drop(super::super::Sqlite::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE _twofold_migrations SET checksum = X'00' WHERE version = 3",
            [],
        )
        .unwrap();
        drop(conn);
        let e = super::super::Sqlite::open(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            "database migration failed: migration 3 (0003_audit_events) is not the one this \
             database ran (0003_audit_events): its SQL was changed after it shipped"
        );
    }

    #[test]
    fn a_database_from_before_checksums_is_adopted_and_then_checked() {
        let path = temp_db();
        drop(super::super::Sqlite::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE _twofold_migrations")
            .unwrap();
        drop(conn);
        drop(super::super::Sqlite::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let adopted: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM _twofold_migrations WHERE adopted = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(adopted, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn a_database_migrated_by_sqlx_is_taken_over_without_running_its_migrations_again() {
        let path = temp_db();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            // What sqlx left behind: the schema, and its own record of having made it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.execute_batch(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL); \
                 INSERT INTO _sqlx_migrations VALUES (1, TRUE);",
            )
            .unwrap();
        }
        // Running 0001 again would fail ("table orgs already exists"); the later ones run.
        let db = super::super::Sqlite::open(&path).unwrap();
        let version: i64 = db
            .read(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
        db.close();
        // And a new database gets every migration.
        let fresh = super::super::Sqlite::open(&temp_db()).unwrap();
        let version: i64 = fresh
            .read(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn flows_in_progress_survive_the_move_to_token_keyed_flows() {
        let path = temp_db();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            // A database at migration 1, with a sign-in waiting for its code.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1; \
                 INSERT INTO orgs VALUES ('o', 'acme', 'Acme', 0); \
                 INSERT INTO users (id, org_id, username, email, role, created_at) \
                     VALUES ('u', 'o', 'ann', 'ann@example.com', 'member', 0); \
                 INSERT INTO login_flows VALUES ('f', X'0102', 'u', 0, 300000);",
            )
            .unwrap();
        }
        let db = super::super::Sqlite::open(&path).unwrap();
        let flow: (String, String, i64) = db
            .read(|c| {
                c.query_row(
                    "SELECT id, user_id, expires_at FROM login_flows WHERE token_hash = X'0102'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .unwrap();
        assert_eq!(flow, ("f".to_owned(), "u".to_owned(), 300_000));
        let without_rowid: bool = db
            .read(|c| {
                c.query_row(
                    "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = 'login_flows'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert!(without_rowid);
    }

    #[test]
    fn authenticator_apps_survive_the_rebuild_for_email_factors() {
        let path = temp_db();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            // A database at migration 10, with an app that has drifted and is being moved.
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..10] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 10; \
                 INSERT INTO orgs VALUES ('o', 'acme', 'Acme', 0); \
                 INSERT INTO users (id, org_id, username, email, role, created_at) \
                     VALUES ('u', 'o', 'ann', 'ann@example.com', 'member', 0); \
                 INSERT INTO secret_keys VALUES ('k1', X'00', 0); \
                 INSERT INTO factors (id, user_id, kind, name, status, secret_key_id, \
                     secret_sealed, algorithm, digits, period, last_used_step, created_at, \
                     activated_at, last_used_at, preferred, drift_steps, next_secret_key_id, \
                     next_secret_sealed) \
                     VALUES ('f', 'u', 'totp', 'Phone', 'active', 'k1', X'0102', 'SHA256', 8, \
                     60, 42, 1, 2, 3, TRUE, -2, 'k1', X'0304');",
            )
            .unwrap();
        }
        let db = super::super::Sqlite::open(&path).unwrap();
        let row = db
            .read(|c| {
                c.query_row(
                    "SELECT kind, secret_sealed, algorithm, period, last_used_step, preferred, \
                     drift_steps, next_secret_sealed, address FROM factors WHERE id = 'f'",
                    [],
                    |r| {
                        Ok(format!(
                            "{:?}",
                            (
                                r.get::<_, String>(0)?,
                                r.get::<_, Option<Vec<u8>>>(1)?,
                                r.get::<_, Option<String>>(2)?,
                                r.get::<_, i64>(3)?,
                                r.get::<_, Option<i64>>(4)?,
                                r.get::<_, bool>(5)?,
                                r.get::<_, i64>(6)?,
                                r.get::<_, Option<Vec<u8>>>(7)?,
                                r.get::<_, Option<String>>(8)?,
                            )
                        ))
                    },
                )
            })
            .unwrap();
        assert_eq!(
            row,
            r#"("totp", Some([1, 2]), Some("SHA256"), 60, Some(42), true, -2, Some([3, 4]), None)"#
        );
        // Email factors now fit, without a secret and with an address, one per user.
        let insert = |id: &str, sealed: &str| {
            let sql = format!(
                "INSERT INTO factors (id, user_id, kind, name, status, secret_sealed, digits, \
                 period, created_at, address) VALUES ('{id}', 'u', 'email', 'Email', 'pending', \
                 {sealed}, 6, 300, 0, 'ann@example.com')"
            );
            db.read(|c| c.execute_batch(&sql))
        };
        assert!(
            insert("e0", "X'01'").is_err(),
            "an email factor has no secret"
        );
        insert("e1", "NULL").unwrap();
        assert!(insert("e2", "NULL").is_err(), "one email factor per user");
    }
}
