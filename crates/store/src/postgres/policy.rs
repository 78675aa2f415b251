//! The PostgreSQL side of [`twofold_core::store::policy`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::policy::*;

#[async_trait::async_trait]
impl PolicyStore for Postgres {
    async fn mfa_policy(&self, org_id: &str) -> Result<Option<PolicyRow>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(POLICY)
            .bind(org_id)
            .try_map(PolicyRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn set_mfa_policy(
        &self,
        policy: &PolicyRow,
        end_sessions: bool,
    ) -> Result<u64, StoreError> {
        let pool = &self.pool;
        {
            let mut tx = pool.begin().await.db()?;
            sqlx::query(UPSERT)
                .bind(&policy.org_id)
                .bind(policy.required)
                .bind(policy.grace_period_days)
                .bind(policy.updated_at)
                .bind(&policy.updated_by)
                .execute(&mut *tx)
                .await
                .db()?;
            let ended = if end_sessions {
                sqlx::query(END_ORG_SESSIONS)
                    .bind(&policy.org_id)
                    .execute(&mut *tx)
                    .await
                    .db()?
                    .rows_affected()
            } else {
                0
            };
            tx.commit().await.db()?;
            Ok(ended)
        }
    }
}
