//! Which TOTP step each user's next code may use.
//!
//! The server accepts a step at most once per factor, and only if it is later than the
//! last one it accepted (RFC 6238 §5.2 replay protection). A real user whose code was just
//! accepted waits for the next one on their phone; so does the tool: before computing a
//! code it reserves a step for the user here. The reserved step is the current one if the
//! user has not used it yet, otherwise the one after their last, and the caller waits for
//! it to begin. A step that would begin after the deadline is not reserved at all.
//!
//! ```text
//!   last = 0 (never)    now in step S         ──► use S, now
//!   last = S            now in step S         ──► use S+1, wait until it begins
//!   last = S+1          now in step S         ──► use S+2, wait two boundaries
//!   S+n begins after the deadline             ──► stop
//! ```
//!
//! Time is a parameter (seconds since the Unix epoch), so the rule is tested without a
//! clock; [`unix_now`] is the one place the scenarios read the wall clock for TOTP.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, as time since the Unix epoch (what TOTP counts from, RFC 6238 §4.2 `T0 = 0`).
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A reserved step, and how long to wait before it begins (zero for the current step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reserved {
    pub step: u64,
    pub wait: Duration,
}

/// The last step reserved per user, by user index; 0 means none (the epoch's first step
/// is never the current one).
pub(crate) struct StepTracker {
    last: Vec<AtomicU64>,
}

impl StepTracker {
    pub fn new(users: usize) -> StepTracker {
        StepTracker {
            last: (0..users).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Reserves `user`'s next usable step at `now` for a TOTP `period`, or `None` if that
    /// step begins after `until` (both times since the epoch).
    pub fn reserve(
        &self,
        user: usize,
        period: u64,
        now: Duration,
        until: Duration,
    ) -> Option<Reserved> {
        let slot = self.last.get(user)?;
        let period = period.max(1);
        let current = now.as_secs() / period;
        let starts = |step: u64| Duration::from_secs(step.saturating_mul(period));
        let next = |last: u64| current.max(last.saturating_add(1));
        // One atomic read-modify-write, so two workers holding flows of the same user can
        // never both reserve the same step.
        let last = slot
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                let step = next(last);
                (step == current || starts(step) <= until).then_some(step)
            })
            .ok()?;
        let step = next(last);
        Some(Reserved {
            step,
            wait: starts(step).saturating_sub(now),
        })
    }

    /// After a slow password step (queued behind other Argon2id hashes for longer than a
    /// short period), moves `user`'s reservation from `reserved` up to the step current at
    /// `now`, so the code sent is still inside the server's window. Keeps `reserved` if
    /// another worker reserved a later step meanwhile.
    pub fn refresh(&self, user: usize, period: u64, reserved: u64, now: Duration) -> u64 {
        let Some(slot) = self.last.get(user) else {
            return reserved;
        };
        let current = now.as_secs() / period.max(1);
        if current <= reserved {
            return reserved;
        }
        match slot.compare_exchange(reserved, current, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => current,
            Err(_) => reserved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: u64 = 30;

    fn at(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_reservation_overtaken_by_time_moves_to_the_current_step_once() {
        let t = StepTracker::new(1);
        let r = t.reserve(0, 1, at(100.2), at(200.0)).unwrap();
        assert_eq!(r.step, 100);
        // The password step took 2.5 s: step 100 has left a ±1 window.
        assert_eq!(t.refresh(0, 1, r.step, at(102.7)), 102);
        // The tracker knows: the next reservation is after 102, never 102 again.
        assert_eq!(t.reserve(0, 1, at(102.8), at(200.0)).unwrap().step, 103);
        // Nothing moves while the reserved step is still current.
        assert_eq!(t.refresh(0, 1, 103, at(103.1)), 103);
    }

    #[test]
    fn first_use_is_the_current_step_then_the_user_waits_for_the_next() {
        let t = StepTracker::new(2);
        let now = at(3000.0 + 12.5); // step 100, 17.5 s before step 101
        let until = at(4000.0);
        assert_eq!(
            t.reserve(0, PERIOD, now, until),
            Some(Reserved {
                step: 100,
                wait: Duration::ZERO
            })
        );
        assert_eq!(
            t.reserve(0, PERIOD, now, until),
            Some(Reserved {
                step: 101,
                wait: at(17.5)
            })
        );
        assert_eq!(
            t.reserve(0, PERIOD, now, until),
            Some(Reserved {
                step: 102,
                wait: at(47.5)
            })
        );
        // Another user is independent.
        assert_eq!(t.reserve(1, PERIOD, now, until).map(|r| r.step), Some(100));
        // Once time has moved on, the current step is used again without waiting.
        assert_eq!(
            t.reserve(1, PERIOD, at(3100.0), until),
            Some(Reserved {
                step: 103,
                wait: Duration::ZERO
            })
        );
    }

    #[test]
    fn a_step_beginning_after_the_deadline_is_not_reserved() {
        let t = StepTracker::new(1);
        let now = at(3010.0);
        let until = at(3020.0); // step 101 begins at 3030
        assert_eq!(t.reserve(0, PERIOD, now, until).map(|r| r.step), Some(100));
        assert_eq!(t.reserve(0, PERIOD, now, until), None);
        // Nothing was reserved by the refusal: with a later deadline, 101 is next.
        assert_eq!(
            t.reserve(0, PERIOD, now, at(3030.0)).map(|r| r.step),
            Some(101)
        );
        assert_eq!(t.reserve(5, PERIOD, now, until), None, "unknown user");
    }
}
