//! The PostgreSQL side of [`twofold_core::store::one_time`].

use super::Db;
use super::Postgres;
use super::code_check::write_finish;
use twofold_core::store::code_check::Finish;
use twofold_core::store::one_time::*;
use twofold_core::store::{StoreError, confirmations, passkeys, recovery};

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
        OneTimeCode::Passkey {
            factor_id,
            sign_count,
        } => {
            let used = sqlx::query(passkeys::CLAIM_COUNTER)
                .bind(sign_count)
                .bind(factor_id)
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

/// True if `finish` ends a sign-in flow that is no longer there.
async fn flow_gone(tx: &mut sqlx::PgConnection, finish: &Finish) -> Result<bool, sqlx::Error> {
    let Finish::SignIn { flow, .. } = finish else {
        return Ok(false);
    };
    let live: Option<i32> = sqlx::query_scalar("SELECT 1 FROM login_flows WHERE token_hash = $1")
        .bind(flow.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
    Ok(live.is_none())
}

#[async_trait::async_trait]
impl OneTimeStore for Postgres {
    async fn accept_one_time_code(&self, a: OneTimeAccept) -> Result<OneTimeOutcome, StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        // A finished sign-in is `FlowGone` before anything else, as on SQLite; and a code
        // found used is checked again for that, since the request that used it may have
        // finished this very flow while this one waited for the code's row.
        if flow_gone(&mut tx, &a.finish).await.db()? {
            return Ok(OneTimeOutcome::FlowGone);
        }
        if !use_up_pg(&mut tx, &a).await.db()? {
            if flow_gone(&mut tx, &a.finish).await.db()? {
                return Ok(OneTimeOutcome::FlowGone);
            }
            return Ok(OneTimeOutcome::CodeUsed);
        }
        if !write_finish(&mut tx, &a.finish, &a.user_id, a.now, &a.audit)
            .await
            .db()?
        {
            // Rolled back with the code's use.
            return Ok(OneTimeOutcome::FlowGone);
        }
        tx.commit().await.db()?;
        Ok(OneTimeOutcome::Accepted)
    }
}
