//! Which encryption keys have sealed secrets in this database.

use super::StoreError;

pub const REGISTER: &str = "INSERT INTO secret_keys (id, check_value, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO NOTHING";
pub const CHECK_VALUE: &str = "SELECT check_value FROM secret_keys WHERE id = $1";
pub const KEY_IDS: &str = "SELECT id FROM secret_keys ORDER BY id";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait KeysStore: Send + Sync {
    /// Records key `id` with its check value unless it is already known; answers the
    /// check value on record (the new one, or the one an earlier start stored).
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError>;

    /// Ids of every key registered in this database (every sealed secret names one).
    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError>;
}
