//! The PostgreSQL side of [`twofold_core::store::lockout`].

use super::Db;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::lockout::*;

#[derive(sqlx::FromRow)]
struct LockState {
    mfa_failures: i64,
    mfa_locked_until: Option<i64>,
}

/// Reserves an attempt for `user_id` at `now` on PostgreSQL. `lock_after` maps the
/// attempt's number to the time it locks the user until, should it fail.
async fn reserve(
    p: &sqlx::PgPool,
    user_id: &str,
    now: i64,
    lock_after: &(dyn Fn(i64) -> Option<i64> + Send + Sync),
) -> Result<Reservation, StoreError> {
    // Each lost race means another attempt was counted, and the count only grows
    // until the lock is set, so this ends quickly; the bound is a guard.
    for _ in 0..1000 {
        let state = sqlx::query_as::<_, LockState>(LOCK_STATE)
            .bind(user_id)
            .fetch_optional(p)
            .await
            .db()?
            .ok_or(StoreError::Missing("user"))?;
        if let Some(until) = state.mfa_locked_until.filter(|&u| u > now) {
            return Ok(Reservation::Locked { until });
        }
        let attempt = state.mfa_failures + 1;
        let lock = lock_after(attempt).or(state.mfa_locked_until);
        let won = sqlx::query(RESERVE)
            .bind(attempt)
            .bind(lock)
            .bind(user_id)
            .bind(state.mfa_failures)
            .bind(now)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1;
        if won {
            return Ok(Reservation::Granted { attempt });
        }
    }
    Err(StoreError::Commit(
        "the lockout counter kept changing; gave up".into(),
    ))
}

#[async_trait::async_trait]
impl LockoutStore for Postgres {
    async fn reserve_mfa_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: LockAfter,
    ) -> Result<Reservation, StoreError> {
        let p = &self.pool;
        reserve(p, user_id, now, &*lock_after).await
    }

    async fn mfa_locked_until(&self, user_id: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let p = &self.pool;
        let until: Option<i64> = {
            sqlx::query_as::<_, LockState>(LOCK_STATE)
                .bind(user_id)
                .fetch_optional(p)
                .await
                .db()?
                .ok_or(StoreError::Missing("user"))?
                .mfa_locked_until
        };
        Ok(until.filter(|&u| u > now))
    }
}
