//! An organisation's MFA policy: owners and admins require a second factor of every
//! (non-federated) user, who then enrols inside the sign-in — after an optional grace
//! period during which they may still sign in without one. Turning it off needs a code
//! mailed to the admin (`confirm`).

use serde_json::json;

use crate::clock::Timestamp;
use crate::mail::messages;
use crate::store::{OrgRow, PolicyRow, UserRow};

use super::audit::Event;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// The longest grace period an organisation may give.
pub const MAX_GRACE_DAYS: u32 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The purpose of the code that confirms turning MFA off.
const DISABLE_PURPOSE: &str = "policy.disable";

/// An organisation's MFA policy.
#[derive(Clone, Debug, PartialEq)]
pub struct MfaPolicy {
    /// Every user without a second factor (federated users aside) must enrol one.
    pub required: bool,
    /// When and by whom it was last set (`None`: never set).
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
    /// Days a user without a factor may still sign in without one once it is required.
    pub grace_period_days: u32,
}

/// A change of the policy, as asked for.
#[derive(Clone, Debug)]
pub struct SetMfaPolicy {
    pub required: bool,
    /// Turning it on: end every session of the organisation (or keep them). Must be said.
    pub invalidate_sessions: Option<bool>,
    pub grace_period_days: Option<u32>,
    /// Turning it off: the code mailed by the first request.
    pub confirmation_code: Option<String>,
}

/// What a policy change did.
#[derive(Debug)]
pub struct MfaPolicyChanged {
    pub policy: MfaPolicy,
    pub sessions_ended: u64,
}

/// What a policy change did, or that it waits for a mailed code.
#[derive(Debug)]
pub enum PolicyOutcome {
    Changed(MfaPolicyChanged),
    /// A confirmation code was mailed to the caller, valid until then.
    ConfirmationRequired {
        expires_at: Timestamp,
    },
}

/// What the policy asks of a user who has no active factor, now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: MFA is not required, or the user is federated.
    None,
    /// Required, but the grace period runs for this many more (started) days.
    Grace { days_left: u32 },
    /// Required: enrolling is the only way in.
    Enroll,
}

fn to_api(p: Option<&PolicyRow>) -> MfaPolicy {
    match p {
        Some(p) => MfaPolicy {
            required: p.required,
            updated_at: Some(Timestamp::from_millis(p.updated_at)),
            updated_by: p.updated_by.clone(),
            grace_period_days: u32::try_from(p.grace_period_days).unwrap_or(0),
        },
        None => MfaPolicy {
            required: false,
            updated_at: None,
            updated_by: None,
            grace_period_days: 0,
        },
    }
}

impl Twofold {
    pub async fn mfa_policy(&self, caller: &Caller, slug: &str) -> Result<MfaPolicy> {
        let org = self.org_for_admin(caller, slug).await?;
        Ok(to_api(self.store.mfa_policy(&org.id).await?.as_ref()))
    }

    /// Requires MFA (`required: true`), ending every session of the organisation if asked;
    /// or, with a code mailed to the caller by the same request without one, stops
    /// requiring it.
    pub async fn set_mfa_policy(
        &self,
        caller: &Caller,
        slug: &str,
        req: SetMfaPolicy,
        elevated: Option<&str>,
    ) -> Result<PolicyOutcome> {
        let org = self.org_for_admin(caller, slug).await?;
        // Either way it changes everyone's protection. An admin without a second factor
        // is stopped here: they enrol first, so that whoever requires MFA meets it too
        // (seed 001: "the admin enabling MFA is also required to enroll").
        self.require_admin_second_factor(caller, elevated).await?;
        if !req.required {
            return self
                .disable_mfa(caller, &org, req.confirmation_code.as_deref())
                .await;
        }
        if req.confirmation_code.is_some() {
            return Err(DomainError::InvalidInput(
                "confirmation_code is only for turning MFA off".into(),
            ));
        }
        let invalidate = req.invalidate_sessions.ok_or_else(|| {
            DomainError::InvalidInput(
                "invalidate_sessions is required: true ends every session now, false lets \
                 them run until they expire"
                    .into(),
            )
        })?;
        let grace = req.grace_period_days.unwrap_or(0);
        if grace > MAX_GRACE_DAYS {
            return Err(DomainError::InvalidInput(format!(
                "grace_period_days must be 0 to {MAX_GRACE_DAYS}"
            )));
        }
        let was_required = self
            .store
            .mfa_policy(&org.id)
            .await?
            .is_some_and(|p| p.required);
        let row = PolicyRow {
            org_id: org.id.clone(),
            required: true,
            grace_period_days: i64::from(grace),
            updated_at: self.now().as_millis(),
            updated_by: Some(caller.user.id.clone()),
        };
        let ended = self.store.set_mfa_policy(&row, invalidate).await?;
        let actor = Some(caller.user.id.as_str());
        self.record(Event {
            org_id: &org.id,
            // Already required: the grace period changed (it runs again from now).
            event: if was_required {
                "policy.changed"
            } else {
                "policy.enabled"
            },
            actor_id: actor,
            subject_id: None,
            details: json!({"grace_period_days": grace, "invalidate_sessions": invalidate}),
        })
        .await;
        if invalidate {
            self.record(Event {
                org_id: &org.id,
                event: "sessions.invalidated",
                actor_id: actor,
                subject_id: None,
                details: json!({"sessions_ended": ended, "reason": "policy.enabled"}),
            })
            .await;
        }
        Ok(PolicyOutcome::Changed(MfaPolicyChanged {
            policy: to_api(Some(&row)),
            sessions_ended: ended,
        }))
    }

