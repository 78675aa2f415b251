//! Password hashing with Argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), run on the blocking thread pool behind a semaphore.
//!
//! Why both: each hash takes a core for tens of milliseconds, so running it on the async
//! workers would stall every other request (`/healthz`, code checks), and running an
//! unbounded number at once would let a login flood take every core and a lot of memory.
//! Waiting for a permit is cheap; the flood queues there instead.
//!
//! An unknown user is checked against a dummy hash, so the answer takes as long as a wrong
//! password and the caller cannot tell which usernames exist.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Passwords shorter than this are refused when set (NIST SP 800-63B §5.1.1.2).
pub const MIN_LEN: usize = 8;
/// Longer ones are refused too: nobody types more, and it bounds the work per request.
pub const MAX_LEN: usize = 1024;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    // The constants are within Argon2's limits; should that ever change, fall back to the
    // crate default (stronger memory cost) rather than panic.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| CryptoError::Password(e.to_string()))?;
    argon2()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Password(e.to_string()))
}

fn verify_blocking(password: &[u8], phc: &str) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|e| CryptoError::Password(e.to_string()))?;
    // Verification follows the parameters recorded in the hash itself.
    match argon2().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(CryptoError::Password(e.to_string())),
    }
}

impl Passwords {
    pub fn new(concurrency: usize) -> Result<Self, CryptoError> {
        let mut random = Zeroizing::new([0u8; 32]);
        random_bytes(random.as_mut())?;
        let dummy = hash_blocking(random.as_ref())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: dummy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<T, CryptoError> {
        // The permit moves into the blocking job: if the client hangs up and this future is
        // dropped, the hash still holds its slot until it really finishes.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CryptoError::Password("hasher shut down".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| CryptoError::Password(e.to_string()))?
    }

    /// A PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, CryptoError> {
        self.run(move || hash_blocking(password.as_bytes())).await
    }

    /// Whether `password` matches `phc`; with no hash (unknown user, or a user without a
    /// password) it does the same work against a dummy hash and answers `false`.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        phc: Option<String>,
    ) -> Result<bool, CryptoError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let ok = self
            .run(move || verify_blocking(password.as_bytes(), &phc))
            .await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_uses_argon2id_owasp_parameters() {
        let p = Passwords::new(1).unwrap();
        let h = p
            .hash(Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            p.verify(Zeroizing::new("correct horse".into()), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !p.verify(Zeroizing::new("wrong horse".into()), Some(h))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        let p = Passwords::new(1).unwrap();
        assert!(!p.verify(Zeroizing::new(String::new()), None).await.unwrap());
    }
}
