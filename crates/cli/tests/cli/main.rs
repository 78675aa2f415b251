//! End-to-end tests of the `twofold` binary: the real process started as an operator would
//! start it (`serve`, the offline admin commands, `secret-key generate`), configured only
//! through flags, environment and files, driven over loopback HTTP, with TOTP codes from an
//! independent implementation (Python's standard library), on SQLite and, when
//! `TWOFOLD_TEST_POSTGRES_URL` is set, on PostgreSQL shared by two server processes; and
//! the client commands in a pseudo-terminal (`terminal/`); federated sign-in against a real
//! OpenID Connect provider (`federation.rs`); and the TypeScript SDK's tests against this
//! binary (`sdk.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod backup;
mod break_glass;
mod config_errors;
mod crash;
mod federation;
mod import;
mod load;
mod logs;
mod postgres;
mod races;
mod sdk;
mod secret_key;
mod secrets_at_rest;
mod serve;
mod signin;
mod slowloris;
mod support;
mod terminal;
