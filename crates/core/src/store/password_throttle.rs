//! The per-account password throttle's state: consecutive wrong passwords per organisation
//! and username as typed, and until when a further guess waits (see
//! `domain::password_throttle`).

use super::{Store, StoreError};

/// Binds: slug, username.
pub const SELECT: &str =
    "SELECT throttled_until FROM password_failures WHERE org_slug = $1 AND username = $2";
/// Counts one more failure; answers the new count. Binds: slug, username, now.
pub const COUNT: &str = "INSERT INTO password_failures (org_slug, username, failures, updated_at) \
     VALUES ($1, $2, 1, $3) ON CONFLICT (org_slug, username) DO UPDATE \
     SET failures = password_failures.failures + 1, updated_at = excluded.updated_at \
     RETURNING failures";
/// Binds: until, slug, username.
pub const THROTTLE: &str =
    "UPDATE password_failures SET throttled_until = $1 WHERE org_slug = $2 AND username = $3";
/// Binds: slug, username.
pub const CLEAR: &str = "DELETE FROM password_failures WHERE org_slug = $1 AND username = $2";
/// Binds: before.
pub const PURGE: &str = "DELETE FROM password_failures WHERE updated_at < $1 \
     AND (throttled_until IS NULL OR throttled_until < $1)";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait PasswordThrottleStore: Send + Sync {
    /// Until when a guess for `username` in `slug` waits (Unix ms), if a wait was set.
    async fn password_throttled_until(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<Option<i64>, StoreError>;

    /// Counts a wrong password for `username` in `slug` at `now`, and sets the wait that
    /// `wait_until` gives for the new count (`None`: none yet); answers the count.
    async fn count_password_failure(
        &self,
        slug: &str,
        username: &str,
        now: i64,
        wait_until: Box<dyn Fn(i64) -> Option<i64> + Send>,
    ) -> Result<i64, StoreError>;

    /// Forgets failures last counted before `before` whose wait is over.
    async fn purge_password_failures(&self, before: i64) -> Result<u64, StoreError>;
}

impl Store {
    /// Forgets the failures of `username` in `slug` (the right password was given).
    pub async fn clear_password_failures(
        &self,
        slug: &str,
        username: &str,
    ) -> Result<(), StoreError> {
        self.exec_text(CLEAR, &[slug, username]).await.map(|_| ())
    }
}
