//! `twofold-load`: a load tool that drives a *running* Twofold server over loopback HTTP the
//! way many real clients would, and reports what it saw: throughput, latency percentiles,
//! the answers by status and problem `code`, and the server process's CPU time and memory.
//!
//! It must not depend on `twofold-server`: it knows the server only through the wire types
//! of `twofold-proto`, codes from `twofold-otp`, and (for CPU and memory) a process id. What
//! it knows about the users comes from the CSV it wrote with [`users::write_users_csv`] and
//! that the operator imported with `twofold user import`.
//!
//! ```text
//! prepare ──► users.csv ──► twofold user import ──► twofold serve
//!                 │                                      ▲
//!                 └──────► run <scenario> ───── HTTP ────┘  ──► Report (text or JSON)
//! ```
//!
//! Modules: [`users`] (the CSV population), [`target`] (the loopback-only URL check),
//! [`scenario`] (what is sent), [`stats`] (latencies and answers), [`report`] (what is
//! printed), [`timeline`] (every request, for lining up with a server's log),
//! [`procstat`] (`/proc` readings), [`hello`] (the HTTP ceiling server), [`baseline`]
//! (Argon2id alone), [`units`] (durations on the command line).

pub mod baseline;
mod during;
pub mod error;
pub mod hello;
pub mod procstat;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod target;
pub mod timeline;
pub mod units;
pub mod users;

pub use error::LoadError;
