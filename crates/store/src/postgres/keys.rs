//! The PostgreSQL side of [`twofold_core::store::keys`].

use super::Db;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::keys::*;

#[async_trait::async_trait]
impl KeysStore for Postgres {
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        let p = &self.pool;
        {
            sqlx::query(REGISTER)
                .bind(id)
                .bind(check)
                .bind(now)
                .execute(p)
                .await
                .db()?;
            Ok(sqlx::query_scalar::<_, Vec<u8>>(CHECK_VALUE)
                .bind(id)
                .fetch_one(p)
                .await
                .db()?)
        }
    }

    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_scalar::<_, String>(KEY_IDS)
            .fetch_all(p)
            .await
            .db()?)
    }
}
