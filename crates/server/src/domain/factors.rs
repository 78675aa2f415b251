//! Second factors: enrolling an authenticator app (pending until a code from it is
//! accepted), listing, removing, and checking a code against a user's factors with the
//! lockout and the replay rule. Email factors have their own module (`email`); what is
//! common to both (activating, preferring, removing) is here.

use serde_json::json;
use twofold_otp::{Algorithm, KeyUri, Secret, Totp, TotpParams, Window};
use twofold_proto::{Factor, FactorStatus, FactorType};

use crate::clock::Timestamp;
use crate::crypto::secret_box::{KeyRing, Sealed};
use crate::mail::messages;
use crate::store::{
    self, AuditOrigin, CheckOutcome, CodeCheck, EMAIL, Evaluation, FactorRow, TOTP, UserRow,
};

use super::input::{OtpCode, factor_name};
use super::sessions::{Caller, NewSession};
use super::{DomainError, Result, Twofold};

const PENDING: &str = "pending";
const ACTIVE: &str = "active";

/// A new pending TOTP factor: the only time the secret leaves the server.
#[derive(Debug)]
pub struct Enrollment {
    pub id: String,
    pub secret_base32: String,
    pub uri: String,
}

fn to_api(f: &FactorRow) -> Factor {
    Factor {
        id: f.id.clone(),
        factor_type: if f.kind == EMAIL {
            FactorType::Email
        } else {
            FactorType::Totp
        },
        name: f.name.clone(),
        status: if f.status == ACTIVE {
            FactorStatus::Active
        } else {
            FactorStatus::Pending
        },
        created_at: Timestamp::from_millis(f.created_at).to_rfc3339(),
        last_used_at: f
            .last_used_at
            .map(|t| Timestamp::from_millis(t).to_rfc3339()),
        preferred: f.preferred,
        email: f.address.clone(),
    }
}

