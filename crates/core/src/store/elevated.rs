//! Elevated tokens (step-up) and organisation API keys: both stored only as SHA-256
//! hashes of their 256-bit random text.

use super::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct ElevatedRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub session_id: String,
    /// Space-separated.
    pub scopes: String,
    /// Space-separated RFC 8176 method references.
    pub amr: String,
    pub single_use: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct ApiKeyRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub const ELEVATED_COLUMNS: &str = "id, token_hash, user_id, session_id, scopes, amr, single_use, \
     created_at, expires_at, used_at";
pub const KEY_COLUMNS: &str = "id, org_id, name, key_hash, created_by, created_at, last_used_at";

/// Binds: now, id. Spends a single-use token: of two requests presenting it, one wins.
pub const SPEND: &str = "UPDATE elevated_tokens SET used_at = $1 \
     WHERE id = $2 AND single_use AND used_at IS NULL";
/// Binds: org id, key id.
pub const DELETE_KEY: &str = "DELETE FROM api_keys WHERE org_id = $1 AND id = $2";
/// Binds: now, key id.
pub const TOUCH_KEY: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait ElevatedStore: Send + Sync {
    async fn insert_elevated(&self, e: &ElevatedRow) -> Result<(), StoreError>;

    /// The elevated token with this hash, live or not.
    async fn elevated_by_token(&self, hash: &[u8]) -> Result<Option<ElevatedRow>, StoreError>;

    /// Spends single-use token `id` at `now`; false if it was already spent.
    async fn spend_elevated(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<(), StoreError>;

    /// Organisation `org_id`'s keys, oldest first.
    async fn api_keys_of_org(&self, org_id: &str) -> Result<Vec<ApiKeyRow>, StoreError>;

    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError>;

    /// Records that key `id` was used at `now`.
    async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError>;
}

impl Store {
    /// Revokes key `id` of organisation `org_id`; false if it has no such key.
    pub async fn delete_api_key(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE_KEY, &[org_id, id]).await? == 1)
    }
}
