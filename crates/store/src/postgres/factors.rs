//! The PostgreSQL side of [`twofold_core::store::factors`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::factors::*;

/// Inserts `f` on PostgreSQL, alone or inside a transaction.
pub(crate) async fn insert_factor_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    f: &FactorRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_FACTOR)
        .bind(&f.id)
        .bind(&f.user_id)
        .bind(f.kind.as_str())
        .bind(&f.name)
        .bind(f.status.as_str())
        .bind(&f.secret_key_id)
        .bind(&f.secret_sealed)
        .bind(&f.algorithm)
        .bind(f.digits)
        .bind(f.period)
        .bind(f.created_at)
        .bind(f.activated_at)
        .bind(&f.address)
        .execute(e)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl FactorsStore for Postgres {
    async fn replace_pending_totp(
        &self,
        f: &FactorRow,
        max_active: i64,
    ) -> Result<NewPending, StoreError> {
        let p = &self.pool;
        {
            let mut tx = p.begin().await.db()?;
            sqlx::query(LOCK_USER)
                .bind(&f.user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            let active: i64 = sqlx::query_scalar(COUNT_ACTIVE_APPS)
                .bind(&f.user_id)
                .fetch_one(&mut *tx)
                .await
                .db()?;
            if active >= max_active {
                return Ok(NewPending::TooMany { active });
            }
            sqlx::query(DELETE_PENDING_APPS)
                .bind(&f.user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            insert_factor_pg(&mut *tx, f).await.db()?;
            tx.commit().await.db()?;
            Ok(NewPending::Inserted)
        }
    }

    async fn activate_factor(&self, a: &Activate) -> Result<Activation, StoreError> {
        let p = &self.pool;
        {
            let mut tx = p.begin().await.db()?;
            sqlx::query(LOCK_USER)
                .bind(&a.user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            if a.only_if_first
                && sqlx::query_scalar::<_, bool>(ANY_ACTIVE)
                    .bind(&a.user_id)
                    .fetch_one(&mut *tx)
                    .await
                    .db()?
            {
                return Ok(Activation::NotFirst);
            }
            let n = sqlx::query(ACTIVATE)
                .bind(a.now)
                .bind(a.step)
                .bind(&a.id)
                .bind(&a.user_id)
                .execute(&mut *tx)
                .await
                .db()?
                .rows_affected();
            if n != 1 {
                return Ok(Activation::NotPending);
            }
            if a.preferred {
                sqlx::query(PREFER)
                    .bind(&a.id)
                    .bind(&a.user_id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            tx.commit().await.db()?;
            Ok(Activation::Activated)
        }
    }

    async fn insert_factor(&self, f: &FactorRow) -> Result<(), StoreError> {
        let p = &self.pool;
        let out = { insert_factor_pg(p, f).await.db() };
        out.map_err(|e| e.unique_as("factors_one_email_key"))
    }

    async fn factors_of_user(&self, user_id: &str) -> Result<Vec<FactorRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(factors_of_user_sql())
                .bind(user_id)
                .try_map(FactorRow::from_pg)
                .fetch_all(p)
                .await
                .db()?)
        }
    }

    async fn factor_of_user(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<FactorRow>, StoreError> {
        let p = &self.pool;
        let sql = format!("{SELECT_FACTOR} WHERE id = $1 AND user_id = $2");
        Ok(sqlx::query(&sql)
            .bind(id)
            .bind(user_id)
            .try_map(FactorRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn count_active_factors(&self, user_id: &str) -> Result<i64, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_scalar::<_, i64>(COUNT_ACTIVE)
            .bind(user_id)
            .fetch_one(p)
            .await
            .db()?)
    }

    async fn set_next_secret(
        &self,
        id: &str,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        const SET: &str = "UPDATE factors SET next_secret_key_id = $1, next_secret_sealed = $2 \
             WHERE id = $3 AND status = 'active'";
        Ok(sqlx::query(SET)
            .bind(key_id)
            .bind(sealed)
            .bind(id)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }

    async fn promote_next_secret(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        let p = &self.pool;
        const PROMOTE: &str = "UPDATE factors SET secret_key_id = next_secret_key_id, \
             secret_sealed = next_secret_sealed, next_secret_key_id = NULL, \
             next_secret_sealed = NULL, last_used_step = $1, last_used_at = $2, drift_steps = 0, \
             resync_step = NULL, resync_at = NULL \
             WHERE id = $3 AND next_secret_sealed IS NOT NULL";
        Ok(sqlx::query(PROMOTE)
            .bind(step)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }

    async fn set_preferred_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let p = &self.pool;
        const ACTIVE_ONE: &str =
            "SELECT 1 FROM factors WHERE id = $1 AND user_id = $2 AND status = 'active'";
        {
            let mut tx = p.begin().await.db()?;
            let found = sqlx::query(ACTIVE_ONE)
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .db()?
                .is_some();
            if !found {
                return Ok(false);
            }
            sqlx::query(PREFER)
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            tx.commit().await.db()?;
            Ok(true)
        }
    }
}
