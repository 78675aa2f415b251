//! The end of a second-factor sign-in as one transaction: the code's step is claimed, the
//! lockout count cleared, the flow ended and the session created together — one commit
//! instead of five, which is most of what a code check costs the database.

use super::factors::CLAIM_TOTP_STEP;
use super::sessions::INSERT_SESSION;
use super::{SessionRow, Store, StoreError, on_writer};

/// How finishing a sign-in went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInCommit {
    /// Everything is written; the session exists.
    Done,
    /// The step was already used for that factor (a replay): nothing was written.
    StepUsed,
    /// The flow was finished by a concurrent request: nothing was written.
    FlowGone,
}

impl Store {
    /// In one transaction: claims `step` for factor `factor_id` (the replay rule, see
    /// `claim_totp_step`), clears `session.user_id`'s failure count and lock and records
    /// the sign-in, ends flow `flow_id`, and inserts `session`. Either all of it happens or
    /// none of it.
    pub async fn finish_mfa_sign_in(
        &self,
        factor_id: &str,
        step: i64,
        flow_id: &str,
        session: &SessionRow,
    ) -> Result<SignInCommit, StoreError> {
        let now = session.created_at;
        on_writer!(self, p => async {
            let mut tx = p.begin().await?;
            // The claim comes first: it is the statement that decides races.
            let claimed = sqlx::query(CLAIM_TOTP_STEP)
                .bind(step).bind(now).bind(factor_id)
                .execute(&mut *tx).await?.rows_affected() == 1;
            if !claimed {
                return Ok::<_, StoreError>(SignInCommit::StepUsed);
            }
            let ended = sqlx::query("DELETE FROM login_flows WHERE id = $1")
                .bind(flow_id).execute(&mut *tx).await?.rows_affected() == 1;
            if !ended {
                return Ok(SignInCommit::FlowGone);
            }
            sqlx::query(
                "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL, last_login_at = $1 \
                 WHERE id = $2")
                .bind(now).bind(&session.user_id)
                .execute(&mut *tx).await?;
            sqlx::query(INSERT_SESSION)
                .bind(&session.id).bind(&session.token_hash).bind(&session.user_id)
                .bind(session.aal).bind(&session.amr).bind(&session.factor_id)
                .bind(session.created_at).bind(session.expires_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(SignInCommit::Done)
        }.await)
    }
}
