//! The PostgreSQL side of [`twofold_core::store::confirmations`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::confirmations::*;

#[async_trait::async_trait]
impl ConfirmationsStore for Postgres {
    async fn put_confirmation(
        &self,
        row: &ConfirmationRow,
        replaces_up_to: i64,
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(UPSERT)
            .bind(&row.user_id)
            .bind(&row.purpose)
            .bind(&row.salt)
            .bind(&row.code_hash)
            .bind(row.expires_at)
            .bind(row.attempts_left)
            .bind(row.created_at)
            .bind(&row.bound_to)
            .bind(replaces_up_to)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }

    async fn confirmation(
        &self,
        user_id: &str,
        purpose: &str,
    ) -> Result<Option<ConfirmationRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(SELECT)
                .bind(user_id)
                .bind(purpose)
                .try_map(ConfirmationRow::from_pg)
                .fetch_optional(p)
                .await
                .db()?)
        }
    }

    async fn on_confirmation(
        &self,
        sql: &'static str,
        row: &ConfirmationRow,
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(sql)
            .bind(&row.user_id)
            .bind(&row.purpose)
            .bind(&row.code_hash)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }
}
