//! Email as a second factor (seed 002): a code mailed to the address the factor was
//! verified for. At most one per user, pending until a code mailed to it comes back.
//!
//! ```text
//!  POST /me/factors/email ──► pending factor, code mailed ──POST …/activate {code}──► active
//!
//!  POST /auth/login ──► mfa_required (preferred: email ⇒ code mailed at once)
//!        └─ POST /auth/mfa/email/send {flow_token} ─► code mailed (any method may be chosen)
//!              └─ POST /auth/mfa {method: email, code} ─► session, aal 2, amr [pwd, otp, email]
//!
//!  session ──POST /auth/step-up/email/send──► code mailed ──► POST /auth/step-up {method:
//!                                                             email} or DELETE the factor
//! ```
//!
//! The codes are the mailed codes of `confirm` (6 digits, 5 minutes, single use, 5 tries,
//! salted hashes, not sooner than 30 s apart), one per user and use. As second factors
//! they also count towards the user's lockout like any code, and a code that signs in is
//! used up in the same transaction as the flow's end and the session's start.

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::mail::messages::{self, CodeUse};
use crate::store::{FLOW_MFA, FactorKind, FactorRow, FactorState, StoreError, UserRow};

use super::confirm::CODE_TTL_SECS;
use super::input::email_factor_name;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// The purposes of an email factor's codes (one live code each).
const ACTIVATE: &str = "email_activate";
pub(crate) const SIGN_IN: &str = "email_signin";
pub(crate) const STEP_UP: &str = "email_step_up";

/// The methods an email code stands for in a session's `amr` (RFC 8176 `otp`, and which).
pub const AMR: [&str; 3] = ["pwd", "otp", "email"];

/// A code was mailed.
#[derive(Debug)]
pub struct CodeSent {
    /// The address, partly hidden.
    pub sent_to: String,
    pub expires_at: Timestamp,
}

/// `alice@example.com` as `al***@example.com`: enough for the user to know where to look,
/// not enough to learn the address from a password alone.
pub fn masked(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let shown: String = local
        .chars()
        .take(if local.chars().count() > 4 { 2 } else { 1 })
        .collect();
    format!("{shown}***@{domain}")
}

