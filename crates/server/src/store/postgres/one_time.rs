//! The PostgreSQL side of [`crate::store::one_time`].

use super::Postgres;
use super::code_check::write_finish;
use crate::store::one_time::*;
use crate::store::{StoreError, confirmations, recovery};

/// Uses the code up inside a PostgreSQL transaction; false if it was already used.
async fn use_up_pg(tx: &mut sqlx::PgConnection, a: &OneTimeAccept) -> Result<bool, sqlx::Error> {
    match &a.code {
        OneTimeCode::Recovery { id } => Ok(sqlx::query(recovery::USE_CODE)
            .bind(a.now)
            .bind(id)
            .bind(&a.user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1),
        OneTimeCode::Mailed {
            purpose,
            code_hash,
            bound_to,
            factor_id,
        } => {
            let used = sqlx::query(confirmations::CONSUME_BOUND)
                .bind(&a.user_id)
                .bind(purpose)
                .bind(code_hash)
                .bind(bound_to)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if used {
                sqlx::query(TOUCH_FACTOR)
                    .bind(a.now)
                    .bind(factor_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(used)
        }
    }
}

#[async_trait::async_trait]
impl OneTimeStore for Postgres {
    async fn accept_one_time_code(&self, a: OneTimeAccept) -> Result<OneTimeOutcome, StoreError> {
        let p = &self.pool;
        {
            let mut tx = p.begin().await?;
            if !use_up_pg(&mut tx, &a).await? {
                return Ok(OneTimeOutcome::CodeUsed);
            }
            if !write_finish(&mut tx, &a.finish, &a.user_id, a.now, &a.audit).await? {
                // Rolled back with the code's use.
                return Ok(OneTimeOutcome::FlowGone);
            }
            tx.commit().await?;
            Ok(OneTimeOutcome::Accepted)
        }
    }
}
