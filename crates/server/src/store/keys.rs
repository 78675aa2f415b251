//! Which encryption keys have sealed secrets in this database.

use super::{Store, StoreError, on_pool, on_writer};

impl Store {
    /// Records key `id` with its check value unless it is already known; answers the
    /// check value on record (the new one, or the one an earlier start stored).
    pub async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO secret_keys (id, check_value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING")
            .bind(id).bind(check).bind(now).execute(p).await.map(|_| ()))?;
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT check_value FROM secret_keys WHERE id = $1")
            .bind(id).fetch_one(p).await)?)
    }

    /// Ids of every key registered in this database (every sealed secret names one).
    pub async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, String>("SELECT id FROM secret_keys ORDER BY id")
            .fetch_all(p).await)?,
        )
    }
}
