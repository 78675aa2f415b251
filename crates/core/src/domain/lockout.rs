//! The second-factor lockout: after `threshold` consecutive failed codes the user's second
//! step is locked, each further failure doubling the lock, up to `max`.
//!
//! ```text
//!                 wrong code (n < threshold)
//!               ┌──────────────┐
//!               ▼              │
//!  ┌──────────────────────┐    │        correct code
//!  │ open: n failures     │────┘   ┌─────────────────────► n = 0, open
//!  └──────────────────────┘        │
//!        │ wrong code, n+1 = threshold
//!        ▼                         │
//!  ┌──────────────────────┐  lock ends   ┌────────────────────────────┐
//!  │ locked for base      │────────────► │ one attempt allowed        │
//!  │ every code refused,  │              │ wrong: locked for          │
//!  │ even a correct one   │ ◄─────────── │ base·2^(n-threshold), ≤ max│
//!  └──────────────────────┘              └────────────────────────────┘
//! ```
//!
//! The counter and the lock live in the database (see `store::code_check`), so they hold
//! across restarts and across server processes; an attempt is counted before, or in the
//! same transaction as, the evaluation of its code, so concurrent guesses cannot exceed
//! the budget.

use std::time::Duration;

use super::audit::AuditAt;
use super::{DomainError, Result, Twofold};
use crate::clock::Timestamp;
use crate::config::Security;
use crate::mail::{Mail, messages};
use crate::store::{Checked, Reservation, UserRow};

/// When attempt number `attempt` (1-based), if it fails, locks the user until.
pub fn lock_until(security: &Security, now: Timestamp, attempt: i64) -> Option<Timestamp> {
    let over = attempt - i64::from(security.lockout_threshold);
    if over < 0 {
        return None;
    }
    let factor = 1u32
        .checked_shl(u32::try_from(over).unwrap_or(u32::MAX))
        .unwrap_or(u32::MAX);
    let lock = security
        .lockout_base
        .saturating_mul(factor)
        .min(security.lockout_max);
    Some(now.plus(lock.max(Duration::from_secs(1))))
}

/// `too_many_attempts` at `now` for a lock until `until` (Unix ms).
pub(crate) fn locked(now: Timestamp, until: i64) -> DomainError {
    DomainError::Locked {
        retry_after: now.secs_until(Timestamp::from_millis(until)).max(1),
    }
}

impl Twofold {
    /// The notice mailed to `to` when their second step locks at `at` ("someone entered
    /// your password but failed the second step"), with the current request's address.
    pub(crate) fn lock_notice(&self, to: &str, at: Timestamp) -> Mail {
        let ip = super::audit::current_origin().ip;
        messages::lock_notice(to, &at.to_rfc3339(), ip.as_deref())
    }

    /// Counts one more second-factor attempt of `user_id` before its code is compared
    /// (for checks too slow to run inside the store's own check: a recovery code's
    /// Argon2id, a mailed code's). Answers the attempt's number, or `Locked`.
    pub(crate) async fn reserve_attempt(&self, user_id: &str) -> Result<i64> {
        let now = self.now();
        let security = self.security.clone();
        let lock_after = Box::new(move |attempt: i64| {
            lock_until(&security, now, attempt).map(Timestamp::as_millis)
        });
        match self
            .store
            .reserve_mfa_attempt(user_id, now.as_millis(), lock_after)
            .await?
        {
            Reservation::Granted { attempt } => Ok(attempt),
            Reservation::Locked { until } => Err(locked(now, until)),
        }
    }

    /// Records failed attempt `attempt` of `user` (already counted) as `event` with
    /// `details`, and, if this attempt locked them, `mfa.locked` and the lock notice.
    pub(crate) async fn failed_attempt(
        &self,
        user: &UserRow,
        attempt: i64,
        event: &'static str,
        details: serde_json::Value,
    ) {
        let now = self.now();
        let lock = lock_until(&self.security, now, attempt).map(Timestamp::as_millis);
        let who = Checked {
            user_id: &user.id,
            org_id: &user.org_id,
        };
        for row in AuditAt::current(now).failed(who, attempt, event, details, lock) {
            self.record_row(&row).await;
        }
        if lock.is_some() {
            self.mailer.send(&self.lock_notice(&user.email, now), now);
        }
        self.attempt_failed(&user.id, attempt);
    }

    /// `too_many_attempts` while `user`'s second step is locked (nothing is checked, or
    /// mailed, then).
    pub(crate) async fn refuse_while_locked(&self, user: &UserRow) -> Result<()> {
        let now = self.now();
        match self
            .store
            .mfa_locked_until(&user.id, now.as_millis())
            .await?
        {
            Some(until) => Err(locked(now, until)),
            None => Ok(()),
        }
    }

    /// Records that attempt `attempt` failed, whatever the method: logs and counts the lock
    /// it caused, if any.
    pub(crate) fn attempt_failed(&self, user_id: &str, attempt: i64) {
        let now = self.now();
        if let Some(until) = lock_until(&self.security, now, attempt) {
            self.metrics.lockouts.inc();
            tracing::warn!(
                event = "mfa.locked",
                user_id,
                attempt,
                locked_for_secs = now.secs_until(until),
                "second factor locked after repeated failures"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_starts_at_threshold_and_doubles_to_the_cap() {
        let s = Security::default();
        let t0 = Timestamp::from_millis(0);
        let secs = |a| lock_until(&s, t0, a).map(|t| t.as_millis() / 1000);
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(60));
        assert_eq!(secs(6), Some(120));
        assert_eq!(secs(7), Some(240));
        assert_eq!(secs(11), Some(3600));
        assert_eq!(secs(500), Some(3600));
    }
}
