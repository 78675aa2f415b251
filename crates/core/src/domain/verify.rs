//! Checking a second factor: the one path every kind of code takes — an authenticator
//! app's, a mailed one, a recovery code, a passkey's answer.
//!
//! 1. **Reserve** the attempt against the user's lockout budget, before the code is
//!    compared, so concurrent guesses cannot exceed it.
//! 2. **Verify** by kind.
//! 3. **Accept and finish** in one transaction: use the code up (an app's time step, a
//!    mailed code, a recovery code), clear the count and — for a sign-in — end the flow
//!    and start the session; a concurrent request that got there first wins, this one
//!    fails.
//! 4. **Audit** the same events whatever the kind (`signin.succeeded` with `amr`,
//!    `method` and `factor_id`; `mfa.failed` with `attempt`, `reason` and `method`;
//!    `mfa.locked`), and mail the same lock notice.
//!
//! An app's code is cheap to check, so steps 1–3 run as one store transaction (on
//! SQLite, one job on the writer thread) with this module's [`AppCodeRules`] inside.
//! A recovery code costs Argon2id, a mailed code a read and a conditional write, and a
//! passkey's answer a signature check and its ceremony taken: too slow for the writer,
//! they reserve first, verify outside, and accept in a second transaction whose first
//! statement, using the code up (for a passkey, raising its signature counter), decides
//! races.

use std::sync::Arc;

use serde_json::json;
use twofold_otp::{RecoveryCode, Window};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::config::Security;
use crate::crypto::secret_box::KeyRing;
use crate::mail::messages;
use crate::store::{
    self, AuditRow, CheckOutcome, CheckRules, Checked, CodeCheck, Evaluation, FLOW_MFA, FactorRow,
    OneTimeAccept, OneTimeCode, OneTimeOutcome, RuleError, TotpFactor,
};

use super::audit::AuditAt;
use super::confirm::{Compared, six_digits_typed};
use super::email::{SIGN_IN, STEP_UP};
use super::input::OtpCode;
use super::lockout::{lock_until, locked};
use super::passkeys::PasskeyRefusal;
use super::recovery::few_left_warning;
use super::sessions::{Caller, NewSession};
use super::{DomainError, Result, Twofold};
use webauthn_rs::prelude::PublicKeyCredential;

/// A second factor as presented.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Proof<'a> {
    /// A code from an authenticator app: any of the user's, or only factor `only`'s.
    App {
        code: &'a str,
        only: Option<&'a str>,
    },
    /// A code mailed to the user's email factor for this sign-in or this session.
    Email { code: &'a str },
    /// One of the user's recovery codes, as typed.
    RecoveryCode { code: &'a str },
    /// A passkey's answer to the ceremony waiting in this sign-in or session
    /// (`PublicKeyCredential` JSON).
    Passkey { answer: &'a str },
}

impl Proof<'_> {
    /// `method` as the API names it.
    pub(crate) fn of(method: Method, code: &str) -> Proof<'_> {
        match method {
            Method::Totp => Proof::App { code, only: None },
            Method::Email => Proof::Email { code },
            Method::RecoveryCode => Proof::RecoveryCode { code },
            Method::Webauthn => Proof::Passkey { answer: code },
        }
    }

    fn method(&self) -> Method {
        match self {
            Proof::App { .. } => Method::Totp,
            Proof::Email { .. } => Method::Email,
            Proof::RecoveryCode { .. } => Method::RecoveryCode,
            Proof::Passkey { .. } => Method::Webauthn,
        }
    }

    /// The authentication methods a session that passed it carries (a passkey that
    /// verified the user adds `user`).
    fn amr(&self) -> &'static [&'static str] {
        match self {
            Proof::App { .. } => &["pwd", "otp"],
            Proof::Email { .. } => &super::email::AMR,
            Proof::RecoveryCode { .. } => &["pwd", "otp", "recovery_code"],
            Proof::Passkey { .. } => &super::passkeys::AMR,
        }
    }
}

