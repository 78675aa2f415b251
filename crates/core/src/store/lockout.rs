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
//! SQLite too, with [`LockoutStore::reserve_mfa_attempt`].)

use super::StoreError;

/// The outcome of asking to evaluate one more second-factor code for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead; this is the `n`th consecutive attempt without a success.
    Granted { attempt: i64 },
    /// Locked until this time (Unix ms); the code must not be evaluated.
    Locked { until: i64 },
}

/// A user's failure count and lock. Binds: user id.
pub const LOCK_STATE: &str = "SELECT mfa_failures, mfa_locked_until FROM users WHERE id = $1";

pub const RESERVE: &str = "UPDATE users SET mfa_failures = $1, mfa_locked_until = $2 \
     WHERE id = $3 AND mfa_failures = $4 \
     AND (mfa_locked_until IS NULL OR mfa_locked_until <= $5)";

/// Maps an attempt's number (1-based) to the time it locks the user until, should it
/// fail (`None`: no lock yet).
pub type LockAfter = Box<dyn Fn(i64) -> Option<i64> + Send + Sync>;

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait LockoutStore: Send + Sync {
    /// Reserves an attempt for `user_id` at `now`, on either engine; see the module
    /// documentation.
    async fn reserve_mfa_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: LockAfter,
    ) -> Result<Reservation, StoreError>;

    /// Until when `user_id`'s second step is locked, if it is at `now`
    /// ([`StoreError::Missing`] for a user who is not there).
    async fn mfa_locked_until(&self, user_id: &str, now: i64) -> Result<Option<i64>, StoreError>;
}