    /// Turning MFA off, in two requests: the first mails a code to the caller, the second
    /// brings it back.
    async fn disable_mfa(
        &self,
        caller: &Caller,
        org: &OrgRow,
        code: Option<&str>,
    ) -> Result<PolicyOutcome> {
        let current = self.store.mfa_policy(&org.id).await?;
        if !current.as_ref().is_some_and(|p| p.required) {
            return Err(DomainError::Conflict(
                "MFA is not required in this organisation".into(),
            ));
        }
        let actor = Some(caller.user.id.as_str());
        let Some(code) = code else {
            let (code, expires_at) = self
                .issue_confirmation(&caller.user, DISABLE_PURPOSE, None)
                .await?;
            let minutes = super::confirm::CODE_TTL_SECS / 60;
            let mail = messages::policy_disable_code(&caller.user.email, &org.slug, &code, minutes);
            self.mailer.send(&mail, self.now());
            self.record(Event {
                org_id: &org.id,
                event: "policy.disable_requested",
                actor_id: actor,
                subject_id: None,
                details: json!({"code_sent_to": caller.user.email}),
            })
            .await;
            return Ok(PolicyOutcome::ConfirmationRequired { expires_at });
        };
        self.use_confirmation(&caller.user, DISABLE_PURPOSE, code, None)
            .await?;
        let row = PolicyRow {
            org_id: org.id.clone(),
            required: false,
            grace_period_days: 0,
            updated_at: self.now().as_millis(),
            updated_by: Some(caller.user.id.clone()),
        };
        self.store.set_mfa_policy(&row, false).await?;
        self.record(Event {
            org_id: &org.id,
            event: "policy.disabled",
            actor_id: actor,
            subject_id: None,
            details: json!({}),
        })
        .await;
        Ok(PolicyOutcome::Changed(MfaPolicyChanged {
            policy: to_api(Some(&row)),
            sessions_ended: 0,
        }))
    }

    /// Forgets the code mailed to the caller to turn MFA off (they closed the dialog): it
    /// no longer works, and turning MFA off starts again with a new one.
    pub async fn cancel_mfa_disable(&self, caller: &Caller, slug: &str) -> Result<()> {
        self.org_for_admin(caller, slug).await?;
        if let Some(row) = self
            .store
            .confirmation(&caller.user.id, DISABLE_PURPOSE)
            .await?
        {
            self.store.drop_confirmation(&row).await?;
        }
        Ok(())
    }

    /// Whether `user`'s organisation requires them to have a second factor.
    pub(crate) async fn mfa_required_for(&self, user: &UserRow) -> Result<bool> {
        if user.federated {
            return Ok(false);
        }
        Ok(self
            .store
            .mfa_policy(&user.org_id)
            .await?
            .is_some_and(|p| p.required))
    }

    /// Days left for the caller to set up the second factor their organisation requires:
    /// `None` when nothing is asked of them (MFA not required, a factor already active, a
    /// federated user).
    pub async fn enrollment_days_left(&self, caller: &Caller) -> Result<Option<u32>> {
        if self.store.count_active_factors(&caller.user.id).await? > 0 {
            return Ok(None);
        }
        Ok(match self.requirement_for(&caller.user).await? {
            Requirement::Grace { days_left } => Some(days_left),
            Requirement::None | Requirement::Enroll => None,
        })
    }

    /// What the policy asks of `user`, who has no active factor.
    pub(crate) async fn requirement_for(&self, user: &UserRow) -> Result<Requirement> {
        if user.federated {
            return Ok(Requirement::None);
        }
        let Some(p) = self.store.mfa_policy(&user.org_id).await? else {
            return Ok(Requirement::None);
        };
        if !p.required {
            return Ok(Requirement::None);
        }
        let grace_ends = p
            .updated_at
            .saturating_add(p.grace_period_days.saturating_mul(DAY_MS));
        let left_ms = grace_ends - self.now().as_millis();
        if left_ms <= 0 {
            return Ok(Requirement::Enroll);
        }
        // Days started count: 1 ms left is still "1 day left".
        let days_left = u32::try_from((left_ms + DAY_MS - 1) / DAY_MS).unwrap_or(MAX_GRACE_DAYS);
        Ok(Requirement::Grace { days_left })
    }
}
