//! Sign-in flows: the state between a correct password and the second factor.

use super::{Store, StoreError, on_pool, on_writer};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FlowRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_flow(&self, f: &FlowRow) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO login_flows (id, token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)")
            .bind(&f.id).bind(&f.token_hash).bind(&f.user_id).bind(f.created_at).bind(f.expires_at)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The flow with this token hash, expired or not (the caller tells them apart).
    pub async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, FlowRow>(
            "SELECT id, token_hash, user_id, created_at, expires_at FROM login_flows WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(p).await)?)
    }

    /// Ends a flow; true for exactly one caller however many race to finish it.
    pub async fn consume_flow(&self, id: &str) -> Result<bool, StoreError> {
        Ok(
            on_writer!(self, p => sqlx::query("DELETE FROM login_flows WHERE id = $1")
            .bind(id).execute(p).await.map(|r| r.rows_affected() == 1))?,
        )
    }
}
