//! The PostgreSQL side of [`twofold_core::store::sessions`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::sessions::*;

/// Inserts `s` on PostgreSQL, alone or inside a transaction.
pub(crate) async fn insert_session_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    s: &SessionRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_SESSION)
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(s.aal)
        .bind(&s.amr)
        .bind(&s.factor_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.mfa_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(e)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl SessionsStore for Postgres {
    async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        let p = &self.pool;
        Ok(insert_session_pg(p, s).await.db()?)
    }

    async fn session_by_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(SESSION_BY_TOKEN)
                .bind(token_hash)
                .bind(now)
                .try_map(SessionRow::from_pg)
                .fetch_optional(p)
                .await
                .db()?)
        }
    }

    async fn sessions_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(SESSIONS_OF_USER)
                .bind(user_id)
                .bind(now)
                .try_map(SessionRow::from_pg)
                .fetch_all(p)
                .await
                .db()?)
        }
    }

    async fn raise_session(
        &self,
        id: &str,
        amr: &str,
        factor_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        const RAISE: &str =
            "UPDATE sessions SET aal = 2, amr = $1, factor_id = $2, mfa_at = $3 WHERE id = $4";
        Ok(sqlx::query(RAISE)
            .bind(amr)
            .bind(factor_id)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }
}
