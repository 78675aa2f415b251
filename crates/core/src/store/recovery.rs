//! Recovery codes: stored as Argon2id hashes, each used at most once (accepting one is in
//! `one_time`).

use super::StoreError;

/// One stored code.
#[derive(Clone, Debug)]
pub struct RecoveryRow {
    pub id: String,
    pub user_id: String,
    /// Argon2id, PHC format.
    pub code_hash: String,
    pub created_at: i64,
}

pub const DELETE_ALL: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
pub const INSERT: &str = "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) \
     VALUES ($1, $2, $3, $4)";
pub const UNUSED: &str = "SELECT id, code_hash FROM recovery_codes \
     WHERE user_id = $1 AND used_at IS NULL ORDER BY id";
pub const COUNT_UNUSED: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
/// Binds: now, code id, user id.
pub const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $1 \
     WHERE id = $2 AND user_id = $3 AND used_at IS NULL";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Replaces `user_id`'s codes with `rows`, in one transaction.
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        rows: Vec<RecoveryRow>,
    ) -> Result<(), StoreError>;

    /// `user_id`'s unused codes: (id, hash).
    async fn unused_recovery_codes(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;

    async fn count_unused_recovery_codes(&self, user_id: &str) -> Result<i64, StoreError>;
}
