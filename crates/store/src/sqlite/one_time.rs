//! The SQLite side of [`twofold_core::store::one_time`].

use super::Sqlite;
use super::code_check::write_finish;
use twofold_core::store::code_check::Finish;
use twofold_core::store::one_time::*;
use twofold_core::store::{StoreError, confirmations, passkeys, recovery};

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
        OneTimeCode::Passkey {
            factor_id,
            sign_count,
        } => {
            let used = c
                .prepare_cached(passkeys::CLAIM_COUNTER)?
                .execute(rusqlite::params![sign_count, factor_id])?
                == 1;
            if used {
                c.prepare_cached(TOUCH_FACTOR)?
                    .execute(rusqlite::params![a.now, factor_id])?;
            }
            Ok(used)
        }
    }
}

#[async_trait::async_trait]
impl OneTimeStore for Sqlite {
    async fn accept_one_time_code(&self, a: OneTimeAccept) -> Result<OneTimeOutcome, StoreError> {
        {
            self.write(move |c| {
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
                write_finish(c, &a.finish, &a.user_id, a.now, &a.audit)?;
                Ok(OneTimeOutcome::Accepted)
            })
            .await
        }
    }
}
