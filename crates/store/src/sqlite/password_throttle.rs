//! The SQLite side of [`twofold_core::store::password_throttle`].

use super::Sqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::password_throttle::*;

#[async_trait::async_trait]
impl PasswordThrottleStore for Sqlite {
    async fn password_throttled_until(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .read(|c| {
                c.prepare_cached(SELECT)?
                    .query_row([slug, username], |r| r.get::<_, Option<i64>>(0))
                    .optional()
            })?
            .flatten())
    }

    async fn count_password_failure(
        &self,
        slug: &str,
        username: &str,
        now: i64,
        wait_until: Box<dyn Fn(i64) -> Option<i64> + Send>,
    ) -> Result<i64, StoreError> {
        {
            let (slug, username) = (slug.to_owned(), username.to_owned());
            self.write(move |c| {
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
    }

    async fn purge_password_failures(&self, before: i64) -> Result<u64, StoreError> {
        {
            self.write(move |c| {
                let n = c.prepare_cached(PURGE)?.execute([before])?;
                Ok(u64::try_from(n).unwrap_or(u64::MAX))
            })
            .await
        }
    }
}
