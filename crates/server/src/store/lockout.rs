//! The per-user second-factor lockout counter, kept in the `users` row so that it holds
//! across server processes.
//!
//! An attempt is *reserved* before its code is evaluated: one compare-and-swap that counts
//! it and, if it is the attempt that reaches the threshold, sets the lock at the same time.
//! So however many wrong codes arrive at once, at most the budget is ever evaluated: the
//! rest find the lock already set. A correct code then clears counter and lock.

use super::{Store, StoreError, on_pool, on_writer};

/// The outcome of asking to evaluate one more second-factor code for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead; this is the `n`th consecutive attempt without a success.
    Granted { attempt: i64 },
    /// Locked until this time (Unix ms); the code must not be evaluated.
    Locked { until: i64 },
}

#[derive(sqlx::FromRow)]
struct LockState {
    mfa_failures: i64,
    mfa_locked_until: Option<i64>,
}

impl Store {
    /// Reserves an attempt for `user_id` at `now`. `lock_after` maps the attempt's number
    /// to the time it locks the user until, should it fail (`None`: no lock yet).
    pub async fn reserve_mfa_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
    ) -> Result<Reservation, StoreError> {
        // Each lost race means another attempt was counted, and the count only grows
        // until the lock is set, so this ends quickly; the bound is a guard.
        for _ in 0..1000 {
            let state = on_pool!(self, p => sqlx::query_as::<_, LockState>(
                "SELECT mfa_failures, mfa_locked_until FROM users WHERE id = $1")
                .bind(user_id).fetch_optional(p).await)?;
            let Some(state) = state else {
                return Err(StoreError::Db(sqlx::Error::RowNotFound));
            };
            if let Some(until) = state.mfa_locked_until.filter(|&u| u > now) {
                return Ok(Reservation::Locked { until });
            }
            let attempt = state.mfa_failures + 1;
            let lock = lock_after(attempt).or(state.mfa_locked_until);
            let won = on_writer!(self, p => sqlx::query(
                "UPDATE users SET mfa_failures = $1, mfa_locked_until = $2 \
                 WHERE id = $3 AND mfa_failures = $4 \
                 AND (mfa_locked_until IS NULL OR mfa_locked_until <= $5)")
                .bind(attempt).bind(lock).bind(user_id).bind(state.mfa_failures).bind(now)
                .execute(p).await.map(|r| r.rows_affected() == 1))?;
            if won {
                return Ok(Reservation::Granted { attempt });
            }
        }
        Err(StoreError::Db(sqlx::Error::PoolTimedOut))
    }

    /// A second factor succeeded: the count starts again and any lock ends.
    pub async fn reset_mfa_failures(&self, user_id: &str) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(
            "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
             WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)")
            .bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
