//! Recovery codes: ten one-use codes a user keeps for when their authenticator is lost.
//! Made (and remade, which replaces the set) only from a session that passed a second
//! factor recently; stored as Argon2id hashes; each signs in once, counted against the
//! same lockout as any second-factor code.
//!
//! A recovery code is checked as any second factor is (`verify`): reserved first, its
//! Argon2id hashes compared on the password threads, and the match used up in one
//! transaction whose first statement, marking the code used, decides races.

use serde_json::json;
use twofold_otp::RecoveryCode;
use zeroize::Zeroizing;

use crate::mail::messages;
use crate::store::RecoveryRow;

use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// Codes in a set.
pub const SET_SIZE: usize = 10;
/// At or below this many left, the user is told to make a new set.
pub const FEW_LEFT: u32 = 3;

/// What a user who has `remaining` recovery codes left is told, if that is few.
pub fn few_left_warning(remaining: u32) -> Option<String> {
    (remaining <= FEW_LEFT).then(|| match remaining {
        0 => "You have no recovery codes left: make a new set now (POST /me/recovery-codes)."
            .to_owned(),
        1 => "Only 1 recovery code is left: make a new set soon (POST /me/recovery-codes)."
            .to_owned(),
        n => format!(
            "Only {n} recovery codes are left: make a new set soon (POST /me/recovery-codes)."
        ),
    })
}

impl Twofold {
    /// Makes a new set of codes for the caller, replacing any earlier set; answers the
    /// codes, which are never shown again.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<Vec<String>> {
        let user = &caller.user;
        if self.store.count_active_factors(&user.id).await? == 0 {
            return Err(DomainError::Conflict(
                "recovery codes stand in for a second factor: activate one first".into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let codes = (0..SET_SIZE)
            .map(|_| RecoveryCode::generate())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let hashes = self
            .passwords
            .hash_recovery_codes(
                codes
                    .iter()
                    .map(|c| Zeroizing::new(c.as_str().to_owned()))
                    .collect(),
            )
            .await?;
        let now = self.now().as_millis();
        let rows = hashes
            .into_iter()
            .map(|code_hash| RecoveryRow {
                id: Self::new_id(),
                user_id: user.id.clone(),
                code_hash,
                created_at: now,
            })
            .collect();
        self.store.replace_recovery_codes(&user.id, rows).await?;
        self.record_by(user, "recovery_codes.generated", json!({"count": SET_SIZE}))
            .await;
        self.mailer
            .send(&messages::recovery_codes_generated(&user.email), self.now());
        Ok(codes.iter().map(|c| c.as_str().to_owned()).collect())
    }

    /// How many of the caller's codes are unused.
    pub async fn recovery_codes_remaining(&self, caller: &Caller) -> Result<u32> {
        self.remaining_recovery_codes(&caller.user.id).await
    }

    pub(crate) async fn remaining_recovery_codes(&self, user_id: &str) -> Result<u32> {
        let n = self.store.count_unused_recovery_codes(user_id).await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }
}
