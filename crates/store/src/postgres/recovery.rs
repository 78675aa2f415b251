//! The PostgreSQL side of [`twofold_core::store::recovery`].

use super::Db;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::recovery::*;

#[async_trait::async_trait]
impl RecoveryStore for Postgres {
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        rows: Vec<RecoveryRow>,
    ) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            let mut tx = p.begin().await.db()?;
            sqlx::query(DELETE_ALL)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            for r in &rows {
                sqlx::query(INSERT)
                    .bind(&r.id)
                    .bind(&r.user_id)
                    .bind(&r.code_hash)
                    .bind(r.created_at)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            tx.commit().await.db()?;
            Ok(())
        }
    }

    async fn unused_recovery_codes(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_as(UNUSED)
            .bind(user_id)
            .fetch_all(p)
            .await
            .db()?)
    }

    async fn count_unused_recovery_codes(&self, user_id: &str) -> Result<i64, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_scalar(COUNT_UNUSED)
            .bind(user_id)
            .fetch_one(p)
            .await
            .db()?)
    }
}
