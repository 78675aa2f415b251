//! The sign-in flow.
//!
//! ```text
//!  POST /auth/login {org, username, password}
//!        │
//!        ├─ wrong org / user / password ──► 401 invalid_credentials (same answer, same work)
//!        │
//!        ├─ no active second factor ───────► session, aal 1, amr [pwd]
//!        │                                    (or enrolment first, if the org requires it)
//!        ├─ a remembered device's token ───► session, aal 2, amr [pwd, device]
//!        │
//!        └─ active factor(s) ──► flow (5 min) ──► POST /auth/mfa {flow_token, method, code}
//!                                                   │
//!                                                   ├─ locked ─────────► 429 too_many_attempts
//!                                                   ├─ flow gone/old ──► 401 flow_expired
//!                                                   ├─ wrong code ─────► 401 invalid_code (counted;
//!                                                   │                     clock_skew_seconds if
//!                                                   │                     right ≤5 min away)
//!                                                   ├─ step used ──────► 401 code_reused (counted)
//!                                                   └─ right code ─────► session, aal 2, amr [pwd, otp]
//!                                                      (totp, a mailed     (+ recovery_code or email; a
//!                                                      code, or a          device token if
//!                                                      recovery code)      remember_device)
//!                                                                        (flow consumed, count reset)
//! ```
//!
//! `mfa_required` lists every method the user has and names the preferred one (the
//! preferred factor's, else the oldest active factor's); when that is email, the code is
//! mailed at once. Any other listed method may be used for this sign-in instead.

use super::Method;
use serde_json::json;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{FLOW_ENROLL, FLOW_MFA, FactorKind, FactorRow, FactorState, FlowRow, UserRow};

use super::audit::Event;
use super::input::{Slug, Username};
use super::policy::Requirement;
use super::sessions::NewSession;
use super::verify::{Proof, Purpose};
use super::{DomainError, Result, Twofold};

/// The answer to a correct password.
#[derive(Debug)]
pub enum LoginOutcome {
    Authenticated {
        session: NewSession,
        /// The organisation requires a factor this user does not have yet; the grace
        /// period has this many days left.
        enrollment_days_left: Option<u32>,
    },
    /// The organisation requires a factor and the user must enrol one, with this flow.
    EnrollmentRequired {
        flow_token: String,
        expires_at: Timestamp,
    },
    MfaRequired {
        flow_token: String,
        methods: Vec<Method>,
        preferred: Method,
        /// Where the sign-in code was mailed (partly hidden), when email is preferred.
        code_sent_to: Option<String>,
        expires_at: Timestamp,
    },
}

/// The second step's choices for a sign-in under way ([`Twofold::sign_in_choices`]).
#[derive(Clone, Debug)]
pub struct SignInChoices {
    pub methods: Vec<Method>,
    pub preferred: Method,
    /// Where mailed codes go, partly hidden.
    pub email_to: Option<String>,
    /// Whether the organisation lets this browser be remembered.
    pub remember_device: bool,
    pub expires_at: Timestamp,
}

impl Twofold {
    /// The password step, counted in the metrics by outcome.
    pub async fn login(
        &self,
        org: &str,
        username: &str,
        password: Zeroizing<String>,
        device_token: Option<&str>,
    ) -> Result<LoginOutcome> {
        let outcome = self
            .password_step(org, username, password, device_token)
            .await;
        self.metrics.sign_in(match &outcome {
            Ok(LoginOutcome::Authenticated { .. }) => "signed_in",
            Ok(LoginOutcome::EnrollmentRequired { .. }) => "enrollment_required",
            Ok(LoginOutcome::MfaRequired { .. }) => "second_factor",
            Err(DomainError::InvalidCredentials | DomainError::UseIdentityProvider { .. }) => {
                "refused"
            }
            Err(DomainError::Throttled { .. }) => "throttled",
            Err(DomainError::Overloaded { .. }) => "overloaded",
            Err(_) => "error",
        });
        outcome
    }