impl Twofold {
    /// Starts enrolling email as a second factor: a pending factor for the user's address
    /// and a code mailed to it. While it is pending, asking again mails a new code (not
    /// sooner than 30 s after the last).
    pub async fn enroll_email(
        &self,
        caller: &Caller,
        name: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<(String, CodeSent)> {
        let name = email_factor_name(name)?;
        self.adding_factor_guard(caller, elevated).await?;
        self.new_pending_email(&caller.user, name).await
    }

    /// A pending email factor for `user`'s address (or the one already pending), and a
    /// code mailed to it; answers the factor's id.
    pub(crate) async fn new_pending_email(
        &self,
        user: &UserRow,
        name: String,
    ) -> Result<(String, CodeSent)> {
        let existing = self.email_factor(&user.id).await?;
        let f = match existing {
            Some(f) if f.status == FactorState::Active => {
                return Err(DomainError::Conflict(
                    "email is already one of your second factors".into(),
                ));
            }
            Some(f) => f,
            None => {
                let f = FactorRow {
                    id: Self::new_id(),
                    user_id: user.id.clone(),
                    kind: FactorKind::Email,
                    name,
                    status: FactorState::Pending,
                    secret_key_id: None,
                    secret_sealed: None,
                    algorithm: None,
                    digits: 6,
                    period: i64::try_from(CODE_TTL_SECS).unwrap_or(300),
                    last_used_step: None,
                    created_at: self.now().as_millis(),
                    activated_at: None,
                    last_used_at: None,
                    preferred: false,
                    drift_steps: 0,
                    next_secret_key_id: None,
                    next_secret_sealed: None,
                    address: Some(user.email.clone()),
                    resync_step: None,
                    resync_at: None,
                };
                match self.store.insert_factor(&f).await {
                    Ok(()) => f,
                    // A concurrent request made it first.
                    Err(StoreError::Duplicate(_)) => {
                        return Err(DomainError::Conflict(
                            "an email factor is being set up already; use its code".into(),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let sent = self
            .mail_code(user, &f, ACTIVATE, CodeUse::Activate, &f.id)
            .await?;
        Ok((f.id, sent))
    }

    /// Checks and uses up the code mailed to activate `user`'s pending email factor `f`
    /// (`activate_pending` then activates it).
    pub(crate) async fn check_email_activation_code(
        &self,
        user: &UserRow,
        f: &FactorRow,
        code: &str,
    ) -> Result<()> {
        // Whoever activates it reads the mailbox the codes go to; the code's own 5 tries
        // bound guessing, so this is not counted towards the sign-in lockout.
        self.use_confirmation(user, ACTIVATE, code, Some(&f.id))
            .await
            .map_err(|e| match e {
                DomainError::WrongConfirmation => DomainError::InvalidCode,
                e => e,
            })
    }

    /// Mails a code for sign-in flow `flow_token` to the user's email factor.
    pub async fn send_sign_in_code(&self, flow_token: &str) -> Result<CodeSent> {
        let hash =
            token::lookup_hash(TokenKind::Flow, flow_token).ok_or(DomainError::FlowExpired)?;
        let (flow, user) = self.live_flow(&hash, FLOW_MFA).await?;
        let f = self.active_email_factor(&user).await?;
        self.refuse_while_locked(&user).await?;
        self.mail_code(&user, &f, SIGN_IN, CodeUse::SignIn, &flow.id)
            .await
    }

    /// Mails the caller a code, for this session only, that steps up (`POST
    /// /auth/step-up` with `email`) or removes their email factor.
    pub async fn send_step_up_code(&self, caller: &Caller) -> Result<CodeSent> {
        let f = self.active_email_factor(&caller.user).await?;
        self.refuse_while_locked(&caller.user).await?;
        let session = &caller.session.id;
        self.mail_code(&caller.user, &f, STEP_UP, CodeUse::StepUp, session)
            .await
    }

    /// At the password step of flow `flow_id`, when email is the preferred method: mails
    /// the sign-in code. A code mailed less than 30 s ago is not mailed again: it is moved
    /// to this flow (the newest sign-in is the one being finished). Nothing is mailed
    /// while the user's second step is locked. Answers where the code is, if anywhere.
    pub(crate) async fn mail_sign_in_code_at_login(
        &self,
        user: &UserRow,
        f: &FactorRow,
        flow_id: &str,
    ) -> Result<Option<String>> {
        match self.refuse_while_locked(user).await {
            Err(DomainError::Locked { .. }) => return Ok(None),
            locked => locked?,
        }
        match self
            .mail_code(user, f, SIGN_IN, CodeUse::SignIn, flow_id)
            .await
        {
            Ok(sent) => Ok(Some(sent.sent_to)),
            Err(DomainError::TooSoon { .. }) => {
                let moved = self
                    .store
                    .rebind_confirmation(&user.id, SIGN_IN, flow_id)
                    .await?;
                Ok(moved.then(|| masked(&address_of(f))))
            }
            Err(e) => Err(e),
        }
    }

    /// Mails a new code for `purpose` and `bound_to` to email factor `f` of `user`.
    async fn mail_code(
        &self,
        user: &UserRow,
        f: &FactorRow,
        purpose: &str,
        code_use: CodeUse,
        bound_to: &str,
    ) -> Result<CodeSent> {
        let (code, expires_at) = self
            .issue_confirmation(user, purpose, Some(bound_to))
            .await?;
        let to = address_of(f);
        let minutes = CODE_TTL_SECS / 60;
        self.mailer.send(
            &messages::email_code(&to, code_use, &code, minutes),
            self.now(),
        );
        tracing::info!(event = "mfa.email_code_sent", user_id = %user.id, purpose);
        Ok(CodeSent {
            sent_to: masked(&to),
            expires_at,
        })
    }

    /// `user_id`'s email factor, pending or active.
    async fn email_factor(&self, user_id: &str) -> Result<Option<FactorRow>> {
        Ok(self
            .store
            .factors_of_user(user_id)
            .await?
            .into_iter()
            .find(|f| f.kind == FactorKind::Email))
    }

    /// `user`'s active email factor; `method_not_available` if they have none.
    pub(crate) async fn active_email_factor(&self, user: &UserRow) -> Result<FactorRow> {
        self.email_factor(&user.id)
            .await?
            .filter(|f| f.status == FactorState::Active)
            .ok_or_else(|| {
                DomainError::MethodNotAvailable(
                    "email is not one of this user's second factors".into(),
                )
            })
    }
}

/// Where an email factor's codes go: the address it was verified for.
fn address_of(f: &FactorRow) -> String {
    f.address.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn addresses_are_masked_but_recognisable() {
        assert_eq!(masked("alice@example.com"), "al***@example.com");
        assert_eq!(masked("bob@example.com"), "b***@example.com");
        assert_eq!(masked("x@example.com"), "x***@example.com");
        assert_eq!(masked("émilie@exemple.fr"), "ém***@exemple.fr");
    }
}
