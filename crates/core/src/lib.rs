//! Twofold's rules with no transport and no database driver: configuration, the domain
//! (organisations, users, second factors, sign-in, sessions), the store's traits and rows
//! that the domain is written against, sealing and hashing, and mail. The engines live in
//! `twofold-store`, HTTP and the API's JSON types (`twofold-proto`) in `twofold-http`;
//! Cargo keeps them all out of here: the domain answers with types of its own.
//!
//! Inside, layers point one way: `domain` → `store`. `crypto`, `clock`, `files`, `mail` and
//! `qr` are leaves anyone may use.

pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod files;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod qr;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use config::{Config, ConfigError, Flags};
pub use domain::{DomainError, Twofold};