/// A kind of second factor, as a sign-in or a step-up names the one it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A code from an authenticator app.
    Totp,
    /// One of the user's recovery codes.
    RecoveryCode,
    /// A code mailed to the address of the user's email factor.
    Email,
    /// A passkey's answer (WebAuthn).
    Webauthn,
}

impl Method {
    /// Its name in the audit log (the API's name too).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Email => "email",
            Method::RecoveryCode => "recovery_code",
            Method::Webauthn => "webauthn",
        }
    }
}

/// What the second factor is for.
#[derive(Clone, Copy)]
pub(crate) enum Purpose<'a> {
    /// Finishing the sign-in flow with this token hash (the flow says whose code it is).
    SignIn { flow: &'a [u8] },
    /// A fresh second factor in the caller's session (a step-up, a guarded change); the
    /// change records itself.
    Session(&'a Caller),
}

/// A second factor that passed.
#[derive(Debug)]
pub(crate) struct Verified {
    pub user_id: String,
    /// The factor it came from (none for a recovery code).
    pub factor_id: Option<String>,
    pub amr: &'static [&'static str],
    /// The session it started, for a sign-in.
    pub session: Option<NewSession>,
    /// After a recovery code: how many are left.
    pub recovery_codes_remaining: Option<u32>,
}

impl Twofold {
    /// Checks `proof` for `purpose`; see the module documentation. Counted in the
    /// metrics by purpose, method and outcome.
    pub(crate) async fn verify_second_factor(
        &self,
        purpose: Purpose<'_>,
        proof: Proof<'_>,
    ) -> Result<Verified> {
        let method = proof.method().as_str();
        let verified = self.verify_proof(purpose, proof).await;
        let outcome = match &verified {
            Ok(_) => "accepted",
            Err(DomainError::CodeReused) => "replayed",
            Err(
                DomainError::InvalidCode
                | DomainError::ClockSkew { .. }
                | DomainError::PasskeyRefused(_)
                | DomainError::PasskeyCloned
                | DomainError::WrongConfirmation
                | DomainError::ConfirmationExpired
                | DomainError::MethodNotAvailable(_),
            ) => "refused",
            Err(DomainError::FlowExpired | DomainError::PasskeyChallengeGone) => "expired",
            Err(DomainError::InvalidInput(_)) => "invalid",
            Err(DomainError::Locked { .. }) => "locked",
            // The server's own failures (the database, the key): what an alert watches.
            Err(_) => "error",
        };
        let purpose = match purpose {
            Purpose::SignIn { .. } => "sign_in",
            Purpose::Session(_) => "step_up",
        };
        self.metrics.second_factor(purpose, method, outcome);
        verified
    }

    async fn verify_proof(&self, purpose: Purpose<'_>, proof: Proof<'_>) -> Result<Verified> {
        match proof {
            Proof::App { code, only } => self.verify_app_code(purpose, proof, code, only).await,
            Proof::Email { .. } | Proof::RecoveryCode { .. } | Proof::Passkey { .. } => {
                self.verify_one_time_code(purpose, proof).await
            }
        }
    }

