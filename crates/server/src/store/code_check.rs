//! A second-factor code check with everything it writes: the lockout count, the replay
//! claim, a clock resynchronisation in progress and — when it finishes a sign-in — the end
//! of the flow, the session and the sign-in record.
//!
//! The whole check is one transaction in which nothing else changes the user's lockout
//! state: read the lock state, evaluate the code, write the outcome. Concurrent guesses are
//! evaluated one after another against an up-to-date count, and an answer is given only
//! after the commit.
//! - **SQLite** runs it as one job on the writer thread, which runs jobs one at a time.
//! - **PostgreSQL** is shared by several processes, so the transaction first locks the
//!   user's row (`FOR UPDATE`): checks of one user's codes queue there, across processes,
//!   and a request that waited finds a flow another one finished gone, as on SQLite.
//!
//! The caller brings the code's evaluation as a closure ([`Matcher`]), so opening sealed
//! secrets and computing codes stay in the domain while running where the data is.

use rusqlite::OptionalExtension;

use super::Postgres;
use super::audit::AuditRow;
use super::factors::{CLAIM_TOTP_STEP, FactorRow, NOTE_RESYNC, TOTP};
use super::flows::DELETE_FLOW;
use super::{SessionRow, Store, StoreError};
use crate::store::postgres::audit::insert_audit_pg;
use crate::store::postgres::sessions::insert_session_pg;
use crate::store::sqlite::audit::insert_audit_sqlite;
use crate::store::sqlite::factors::factors_of_user_sqlite;
use crate::store::sqlite::sessions::insert_session_sqlite;

/// What a code is for one factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// It matches time step `step`, `drift` steps from the current one (RFC 6238 §6).
    Match {
        step: i64,
        drift: i64,
    },
    /// It does not match in the accepted window, but matches time step `step` further
    /// out: perhaps the device's clock is off. Refused (and never said to the caller);
    /// remembered as the first half of a resynchronisation.
    Skewed {
        step: i64,
    },
    NoMatch,
}

/// Evaluates the code for a factor.
pub type Matcher<E> = Box<dyn FnMut(&FactorRow) -> Result<Evaluation, E> + Send>;

/// One code check.
pub struct CodeCheck<E> {
    /// Unix ms.
    pub now: i64,
    /// Check this factor only (a code that must come from a particular factor).
    pub only: Option<String>,
    /// Maps an attempt's number (1-based) to the time it locks the user until, should it
    /// fail (`None`: no lock yet).
    pub lock_after: Box<dyn Fn(i64) -> Option<i64> + Send + Sync>,
    pub matcher: Matcher<E>,
    pub finish: Finish,
    /// Where the attempt came from, for the audit events the check records.
    pub origin: AuditOrigin,
}

/// The client's address and user agent, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What the check records in the audit log, in its own transaction: a finished sign-in
/// (`signin.succeeded`) and a failed code (`mfa.failed`, and `mfa.locked` when it locks
/// the user). A check that guards an action records only failures; the action records
/// itself.
struct Audit<'a> {
    org_id: &'a str,
    user_id: &'a str,
    now: i64,
    origin: &'a AuditOrigin,
}

impl Audit<'_> {
    fn row(&self, event: &str, details: serde_json::Value) -> AuditRow {
        AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: self.org_id.to_owned(),
            at: self.now,
            event: event.to_owned(),
            actor_id: None,
            subject_id: Some(self.user_id.to_owned()),
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.clone(),
            details: details.to_string(),
        }
    }

    /// `mfa.failed`, and `mfa.locked` if attempt `attempt` locks the user until `lock`.
    fn failure(&self, attempt: i64, matched: bool, lock: Option<i64>) -> Vec<AuditRow> {
        let reason = if matched {
            "code_reused"
        } else {
            "invalid_code"
        };
        let mut rows = vec![self.row(
            "mfa.failed",
            serde_json::json!({"attempt": attempt, "reason": reason}),
        )];
        if let Some(until) = lock {
            let secs = ((until - self.now).max(0) + 999) / 1000;
            rows.push(self.row(
                "mfa.locked",
                serde_json::json!({"attempt": attempt, "locked_for_secs": secs}),
            ));
        }
        rows
    }

    /// `signin.succeeded`: the user did it (a failure's actor is unknown).
    fn signed_in(&self, session: &SessionRow, factor_id: &str) -> AuditRow {
        let amr: Vec<&str> = session.amr.split_whitespace().collect();
        AuditRow {
            actor_id: Some(self.user_id.to_owned()),
            ..self.row(
                "signin.succeeded",
                serde_json::json!({"amr": amr, "factor_id": factor_id}),
            )
        }
    }
}

