//! The PostgreSQL side of [`crate::store::devices`].

use super::Postgres;
use crate::store::StoreError;
use crate::store::devices::*;

#[async_trait::async_trait]
impl DevicesStore for Postgres {
    async fn insert_device(&self, d: &DeviceRow, cap: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        let insert = format!(
            "INSERT INTO remembered_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        {
            let mut tx = p.begin().await?;
            sqlx::query(&insert)
                .bind(&d.id)
                .bind(&d.token_hash)
                .bind(&d.user_id)
                .bind(d.created_at)
                .bind(d.expires_at)
                .bind(d.last_used_at)
                .bind(&d.ip)
                .bind(&d.user_agent)
                .execute(&mut *tx)
                .await?;
            sqlx::query(TRIM)
                .bind(&d.user_id)
                .bind(cap)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }

    async fn device_by_token(
        &self,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let p = &self.pool;
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE token_hash = $1 AND expires_at > $2"
        );
        Ok(sqlx::query_as::<_, DeviceRow>(&sql)
            .bind(hash)
            .bind(now)
            .fetch_optional(p)
            .await?)
    }

    async fn devices_of_user(&self, user_id: &str, now: i64) -> Result<Vec<DeviceRow>, StoreError> {
        let p = &self.pool;
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        );
        Ok(sqlx::query_as::<_, DeviceRow>(&sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(p)
            .await?)
    }

    async fn touch_device(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            sqlx::query(TOUCH).bind(now).bind(id).execute(p).await?;
            Ok(())
        }
    }
}
