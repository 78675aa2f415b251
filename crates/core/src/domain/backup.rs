//! Backups, and what a restore does to replay protection.
//!
//! **A backup** is a consistent copy of the database taken while servers use it, created
//! private (0600) and never over an existing file. It holds sealed secrets only, so it is
//! of use only with the keys that sealed them: it says which (their ids).
//!
//! **A restore** puts the database back as it was when the copy was taken, and so forgets
//! everything accepted since: an authenticator app's code accepted after the backup has a
//! time step above the restored factor's last used step, and would be accepted a second
//! time while it is still inside the accepted window (RFC 6238 §5.2 asks that a code be
//! accepted once only). A mailed code, a single-use elevated token or a passkey ceremony
//! used after the backup would be unused again.
//!
//! So a restore puts up a **fence** instead of trusting the copy's counters: every app's
//! last used step is raised to the step current at the restore plus the furthest ahead a
//! code can be accepted (the window, around the most drift a factor can learn, see
//! [`RestoreFence`]), never lowered, and what was in progress and single-use (sign-ins at
//! their second step, mailed codes, ceremonies, elevated tokens) ends. Any code a server
//! accepted before the restore has a step at or below the fence, so it is refused as a
//! replay — whoever saw it. The price: for a few minutes after the restore
//! ([`RestoreFence::app_codes_accepted_from`]) every app's codes are refused too, because
//! they are at or below the fence as well; waiting that long before starting the server
//! (as the README recommends) means nobody meets a refusal that would count towards a lock.
//!
//! The fence is one conditional update per factor, in the database, so it needs no check on
//! the code path and holds on every server that later shares the database. What no fence
//! can give back is what the copy never knew: recovery codes used after the backup are
//! usable again, and factors added after it are gone (the README says what to do).
//! Sessions and remembered devices all end, since one ended after the copy was taken
//! would otherwise be live again.

use std::path::Path;

use crate::clock::Timestamp;
use crate::config::Security;
use crate::store::{Fenced, RestoreFence};

use super::{DomainError, Result, Twofold};

/// Why `backup` refuses a PostgreSQL database.
pub const POSTGRES_BACKUP: &str = "backup copies the SQLite database; back a PostgreSQL \
     database up with pg_dump (see the README, \"Backups and restore\")";

/// A backup just written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    pub taken_at: Timestamp,
    /// The ids of the keys the copy's secrets are sealed with (none if it holds none).
    pub secret_key_ids: Vec<String>,
}

/// The fence a restore at `now` puts up (see the module documentation), for a server whose
/// accepted window is `security.totp_window` steps.
pub fn restore_fence(now: Timestamp, security: &Security) -> RestoreFence {
    RestoreFence {
        now_secs: i64::try_from(now.unix_secs()).unwrap_or(i64::MAX),
        steps_ahead: super::factors::furthest_step_ahead(security.totp_window),
    }
}

/// Where a restore's fence stops refusing codes.
pub trait FenceEnd {
    /// When an app of `period` seconds whose clock is right has a code above the fence
    /// inside a window of `window` steps again: the first moment codes are accepted.
    fn app_codes_accepted_from(&self, period: u32, window: u32) -> Timestamp;
}

impl FenceEnd for RestoreFence {
    fn app_codes_accepted_from(&self, period: u32, window: u32) -> Timestamp {
        let period = i64::from(period.max(1));
        // The fence is step F = now/period + ahead; a code of step F + 1 is accepted once
        // the current step is F + 1 - window.
        let first = self.now_secs / period + self.steps_ahead + 1 - i64::from(window);
        Timestamp::from_millis(first.saturating_mul(period).saturating_mul(1000))
    }
}

impl Twofold {
    /// Copies the database into `to`, a file that must not exist yet; see the module
    /// documentation. SQLite only: PostgreSQL has its own tools.
    pub async fn backup(&self, to: &Path) -> Result<Backup> {
        if self.engine_name() != "sqlite" {
            return Err(DomainError::Conflict(POSTGRES_BACKUP.into()));
        }
        // Created here, empty, private and only if new, so that a copy is never readable by
        // others for a moment and never replaces a file (perhaps an older backup).
        crate::files::write_new_private(to, b"").map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => DomainError::AlreadyExists(format!(
                "{} already exists: a backup never replaces a file; give a new name",
                to.display()
            )),
            _ => DomainError::InvalidInput(format!("cannot create {}: {e}", to.display())),
        })?;
        let taken_at = self.now();
        match self.store.copy_to(to, taken_at.as_millis()).await {
            Ok(secret_key_ids) => Ok(Backup {
                taken_at,
                secret_key_ids,
            }),
            Err(e) => {
                // Half a copy is worse than none: it could be taken for a backup later.
                let _ = std::fs::remove_file(to);
                Err(e.into())
            }
        }
    }

    /// Puts a restore's fence up in this database, which the operator restored in place
    /// (PostgreSQL after `pg_restore`); answers the fence and what it changed.
    pub async fn fence_restored(&self) -> Result<(RestoreFence, Fenced)> {
        let fence = restore_fence(self.now(), &self.security);
        let fenced = self.store.fence_restored(fence).await?;
        Ok((fence, fenced))
    }

    /// The accepted window, in steps either side (for [`FenceEnd`]).
    pub fn totp_window(&self) -> u32 {
        self.security.totp_window
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fence_at(secs: i64, window: u32) -> RestoreFence {
        let security = Security {
            totp_window: window,
            ..Security::default()
        };
        restore_fence(Timestamp::from_millis(secs * 1000), &security)
    }

    #[test]
    fn the_fence_covers_the_window_around_the_most_drift_a_factor_can_learn() {
        // Step 100 at 3,000 s; window 1 around a drift of 10 reaches step 111.
        let fence = fence_at(3_000, 1);
        assert_eq!(fence.now_secs / 30 + fence.steps_ahead, 111);
        // A wider window reaches further.
        assert_eq!(fence_at(3_000, 3).steps_ahead, 13);
        // With no window, a resynchronisation's second code (probe 10, then ±1) is the
        // furthest.
        assert_eq!(fence_at(3_000, 0).steps_ahead, 11);
    }

    #[test]
    fn codes_are_accepted_again_once_a_step_above_the_fence_is_inside_the_window() {
        let fence = fence_at(3_000, 1);
        // Fence at step 111: step 112 is inside a ±1 window from step 111 on.
        assert_eq!(
            fence.app_codes_accepted_from(30, 1),
            Timestamp::from_millis(111 * 30 * 1000)
        );
    }
}
