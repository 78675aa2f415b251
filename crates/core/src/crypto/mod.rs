//! Cryptography the service needs beyond one-time passwords: encrypting TOTP secrets at
//! rest, random tokens stored as hashes, and password hashing off the async runtime.

pub mod password;
pub mod secret_box;
pub mod token;

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::getrandom(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("secret key: {0}")]
    Key(String),
    #[error("a stored secret could not be decrypted (wrong key or tampered data)")]
    Decrypt,
    #[error("a secret could not be encrypted")]
    Encrypt,
    #[error("password hashing failed: {0}")]
    Password(String),
    /// The password-hashing queue is full (a flood of sign-ins): try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
}