    async fn password_step(
        &self,
        org: &str,
        username: &str,
        password: Zeroizing<String>,
        device_token: Option<&str>,
    ) -> Result<LoginOutcome> {
        // A malformed organisation or username cannot exist: treat it like an unknown one
        // (same work, same answer) rather than tell the caller what they look like.
        let slug = Slug::parse(org).ok();
        let name = Username::parse(username).ok();
        let account = slug.as_ref().zip(name.as_ref());
        let (org_row, user) = match account {
            Some((org, name)) => match self.store.org_by_slug(org.as_str()).await? {
                Some(o) => {
                    let user = self
                        .store
                        .user_by_login(org.as_str(), name.as_str())
                        .await?;
                    (Some(o), user)
                }
                None => (None, None),
            },
            None => (None, None),
        };
        if password.chars().count() > crate::crypto::password::MAX_LEN {
            return Err(DomainError::InvalidCredentials);
        }
        // Guesses for this account may have to wait; nothing is checked while they do.
        if let Some((org, name)) = account {
            self.check_password_throttle(org.as_str(), name.as_str(), user.as_ref(), device_token)
                .await?;
        }
        // Federated users have no password here; they are checked against a dummy too.
        let hash = user
            .as_ref()
            .filter(|u| !u.federated)
            .and_then(|u| u.password_hash.clone());
        let miss = org_row.as_ref().and_then(|o| o.miss_hash.as_deref());
        let started = std::time::Instant::now();
        let verified = self
            .passwords
            .verify(password.clone(), hash.clone(), miss)
            .await?;
        let user = match user {
            Some(u) if verified.ok => u,
            user => {
                // As long as a miss takes, where imported hashes make misses slower.
                if let Some(miss) = miss {
                    self.passwords.pad_failure(miss, started).await;
                }
                if let Some((org, name)) = account {
                    self.count_password_failure(org.as_str(), name.as_str())
                        .await;
                }
                self.record_failed_sign_in(org_row.as_ref(), user.as_ref(), username)
                    .await;
                // In an organisation with an identity provider every failure says to use it
                // (or to check the name and password): a federated name, an unknown one
                // and a wrong password are answered alike, after the same work.
                if let Some(org) = org_row.as_ref() {
                    let providers: Vec<String> = self
                        .store
                        .oidc_providers_of_org(&org.id)
                        .await?
                        .into_iter()
                        .map(|p| p.name)
                        .collect();
                    if !providers.is_empty() {
                        return Err(DomainError::UseIdentityProvider { providers });
                    }
                }
                return Err(DomainError::InvalidCredentials);
            }
        };
        self.password_was_right(&user).await;
        if let (true, Some(old)) = (verified.needs_rehash, hash) {
            self.upgrade_password_hash(&user.id, &old, password).await;
        }
        let factors = self.active_factors(&user.id).await?;
        if factors.is_empty() {
            let enrollment_days_left = match self.requirement_for(&user).await? {
                Requirement::None => None,
                Requirement::Grace { days_left } => Some(days_left),
                Requirement::Enroll => {
                    // No session: the flow can enrol a factor and do nothing else.
                    let (_, flow_token, expires_at) = self
                        .new_flow(&user, FLOW_ENROLL, self.security.enrollment_flow_ttl)
                        .await?;
                    return Ok(LoginOutcome::EnrollmentRequired {
                        flow_token,
                        expires_at,
                    });
                }
            };
            let session = self.start_session(&user, &["pwd"]).await?;
            self.record(Event {
                org_id: &user.org_id,
                event: "signin.succeeded",
                actor_id: Some(&user.id),
                subject_id: Some(&user.id),
                details: json!({"amr": ["pwd"]}),
            })
            .await;
            return Ok(LoginOutcome::Authenticated {
                session,
                enrollment_days_left,
            });
        }
        // A remembered device of this user's skips the second step.
        let by_device = match device_token {
            Some(presented) => self.sign_in_with_device(&user, presented).await?,
            None => None,
        };
        if let Some(session) = by_device {
            return Ok(LoginOutcome::Authenticated {
                session,
                enrollment_days_left: None,
            });
        }
        let (flow_id, flow_token, expires_at) = self
            .new_flow(&user, FLOW_MFA, self.security.flow_ttl)
            .await?;
        let methods = self.methods_of(&user, &factors).await?;
        // The preferred factor, else the oldest; there is one here.
        let Some(preferred) = super::factors::effective_preferred(&factors) else {
            return Err(DomainError::Internal("no active factor to prefer".into()));
        };
        // Each kind says how it is asked for: an email factor's code is mailed now.
        let (preferred, code_sent_to) = match preferred.kind {
            FactorKind::Email => {
                let sent = self
                    .mail_sign_in_code_at_login(&user, preferred, &flow_id)
                    .await?;
                (Method::Email, sent)
            }
            FactorKind::Totp => (Method::Totp, None),
            FactorKind::Webauthn => (Method::Webauthn, None),
        };
        Ok(LoginOutcome::MfaRequired {
            flow_token,
            methods,
            preferred,
            code_sent_to,
            expires_at,
        })
    }

    /// `user_id`'s active factors.
    async fn active_factors(&self, user_id: &str) -> Result<Vec<FactorRow>> {
        Ok(self
            .store
            .factors_of_user(user_id)
            .await?
            .into_iter()
            .filter(|f| f.status == FactorState::Active)
            .collect())
    }

    /// The methods `user`, whose active factors are `factors`, may finish a sign-in with.
    async fn methods_of(&self, user: &UserRow, factors: &[FactorRow]) -> Result<Vec<Method>> {
        let has = |kind: FactorKind| factors.iter().any(|f| f.kind == kind);
        let mut methods = Vec::with_capacity(4);
        if has(FactorKind::Totp) {
            methods.push(Method::Totp);
        }
        if has(FactorKind::Email) {
            methods.push(Method::Email);
        }
        if has(FactorKind::Webauthn) {
            methods.push(Method::Webauthn);
        }
        if self.store.count_unused_recovery_codes(&user.id).await? > 0 {
            methods.push(Method::RecoveryCode);
        }
        Ok(methods)
    }

