//! Integration tests of the HTTP API: the real server on port 0, a fresh SQLite file per
//! test and, when `TWOFOLD_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema per test;
//! time moved by the injected clock. One binary on purpose (each file under `tests/`
//! would be its own binary to link).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod harness;
mod idp;
mod mailbox;

mod access;
mod admin_actions;
mod audit;
mod auth_required;
mod concurrency;
mod console;
mod devices;
mod drift;
mod email;
mod errors;
mod factors;
mod federation;
mod federation_pages;
mod first_app;
mod http_limits;
mod imported_hashes;
mod lockout;
mod mail;
mod openapi;
mod operations;
mod orgs;
mod pages;
mod passkey_pages;
mod passkeys;
mod password;
mod policy;
mod recovery;
mod regenerate;
mod sessions;
mod several_factors;
mod signin;
mod step_up;
mod throttle;
