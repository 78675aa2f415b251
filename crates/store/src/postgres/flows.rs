//! The PostgreSQL side of [`twofold_core::store::flows`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::flows::*;

#[async_trait::async_trait]
impl FlowsStore for Postgres {
    async fn insert_flow(&self, f: &FlowRow) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            sqlx::query(INSERT_FLOW)
                .bind(&f.id)
                .bind(&f.token_hash)
                .bind(&f.user_id)
                .bind(f.created_at)
                .bind(f.expires_at)
                .bind(&f.purpose)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }

    async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(FLOW_BY_TOKEN)
                .bind(token_hash)
                .try_map(FlowRow::from_pg)
                .fetch_optional(p)
                .await
                .db()?)
        }
    }

    async fn end_flow(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(DELETE_FLOW)
            .bind(token_hash)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }
}