/// What accepting the code writes besides claiming its step and clearing the count.
pub enum Finish {
    /// Nothing more: a code of `user_id`'s that guards an action.
    Claim { user_id: String },
    /// A code for the live sign-in flow with token hash `flow`: ends the flow, records
    /// the sign-in and inserts `session`, whose `user_id` (the flow's) and `factor_id`
    /// (the one that matched) the store sets. Looking the flow up is part of the check,
    /// so a sign-in's code costs one job on SQLite.
    SignIn {
        flow: Vec<u8>,
        session: Box<SessionRow>,
    },
}

/// How a check went. Every outcome but `Locked` counted as an attempt until `Accepted`
/// cleared the count.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckOutcome<E> {
    /// The code of `user_id` matched factor `factor_id` and everything was written.
    Accepted { user_id: String, factor_id: String },
    /// Locked until this time (Unix ms); the code was not evaluated.
    Locked { until: i64 },
    /// Attempt number `attempt` of `user_id` failed: no factor matched, or (`matched`)
    /// the only matches were steps already used. `locked_until` is set when this attempt
    /// locked the user.
    Failed {
        user_id: String,
        attempt: i64,
        matched: bool,
        locked_until: Option<i64>,
    },
    /// The flow is unknown or expired (nothing counted), or a concurrent request finished
    /// it after this code was counted.
    FlowGone,
    /// The user has no factor the code could be checked against (no active authenticator
    /// app, or not the one asked for); nothing counted.
    NoFactor,
    /// The matcher failed; the attempt stays counted.
    MatcherFailed(E),
}

const RECORD_FAILURE: &str =
    "UPDATE users SET mfa_failures = $1, mfa_locked_until = $2 WHERE id = $3";
const CLEAR_FAILURES: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
     WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)";
const SIGNED_IN: &str =
    "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL, last_login_at = $1 WHERE id = $2";
/// Only a flow for the second step: an enrolment flow cannot finish a sign-in with a code.
/// The user's failure count, lock and organisation (for the audit log).
const LOCK_STATE_AND_ORG: &str =
    "SELECT mfa_failures, mfa_locked_until, org_id FROM users WHERE id = $1";
const FLOW_USER: &str =
    "SELECT user_id, expires_at FROM login_flows WHERE token_hash = $1 AND purpose = 'mfa'";
/// [`LOCK_STATE_AND_ORG`], locking the user's row until the transaction ends (PostgreSQL).
const LOCK_STATE_AND_ORG_FOR_UPDATE: &str =
    "SELECT mfa_failures, mfa_locked_until, org_id FROM users WHERE id = $1 FOR UPDATE";

impl Store {
    /// Runs `check`; see the module documentation for how each engine does it.
    pub async fn check_code<E: Send + 'static>(
        &self,
        check: CodeCheck<E>,
    ) -> Result<CheckOutcome<E>, StoreError> {
        match self {
            Store::Sqlite(db) => db.write(move |c| check_sqlite(c, check)).await,
            Store::Postgres(Postgres { pool: p }) => check_pg(p, check).await,
        }
    }
}

/// The factors a code is checked against: the active authenticator apps (an email
/// factor's codes are mailed, and checked in `one_time`), or only `only` among them.
fn candidates(factors: Vec<FactorRow>, only: Option<&str>) -> Vec<FactorRow> {
    factors
        .into_iter()
        .filter(|f| f.kind == TOTP && f.status == "active" && only.is_none_or(|id| id == f.id))
        .collect()
}

/// Writes what accepting a second factor means besides the factor's own claim: the
/// lockout count cleared and, for a sign-in, the flow ended, the sign-in time recorded
/// and the session (its user already set) inserted. On SQLite the caller has checked the
/// flow is live in the same job.
pub(super) fn write_finish_sqlite(
    c: &rusqlite::Connection,
    finish: &Finish,
    user_id: &str,
    now: i64,
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
    Ok(())
}