    /// An app's code: reserve, verify and accept in one store transaction.
    ///
    /// The accepted window follows each factor's learnt clock drift (RFC 6238 §6). A code
    /// that matches only further out is refused like any wrong code — the caller is never
    /// told that it would match later, which would make every code of the next minutes a
    /// hit for a guesser — and remembered: a code from a later step at the same offset, in
    /// the next 5 minutes, proves the offset (two consecutive codes, as privacyIDEA's
    /// resynchronisation), and is accepted, and the drift learnt.
    async fn verify_app_code(
        &self,
        purpose: Purpose<'_>,
        proof: Proof<'_>,
        code: &str,
        only: Option<&str>,
    ) -> Result<Verified> {
        let now = self.now();
        let code = match OtpCode::parse(code) {
            Ok(code) => code,
            Err(malformed) => {
                // An unknown or expired flow is reported before a malformed code.
                if let Purpose::SignIn { flow } = purpose {
                    let flow = self.store.flow_by_token(flow).await?;
                    if flow.is_none_or(|f| f.expires_at <= now.as_millis()) {
                        return Err(DomainError::FlowExpired);
                    }
                }
                return Err(malformed);
            }
        };
        let amr = proof.amr();
        // For a sign-in the session is made up front, so the whole acceptance is one
        // write; minting its token costs about a microsecond. The store sets its user.
        let (finish, session) = match purpose {
            Purpose::Session(caller) => {
                let user_id = caller.user.id.clone();
                (store::Finish::Claim { user_id }, None)
            }
            Purpose::SignIn { flow } => {
                let (row, session) = self.new_session("", amr, 2)?;
                let finish = store::Finish::SignIn {
                    flow: flow.to_vec(),
                    session: Box::new(row),
                };
                (finish, Some(session))
            }
        };
        // The rules run where the store runs the check (SQLite: its writer thread), so
        // they own what they need.
        let rules = AppCodeRules {
            keys: self.keys.clone(),
            code: code.as_str().to_owned(),
            window: Window::symmetric(self.security.totp_window),
            security: self.security.clone(),
            audit: AuditAt::current(now),
            signs_in: session.is_some(),
        };
        let outcome = self
            .store
            .check_code(CodeCheck {
                now: now.as_millis(),
                only: only.map(str::to_owned),
                rules: Box::new(rules),
                finish,
            })
            .await?;
        match outcome {
            CheckOutcome::Accepted { user_id, factor_id } => Ok(Verified {
                user_id,
                factor_id: Some(factor_id),
                amr,
                session,
                recovery_codes_remaining: None,
            }),
            CheckOutcome::Locked { until } => Err(locked(now, until)),
            CheckOutcome::Failed {
                user_id,
                attempt,
                matched,
                locked_until,
            } => {
                // Its audit events were written with it.
                self.after_failed_attempt(&user_id, attempt, locked_until.is_some())
                    .await;
                Err(if matched {
                    DomainError::CodeReused
                } else {
                    DomainError::InvalidCode
                })
            }
            // Unknown or expired, or another request finished this flow first (then this
            // attempt stays counted, like any that did not sign in).
            CheckOutcome::FlowGone => Err(DomainError::FlowExpired),
            CheckOutcome::NoFactor => Err(DomainError::MethodNotAvailable(
                "the user has no authenticator app to check this code against".into(),
            )),
            CheckOutcome::RulesFailed(e) => Err(match e.downcast::<DomainError>() {
                Ok(e) => *e,
                Err(e) => DomainError::Internal(e.to_string()),
            }),
        }
    }

