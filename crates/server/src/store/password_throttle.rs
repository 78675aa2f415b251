//! The per-account password throttle's state: consecutive wrong passwords per organisation
//! and username as typed, and until when a further guess waits (see
//! `domain::password_throttle`).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

/// Binds: slug, username.
const SELECT: &str =
    "SELECT throttled_until FROM password_failures WHERE org_slug = $1 AND username = $2";
/// Counts one more failure; answers the new count. Binds: slug, username, now.
const COUNT: &str = "INSERT INTO password_failures (org_slug, username, failures, updated_at) \
     VALUES ($1, $2, 1, $3) ON CONFLICT (org_slug, username) DO UPDATE \
     SET failures = password_failures.failures + 1, updated_at = excluded.updated_at \
     RETURNING failures";
/// Binds: until, slug, username.
const THROTTLE: &str =
    "UPDATE password_failures SET throttled_until = $1 WHERE org_slug = $2 AND username = $3";
/// Binds: slug, username.
const CLEAR: &str = "DELETE FROM password_failures WHERE org_slug = $1 AND username = $2";
/// Binds: before.
const PURGE: &str = "DELETE FROM password_failures WHERE updated_at < $1 \
     AND (throttled_until IS NULL OR throttled_until < $1)";

impl Store {
    /// Until when a guess for `username` in `slug` waits (Unix ms), if a wait was set.
    pub async fn password_throttled_until(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<Option<i64>, StoreError> {
        match self {
            Store::Sqlite(db) => Ok(db
                .read(|c| {
                    c.prepare_cached(SELECT)?
                        .query_row([slug, username], |r| r.get::<_, Option<i64>>(0))
                        .optional()
                })?
                .flatten()),
            Store::Postgres(p) => Ok(sqlx::query_scalar::<_, Option<i64>>(SELECT)
                .bind(slug)
                .bind(username)
                .fetch_optional(p)
                .await?
                .flatten()),
        }
    }

    /// Counts a wrong password for `username` in `slug` at `now`, and sets the wait that
    /// `wait_until` gives for the new count (`None`: none yet); answers the count.
    pub async fn count_password_failure(
        &self,
        slug: &str,
        username: &str,
        now: i64,
        wait_until: Box<dyn Fn(i64) -> Option<i64> + Send>,
    ) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let (slug, username) = (slug.to_owned(), username.to_owned());
                db.write(move |c| {
                    let n: i64 = c
                        .prepare_cached(COUNT)?
                        .query_row(rusqlite::params![slug, username, now], |r| r.get(0))?;
                    if let Some(until) = wait_until(n) {
                        c.prepare_cached(THROTTLE)?
                            .execute(rusqlite::params![until, slug, username])?;
                    }
                    Ok(n)
                })
                .await
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let n: i64 = sqlx::query_scalar(COUNT)
                    .bind(slug)
                    .bind(username)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                if let Some(until) = wait_until(n) {
                    sqlx::query(THROTTLE)
                        .bind(until)
                        .bind(slug)
                        .bind(username)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    /// Forgets the failures of `username` in `slug` (the right password was given).
    pub async fn clear_password_failures(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<(), StoreError> {
        self.exec_text(CLEAR, &[slug, username]).await.map(|_| ())
    }

    /// Forgets failures last counted before `before` whose wait is over.
    pub(super) async fn purge_password_failures(&self, before: i64) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(db) => {
                db.write(move |c| {
                    let n = c.prepare_cached(PURGE)?.execute([before])?;
                    Ok(u64::try_from(n).unwrap_or(u64::MAX))
                })
                .await
            }
            Store::Postgres(p) => Ok(sqlx::query(PURGE)
                .bind(before)
                .execute(p)
                .await?
                .rows_affected()),
        }
    }
}
