//! The PostgreSQL side of [`crate::store::flows`].

use super::Postgres;
use crate::store::StoreError;
use crate::store::flows::*;

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
                .await?;
            Ok(())
        }
    }

    async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query_as::<_, FlowRow>(FLOW_BY_TOKEN)
                .bind(token_hash)
                .fetch_optional(p)
                .await?)
        }
    }

    async fn end_flow(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(DELETE_FLOW)
            .bind(token_hash)
            .execute(p)
            .await?
            .rows_affected()
            == 1)
    }
}