impl Twofold {
    /// Creates a pending TOTP factor with a fresh 160-bit secret. An earlier pending
    /// factor of the same user (an enrolment never finished) is replaced.
    pub async fn enroll_totp(
        &self,
        caller: &Caller,
        name: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<Enrollment> {
        let name = factor_name(name)?;
        self.require_fresh_second_factor_if_enrolled(caller, elevated)
            .await?;
        self.new_pending_totp(&caller.user, name).await
    }

    /// A new pending TOTP factor for `user`, replacing an unfinished one.
    pub(crate) async fn new_pending_totp(
        &self,
        user: &UserRow,
        name: String,
    ) -> Result<Enrollment> {
        let factors = self.store.factors_of_user(&user.id).await?;
        let apps = || factors.iter().filter(|f| f.kind == TOTP);
        let active = apps().filter(|f| f.status == ACTIVE).count();
        if active >= usize::try_from(self.security.max_totp_factors).unwrap_or(usize::MAX) {
            return Err(DomainError::Conflict(format!(
                "you already have {active} authenticator apps, the most allowed here; remove one, \
                 or regenerate one to move it to a new device"
            )));
        }
        for f in apps().filter(|f| f.status == PENDING) {
            self.store.delete_pending_factor(&f.id).await?;
        }
        let secret = Secret::generate().map_err(|e| DomainError::Internal(e.to_string()))?;
        let params = TotpParams::default();
        let id = Self::new_id();
        let sealed = self.keys.seal(secret.as_bytes(), id.as_bytes())?;
        let uri = self.key_uri(user, &secret, params);
        self.store
            .insert_factor(&FactorRow {
                id: id.clone(),
                user_id: user.id.clone(),
                kind: TOTP.into(),
                name,
                status: PENDING.into(),
                secret_key_id: Some(sealed.key_id),
                secret_sealed: Some(sealed.bytes),
                algorithm: Some(params.algorithm.to_string()),
                digits: i64::from(params.digits),
                period: i64::try_from(params.period).unwrap_or(30),
                last_used_step: None,
                created_at: self.now().as_millis(),
                activated_at: None,
                last_used_at: None,
                preferred: false,
                drift_steps: 0,
                next_secret_key_id: None,
                next_secret_sealed: None,
                address: None,
            })
            .await?;
        Ok(Enrollment {
            id,
            secret_base32: secret.to_base32(),
            uri,
        })
    }

    /// The Key URI a factor's QR code shows. A pending factor's is shown freely (it is
    /// being set up); an active one's only if the organisation allows it, behind a fresh
    /// second factor, and each time audited and mailed (the seed's eye icon).
    pub async fn factor_qr_uri(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<String> {
        let f = self.own_factor(caller, id).await?;
        if f.kind == EMAIL {
            return Err(DomainError::Conflict(
                "an email factor has no QR code".into(),
            ));
        }
        if f.status == PENDING {
            return self.uri_of(&caller.user, &f);
        }
        let allowed = self
            .store
            .org_settings(&caller.user.org_id)
            .await?
            .is_none_or(|s| s.allow_qr_redisplay);
        if !allowed {
            return Err(DomainError::Forbidden(
                "your organisation does not show an authenticator's QR code again; regenerate \
                 it to set up a new device"
                    .into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let uri = self.uri_of(&caller.user, &f)?;
        self.record_by(&caller.user, "factor.qr_viewed", json!({"factor_id": f.id}))
            .await;
        self.mailer.send(
            &messages::factor_qr_viewed(&caller.user.email, &f.name),
            self.now(),
        );
        Ok(uri)
    }

    /// Starts moving active factor `id` to a new secret (a new device, or a lost one):
    /// the new secret waits for a code from it (`activate`), and the old one keeps working
    /// until then.
    pub async fn regenerate_factor(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<Enrollment> {
        let f = self.own_factor(caller, id).await?;
        if f.kind == EMAIL {
            return Err(DomainError::Conflict(
                "only an authenticator app can be regenerated; an email factor's codes are \
                 mailed one at a time"
                    .into(),
            ));
        }
        if f.status != ACTIVE {
            return Err(DomainError::Conflict(
                "only an active factor can be regenerated; a pending one is still being set up"
                    .into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let secret = Secret::generate().map_err(|e| DomainError::Internal(e.to_string()))?;
        let sealed = self.keys.seal(secret.as_bytes(), f.id.as_bytes())?;
        if !self
            .store
            .set_next_secret(&f.id, &sealed.key_id, &sealed.bytes)
            .await?
        {
            return Err(DomainError::NotFound("factor"));
        }
        self.record_by(
            &caller.user,
            "factor.regeneration_started",
            json!({"factor_id": f.id}),
        )
        .await;
        Ok(Enrollment {
            id: f.id,
            secret_base32: secret.to_base32(),
            uri: self.key_uri(&caller.user, &secret, TotpParams::default()),
        })
    }

    /// The Key URI of `secret` with `params` for `user` (what a QR code shows).
    fn key_uri(&self, user: &UserRow, secret: &Secret, params: TotpParams) -> String {
        KeyUri {
            issuer: Some(self.issuer.to_string()),
            account: user.email.clone(),
            secret: secret.clone(),
            params,
        }
        .to_uri()
    }

    /// The Key URI of `user`'s factor `f`, from its sealed secret.
    fn uri_of(&self, user: &UserRow, f: &FactorRow) -> Result<String> {
        let totp = totp_of(&self.keys, f)?;
        Ok(self.key_uri(user, totp.secret(), *totp.params()))
    }

    /// The Key URI of `user`'s pending factor `id`.
    pub(crate) async fn pending_uri_of(&self, user: &UserRow, id: &str) -> Result<String> {
        let f = self
            .store
            .factor_of_user(&user.id, id)
            .await?
            .ok_or(DomainError::NotFound("factor"))?;
        if f.status != PENDING {
            return Err(DomainError::Conflict(
                "the QR code is shown only while the factor is pending".into(),
            ));
        }
        self.uri_of(user, &f)
    }

    /// Activates `user`'s pending factor `f` with `code`: the code an authenticator app
    /// shows now (its step counts as used), or the code mailed for an email factor.
    pub(crate) async fn activate_pending(
        &self,
        user: &UserRow,
        f: &FactorRow,
        code: &OtpCode,
    ) -> Result<()> {
        if f.status != PENDING {
            return Err(DomainError::Conflict("the factor is already active".into()));
        }
        if f.kind == EMAIL {
            return self.activate_email(user, f, code.as_str()).await;
        }
        let now = self.now();
        let m = totp_of(&self.keys, f)?
            .verify(code.as_str(), now.unix_secs(), self.window())
            .ok_or(DomainError::InvalidCode)?;
        let step = i64::try_from(m.step).map_err(|_| DomainError::InvalidCode)?;
        if !self
            .store
            .activate_factor(&f.id, Some(step), now.as_millis())
            .await?
        {
            return Err(DomainError::Conflict("the factor is already active".into()));
        }
        Ok(())
    }

    /// Activates a pending factor with a code from it: an authenticator app's current
    /// code (its step counts as used), or the code mailed for an email factor.
    pub async fn activate_factor(
        &self,
        caller: &Caller,
        id: &str,
        code: &str,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        let code = OtpCode::parse(code)?;
        let f = self.own_factor(caller, id).await?;
        if f.status == ACTIVE && f.next_secret_sealed.is_some() {
            return self.finish_regeneration(caller, f, &code, elevated).await;
        }
        if f.status != PENDING {
            return Err(DomainError::Conflict("the factor is already active".into()));
        }
        self.require_fresh_second_factor_if_enrolled(caller, elevated)
            .await?;
        self.activate_pending(&caller.user, &f, &code).await?;
        // This session stays as it was (it passed no second factor to sign in); the
        // user's other password-only sessions end if this is their first factor.
        self.first_factor_activated(&caller.user, &caller.session.id)
            .await?;
        let f = self.own_factor(caller, id).await?;
        self.record_by(
            &caller.user,
            "factor.enrolled",
            json!({"factor_id": f.id, "name": f.name}),
        )
        .await;
        self.mailer.send(
            &messages::factor_added(&caller.user.email, &f.name),
            self.now(),
        );
        Ok(to_api(&f))
    }

    /// Moves a regenerated factor to its new secret with a code from it.
    async fn finish_regeneration(
        &self,
        caller: &Caller,
        f: FactorRow,
        code: &OtpCode,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        self.require_fresh_second_factor(caller, elevated).await?;
        let next = FactorRow {
            secret_key_id: f.next_secret_key_id.clone(),
            secret_sealed: f.next_secret_sealed.clone(),
            ..f.clone()
        };
        let now = self.now();
        let m = totp_of(&self.keys, &next)?
            .verify(code.as_str(), now.unix_secs(), self.window())
            .ok_or(DomainError::InvalidCode)?;
        let step = i64::try_from(m.step).map_err(|_| DomainError::InvalidCode)?;
        if !self
            .store
            .promote_next_secret(&f.id, step, now.as_millis())
            .await?
        {
            return Err(DomainError::Conflict(
                "the factor has no regenerated secret waiting".into(),
            ));
        }
        self.record_by(
            &caller.user,
            "factor.regenerated",
            json!({"factor_id": f.id}),
        )
        .await;
        self.mailer.send(
            &messages::factor_regenerated(&caller.user.email, &f.name),
            self.now(),
        );
        Ok(to_api(&self.own_factor(caller, &f.id).await?))
    }

    /// Makes an active factor the caller's preferred one: a change to their factors like
    /// any other, so it needs a fresh second factor and the user is mailed.
    pub async fn prefer_factor(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        let f = self.own_factor(caller, id).await?;
        if f.status != ACTIVE {
            return Err(DomainError::Conflict(
                "only an active factor can be preferred".into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        if !self.store.set_preferred_factor(&caller.user.id, id).await? {
            return Err(DomainError::Conflict(
                "only an active factor can be preferred".into(),
            ));
        }
        self.record_by(&caller.user, "factor.preferred", json!({"factor_id": f.id}))
            .await;
        self.mailer.send(
            &messages::factor_preferred(&caller.user.email, &f.name),
            self.now(),
        );
        Ok(to_api(&self.own_factor(caller, id).await?))
    }

    pub async fn list_factors(&self, caller: &Caller) -> Result<Vec<Factor>> {
        Ok(self
            .store
            .factors_of_user(&caller.user.id)
            .await?
            .iter()
            .map(to_api)
            .collect())
    }

    /// Removes a factor. An active one needs a current code from itself (for an email
    /// factor, a step-up code mailed to it), checked like a sign-in (lockout, replay), or
    /// an elevated token, so a stolen session alone cannot strip a user's MFA. A pending
    /// one (an unfinished enrolment) can go without.
    pub async fn delete_factor(
        &self,
        caller: &Caller,
        id: &str,
        code: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<()> {
        // A pending factor needs no code, but a code that is sent must look like one.
        let code = code.map(OtpCode::parse).transpose()?;
        let f = self.own_factor(caller, id).await?;
        if f.status == PENDING && self.store.delete_pending_factor(&f.id).await? {
            return Ok(());
        }
        // The last one, where the organisation requires a factor: refused before any code
        // is checked (and counted).
        if self.store.count_active_factors(&caller.user.id).await? <= 1
            && self.mfa_required_for(&caller.user).await?
        {
            return Err(DomainError::LastFactor);
        }
        // Active (possibly activated a moment ago): a current code from itself, or an
        // elevated token.
        match (code, elevated) {
            (Some(code), _) if f.kind == EMAIL => {
                self.check_step_up_email_code(caller, code.as_str()).await?;
            }
            (Some(code), _) => {
                let finish = Finish::Claim {
                    user_id: &caller.user.id,
                };
                self.check_totp(Some(&f.id), &code, finish).await?;
            }
            (None, Some(_)) => self.require_fresh_second_factor(caller, elevated).await?,
            (None, None) => {
                return Err(DomainError::InvalidInput(
                    "a current code from this factor (or an X-Elevated-Token) is required to \
                     remove it"
                        .into(),
                ));
            }
        }
        if self.store.delete_factor(&f.id).await? {
            // Sessions that passed this factor no longer have a second factor behind them,
            // and devices remembered with any factor are forgotten.
            self.store.lower_sessions_of_factor(&f.id).await?;
            self.store.delete_devices_of_user(&caller.user.id).await?;
            self.record_by(
                &caller.user,
                "factor.removed",
                json!({"factor_id": f.id, "name": f.name}),
            )
            .await;
            self.mailer.send(
                &messages::factor_removed(&caller.user.email, &f.name),
                self.now(),
            );
        }
        Ok(())
    }

    /// A user who already has an active factor adds another only from a session that
    /// passed a second factor in the last 10 minutes, or with an elevated token: a
    /// password-only session (say, one opened before MFA was turned on, or stolen), or one
    /// left open for hours, must not be able to add an attacker's authenticator.
    pub(super) async fn require_fresh_second_factor_if_enrolled(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<()> {
        if self.store.count_active_factors(&caller.user.id).await? == 0 {
            return Ok(());
        }
        self.require_fresh_second_factor(caller, elevated).await
    }

    /// After `user` activated a factor: if it is their first, their other password-only
    /// sessions (all but `keep`; `""` keeps none) end, since they were opened without
    /// the factor the account now has.
    pub(crate) async fn first_factor_activated(&self, user: &UserRow, keep: &str) -> Result<()> {
        if self.store.count_active_factors(&user.id).await? != 1 {
            return Ok(());
        }
        let ended = self
            .store
            .delete_other_aal1_sessions(&user.id, keep)
            .await?;
        if ended > 0 {
            self.record_by(
                user,
                "sessions.invalidated",
                json!({"sessions_ended": ended, "reason": "factor.enrolled"}),
            )
            .await;
        }
        Ok(())
    }

    async fn own_factor(&self, caller: &Caller, id: &str) -> Result<FactorRow> {
        self.store
            .factor_of_user(&caller.user.id, id)
            .await?
            .ok_or(DomainError::NotFound("factor"))
    }

    fn window(&self) -> Window {
        Window::symmetric(self.security.totp_window)
    }

    /// Checks a TOTP code against the user's active factors (or only `only`), as a second
    /// factor: the attempt is counted (lockout), and a match is accepted only if its time
    /// step was never accepted for that factor (replay). `finish` says what else the
    /// acceptance writes.
    pub(crate) async fn check_totp(
        &self,
        only: Option<&str>,
        code: &OtpCode,
        finish: Finish<'_>,
    ) -> Result<CodeAccepted> {
        let now = self.now();
        let security = self.security.clone();
        let lock_after = move |attempt: i64| {
            super::lockout::lock_until(&security, now, attempt).map(Timestamp::as_millis)
        };
        // The matcher runs where the store runs the check (SQLite: its writer thread), so
        // it owns what it needs.
        let (keys, code_text, window) =
            (self.keys.clone(), code.as_str().to_owned(), self.window());
        let matcher = move |f: &FactorRow| -> Result<Evaluation> {
            let totp = totp_of(&keys, f)?;
            let now = now.unix_secs();
            if let Some(m) = totp.verify(&code_text, now, accepted_window(window, f.drift_steps)) {
                let step = i64::try_from(m.step).map_err(|_| DomainError::InvalidCode)?;
                let drift = m.offset.clamp(-MAX_DRIFT_STEPS, MAX_DRIFT_STEPS);
                return Ok(Evaluation::Match { step, drift });
            }
            // Not accepted. Would it match further out? Then the device's clock is off, and
            // saying so saves the user a lockout. Still a failed attempt.
            Ok(
                match totp.verify(&code_text, now, Window::symmetric(SKEW_PROBE_STEPS)) {
                    Some(m) => Evaluation::Skewed { drift: m.offset },
                    None => Evaluation::NoMatch,
                },
            )
        };
        // For a sign-in the session is made up front, so the whole acceptance is one
        // write; minting its token costs about a microsecond.
        let (finish, session) = match finish {
            Finish::Claim { user_id } => {
                let user_id = user_id.to_owned();
                (store::Finish::Claim { user_id }, None)
            }
            Finish::SignIn { flow, amr } => {
                // The store fills in the flow's user.
                let (row, session) = self.new_session("", amr, 2)?;
                let finish = store::Finish::SignIn {
                    flow: flow.to_vec(),
                    session: Box::new(row),
                };
                (finish, Some(session))
            }
        };
        let outcome = self
            .store
            .check_code(CodeCheck {
                now: now.as_millis(),
                only: only.map(str::to_owned),
                lock_after: Box::new(lock_after),
                matcher: Box::new(matcher),
                finish,
                origin: {
                    let o = super::audit::current_origin();
                    AuditOrigin {
                        ip: o.ip,
                        user_agent: o.user_agent,
                    }
                },
            })
            .await?;
        // The check recorded its audit events itself, in its own transaction.
        match outcome {
            CheckOutcome::Accepted { user_id, factor_id } => Ok(CodeAccepted {
                session,
                user_id,
                factor_id,
            }),
            CheckOutcome::Locked { until } => Err(super::lockout::locked(now, until)),
            CheckOutcome::Failed {
                user_id,
                attempt,
                matched,
                locked_until,
                skew,
            } => {
                if locked_until.is_some() {
                    self.mail_user(&user_id, |to| self.lock_notice(to, now))
                        .await;
                }
                self.attempt_failed(&user_id, attempt);
                Err(match (matched, skew) {
                    (true, _) => DomainError::CodeReused,
                    (false, Some(steps)) => DomainError::ClockSkew {
                        seconds: steps.saturating_mul(TOTP_PERIOD_SECS),
                    },
                    (false, None) => DomainError::InvalidCode,
                })
            }
            // Unknown or expired, or another request finished this flow first (then this
            // attempt stays counted, like any that did not sign in).
            CheckOutcome::FlowGone => Err(DomainError::FlowExpired),
            CheckOutcome::NoFactor => Err(DomainError::MethodNotAvailable(
                "the user has no authenticator app to check this code against".into(),
            )),
            CheckOutcome::MatcherFailed(e) => Err(e),
        }
    }
}

/// The most drift learnt for a factor (RFC 6238 §6), in steps: 5 minutes.
const MAX_DRIFT_STEPS: i64 = 10;
/// How far out a code that was refused is looked for, to tell the user their device's
/// clock is off: 5 minutes either way.
const SKEW_PROBE_STEPS: u32 = 10;
/// The period of every factor Twofold enrols (imported ones may differ; the hint is
/// approximate anyway).
const TOTP_PERIOD_SECS: i64 = 30;

/// The steps accepted for a factor whose device was last `drift` steps off: the usual
/// window around the current step, stretched to cover the same window around `drift`
/// (so a device whose clock was fixed meanwhile is still accepted, and re-learnt).
fn accepted_window(usual: Window, drift: i64) -> Window {
    let drift = drift.clamp(-MAX_DRIFT_STEPS, MAX_DRIFT_STEPS);
    let extra = u32::try_from(drift.unsigned_abs()).unwrap_or(0);
    Window {
        center: 0,
        behind: usual.behind + if drift < 0 { extra } else { 0 },
        ahead: usual.ahead + if drift > 0 { extra } else { 0 },
    }
}

/// Opens a TOTP factor's sealed secret.
fn totp_of(keys: &KeyRing, f: &FactorRow) -> Result<Totp> {
    let (Some(key_id), Some(bytes), Some(algorithm)) =
        (&f.secret_key_id, &f.secret_sealed, &f.algorithm)
    else {
        return Err(DomainError::Conflict(format!(
            "factor {} is not an authenticator app",
            f.id
        )));
    };
    let sealed = Sealed {
        key_id: key_id.clone(),
        bytes: bytes.clone(),
    };
    let bytes = keys.open(&sealed, f.id.as_bytes())?;
    let secret =
        Secret::from_bytes(bytes.to_vec()).map_err(|e| DomainError::Internal(e.to_string()))?;
    let algorithm: Algorithm = algorithm
        .parse()
        .map_err(|_| DomainError::Internal(format!("factor {} has unknown algorithm", f.id)))?;
    let params = TotpParams {
        algorithm,
        digits: u8::try_from(f.digits).unwrap_or(6),
        period: u64::try_from(f.period).unwrap_or(30),
    };
    Totp::new(secret, params).map_err(|e| DomainError::Internal(e.to_string()))
}

/// An accepted code: whose, the factor it came from, and the session it started, if it
/// finished a sign-in.
pub(crate) struct CodeAccepted {
    pub session: Option<NewSession>,
    pub user_id: String,
    pub factor_id: String,
}

/// What accepting a code writes besides claiming its step.
#[derive(Clone, Copy)]
pub(crate) enum Finish<'a> {
    /// The claim and the lockout reset (a code of this user's that guards an action).
    Claim { user_id: &'a str },
    /// The claim, the lockout reset, the end of the flow and a new aal-2 session with
    /// these methods, in one transaction.
    SignIn {
        /// The flow's token hash (the flow says whose code it is).
        flow: &'a [u8],
        amr: &'a [&'a str],
    },
}