    /// What the second step of the sign-in `flow_token` may use, for a page that shows it
    /// again (the answer to the password step said it once). Mails nothing.
    pub async fn sign_in_choices(&self, flow_token: &str) -> Result<SignInChoices> {
        let hash =
            token::lookup_hash(TokenKind::Flow, flow_token).ok_or(DomainError::FlowExpired)?;
        let (flow, user) = self.live_flow(&hash, FLOW_MFA).await?;
        let factors = self.active_factors(&user.id).await?;
        let preferred = match super::factors::effective_preferred(&factors).map(|f| f.kind) {
            Some(FactorKind::Email) => Method::Email,
            Some(FactorKind::Totp) => Method::Totp,
            Some(FactorKind::Webauthn) => Method::Webauthn,
            None => return Err(DomainError::FlowExpired),
        };
        Ok(SignInChoices {
            methods: self.methods_of(&user, &factors).await?,
            preferred,
            email_to: factors
                .iter()
                .any(|f| f.kind == FactorKind::Email)
                .then(|| super::email::masked(&user.email)),
            remember_device: self.devices_allowed(&user).await?,
            expires_at: Timestamp::from_millis(flow.expires_at),
        })
    }

    /// Starts a flow of `purpose` for `user`; answers its id, token and end.
    async fn new_flow(
        &self,
        user: &UserRow,
        purpose: &str,
        ttl: std::time::Duration,
    ) -> Result<(String, String, Timestamp)> {
        let now = self.now();
        let tok = token::mint(TokenKind::Flow)?;
        let expires_at = now.plus(ttl);
        let id = Self::new_id();
        self.store
            .insert_flow(&FlowRow {
                id: id.clone(),
                token_hash: tok.hash,
                user_id: user.id.clone(),
                created_at: now.as_millis(),
                expires_at: expires_at.as_millis(),
                purpose: purpose.to_owned(),
            })
            .await?;
        Ok((id, tok.text, expires_at))
    }

    /// A wrong password (or unknown user) in an organisation that exists: recorded there,
    /// with the username as typed. An unknown organisation has no log to record it in.
    async fn record_failed_sign_in(
        &self,
        org: Option<&crate::store::OrgRow>,
        user: Option<&UserRow>,
        typed: &str,
    ) {
        let Some(org_id) = user
            .map(|u| u.org_id.as_str())
            .or(org.map(|o| o.id.as_str()))
        else {
            return;
        };
        // A username is at most a few hundred characters; keep the log bounded anyway.
        let typed: String = typed.chars().take(256).collect();
        self.record(Event {
            org_id,
            event: "signin.failed",
            actor_id: None,
            subject_id: user.map(|u| u.id.as_str()),
            details: json!({"username": typed, "reason": "invalid_credentials"}),
        })
        .await;
    }

    /// The live flow of `purpose` with token hash `hash`, and its user; `flow_expired` for
    /// any other flow.
    pub(crate) async fn live_flow(&self, hash: &[u8], purpose: &str) -> Result<(FlowRow, UserRow)> {
        let flow = self
            .store
            .flow_by_token(hash)
            .await?
            .filter(|f| f.purpose == purpose && f.expires_at > self.now().as_millis())
            .ok_or(DomainError::FlowExpired)?;
        let user = self
            .store
            .user_by_id(&flow.user_id)
            .await?
            .ok_or(DomainError::FlowExpired)?;
        Ok((flow, user))
    }

    /// The second step: a code for a flow started by [`Twofold::login`].
    pub async fn complete_mfa(
        &self,
        flow_token: &str,
        method: Method,
        code: &str,
        remember_device: bool,
    ) -> Result<SecondStep> {
        let mut done = self.second_step(flow_token, method, code).await?;
        if remember_device {
            done.device_token = self.remember_device(&done.user_id).await?;
        }
        Ok(done)
    }

    async fn second_step(
        &self,
        flow_token: &str,
        method: Method,
        code: &str,
    ) -> Result<SecondStep> {
        let hash =
            token::lookup_hash(TokenKind::Flow, flow_token).ok_or(DomainError::FlowExpired)?;
        // The flow is looked up, ended, and the session started in the transaction that
        // accepts the code, so of two requests finishing one flow only one gets a session.
        let purpose = Purpose::SignIn { flow: &hash };
        let passed = self
            .verify_second_factor(purpose, Proof::of(method, code))
            .await?;
        let session = passed.session.ok_or_else(|| {
            DomainError::Internal("a sign-in was accepted without a session".into())
        })?;
        Ok(SecondStep {
            session,
            user_id: passed.user_id,
            recovery_codes_remaining: passed.recovery_codes_remaining,
            device_token: None,
        })
    }
}

/// A finished second step.
#[derive(Debug)]
pub struct SecondStep {
    pub session: NewSession,
    /// Whose it is.
    pub user_id: String,
    /// After a recovery code: how many are left.
    pub recovery_codes_remaining: Option<u32>,
    /// After `remember_device` (where the organisation allows it).
    pub device_token: Option<String>,
}
