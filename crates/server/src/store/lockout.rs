//! The per-user second-factor lockout counter, kept in the `users` row so that it holds
//! across server processes.
//!
//! On PostgreSQL an attempt is *reserved* before its code is evaluated: one
//! compare-and-swap, committed on its own, that counts it and, if it is the attempt that
//! reaches the threshold, sets the lock at the same time. So however many wrong codes
//! arrive at once, from however many processes, at most the budget is ever evaluated:
//! the rest find the lock already set. (On SQLite a TOTP check is one transaction on the
//! single writer, which gives the same guarantee; see `code_check`. Checks whose
//! evaluation is too slow for the writer, such as a recovery code's Argon2id, reserve on
//! SQLite too, with [`Store::reserve_mfa_attempt`].)

use super::{Store, StoreError};

/// The outcome of asking to evaluate one more second-factor code for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead; this is the `n`th consecutive attempt without a success.
    Granted { attempt: i64 },
    /// Locked until this time (Unix ms); the code must not be evaluated.
    Locked { until: i64 },
}

/// A user's failure count and lock. Binds: user id.
pub(super) const LOCK_STATE: &str =
    "SELECT mfa_failures, mfa_locked_until FROM users WHERE id = $1";

#[derive(sqlx::FromRow)]
struct LockState {
    mfa_failures: i64,
    mfa_locked_until: Option<i64>,
}

const RESERVE: &str = "UPDATE users SET mfa_failures = $1, mfa_locked_until = $2 \
     WHERE id = $3 AND mfa_failures = $4 \
     AND (mfa_locked_until IS NULL OR mfa_locked_until <= $5)";

/// Maps an attempt's number (1-based) to the time it locks the user until, should it
/// fail (`None`: no lock yet).
pub type LockAfter = Box<dyn Fn(i64) -> Option<i64> + Send + Sync>;

impl Store {
    /// Reserves an attempt for `user_id` at `now`, on either engine; see the module
    /// documentation.
    pub async fn reserve_mfa_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: LockAfter,
    ) -> Result<Reservation, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let user_id = user_id.to_owned();
                // The single writer runs this alone: the read and the write cannot race.
                db.write(move |c| {
                    let (failures, locked_until): (i64, Option<i64>) = c
                        .prepare_cached(LOCK_STATE)?
                        .query_row([&user_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    if let Some(until) = locked_until.filter(|&u| u > now) {
                        return Ok(Reservation::Locked { until });
                    }
                    let attempt = failures + 1;
                    let lock = lock_after(attempt).or(locked_until);
                    c.prepare_cached(RESERVE)?
                        .execute(rusqlite::params![attempt, lock, user_id, failures, now])?;
                    Ok(Reservation::Granted { attempt })
                })
                .await
            }
            Store::Postgres(p) => Self::reserve_mfa_attempt_pg(p, user_id, now, &*lock_after).await,
        }
    }

    /// Until when `user_id`'s second step is locked, if it is at `now`.
    pub async fn mfa_locked_until(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let until: Option<i64> = match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(LOCK_STATE)?
                    .query_row([user_id], |r| r.get(1))
            })?,
            Store::Postgres(p) => {
                sqlx::query_as::<_, LockState>(LOCK_STATE)
                    .bind(user_id)
                    .fetch_one(p)
                    .await?
                    .mfa_locked_until
            }
        };
        Ok(until.filter(|&u| u > now))
    }

    /// Reserves an attempt for `user_id` at `now` on PostgreSQL. `lock_after` maps the
    /// attempt's number to the time it locks the user until, should it fail.
    pub(super) async fn reserve_mfa_attempt_pg(
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
                .await?
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
                .await?
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
}
