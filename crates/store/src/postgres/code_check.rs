//! The PostgreSQL side of [`twofold_core::store::code_check`]: one transaction that holds the
//! user's row.

use super::Db;
use super::FromPg;
use super::Postgres;
use super::audit::insert_audit_pg;
use super::sessions::insert_session_pg;
use twofold_core::store::code_check::*;
use twofold_core::store::factors::{CLAIM_TOTP_STEP, NOTE_RESYNC};
use twofold_core::store::flows::DELETE_FLOW;
use twofold_core::store::{AuditRow, StoreError, TotpFactor};

#[async_trait::async_trait]
impl CodeCheckStore for Postgres {
    async fn check_code(&self, check: CodeCheck) -> Result<CheckOutcome, StoreError> {
        check_code(&self.pool, check).await
    }
}

/// Writes what accepting a second factor means besides the factor's own claim (see the
/// SQLite side), inside a transaction; false if the flow was gone (the caller rolls back).
pub(crate) async fn write_finish(
    tx: &mut sqlx::PgConnection,
    finish: &Finish,
    user_id: &str,
    now: i64,
    audit: &[AuditRow],
) -> Result<bool, sqlx::Error> {
    match finish {
        Finish::Claim { .. } => {
            sqlx::query(CLEAR_FAILURES)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        Finish::SignIn { flow, session } => {
            let ended = sqlx::query(DELETE_FLOW)
                .bind(flow.as_slice())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !ended {
                return Ok(false);
            }
            sqlx::query(SIGNED_IN)
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            insert_session_pg(&mut *tx, session).await?;
        }
    }
    for row in audit {
        insert_audit_pg(&mut *tx, row).await?;
    }
    Ok(true)
}

/// The check: the same steps as on SQLite, in one transaction that holds the user's row.
async fn check_code(p: &sqlx::PgPool, mut check: CodeCheck) -> Result<CheckOutcome, StoreError> {
    let user_id = match &check.finish {
        Finish::Claim { user_id } => user_id.clone(),
        Finish::SignIn { flow, .. } => {
            let found: Option<(String, i64)> = sqlx::query_as(FLOW_USER)
                .bind(flow.as_slice())
                .fetch_optional(p)
                .await
                .db()?;
            match found {
                Some((user_id, expires_at)) if expires_at > check.now => user_id,
                _ => return Ok(CheckOutcome::FlowGone),
            }
        }
    };
    let mut tx = p.begin().await.db()?;
    let (failures, locked_until, org_id): (i64, Option<i64>, String) =
        sqlx::query_as(LOCK_STATE_AND_ORG_FOR_UPDATE)
            .bind(&user_id)
            .fetch_optional(&mut *tx)
            .await
            .db()?
            .ok_or(StoreError::Missing("user"))?;
    // Another request may have finished the flow while this one waited for the row: then
    // it is gone, and nothing is counted (as on SQLite, where they run one after another).
    if let Finish::SignIn { flow, .. } = &check.finish {
        let live: Option<(String, i64)> = sqlx::query_as(FLOW_USER)
            .bind(flow.as_slice())
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        if live.is_none_or(|(_, expires_at)| expires_at <= check.now) {
            return Ok(CheckOutcome::FlowGone);
        }
    }
    let rows = sqlx::query(TOTP_CANDIDATES)
        .bind(&user_id)
        .try_map(TotpFactor::from_pg)
        .fetch_all(&mut *tx)
        .await
        .db()?;
    let factors = candidates(rows, check.only.as_deref());
    if factors.is_empty() {
        return Ok(CheckOutcome::NoFactor);
    }
    if let Some(until) = locked_until.filter(|&u| u > check.now) {
        return Ok(CheckOutcome::Locked { until });
    }
    let attempt = failures + 1;
    let new_lock = check.rules.lock_after(attempt);
    let who = Checked {
        user_id: &user_id,
        org_id: &org_id,
    };
    let mut verdicts = Verdicts::default();
    let mut failed = None;
    for f in &factors {
        let step = match verdicts.evaluate(check.rules.as_mut(), f) {
            Ok(step) => step,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let Some((step, drift)) = step else {
            continue;
        };
        let claimed = sqlx::query(CLAIM_TOTP_STEP)
            .bind(step)
            .bind(check.now)
            .bind(drift)
            .bind(&f.id)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected()
            == 1;
        if !claimed {
            continue;
        }
        if let Finish::SignIn { session, .. } = &mut check.finish {
            session.user_id = user_id.clone();
            session.factor_id = Some(f.id.clone());
        }
        let audit = check.rules.accepted(who, &f.id);
        if !write_finish(&mut tx, &check.finish, &user_id, check.now, &audit)
            .await
            .db()?
        {
            return Ok(CheckOutcome::FlowGone);
        }
        tx.commit().await.db()?;
        return Ok(CheckOutcome::Accepted {
            user_id: user_id.clone(),
            factor_id: f.id.clone(),
        });
    }
    let matched = verdicts.matched && failed.is_none();
    sqlx::query(RECORD_FAILURE)
        .bind(attempt)
        .bind(new_lock.or(locked_until))
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .db()?;
    if let (Some((factor, step)), None) = (&verdicts.resync, &failed) {
        sqlx::query(NOTE_RESYNC)
            .bind(step)
            .bind(check.now)
            .bind(factor)
            .execute(&mut *tx)
            .await
            .db()?;
    }
    for row in check.rules.failed(who, attempt, matched, new_lock) {
        insert_audit_pg(&mut *tx, &row).await.db()?;
    }
    tx.commit().await.db()?;
    if let Some(e) = failed {
        return Ok(CheckOutcome::RulesFailed(e));
    }
    Ok(CheckOutcome::Failed {
        user_id: user_id.clone(),
        attempt,
        matched,
        locked_until: new_lock,
    })
}
