//! Mailed codes (confirming an action, or an email factor's codes): one per user and
//! purpose, stored as a salted hash, with a lifetime and a number of attempts.

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmationRow {
    pub user_id: String,
    pub purpose: String,
    pub salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    /// Unix ms.
    pub expires_at: i64,
    pub attempts_left: i64,
    pub created_at: i64,
    /// What the code is for: a sign-in flow's, a session's or a pending factor's id.
    pub bound_to: Option<String>,
}

pub const UPSERT: &str = "INSERT INTO confirmation_codes \
     (user_id, purpose, salt, code_hash, expires_at, attempts_left, created_at, bound_to) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (user_id, purpose) DO UPDATE SET salt = excluded.salt, \
     code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
     attempts_left = excluded.attempts_left, created_at = excluded.created_at, \
     bound_to = excluded.bound_to \
     WHERE confirmation_codes.created_at <= $9";
pub const SELECT: &str = "SELECT user_id, purpose, salt, code_hash, expires_at, attempts_left, \
     created_at, bound_to FROM confirmation_codes WHERE user_id = $1 AND purpose = $2";
/// Consumes the code only if it is still the one that was checked: of two requests with
/// the right code, one wins.
pub const CONSUME: &str =
    "DELETE FROM confirmation_codes WHERE user_id = $1 AND purpose = $2 AND code_hash = $3";
/// [`CONSUME`] for a code mailed for one thing, only while it is still for it. Binds: user
/// id, purpose, code hash, what it is for.
pub const CONSUME_BOUND: &str = "DELETE FROM confirmation_codes \
     WHERE user_id = $1 AND purpose = $2 AND code_hash = $3 AND bound_to = $4";
pub const SPEND_ATTEMPT: &str = "UPDATE confirmation_codes SET attempts_left = attempts_left - 1 \
     WHERE user_id = $1 AND purpose = $2 AND code_hash = $3 AND attempts_left > 0";
/// Only if it is still the code that was read (not one made since).
pub const DROP: &str =
    "DELETE FROM confirmation_codes WHERE user_id = $1 AND purpose = $2 AND code_hash = $3";
/// Binds: what the code is now for, user id, purpose.
pub const REBIND: &str =
    "UPDATE confirmation_codes SET bound_to = $1 WHERE user_id = $2 AND purpose = $3";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait ConfirmationsStore: Send + Sync {
    /// Stores `row`, replacing an earlier code of that user and purpose made at or before
    /// `replaces_up_to` (Unix ms); false, storing nothing, if the earlier one is newer.
    /// One conditional statement, so of concurrent requests for a new code at most one
    /// gets it.
    async fn put_confirmation(
        &self,
        row: &ConfirmationRow,
        replaces_up_to: i64,
    ) -> Result<bool, StoreError>;

    async fn confirmation(
        &self,
        user_id: &str,
        purpose: &str,
    ) -> Result<Option<ConfirmationRow>, StoreError>;

    /// Runs one of the conditional statements above on (user, purpose, hash); true if it
    /// changed a row.
    async fn on_confirmation(
        &self,
        sql: &'static str,
        row: &ConfirmationRow,
    ) -> Result<bool, StoreError>;
}

impl Store {
    /// Uses the code up; false if a concurrent request (or a new code) came first.
    pub async fn consume_confirmation(&self, row: &ConfirmationRow) -> Result<bool, StoreError> {
        self.on_confirmation(CONSUME, row).await
    }

    /// Counts a wrong attempt; false if none were left.
    pub async fn spend_confirmation_attempt(
        &self,
        row: &ConfirmationRow,
    ) -> Result<bool, StoreError> {
        self.on_confirmation(SPEND_ATTEMPT, row).await
    }

    /// Forgets the code in `row` (an expired one), unless a new one replaced it.
    pub async fn drop_confirmation(&self, row: &ConfirmationRow) -> Result<bool, StoreError> {
        self.on_confirmation(DROP, row).await
    }

    /// Makes the user's live code for `purpose` one for `bound_to` (and no longer for what
    /// it was for); false if there is none.
    pub async fn rebind_confirmation(
        &self,
        user_id: &str,
        purpose: &str,
        bound_to: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec_text(REBIND, &[bound_to, user_id, purpose])
            .await?
            == 1)
    }
}