    /// A mailed or recovery code: reserve, verify outside the store, then use it up
    /// together with what accepting it writes.
    async fn verify_one_time_code(
        &self,
        purpose: Purpose<'_>,
        proof: Proof<'_>,
    ) -> Result<Verified> {
        // Whose code, the flow it finishes if any, and what a mailed code for it was
        // mailed for.
        // (A passkey's ceremony waits in the same flow or session, under its own name.)
        let (user, flow, mailed_for, ceremony) = match purpose {
            Purpose::SignIn { flow } => {
                let (flow, user) = self.live_flow(flow, FLOW_MFA).await?;
                let mailed_for = (SIGN_IN, flow.id.clone());
                let ceremony = (super::passkeys::SIGN_IN, flow.id.clone());
                (user, Some(flow), mailed_for, ceremony)
            }
            Purpose::Session(caller) => {
                let mailed_for = (STEP_UP, caller.session.id.clone());
                let ceremony = (super::passkeys::SESSION, caller.session.id.clone());
                (caller.user.clone(), None, mailed_for, ceremony)
            }
        };
        let method = proof.method();
        let typed = match proof {
            Proof::Email { code } => {
                let factor = self.active_email_factor(&user).await?;
                let code = six_digits_typed(code).ok_or_else(|| {
                    DomainError::InvalidInput("an email code is the 6 digits mailed to you".into())
                })?;
                Typed::Mailed {
                    factor: Box::new(factor),
                    code,
                }
            }
            Proof::RecoveryCode { code } => Typed::Recovery(
                RecoveryCode::parse(code).map_err(|e| DomainError::InvalidInput(e.to_string()))?,
            ),
            Proof::Passkey { answer } => {
                Typed::Passkey(Box::new(serde_json::from_str(answer).map_err(|e| {
                    DomainError::InvalidInput(format!(
                        "credential is not a WebAuthn assertion (PublicKeyCredential JSON): {e}"
                    ))
                })?))
            }
            Proof::App { .. } => {
                return Err(DomainError::Internal(
                    "an app's code is checked in the store".into(),
                ));
            }
        };
        let attempt = self.reserve_attempt(&user.id).await?;
        // A failed attempt is recorded as any failed second-factor attempt is.
        let fail = |reason: &'static str| {
            let details = failure(attempt, reason, method);
            self.failed_attempt(&user, attempt, "mfa.failed", details)
        };
        let mut amr = proof.amr();
        let (code, factor_id) = match typed {
            Typed::Mailed { factor, code } => {
                let (use_, bound_to) = mailed_for;
                match self
                    .compare_confirmation(&user.id, use_, &code, Some(&bound_to))
                    .await?
                {
                    Compared::Right(row) => (
                        OneTimeCode::Mailed {
                            purpose: use_.to_owned(),
                            code_hash: row.code_hash,
                            bound_to,
                            factor_id: factor.id.clone(),
                        },
                        Some(factor.id),
                    ),
                    failed => {
                        fail("invalid_code").await;
                        return Err(match failed {
                            Compared::Expired => DomainError::ConfirmationExpired,
                            _ => DomainError::InvalidCode,
                        });
                    }
                }
            }
            Typed::Recovery(code) => {
                let candidates = self.store.unused_recovery_codes(&user.id).await?;
                let found = self
                    .passwords
                    .find_recovery_code(Zeroizing::new(code.as_str().to_owned()), candidates)
                    .await?;
                let Some(id) = found else {
                    fail("invalid_code").await;
                    return Err(DomainError::InvalidCode);
                };
                (OneTimeCode::Recovery { id }, None)
            }
            Typed::Passkey(answer) => {
                let (purpose, bound_to) = ceremony;
                match self
                    .check_passkey_answer(&user, purpose, &bound_to, &answer)
                    .await?
                {
                    Ok(passed) => {
                        if passed.user_verified {
                            amr = &super::passkeys::AMR_VERIFIED;
                        }
                        let code = OneTimeCode::Passkey {
                            factor_id: passed.factor_id.clone(),
                            sign_count: passed.sign_count,
                        };
                        (code, Some(passed.factor_id))
                    }
                    Err(PasskeyRefusal::NoCeremony) => {
                        fail("no_request").await;
                        return Err(DomainError::PasskeyChallengeGone);
                    }
                    Err(PasskeyRefusal::Cloned { factor_id }) => {
                        self.passkey_possibly_cloned(&user, &factor_id).await;
                        fail("possibly_cloned").await;
                        return Err(DomainError::PasskeyCloned);
                    }
                    Err(PasskeyRefusal::Failed(why)) => {
                        fail("invalid_passkey").await;
                        return Err(DomainError::PasskeyRefused(why));
                    }
                }
            }
        };
        let now = self.now();
        let (finish, session, events) = match flow {
            Some(flow) => {
                let (mut row, session) = self.new_session(&user.id, amr, 2)?;
                row.factor_id.clone_from(&factor_id);
                let finish = store::Finish::SignIn {
                    flow: flow.token_hash,
                    session: Box::new(row),
                };
                let who = Checked {
                    user_id: &user.id,
                    org_id: &user.org_id,
                };
                let audit = AuditAt::current(now);
                let events = signed_in(&audit, who, amr, method, factor_id.as_deref());
                (finish, Some(session), events)
            }
            None => {
                let user_id = user.id.clone();
                (store::Finish::Claim { user_id }, None, Vec::new())
            }
        };
        let outcome = self
            .store
            .accept_one_time_code(OneTimeAccept {
                code,
                user_id: user.id.clone(),
                now: now.as_millis(),
                finish,
                audit: events,
            })
            .await?;
        match outcome {
            OneTimeOutcome::Accepted => {}
            // A passkey's counter that did not go up: another answer with a counter as
            // high was accepted first (a clone's, or this one's).
            OneTimeOutcome::CodeUsed if method == Method::Webauthn => {
                if let Some(id) = &factor_id {
                    self.passkey_possibly_cloned(&user, id).await;
                }
                fail("possibly_cloned").await;
                return Err(DomainError::PasskeyCloned);
            }
            // A concurrent request used the same code first: this attempt stays counted.
            OneTimeOutcome::CodeUsed => {
                fail("invalid_code").await;
                return Err(DomainError::InvalidCode);
            }
            OneTimeOutcome::FlowGone => return Err(DomainError::FlowExpired),
        }
        let recovery_codes_remaining = if method == Method::RecoveryCode {
            let remaining = self.remaining_recovery_codes(&user.id).await?;
            self.mailer.send(
                &messages::recovery_code_used(&user.email, remaining, few_left_warning(remaining)),
                now,
            );
            Some(remaining)
        } else {
            None
        };
        Ok(Verified {
            user_id: user.id,
            factor_id,
            amr,
            session,
            recovery_codes_remaining,
        })
    }

    /// What follows a failed attempt, whatever the kind, once its events are recorded:
    /// the lock notice if it locked the user, and the log line.
    async fn after_failed_attempt(&self, user_id: &str, attempt: i64, locked: bool) {
        let now = self.now();
        if locked {
            self.mail_user(user_id, |to| self.lock_notice(to, now))
                .await;
        }
        self.attempt_failed(user_id, attempt);
    }
}

