//! Using up a one-time code that matched — a recovery code, or a mailed code — together
//! with what its acceptance writes. One transaction whose first statement, the
//! conditional write that uses the code up, decides races; a sign-in's flow, session and
//! record are written in the same one.

use super::audit::{AuditRow, insert_audit_pg, insert_audit_sqlite};
use super::code_check::{Finish, write_finish_pg, write_finish_sqlite};
use super::{Store, StoreError, confirmations, recovery};

/// The code to use up.
#[derive(Clone, Debug)]
pub enum OneTimeCode {
    /// Recovery code `id` of the user.
    Recovery { id: String },
    /// The user's mailed code for `purpose`, if it is still the one with `code_hash` (not
    /// replaced by a newer one meanwhile) and still for `bound_to`, from email factor
    /// `factor_id`, whose last use is recorded.
    Mailed {
        purpose: String,
        code_hash: Vec<u8>,
        bound_to: String,
        factor_id: String,
    },
}

/// Accepting a matched code.
pub struct OneTimeAccept {
    pub code: OneTimeCode,
    pub user_id: String,
    pub now: i64,
    /// The sign-in to finish, or a plain claim; the session's `user_id` must be set.
    pub finish: Finish,
    /// Recorded in the same transaction when it commits.
    pub audit: Vec<AuditRow>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum OneTimeOutcome {
    Accepted,
    /// Used meanwhile by a concurrent request (or replaced by a new one).
    CodeUsed,
    /// The sign-in flow was finished meanwhile.
    FlowGone,
}

/// Binds: now, factor id.
const TOUCH_FACTOR: &str = "UPDATE factors SET last_used_at = $1 WHERE id = $2";

/// Uses the code up on SQLite; false if it was already used.
fn use_up_sqlite(c: &rusqlite::Connection, a: &OneTimeAccept) -> rusqlite::Result<bool> {
    match &a.code {
        OneTimeCode::Recovery { id } => Ok(c
            .prepare_cached(recovery::USE_CODE)?
            .execute(rusqlite::params![a.now, id, a.user_id])?
            == 1),
        OneTimeCode::Mailed {
            purpose,
            code_hash,
            bound_to,
            factor_id,
        } => {
            let used = c
                .prepare_cached(confirmations::CONSUME_BOUND)?
                .execute(rusqlite::params![a.user_id, purpose, code_hash, bound_to])?
                == 1;
            if used {
                c.prepare_cached(TOUCH_FACTOR)?
                    .execute(rusqlite::params![a.now, factor_id])?;
            }
            Ok(used)
        }
    }
}

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

impl Store {
    /// Uses the matched code up and writes what its acceptance means, all or nothing.
    pub async fn accept_one_time_code(
        &self,
        a: OneTimeAccept,
    ) -> Result<OneTimeOutcome, StoreError> {
        match self {
            Store::Sqlite(db) => {
                db.write(move |c| {
                    // Nothing else writes while this job runs, so what it reads first
                    // still holds when it writes; it changes nothing unless it accepts.
                    if let Finish::SignIn { flow, .. } = &a.finish {
                        let live = c
                            .prepare_cached("SELECT 1 FROM login_flows WHERE token_hash = $1")?
                            .exists([flow])?;
                        if !live {
                            return Ok(OneTimeOutcome::FlowGone);
                        }
                    }
                    if !use_up_sqlite(c, &a)? {
                        return Ok(OneTimeOutcome::CodeUsed);
                    }
                    write_finish_sqlite(c, &a.finish, &a.user_id, a.now)?;
                    for row in &a.audit {
                        insert_audit_sqlite(c, row)?;
                    }
                    Ok(OneTimeOutcome::Accepted)
                })
                .await
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                if !use_up_pg(&mut tx, &a).await? {
                    return Ok(OneTimeOutcome::CodeUsed);
                }
                if !write_finish_pg(&mut tx, &a.finish, &a.user_id, a.now).await? {
                    // Rolled back with the code's use.
                    return Ok(OneTimeOutcome::FlowGone);
                }
                for row in &a.audit {
                    insert_audit_pg(&mut *tx, row).await?;
                }
                tx.commit().await?;
                Ok(OneTimeOutcome::Accepted)
            }
        }
    }
}
