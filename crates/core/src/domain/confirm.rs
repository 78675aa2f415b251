//! Mailed codes: confirming a sensitive action (turning the MFA requirement off, adding a
//! first authenticator app) and an email factor's codes (`email`). 6 digits, valid 5
//! minutes, single use, 5 attempts; a new one replaces the previous one of the same
//! purpose, not sooner than 30 s after it. Only an HMAC of a random salt and the code is
//! stored, under a key derived from the secret key, which the database does not hold: a
//! salted hash of one of 10⁶ codes would be reversed in a second by whoever reads it.

use crate::clock::Timestamp;
use crate::store::{ConfirmationRow, UserRow};

use super::{DomainError, Result, Twofold};

/// The MAC context of a mailed code.
const MAILED_CODE: &[u8] = b"mailed code";

/// How long a mailed code is valid.
pub const CODE_TTL_SECS: u64 = 300;
/// Wrong tries before a code is used up.
pub const ATTEMPTS: i64 = 5;
/// How long after a code another of the same purpose may be mailed.
pub const RESEND_AFTER_SECS: u64 = 30;

pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
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

/// How a typed code compared with a user's mailed code (its attempt already spent).
pub(crate) enum Compared {
    /// It is the code: use it up with this row's hash, so a newer code is not taken.
    Right(ConfirmationRow),
    /// Not the code, or there is none (never mailed, or used).
    Wrong,
    /// The code expired or used up its attempts.
    Expired,
}

/// `typed` without spaces, if it is 6 digits.
pub(crate) fn six_digits_typed(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| *c != ' ').collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

impl Twofold {
    /// What is stored of mailed code `code` with `salt` (under the current key; compared
    /// under every key of the ring, see [`Twofold::compare_confirmation`]).
    pub(super) fn code_mac(&self, salt: &[u8], code: &str) -> Result<Vec<u8>> {
        Ok(self.keys.mac(MAILED_CODE, &[salt, code.as_bytes()])?)
    }

    /// A new code for `user` and `purpose`, for `bound_to` (a flow's, a session's or a
    /// factor's id; `None`: the user's), replacing any earlier one; answers the code (to
    /// mail, never to log) and when it expires. Not sooner than 30 s after the last one
    /// for the same purpose: `too_soon`, with the seconds to wait.
    pub(crate) async fn issue_confirmation(
        &self,
        user: &UserRow,
        purpose: &str,
        bound_to: Option<&str>,
    ) -> Result<(String, Timestamp)> {
        let code = six_digits()?;
        let salt = random_bytes::<16>()?.to_vec();
        let now = self.now();
        let expires_at = now.plus(std::time::Duration::from_secs(CODE_TTL_SECS));
        let resend_ms = i64::try_from(RESEND_AFTER_SECS * 1000).unwrap_or(i64::MAX);
        let stored = self
            .store
            .put_confirmation(
                &ConfirmationRow {
                    user_id: user.id.clone(),
                    purpose: purpose.to_owned(),
                    code_hash: self.code_mac(&salt, &code)?,
                    salt,
                    expires_at: expires_at.as_millis(),
                    attempts_left: ATTEMPTS,
                    created_at: now.as_millis(),
                    bound_to: bound_to.map(str::to_owned),
                },
                now.as_millis() - resend_ms,
            )
            .await?;
        if !stored {
            // The last code was made less than 30 s ago (it still works).
            let last = self
                .store
                .confirmation(&user.id, purpose)
                .await?
                .map_or(now.as_millis(), |r| r.created_at);
            let ready = Timestamp::from_millis(last.saturating_add(resend_ms));
            return Err(DomainError::TooSoon {
                retry_after: now.secs_until(ready).max(1),
            });
        }
        Ok((code, expires_at))
    }

    /// Compares `code` (6 digits, spaces dropped) with `user`'s live code for `purpose`
    /// and `bound_to`. The attempt is counted before the code is compared, by a
    /// conditional update: concurrent guesses cannot get more than the budget between
    /// them. A code with no attempts left stays until a new one replaces it. A code for
    /// something else is not compared, and keeps its attempts.
    pub(crate) async fn compare_confirmation(
        &self,
        user_id: &str,
        purpose: &str,
        code: &str,
        bound_to: Option<&str>,
    ) -> Result<Compared> {
        let Some(row) = self
            .store
            .confirmation(user_id, purpose)
            .await?
            .filter(|r| r.bound_to.as_deref() == bound_to)
        else {
            return Ok(Compared::Wrong);
        };
        if row.expires_at <= self.now().as_millis() {
            self.store.drop_confirmation(&row).await?;
            return Ok(Compared::Expired);
        }
        if !self.store.spend_confirmation_attempt(&row).await? {
            return Ok(Compared::Expired);
        }
        // Under any key of the ring: a code mailed just before the key changed still works
        // while the previous key is given (README, "Rotating the secret key").
        let right =
            self.keys
                .mac_matches(MAILED_CODE, &[&row.salt, code.as_bytes()], &row.code_hash)?;
        Ok(if right {
            Compared::Right(row)
        } else {
            Compared::Wrong
        })
    }

    /// Checks and uses up `user`'s code for `purpose` and `bound_to`. Wrong, used or none:
    /// `invalid_code`; expired or out of attempts: `code_expired`.
    pub(crate) async fn use_confirmation(
        &self,
        user: &UserRow,
        purpose: &str,
        code: &str,
        bound_to: Option<&str>,
    ) -> Result<()> {
        let code = six_digits_typed(code).ok_or_else(|| {
            DomainError::InvalidInput("the code must be the 6 digits mailed to you".into())
        })?;
        match self
            .compare_confirmation(&user.id, purpose, &code, bound_to)
            .await?
        {
            Compared::Expired => Err(DomainError::ConfirmationExpired),
            Compared::Wrong => Err(DomainError::WrongConfirmation),
            // A concurrent request used it, or a new code replaced it.
            Compared::Right(row) if !self.store.consume_confirmation(&row).await? => {
                Err(DomainError::WrongConfirmation)
            }
            Compared::Right(_) => Ok(()),
        }
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