/// A code as typed, parsed for its kind.
enum Typed {
    Mailed {
        factor: Box<FactorRow>,
        code: String,
    },
    Recovery(RecoveryCode),
    Passkey(Box<PublicKeyCredential>),
}

/// `signin.succeeded`, as every kind of second factor records it.
fn signed_in(
    audit: &AuditAt,
    who: Checked<'_>,
    amr: &[&str],
    method: Method,
    factor_id: Option<&str>,
) -> Vec<AuditRow> {
    let method = method.as_str();
    let details = match factor_id {
        Some(id) => json!({"amr": amr, "method": method, "factor_id": id}),
        None => json!({"amr": amr, "method": method}),
    };
    vec![audit.row(who, "signin.succeeded", true, details)]
}

/// The details of `mfa.failed`, as every kind of second factor records it.
fn failure(attempt: i64, reason: &str, method: Method) -> serde_json::Value {
    json!({"attempt": attempt, "reason": reason, "method": method.as_str()})
}

/// The domain's rules for an app's code, run inside the store's check.
struct AppCodeRules {
    keys: Arc<KeyRing>,
    code: String,
    window: Window,
    security: Arc<Security>,
    audit: AuditAt,
    /// A sign-in records itself; a code that guards a change does not (the change does).
    signs_in: bool,
}

impl CheckRules for AppCodeRules {
    fn lock_after(&self, attempt: i64) -> Option<i64> {
        lock_until(&self.security, self.audit.now, attempt).map(Timestamp::as_millis)
    }

    fn evaluate(&mut self, f: &TotpFactor) -> std::result::Result<Evaluation, RuleError> {
        let totp = super::factors::totp_of(&self.keys, f)?;
        Ok(super::factors::evaluate_totp(
            &totp,
            f,
            &self.code,
            self.audit.now,
            self.window,
        )?)
    }

    fn failed(
        &self,
        who: Checked<'_>,
        attempt: i64,
        matched: bool,
        locked_until: Option<i64>,
    ) -> Vec<AuditRow> {
        let reason = if matched {
            "code_reused"
        } else {
            "invalid_code"
        };
        let details = failure(attempt, reason, Method::Totp);
        self.audit
            .failed(who, attempt, "mfa.failed", details, locked_until)
    }

    fn accepted(&self, who: Checked<'_>, factor_id: &str) -> Vec<AuditRow> {
        if !self.signs_in {
            return Vec::new();
        }
        signed_in(
            &self.audit,
            who,
            &["pwd", "otp"],
            Method::Totp,
            Some(factor_id),
        )
    }
}
