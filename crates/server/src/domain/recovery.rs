//! Recovery codes: ten one-use codes a user keeps for when their authenticator is lost.
//! Made (and remade, which replaces the set) only from a session that passed a second
//! factor recently; stored as Argon2id hashes; each signs in once, counted against the
//! same lockout as any second-factor code.
//!
//! A recovery-code sign-in cannot run inside SQLite's writer like a TOTP check: ten
//! Argon2id verifications would hold up every other write. So the attempt is reserved
//! first (`store::reserve_mfa_attempt`), the hashes are checked on the password threads,
//! and the match is accepted in one transaction whose first statement, marking the code
//! used, decides races.

use serde_json::json;
use twofold_otp::RecoveryCode;
use zeroize::Zeroizing;

use crate::mail::messages;
use crate::store::{
    self, AuditRow, OneTimeAccept, OneTimeCode, OneTimeOutcome, RecoveryRow, UserRow,
};

use super::audit::Event;
use super::sessions::{Caller, NewSession};
use super::{DomainError, Result, Twofold};

/// Codes in a set.
pub const SET_SIZE: usize = 10;
/// At or below this many left, the user is told to make a new set.
pub const FEW_LEFT: u32 = 3;

/// What a user who has `remaining` recovery codes left is told, if that is few.
pub fn few_left_warning(remaining: u32) -> Option<String> {
    (remaining <= FEW_LEFT).then(|| match remaining {
        0 => "You have no recovery codes left: make a new set now (POST /me/recovery-codes)."
            .to_owned(),
        1 => "Only 1 recovery code is left: make a new set soon (POST /me/recovery-codes)."
            .to_owned(),
        n => format!(
            "Only {n} recovery codes are left: make a new set soon (POST /me/recovery-codes)."
        ),
    })
}

impl Twofold {
    /// Makes a new set of codes for the caller, replacing any earlier set; answers the
    /// codes, which are never shown again.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<Vec<String>> {
        let user = &caller.user;
        if self.store.count_active_factors(&user.id).await? == 0 {
            return Err(DomainError::Conflict(
                "recovery codes stand in for a second factor: activate one first".into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let codes = (0..SET_SIZE)
            .map(|_| RecoveryCode::generate())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let hashes = self
            .passwords
            .hash_recovery_codes(
                codes
                    .iter()
                    .map(|c| Zeroizing::new(c.as_str().to_owned()))
                    .collect(),
            )
            .await?;
        let now = self.now().as_millis();
        let rows = hashes
            .into_iter()
            .map(|code_hash| RecoveryRow {
                id: Self::new_id(),
                user_id: user.id.clone(),
                code_hash,
                created_at: now,
            })
            .collect();
        self.store.replace_recovery_codes(&user.id, rows).await?;
        self.record_by(user, "recovery_codes.generated", json!({"count": SET_SIZE}))
            .await;
        self.mailer
            .send(&messages::recovery_codes_generated(&user.email), self.now());
        Ok(codes.iter().map(|c| c.as_str().to_owned()).collect())
    }

    /// How many of the caller's codes are unused.
    pub async fn recovery_codes_remaining(&self, caller: &Caller) -> Result<u32> {
        self.remaining_for(&caller.user.id).await
    }

    async fn remaining_for(&self, user_id: &str) -> Result<u32> {
        let n = self.store.count_unused_recovery_codes(user_id).await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    /// Finishes the sign-in of flow `flow` (a token hash) for `user` with a recovery code
    /// as typed; answers the aal-2 session and the codes left.
    pub(crate) async fn sign_in_with_recovery_code(
        &self,
        flow: &[u8],
        user: &UserRow,
        typed: &str,
    ) -> Result<(NewSession, u32)> {
        let amr = ["pwd", "otp", "recovery_code"];
        let (row, session) = self.new_session(&user.id, &amr, 2)?;
        let signed_in = self.audit_row(Event {
            org_id: &user.org_id,
            event: "signin.succeeded",
            actor_id: Some(&user.id),
            subject_id: Some(&user.id),
            details: json!({"amr": amr, "method": "recovery_code"}),
        });
        let finish = store::Finish::SignIn {
            flow: flow.to_vec(),
            session: Box::new(row),
        };
        let remaining = self
            .check_recovery_code(user, typed, finish, vec![signed_in])
            .await?;
        Ok((session, remaining))
    }

    /// Checks a recovery code of `user`'s as a second factor: the attempt is counted
    /// (lockout), and a match is used up together with what `finish` writes and the
    /// `audit` rows. Answers how many codes are left; the user is mailed.
    pub(crate) async fn check_recovery_code(
        &self,
        user: &UserRow,
        typed: &str,
        finish: store::Finish,
        audit: Vec<AuditRow>,
    ) -> Result<u32> {
        let code =
            RecoveryCode::parse(typed).map_err(|e| DomainError::InvalidInput(e.to_string()))?;
        let attempt = self.reserve_attempt(&user.id).await?;
        let candidates = self.store.unused_recovery_codes(&user.id).await?;
        let found = self
            .passwords
            .find_recovery_code(Zeroizing::new(code.as_str().to_owned()), candidates)
            .await?;
        let Some(code_id) = found else {
            self.second_step_failed(user, attempt, "recovery_code")
                .await;
            return Err(DomainError::InvalidCode);
        };
        let outcome = self
            .store
            .accept_one_time_code(OneTimeAccept {
                code: OneTimeCode::Recovery { id: code_id },
                user_id: user.id.clone(),
                now: self.now().as_millis(),
                finish,
                audit,
            })
            .await?;
        match outcome {
            OneTimeOutcome::Accepted => {}
            // A concurrent request used the same code first: this attempt stays counted.
            OneTimeOutcome::CodeUsed => {
                self.second_step_failed(user, attempt, "recovery_code")
                    .await;
                return Err(DomainError::InvalidCode);
            }
            OneTimeOutcome::FlowGone => return Err(DomainError::FlowExpired),
        }
        let remaining = self.remaining_for(&user.id).await?;
        self.mailer.send(
            &messages::recovery_code_used(&user.email, remaining, few_left_warning(remaining)),
            self.now(),
        );
        Ok(remaining)
    }

    /// Records failed attempt `attempt` of `user` (already counted), by `method`: the
    /// audit events, the log line, and the lock notice if this attempt locked them.
    pub(crate) async fn second_step_failed(&self, user: &UserRow, attempt: i64, method: &str) {
        let details = json!({"attempt": attempt, "reason": "invalid_code", "method": method});
        self.failed_attempt(user, attempt, "mfa.failed", details)
            .await;
    }
}
