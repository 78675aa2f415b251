//! One-time passwords for Twofold: HOTP (RFC 4226), TOTP (RFC 6238), Base32 secrets
//! (RFC 4648), `otpauth://` Key URIs and recovery codes.
//!
//! This crate is pure computation: no I/O, no clock (callers pass Unix time), no storage and
//! no knowledge of users. It never panics on bad input; problems are reported as [`Error`],
//! whose messages are meant to be shown to users.
//!
//! ```
//! use twofold_otp::{KeyUri, Secret, Totp, TotpParams, Window};
//!
//! let secret = Secret::generate()?;
//! let totp = Totp::new(secret.clone(), TotpParams::default())?;
//! let code = totp.generate_at(1_700_000_000);
//! let hit = totp.verify(&code, 1_700_000_000, Window::default()).expect("own code");
//! assert_eq!(hit.offset, 0);
//!
//! let uri = KeyUri { issuer: Some("Twofold".into()), account: "alice".into(), secret, params: TotpParams::default() };
//! assert_eq!(KeyUri::parse(&uri.to_uri())?, uri);
//! # Ok::<(), twofold_otp::Error>(())
//! ```

mod base32;
mod error;
mod hotp;
mod recovery;
mod secret;
mod totp;
mod uri;

pub use error::Error;
pub use hotp::{Algorithm, hotp};
pub use recovery::RecoveryCode;
pub use secret::Secret;
pub use totp::{Match, Totp, TotpParams, Window};
pub use uri::KeyUri;
