//! The Twofold service as a library: configuration, domain rules, storage, the HTTP API.
//! The `twofold` binary (crates/cli) drives it; the integration tests start it on port 0.
//!
//! Layers point one way: `http` → `domain` → `store`. No SQL outside `store`, no HTTP
//! types outside `http`; `crypto`, `clock`, `files`, `mail` and `qr` are leaves anyone may use.

pub mod app;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod files;
pub mod http;
pub mod mail;
pub mod qr;
pub mod store;

pub use app::{Application, StartError, open, open_for_admin, shutdown_signal};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use config::{Config, ConfigError, Flags};
pub use domain::{DomainError, Twofold};
