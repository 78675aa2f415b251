//! The SQLite side of [`twofold_core::store::code_check`]: the whole check as one job on the
//! writer thread.

use rusqlite::{Connection, OptionalExtension};

use super::audit::insert_audit_sqlite;
use super::columns::FromSqlite;
use super::sessions::insert_session_sqlite;
use super::{Error, Sqlite};
use twofold_core::store::code_check::*;
use twofold_core::store::factors::{CLAIM_TOTP_STEP, NOTE_RESYNC};
use twofold_core::store::flows::DELETE_FLOW;
use twofold_core::store::{AuditRow, StoreError, TotpFactor};

#[async_trait::async_trait]
impl CodeCheckStore for Sqlite {
    async fn check_code(&self, check: CodeCheck) -> Result<CheckOutcome, StoreError> {
        // Unguarded: `check_code` returns an `Err` only before its first write or for a
        // database failure; a refused code is an `Ok` answer with its writes.
        self.write_unguarded(move |c| check_code(c, check)).await
    }
}

/// A user's failed attempts, lock and organisation.
type LockState = (i64, Option<i64>, String);

/// Writes what accepting a second factor means besides the factor's own claim: the
/// lockout count cleared and, for a sign-in, the flow ended, the sign-in time recorded
/// and the session (its user already set) inserted, then `audit`. The caller has checked
/// in the same job that the flow is live.
pub(crate) fn write_finish(
    c: &Connection,
    finish: &Finish,
    user_id: &str,
    now: i64,
    audit: &[AuditRow],
) -> rusqlite::Result<()> {
    match finish {
        Finish::Claim { .. } => {
            c.prepare_cached(CLEAR_FAILURES)?.execute([user_id])?;
        }
        Finish::SignIn { flow, session } => {
            c.prepare_cached(DELETE_FLOW)?.execute([flow])?;
            c.prepare_cached(SIGNED_IN)?
                .execute(rusqlite::params![now, user_id])?;
            insert_session_sqlite(c, session)?;
        }
    }
    for row in audit {
        insert_audit_sqlite(c, row)?;
    }
    Ok(())
}

/// The whole check inside the writer's transaction: nothing else writes meanwhile, so
/// what it reads first still holds when it writes.
fn check_code(c: &Connection, mut check: CodeCheck) -> Result<CheckOutcome, Error> {
    let lock_state = |r: &rusqlite::Row<'_>| -> rusqlite::Result<LockState> {
        Ok((
            r.get("mfa_failures")?,
            r.get("mfa_locked_until")?,
            r.get("org_id")?,
        ))
    };
    // A sign-in reads its flow and its user's lock state in one statement.
    let (user_id, state) = match &check.finish {
        Finish::Claim { user_id } => (user_id.clone(), None),
        Finish::SignIn { flow, .. } => {
            let found: Option<(String, i64, LockState)> = c
                .prepare_cached(FLOW_USER_AND_LOCK_STATE)?
                .query_row([flow], |r| {
                    Ok((r.get("user_id")?, r.get("expires_at")?, lock_state(r)?))
                })
                .optional()?;
            match found {
                Some((user_id, expires_at, state)) if expires_at > check.now => {
                    (user_id, Some(state))
                }
                _ => return Ok(CheckOutcome::FlowGone),
            }
        }
    };
    let factors = c
        .prepare_cached(TOTP_CANDIDATES)?
        .query_map([&user_id], TotpFactor::from_sqlite)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let factors = candidates(factors, check.only.as_deref());
    if factors.is_empty() {
        return Ok(CheckOutcome::NoFactor);
    }
    let (failures, locked_until, org_id) = match state {
        Some(state) => state,
        None => c
            .prepare_cached(LOCK_STATE_AND_ORG)?
            .query_row([&user_id], lock_state)
            .optional()?
            .ok_or(StoreError::Missing("user"))?,
    };
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
        let claimed = c
            .prepare_cached(CLAIM_TOTP_STEP)?
            .execute(rusqlite::params![step, check.now, drift, f.id])?
            == 1;
        if !claimed {
            continue;
        }
        if let Finish::SignIn { session, .. } = &mut check.finish {
            session.user_id = user_id.clone();
            session.factor_id = Some(f.id.clone());
        }
        let audit = check.rules.accepted(who, &f.id);
        write_finish(c, &check.finish, &user_id, check.now, &audit)?;
        return Ok(CheckOutcome::Accepted {
            user_id: user_id.clone(),
            factor_id: f.id.clone(),
        });
    }
    c.prepare_cached(RECORD_FAILURE)?
        .execute(rusqlite::params![
            attempt,
            new_lock.or(locked_until),
            user_id
        ])?;
    let matched = verdicts.matched && failed.is_none();
    if let (Some((factor, step)), None) = (&verdicts.resync, &failed) {
        c.prepare_cached(NOTE_RESYNC)?
            .execute(rusqlite::params![step, check.now, factor])?;
    }
    for row in check.rules.failed(who, attempt, matched, new_lock) {
        insert_audit_sqlite(c, &row)?;
    }
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
