//! The single error type of this crate; its messages are written to be shown to users.

/// Everything that can go wrong while handling secrets, parameters and Key URIs.
///
/// Messages never contain secret material: at most a single offending character of a
/// malformed Base32 string, which is by definition not part of any valid secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A character outside the RFC 4648 §6 alphabet (after ignoring case, spaces and `-`).
    #[error(
        "invalid Base32 in secret: character {ch:?} at position {position} is not one of A-Z or 2-7"
    )]
    InvalidBase32Char {
        /// The offending character.
        ch: char,
        /// 1-based character position in the string the user supplied.
        position: usize,
    },

    /// A Base32 length that cannot encode a whole number of bytes (RFC 4648 §6: 1, 3 or 6
    /// characters left over), which usually means a character was lost while copying.
    #[error(
        "invalid Base32 in secret: {len} characters cannot encode whole bytes (is a character missing?)"
    )]
    InvalidBase32Length {
        /// Number of significant characters (spaces, `-` and padding not counted).
        len: usize,
    },

    /// The last character carries bits that no encoder would set (RFC 4648 §3.5 lets
    /// decoders reject this); accepting it would make two different strings the same secret.
    #[error("invalid Base32 in secret: the last character has non-zero unused bits (mistyped?)")]
    InvalidBase32TrailingBits,

    /// Secret too short or too long; see [`crate::Secret`] for the limits and why.
    #[error("secret must be {min} to {max} bytes, got {len}")]
    InvalidSecretLength {
        /// Length that was supplied or requested.
        len: usize,
        /// Smallest length accepted in this context.
        min: usize,
        /// Largest length accepted.
        max: usize,
    },

    /// Not a recovery code: 10 symbols of Crockford's Base32 once spaces and hyphens are
    /// dropped (see [`crate::RecoveryCode`]).
    #[error("a recovery code is 10 letters and digits, like 7k3mq-x9d2f")]
    InvalidRecoveryCode,

    /// The operating system's random number generator failed.
    #[error("could not generate a secret: the OS random number generator failed ({0})")]
    Random(String),

    /// `digits` outside [`crate::TotpParams::MIN_DIGITS`]..=[`crate::TotpParams::MAX_DIGITS`].
    #[error(
        "digits must be {min} to {max}, got {0}",
        min = crate::TotpParams::MIN_DIGITS,
        max = crate::TotpParams::MAX_DIGITS
    )]
    InvalidDigits(u64),

    /// `period` outside the accepted range (see [`crate::TotpParams::MAX_PERIOD`]).
    #[error(
        "period must be {min} to {max} seconds, got {0}",
        min = crate::TotpParams::MIN_PERIOD,
        max = crate::TotpParams::MAX_PERIOD
    )]
    InvalidPeriod(u64),

    /// An algorithm name other than SHA1, SHA256 or SHA512.
    #[error("unknown algorithm {0:?}: expected SHA1, SHA256 or SHA512")]
    UnknownAlgorithm(String),

    /// The string does not start with `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauthUri,

    /// `otpauth://hotp/...` or any other type than `totp`.
    #[error("unsupported OTP type {0:?} in otpauth URI: only \"totp\" is supported")]
    UnsupportedOtpType(String),

    /// Malformed `%XX` escape, or escapes that decode to invalid UTF-8.
    #[error("invalid percent-encoding in {part} of otpauth URI: {reason}")]
    InvalidPercentEncoding {
        /// Which part of the URI: `label` or a parameter name.
        part: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A required query parameter (only `secret`) is absent.
    #[error("missing `{0}` parameter in otpauth URI")]
    MissingParameter(&'static str),

    /// A known parameter given twice: which one would apply is ambiguous, so refuse.
    #[error("`{0}` parameter appears more than once in otpauth URI")]
    DuplicateParameter(&'static str),

    /// `digits` or `period` is not a decimal number.
    #[error("`{param}` parameter must be a whole number, got {value:?}")]
    InvalidNumber {
        /// `digits` or `period`.
        param: &'static str,
        /// The (decoded) value that was given.
        value: String,
    },

    /// The issuer is empty or contains `:` (the label separator).
    #[error("invalid issuer: {0}")]
    InvalidIssuer(&'static str),

    /// The account name is empty or cannot be represented unambiguously in a label.
    #[error("invalid account name: {0}")]
    InvalidAccount(&'static str),

    /// The label prefix and the `issuer` parameter name different issuers.
    #[error("issuer in label ({label:?}) does not match `issuer` parameter ({parameter:?})")]
    IssuerMismatch {
        /// Issuer taken from the `Issuer:account` label.
        label: String,
        /// Value of the `issuer` query parameter.
        parameter: String,
    },
}
