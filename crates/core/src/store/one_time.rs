//! Using up a one-time code that matched — a recovery code, or a mailed code — together
//! with what its acceptance writes. One transaction whose first statement, the
//! conditional write that uses the code up, decides races; a sign-in's flow, session and
//! record are written in the same one.

use super::StoreError;
use super::audit::AuditRow;
use super::code_check::Finish;

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
    /// Passkey `factor_id`'s answer, whose signature counter was `sign_count`: accepted
    /// only if that is above the stored one (or both are 0), so an answer is never taken
    /// twice and a clone's older counter is caught. Its last use is recorded.
    Passkey { factor_id: String, sign_count: i64 },
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
pub const TOUCH_FACTOR: &str = "UPDATE factors SET last_used_at = $1 WHERE id = $2";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait OneTimeStore: Send + Sync {
    /// Uses the matched code up and writes what its acceptance means, all or nothing.
    async fn accept_one_time_code(&self, a: OneTimeAccept) -> Result<OneTimeOutcome, StoreError>;
}
