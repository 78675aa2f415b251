//! Sessions: who signed in, how strongly (aal/amr), until when.

use super::{Store, StoreError, on_pool, on_writer};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub aal: i64,
    /// Space-separated RFC 8176 method references.
    pub amr: String,
    /// The second factor that raised this session to aal 2, if any.
    pub factor_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Binds: id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at.
pub(super) const INSERT_SESSION: &str = "INSERT INTO sessions \
     (id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

impl Store {
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(INSERT_SESSION)
            .bind(&s.id).bind(&s.token_hash).bind(&s.user_id).bind(s.aal).bind(&s.amr)
            .bind(&s.factor_id).bind(s.created_at).bind(s.expires_at)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The live session with this token hash at `now`.
    pub async fn session_by_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SessionRow>(
            "SELECT id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at \
             FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash).bind(now).fetch_optional(p).await)?)
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
