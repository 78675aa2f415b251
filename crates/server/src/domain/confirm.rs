//! Codes mailed to confirm a sensitive action (turning the MFA requirement off): 6 digits,
//! valid 5 minutes, single use, 5 attempts. A new request replaces the previous code.
//! Only SHA-256 of a random salt and the code is stored.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;
use crate::store::{ConfirmationRow, UserRow};

use super::{DomainError, Result, Twofold};

/// How long a mailed code is valid.
pub const CODE_TTL_SECS: u64 = 300;
/// Wrong tries before a code is used up.
pub const ATTEMPTS: i64 = 5;

fn hash(salt: &[u8], code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| DomainError::Internal(format!("randomness: {e}")))?;
    Ok(b)
}

/// A uniformly random 6-digit code.
fn six_digits() -> Result<String> {
    // Rejection sampling: 4,294,000,000 is the largest multiple of 1,000,000 below 2^32.
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>()?);
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

impl Twofold {
    /// A new code for `user` and `purpose`, replacing any earlier one; answers the code
    /// (to mail, never to log) and when it expires.
    pub(crate) async fn issue_confirmation(
        &self,
        user: &UserRow,
        purpose: &str,
    ) -> Result<(String, Timestamp)> {
        let code = six_digits()?;
        let salt = random_bytes::<16>()?.to_vec();
        let now = self.now();
        let expires_at = now.plus(std::time::Duration::from_secs(CODE_TTL_SECS));
        self.store
            .put_confirmation(&ConfirmationRow {
                user_id: user.id.clone(),
                purpose: purpose.to_owned(),
                code_hash: hash(&salt, &code),
                salt,
                expires_at: expires_at.as_millis(),
                attempts_left: ATTEMPTS,
                created_at: now.as_millis(),
            })
            .await?;
        Ok((code, expires_at))
    }

    /// Checks and uses up `user`'s code for `purpose`. Wrong or already used: 400
    /// `invalid_code`; expired or out of attempts: 400 `code_expired`.
    pub(crate) async fn use_confirmation(
        &self,
        user: &UserRow,
        purpose: &str,
        code: &str,
    ) -> Result<()> {
        let code: String = code.chars().filter(|c| *c != ' ').collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::InvalidInput(
                "confirmation_code must be the 6 digits mailed to you".into(),
            ));
        }
        let row = self
            .store
            .confirmation(&user.id, purpose)
            .await?
            .ok_or(DomainError::WrongConfirmation)?;
        if row.expires_at <= self.now().as_millis() {
            self.store.drop_confirmation(&user.id, purpose).await?;
            return Err(DomainError::ConfirmationExpired);
        }
        // The attempt is counted before the code is compared, by a conditional update:
        // concurrent guesses cannot get more than the budget between them. A code with
        // no attempts left stays (answering `code_expired`) until a new one replaces it.
        if !self.store.spend_confirmation_attempt(&row).await? {
            return Err(DomainError::ConfirmationExpired);
        }
        let right: bool = hash(&row.salt, &code).ct_eq(&row.code_hash).into();
        if !right {
            return Err(DomainError::WrongConfirmation);
        }
        if !self.store.consume_confirmation(&row).await? {
            // A concurrent request used it, or a new code replaced it.
            return Err(DomainError::WrongConfirmation);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> =
            (0..50).map(|_| six_digits().unwrap()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.len() > 40, "{codes:?}");
    }
}
