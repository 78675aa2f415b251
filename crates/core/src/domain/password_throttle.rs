//! The per-account password throttle (NIST SP 800-63B §5.2.2): after 10 wrong passwords in
//! a row for an organisation and username — as typed, whether or not such a user exists,
//! so the throttle says nothing about who does — each further guess waits, 1 s after the
//! 11th wrong one, doubling to at most 60 s. A guesser is slowed to about one guess a
//! minute per account; the user is never locked out, because a sign-in from the address
//! the right password was last given from, or with one of their remembered devices, passes
//! the wait, and the wait never exceeds a minute. The second-factor lockout is separate.
//!
//! ```text
//!  wrong password ──► failures + 1 ──(> 10)──► wait until now + min(2^(n-11) s, 60 s)
//!  right password ──► failures forgotten, this address remembered
//!  a guess during the wait ──► 429 rate_limited (Retry-After), nothing checked,
//!                              unless from the remembered address or a remembered device
//! ```
//!
//! Every address is also limited on its own (`http::throttle`); this one holds when a
//! guesser spreads over many addresses.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::UserRow;

use super::{DomainError, Result, Twofold};

/// Wrong passwords in a row before guesses wait.
pub const FREE_FAILURES: i64 = 10;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Until when the `failures`th wrong password in a row at `now` makes the next wait.
pub fn wait_until(now: Timestamp, failures: i64) -> Option<Timestamp> {
    let over = failures - FREE_FAILURES;
    if over <= 0 {
        return None;
    }
    let secs = 1u64
        .checked_shl(u32::try_from(over - 1).unwrap_or(u32::MAX))
        .unwrap_or(u64::MAX);
    Some(now.plus(Duration::from_secs(secs).min(MAX_WAIT)))
}

impl Twofold {
    /// `rate_limited` while guesses for `username` in `slug` wait, unless this request
    /// comes from where `user` last gave the right password, or brings one of their
    /// remembered devices.
    pub(crate) async fn check_password_throttle(
        &self,
        slug: &str,
        username: &str,
        user: Option<&UserRow>,
        device_token: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let Some(until) = self
            .store
            .password_throttled_until(slug, username)
            .await?
            .filter(|&u| u > now.as_millis())
        else {
            return Ok(());
        };
        if let Some(user) = user {
            let ip = super::audit::current_origin().ip;
            if ip.is_some() && ip == user.last_login_ip {
                return Ok(());
            }
            if let Some(presented) = device_token
                && self.is_remembered_device(user, presented).await?
            {
                return Ok(());
            }
        }
        Err(DomainError::Throttled {
            retry_after: now.secs_until(Timestamp::from_millis(until)).max(1),
        })
    }

    /// Counts a wrong password for `username` in `slug`. Best effort: the answer is
    /// `invalid_credentials` either way.
    pub(crate) async fn count_password_failure(&self, slug: &str, username: &str) {
        let now = self.now();
        let wait = Box::new(move |n: i64| wait_until(now, n).map(Timestamp::as_millis));
        if let Err(e) = self
            .store
            .count_password_failure(slug, username, now.as_millis(), wait)
            .await
        {
            tracing::error!(error = %e, "password failure not counted");
        }
    }

    /// The right password for `user` was given: their failures are forgotten and this
    /// address remembered. Best effort, like the count.
    pub(crate) async fn password_was_right(&self, user: &UserRow) {
        if let Err(e) = self
            .store
            .clear_password_failures(&user.org_slug, &user.username)
            .await
        {
            tracing::error!(error = %e, "password failures not cleared");
        }
        if let Some(ip) = super::audit::current_origin().ip
            && let Err(e) = self.store.set_last_login_ip(&user.id, &ip).await
        {
            tracing::error!(error = %e, "sign-in address not recorded");
        }
    }

    /// Whether `presented` is a live remembered device of `user`'s.
    async fn is_remembered_device(&self, user: &UserRow, presented: &str) -> Result<bool> {
        let Some(hash) = token::lookup_hash(TokenKind::Device, presented) else {
            return Ok(false);
        };
        Ok(self
            .store
            .device_by_token(&hash, self.now().as_millis())
            .await?
            .is_some_and(|d| d.user_id == user.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_are_free_then_the_wait_doubles_to_a_minute() {
        let t0 = Timestamp::from_millis(0);
        let secs = |n| wait_until(t0, n).map(|t| t.as_millis() / 1000);
        assert_eq!(secs(10), None);
        assert_eq!(secs(11), Some(1));
        assert_eq!(secs(12), Some(2));
        assert_eq!(secs(16), Some(32));
        assert_eq!(secs(17), Some(60));
        assert_eq!(secs(10_000), Some(60));
    }
}
