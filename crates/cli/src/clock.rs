//! The clock the commands that open the database run on: the system's. A debug build (the
//! one the tests run) also honours `TWOFOLD_TEST_CLOCK_OFFSET_SECS`, which moves it by that
//! many seconds, so a test can start a server minutes "later" instead of sleeping; a release
//! build ignores the variable, so no setting of a production server can move its clock.

use std::sync::Arc;

use twofold_server::{Clock, SystemClock, Timestamp};

/// Moves the test clock (debug builds only).
const OFFSET_VAR: &str = "TWOFOLD_TEST_CLOCK_OFFSET_SECS";

/// The system clock, moved by [`OFFSET_VAR`] in a debug build.
pub fn clock() -> Arc<dyn Clock> {
    let offset = if cfg!(debug_assertions) {
        std::env::var(OFFSET_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
    } else {
        0
    };
    if offset == 0 {
        Arc::new(SystemClock)
    } else {
        Arc::new(Offset(offset.saturating_mul(1000)))
    }
}

/// The system clock plus this many milliseconds.
struct Offset(i64);

impl Clock for Offset {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis().saturating_add(self.0))
    }
}
