//! Remembered devices: a hashed token per device that lets its user skip the second step
//! until it expires or is revoked; at most a few per user (the oldest go first).

use super::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct DeviceRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub const COLUMNS: &str =
    "id, token_hash, user_id, created_at, expires_at, last_used_at, ip, user_agent";
/// Keeps the newest `$2` of user `$1`'s devices.
pub const TRIM: &str = "DELETE FROM remembered_devices WHERE user_id = $1 AND id NOT IN \
     (SELECT id FROM remembered_devices WHERE user_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2)";
pub const DELETE_OWN: &str = "DELETE FROM remembered_devices WHERE user_id = $1 AND id = $2";
/// Binds: user id.
pub const DELETE_DEVICES_OF_USER: &str = "DELETE FROM remembered_devices WHERE user_id = $1";
pub const DELETE_ORG: &str = "DELETE FROM remembered_devices \
     WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)";
pub const TOUCH: &str = "UPDATE remembered_devices SET last_used_at = $1 WHERE id = $2";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait DevicesStore: Send + Sync {
    /// Remembers `d`, then keeps only its user's newest `cap` devices, together.
    async fn insert_device(&self, d: &DeviceRow, cap: i64) -> Result<(), StoreError>;

    /// The live device with this token hash at `now`.
    async fn device_by_token(&self, hash: &[u8], now: i64)
    -> Result<Option<DeviceRow>, StoreError>;

    /// `user_id`'s live devices at `now`, newest first.
    async fn devices_of_user(&self, user_id: &str, now: i64) -> Result<Vec<DeviceRow>, StoreError>;

    async fn touch_device(&self, id: &str, now: i64) -> Result<(), StoreError>;
}

impl Store {
    /// Forgets `user_id`'s device `id`; false if they have no such device.
    pub async fn delete_device(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE_OWN, &[user_id, id]).await? == 1)
    }

    /// Forgets every device of `user_id`; answers how many.
    pub async fn delete_devices_of_user(&self, user_id: &str) -> Result<u64, StoreError> {
        self.exec_text(DELETE_DEVICES_OF_USER, &[user_id]).await
    }

    /// Forgets every device of every user of organisation `org_id`.
    pub async fn delete_devices_of_org(&self, org_id: &str) -> Result<u64, StoreError> {
        self.exec_text(DELETE_ORG, &[org_id]).await
    }
}
