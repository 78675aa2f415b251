//! A second-factor code check as one transaction: the lockout count, the evaluation of
//! the code against the user's factors, the replay claim, a clock resynchronisation in
//! progress and — when it finishes a sign-in — the end of the flow, the session and the
//! audit events, all or nothing.
//!
//! The rules are the domain's ([`CheckRules`]: when an attempt locks, what a code is for a
//! factor, which audit events an outcome records); the store runs them where the data is,
//! in one transaction in which nothing else changes the user's lockout state, so
//! concurrent guesses are evaluated one after another against an up-to-date count, and an
//! answer is given only after the commit.
//! - **SQLite** runs it as one job on the writer thread, which runs jobs one at a time.
//! - **PostgreSQL** is shared by several processes, so the transaction first locks the
//!   user's row (`FOR UPDATE`): checks of one user's codes queue there, across processes,
//!   and a request that waited finds a flow another one finished gone, as on SQLite.

use super::{AuditRow, SessionRow, StoreError, TotpFactor};

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

/// Why the rules could not evaluate a code (a secret that would not open, say).
pub type RuleError = Box<dyn std::error::Error + Send + Sync>;

/// The user a check is about, as the transaction found them.
#[derive(Clone, Copy, Debug)]
pub struct Checked<'a> {
    pub user_id: &'a str,
    pub org_id: &'a str,
}

/// The domain's side of a check, run inside the store's transaction.
pub trait CheckRules: Send {
    /// The time (Unix ms) attempt number `attempt` (1-based) locks the user until, should
    /// it fail (`None`: no lock yet).
    fn lock_after(&self, attempt: i64) -> Option<i64>;
    /// What the code is for factor `f`.
    fn evaluate(&mut self, f: &TotpFactor) -> Result<Evaluation, RuleError>;
    /// The audit events of failed attempt `attempt` (`matched`: only by steps already
    /// used), which locked the user until `locked_until` if set.
    fn failed(
        &self,
        user: Checked<'_>,
        attempt: i64,
        matched: bool,
        locked_until: Option<i64>,
    ) -> Vec<AuditRow>;
    /// The audit events of an accepted code from factor `factor_id`.
    fn accepted(&self, user: Checked<'_>, factor_id: &str) -> Vec<AuditRow>;
}

/// One code check.
pub struct CodeCheck {
    /// Unix ms.
    pub now: i64,
    /// Check this factor only (a code that must come from a particular factor).
    pub only: Option<String>,
    pub rules: Box<dyn CheckRules>,
    pub finish: Finish,
}

/// What accepting a code writes besides using it up and clearing the count.
#[derive(Clone, Debug)]
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

/// How a check went. Every outcome but `Locked`, `FlowGone` and `NoFactor` counted as an
/// attempt until `Accepted` cleared the count.
#[derive(Debug)]
pub enum CheckOutcome {
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
    /// The rules failed; the attempt stays counted.
    RulesFailed(RuleError),
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait CodeCheckStore: Send + Sync {
    /// Runs `check`; see the module documentation for how each engine does it.
    async fn check_code(&self, check: CodeCheck) -> Result<CheckOutcome, StoreError>;
}

pub const RECORD_FAILURE: &str =
    "UPDATE users SET mfa_failures = $1, mfa_locked_until = $2 WHERE id = $3";
pub const CLEAR_FAILURES: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
     WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)";
pub const SIGNED_IN: &str =
    "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL, last_login_at = $1 WHERE id = $2";
/// The user's failure count, lock and organisation (for the audit log).
pub const LOCK_STATE_AND_ORG: &str =
    "SELECT mfa_failures, mfa_locked_until, org_id FROM users WHERE id = $1";
/// Only a flow for the second step: an enrolment flow cannot finish a sign-in with a code.
pub const FLOW_USER: &str =
    "SELECT user_id, expires_at FROM login_flows WHERE token_hash = $1 AND purpose = 'mfa'";
/// [`FLOW_USER`] and [`LOCK_STATE_AND_ORG`] in one statement (SQLite's writer, where the
/// whole check runs in one transaction no other writer enters).
pub const FLOW_USER_AND_LOCK_STATE: &str = "SELECT f.user_id, f.expires_at, u.mfa_failures, \
     u.mfa_locked_until, u.org_id FROM login_flows f JOIN users u ON u.id = f.user_id \
     WHERE f.token_hash = $1 AND f.purpose = 'mfa'";
/// [`LOCK_STATE_AND_ORG`], locking the user's row until the transaction ends (PostgreSQL).
pub const LOCK_STATE_AND_ORG_FOR_UPDATE: &str =
    "SELECT mfa_failures, mfa_locked_until, org_id FROM users WHERE id = $1 FOR UPDATE";

/// The factors a code is checked against: the user's active authenticator apps, oldest
/// first (an email factor's codes are mailed, and checked as one-time codes), as
/// [`TotpFactor`]s. Binds: user id.
pub const TOTP_CANDIDATES: &str = "SELECT id, secret_key_id, secret_sealed, algorithm, digits, \
     period, drift_steps, resync_step, resync_at FROM factors \
     WHERE user_id = $1 AND kind = 'totp' AND status = 'active' ORDER BY created_at, id";

/// Of [`TOTP_CANDIDATES`], all or only `only`.
pub fn candidates(factors: Vec<TotpFactor>, only: Option<&str>) -> Vec<TotpFactor> {
    factors
        .into_iter()
        .filter(|f| only.is_none_or(|id| id == f.id))
        .collect()
}

/// A factor whose code matched a step not yet claimed, or the first far match (the
/// first half of a resynchronisation) while looking for one.
#[derive(Default)]
pub struct Verdicts {
    pub matched: bool,
    pub resync: Option<(String, i64)>,
}

impl Verdicts {
    /// Evaluates the code for `f`: a step to claim (`(step, drift)`), or `None` (a far
    /// match is noted, the first one only).
    pub fn evaluate(
        &mut self,
        rules: &mut dyn CheckRules,
        f: &TotpFactor,
    ) -> Result<Option<(i64, i64)>, RuleError> {
        Ok(match rules.evaluate(f)? {
            Evaluation::Match { step, drift } => {
                self.matched = true;
                Some((step, drift))
            }
            Evaluation::Skewed { step } => {
                self.resync.get_or_insert((f.id.clone(), step));
                None
            }
            Evaluation::NoMatch => None,
        })
    }
}
