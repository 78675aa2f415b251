//! The Twofold service put together: `twofold-core`'s domain over a `twofold-store`
//! engine, served by `twofold-http`, started and stopped as one. The `twofold` binary
//! (crates/cli) drives it; the integration tests start it on port 0.
//!
//! Crates point one way: `twofold-http` → `twofold-core` ← `twofold-store`, and only this
//! one sees all three. The core's modules are re-exported under their own names.

pub mod app;
pub mod backup;

pub use twofold_core::{clock, config, crypto, domain, files, mail, qr, store};

pub use app::{Application, StartError, open, open_for_admin, shutdown_signal};
pub use twofold_core::clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use twofold_core::config::{Config, ConfigError, Flags};
pub use twofold_core::domain::{DomainError, Twofold};