/// [`write_finish_sqlite`] inside a PostgreSQL transaction; false if the flow was gone
/// (the caller rolls back).
pub(super) async fn write_finish_pg(
    tx: &mut sqlx::PgConnection,
    finish: &Finish,
    user_id: &str,
    now: i64,
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
    Ok(true)
}

/// The whole check inside the writer's transaction.
fn check_sqlite<E>(
    c: &rusqlite::Connection,
    mut check: CodeCheck<E>,
) -> Result<CheckOutcome<E>, StoreError> {
    let user_id = match &check.finish {
        Finish::Claim { user_id } => user_id.clone(),
        Finish::SignIn { flow, .. } => {
            let found: Option<(String, i64)> = c
                .prepare_cached(FLOW_USER)?
                .query_row([flow], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            // Nothing else writes during this transaction, so a live flow seen here is
            // still there for the DELETE below.
            match found {
                Some((user_id, expires_at)) if expires_at > check.now => user_id,
                _ => return Ok(CheckOutcome::FlowGone),
            }
        }
    };
    let factors = candidates(factors_of_user_sqlite(c, &user_id)?, check.only.as_deref());
    if factors.is_empty() {
        return Ok(CheckOutcome::NoFactor);
    }
    let (failures, locked_until, org_id): (i64, Option<i64>, String) = c
        .prepare_cached(LOCK_STATE_AND_ORG)?
        .query_row([&user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or(StoreError::Missing("user"))?;
    if let Some(until) = locked_until.filter(|&u| u > check.now) {
        return Ok(CheckOutcome::Locked { until });
    }
    let attempt = failures + 1;
    let new_lock = (check.lock_after)(attempt);
    let audit = Audit {
        org_id: &org_id,
        user_id: &user_id,
        now: check.now,
        origin: &check.origin,
    };
    let record_failure = |c: &rusqlite::Connection,
                          matched: bool,
                          resync: Option<&(String, i64)>|
     -> rusqlite::Result<()> {
        c.prepare_cached(RECORD_FAILURE)?
            .execute(rusqlite::params![
                attempt,
                new_lock.or(locked_until),
                user_id
            ])?;
        if let Some((factor, step)) = resync {
            c.prepare_cached(NOTE_RESYNC)?
                .execute(rusqlite::params![step, check.now, factor])?;
        }
        for row in audit.failure(attempt, matched, new_lock) {
            insert_audit_sqlite(c, &row)?;
        }
        Ok(())
    };
    let mut matched = false;
    let mut resync = None;
    for f in factors {
        let verdict = match evaluate(&mut check.matcher, f, &mut resync) {
            Ok(v) => v,
            Err(e) => {
                record_failure(c, false, None)?;
                return Ok(CheckOutcome::MatcherFailed(e));
            }
        };
        let Some((factor, step, drift)) = verdict else {
            continue;
        };
        matched = true;
        let claimed = c
            .prepare_cached(CLAIM_TOTP_STEP)?
            .execute(rusqlite::params![step, check.now, drift, factor.id])?
            == 1;
        if !claimed {
            continue;
        }
        if let Finish::SignIn { session, .. } = &mut check.finish {
            session.user_id = user_id.clone();
            session.factor_id = Some(factor.id.clone());
        }
        write_finish_sqlite(c, &check.finish, &user_id, check.now)?;
        if let Finish::SignIn { session, .. } = &check.finish {
            insert_audit_sqlite(c, &audit.signed_in(session, &factor.id))?;
        }
        return Ok(CheckOutcome::Accepted {
            user_id,
            factor_id: factor.id,
        });
    }
    record_failure(c, matched, resync.as_ref())?;
    Ok(CheckOutcome::Failed {
        user_id,
        attempt,
        matched,
        locked_until: new_lock,
    })
}

/// Evaluates the code for factor `f`: a step to claim, or `None` (a far match is noted in
/// `resync`, the first one only).
fn evaluate<E>(
    matcher: &mut Matcher<E>,
    f: FactorRow,
    resync: &mut Option<(String, i64)>,
) -> Result<Option<(FactorRow, i64, i64)>, E> {
    Ok(match matcher(&f)? {
        Evaluation::Match { step, drift } => Some((f, step, drift)),
        Evaluation::Skewed { step } => {
            resync.get_or_insert((f.id, step));
            None
        }
        Evaluation::NoMatch => None,
    })
}

/// The check on PostgreSQL: the same steps as [`check_sqlite`], in one transaction that
/// holds the user's row.
async fn check_pg<E>(
    p: &sqlx::PgPool,
    mut check: CodeCheck<E>,
) -> Result<CheckOutcome<E>, StoreError> {
    let user_id = match &check.finish {
        Finish::Claim { user_id } => user_id.clone(),
        Finish::SignIn { flow, .. } => {
            let found: Option<(String, i64)> = sqlx::query_as(FLOW_USER)
                .bind(flow.as_slice())
                .fetch_optional(p)
                .await?;
            match found {
                Some((user_id, expires_at)) if expires_at > check.now => user_id,
                _ => return Ok(CheckOutcome::FlowGone),
            }
        }
    };
    let user_id = user_id.as_str();
    let mut tx = p.begin().await?;
    let (failures, locked_until, org_id): (i64, Option<i64>, String) =
        sqlx::query_as(LOCK_STATE_AND_ORG_FOR_UPDATE)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Missing("user"))?;
    // Another request may have finished the flow while this one waited for the row: then
    // it is gone, and nothing is counted (as on SQLite, where they run one after another).
    if let Finish::SignIn { flow, .. } = &check.finish {
        let live: Option<(String, i64)> = sqlx::query_as(FLOW_USER)
            .bind(flow.as_slice())
            .fetch_optional(&mut *tx)
            .await?;
        if live.is_none_or(|(_, expires_at)| expires_at <= check.now) {
            return Ok(CheckOutcome::FlowGone);
        }
    }
    let rows = sqlx::query_as::<_, FactorRow>(&super::factors::factors_of_user_sql())
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
    let factors = candidates(rows, check.only.as_deref());
    if factors.is_empty() {
        return Ok(CheckOutcome::NoFactor);
    }
    if let Some(until) = locked_until.filter(|&u| u > check.now) {
        return Ok(CheckOutcome::Locked { until });
    }
    let attempt = failures + 1;
    let new_lock = (check.lock_after)(attempt);
    let audit = Audit {
        org_id: &org_id,
        user_id,
        now: check.now,
        origin: &check.origin,
    };
    let mut matched = false;
    let mut resync = None;
    let mut failed = None;
    for f in factors {
        let verdict = match evaluate(&mut check.matcher, f, &mut resync) {
            Ok(v) => v,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let Some((factor, step, drift)) = verdict else {
            continue;
        };
        matched = true;
        let claimed = sqlx::query(CLAIM_TOTP_STEP)
            .bind(step)
            .bind(check.now)
            .bind(drift)
            .bind(&factor.id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !claimed {
            continue;
        }
        if let Finish::SignIn { session, .. } = &mut check.finish {
            session.user_id = user_id.to_owned();
            session.factor_id = Some(factor.id.clone());
        }
        if !write_finish_pg(&mut tx, &check.finish, user_id, check.now).await? {
            return Ok(CheckOutcome::FlowGone);
        }
        if let Finish::SignIn { session, .. } = &check.finish {
            insert_audit_pg(&mut *tx, &audit.signed_in(session, &factor.id)).await?;
        }
        tx.commit().await?;
        return Ok(CheckOutcome::Accepted {
            user_id: user_id.to_owned(),
            factor_id: factor.id,
        });
    }
    let matched = matched && failed.is_none();
    sqlx::query(RECORD_FAILURE)
        .bind(attempt)
        .bind(new_lock.or(locked_until))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if let (Some((factor, step)), None) = (&resync, &failed) {
        sqlx::query(NOTE_RESYNC)
            .bind(step)
            .bind(check.now)
            .bind(factor)
            .execute(&mut *tx)
            .await?;
    }
    for row in audit.failure(attempt, matched, new_lock) {
        insert_audit_pg(&mut *tx, &row).await?;
    }
    tx.commit().await?;
    if let Some(e) = failed {
        return Ok(CheckOutcome::MatcherFailed(e));
    }
    Ok(CheckOutcome::Failed {
        user_id: user_id.to_owned(),
        attempt,
        matched,
        locked_until: new_lock,
    })
}
