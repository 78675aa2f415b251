//! The PostgreSQL side of [`twofold_core::store::devices`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::devices::*;

#[async_trait::async_trait]
impl DevicesStore for Postgres {
    async fn insert_device(&self, d: &DeviceRow, cap: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        let insert = format!(
            "INSERT INTO remembered_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        {
            let mut tx = p.begin().await.db()?;
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
                .await
                .db()?;
            sqlx::query(TRIM)
                .bind(&d.user_id)
                .bind(cap)
                .execute(&mut *tx)
                .await
                .db()?;
            tx.commit().await.db()?;
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
        Ok(sqlx::query(&sql)
            .bind(hash)
            .bind(now)
            .try_map(DeviceRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn devices_of_user(&self, user_id: &str, now: i64) -> Result<Vec<DeviceRow>, StoreError> {
        let p = &self.pool;
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        );
        Ok(sqlx::query(&sql)
            .bind(user_id)
            .bind(now)
            .try_map(DeviceRow::from_pg)
            .fetch_all(p)
            .await
            .db()?)
    }

    async fn touch_device(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            sqlx::query(TOUCH)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }
}
