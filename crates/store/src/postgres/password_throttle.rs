//! The PostgreSQL side of [`twofold_core::store::password_throttle`].

use super::Db;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::password_throttle::*;

#[async_trait::async_trait]
impl PasswordThrottleStore for Postgres {
    async fn password_throttled_until(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<Option<i64>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query_scalar::<_, Option<i64>>(SELECT)
                .bind(slug)
                .bind(username)
                .fetch_optional(p)
                .await
                .db()?
                .flatten())
        }
    }

    async fn count_password_failure(
        &self,
        slug: &str,
        username: &str,
        now: i64,
        wait_until: Box<dyn Fn(i64) -> Option<i64> + Send>,
    ) -> Result<i64, StoreError> {
        let p = &self.pool;
        {
            let mut tx = p.begin().await.db()?;
            let n: i64 = sqlx::query_scalar(COUNT)
                .bind(slug)
                .bind(username)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .db()?;
            if let Some(until) = wait_until(n) {
                sqlx::query(THROTTLE)
                    .bind(until)
                    .bind(slug)
                    .bind(username)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            tx.commit().await.db()?;
            Ok(n)
        }
    }

    async fn purge_password_failures(&self, before: i64) -> Result<u64, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(PURGE)
            .bind(before)
            .execute(p)
            .await
            .db()?
            .rows_affected())
    }
}
