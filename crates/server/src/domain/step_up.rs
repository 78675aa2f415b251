//! Step-up: passing a second factor again, with a session, for an *elevated token* that
//! proves it for 5 minutes and named scopes (seed 004's "elevated access token").
//!
//! ```text
//!  session ──POST /auth/step-up {method, code, scopes, single_use?}──► elevated token
//!             (the code is checked like a sign-in's: lockout, replay;     (5 min, scopes,
//!             an email code comes from POST /auth/step-up/email/send)      bound to this
//!                                                                          session)
//!
//!  elevated token ──X-Elevated-Token with the same session──► a guarded change
//!                 │                                           (scope `mfa:manage`)
//!                 └──POST /tokens/introspect (an app's API key)──► active / not
//!  single-use: spent by the first guarded change or introspection (conditional UPDATE)
//! ```
//!
//! A guarded change (adding a factor when one is active, removing one, recovery codes)
//! takes either a session that passed a second factor in the last 10 minutes or an
//! elevated token; removing a factor takes one in place of a code from that factor.

use serde_json::json;
use twofold_proto::{ElevatedToken, Introspection, Method};

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{self, ElevatedRow};

use super::factors::Finish;
use super::input::{OtpCode, scopes};
use super::sessions::{Caller, amr_list};
use super::{DomainError, Result, Twofold};

/// How long an elevated token lasts (never past its session).
pub const ELEVATED_TTL_MS: i64 = 5 * 60 * 1000;
/// The scope Twofold's own guarded changes take.
pub const MANAGE_SCOPE: &str = "mfa:manage";

impl Twofold {
    /// Checks a fresh second factor of the caller's and answers an elevated token for
    /// `scopes`. The session itself is unchanged: the token is the proof.
    pub async fn step_up(
        &self,
        caller: &Caller,
        method: Method,
        code: &str,
        wanted: &[String],
        single_use: bool,
    ) -> Result<ElevatedToken> {
        let scopes = scopes(wanted)?;
        let user = &caller.user;
        if self.store.count_active_factors(&user.id).await? == 0 {
            return Err(DomainError::Conflict(
                "there is no second factor to step up with: activate one first".into(),
            ));
        }
        let (amr, factor_id): (&[&str], Option<String>) = match method {
            Method::Totp => {
                let code = OtpCode::parse(code)?;
                let finish = Finish::Claim { user_id: &user.id };
                let accepted = self.check_totp(None, &code, finish).await?;
                (&["pwd", "otp"], Some(accepted.factor_id))
            }
            Method::RecoveryCode => {
                let claim = store::Finish::Claim {
                    user_id: user.id.clone(),
                };
                self.check_recovery_code(user, code, claim, Vec::new())
                    .await?;
                (&["pwd", "otp", "recovery_code"], None)
            }
            Method::Email => {
                let factor_id = self.check_step_up_email_code(caller, code).await?;
                (&super::email::AMR, Some(factor_id))
            }
        };
        let now = self.now().as_millis();
        let tok = token::mint(TokenKind::Elevated)?;
        let expires_at = (now + ELEVATED_TTL_MS).min(caller.session.expires_at);
        self.store
            .insert_elevated(&ElevatedRow {
                id: Self::new_id(),
                token_hash: tok.hash,
                user_id: user.id.clone(),
                session_id: caller.session.id.clone(),
                scopes: scopes.join(" "),
                amr: amr.join(" "),
                single_use,
                created_at: now,
                expires_at,
                used_at: None,
            })
            .await?;
        self.record_by(
            user,
            "mfa.step_up",
            json!({"method": method, "scopes": scopes, "single_use": single_use, "factor_id": factor_id}),
        )
        .await;
        Ok(ElevatedToken {
            elevated_token: tok.text,
            scopes,
            expires_at: Timestamp::from_millis(expires_at).to_rfc3339(),
        })
    }

    /// The guard of a change to the caller's factors: `elevated` (an `X-Elevated-Token`)
    /// if given, else a second factor passed by this session in the last 10 minutes.
    pub(crate) async fn require_fresh_second_factor(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<()> {
        match elevated {
            Some(presented) => self.use_elevated(caller, presented, MANAGE_SCOPE).await,
            None if caller.passed_mfa_recently(self.now()) => Ok(()),
            None => Err(DomainError::StepUpRequired),
        }
    }

    /// Accepts `presented` for `scope` from the session that minted it, spending it if
    /// single-use; anything else is `step_up_required`.
    async fn use_elevated(&self, caller: &Caller, presented: &str, scope: &str) -> Result<()> {
        let now = self.now().as_millis();
        let hash = token::lookup_hash(TokenKind::Elevated, presented)
            .ok_or(DomainError::StepUpRequired)?;
        let row = self
            .store
            .elevated_by_token(&hash)
            .await?
            .filter(|e| {
                e.user_id == caller.user.id
                    && e.session_id == caller.session.id
                    && e.expires_at > now
                    && e.used_at.is_none()
                    && e.scopes.split_whitespace().any(|s| s == scope)
            })
            .ok_or(DomainError::StepUpRequired)?;
        if row.single_use && !self.store.spend_elevated(&row.id, now).await? {
            return Err(DomainError::StepUpRequired);
        }
        Ok(())
    }

    /// RFC 7662 for an application of organisation `org_id`: a live session or elevated
    /// token of one of its users is active; anything else is not. A single-use elevated
    /// token is active for its first introspection only.
    pub async fn introspect(&self, org_id: &str, presented: &str) -> Result<Introspection> {
        let now = self.now().as_millis();
        let inactive = Introspection::default();
        if let Some(hash) = token::lookup_hash(TokenKind::Session, presented) {
            let Some(s) = self.store.session_by_token(&hash, now).await? else {
                return Ok(inactive);
            };
            let Some(user) = self.store.user_by_id(&s.user_id).await? else {
                return Ok(inactive);
            };
            if user.org_id != org_id {
                return Ok(inactive);
            }
            return Ok(Introspection {
                active: true,
                token_type: Some("session".into()),
                sub: Some(user.id),
                org: Some(user.org_slug),
                username: Some(user.username),
                scope: None,
                exp: Some(s.expires_at / 1000),
                iat: Some(s.created_at / 1000),
                amr: Some(amr_list(&s.amr)),
                aal: Some(u8::try_from(s.aal).unwrap_or(1)),
            });
        }
        if let Some(hash) = token::lookup_hash(TokenKind::Elevated, presented) {
            let Some(e) = self
                .store
                .elevated_by_token(&hash)
                .await?
                .filter(|e| e.expires_at > now && e.used_at.is_none())
            else {
                return Ok(inactive);
            };
            let Some(user) = self.store.user_by_id(&e.user_id).await? else {
                return Ok(inactive);
            };
            if user.org_id != org_id {
                return Ok(inactive);
            }
            if e.single_use && !self.store.spend_elevated(&e.id, now).await? {
                return Ok(inactive);
            }
            return Ok(Introspection {
                active: true,
                token_type: Some("elevated".into()),
                sub: Some(user.id),
                org: Some(user.org_slug),
                username: Some(user.username),
                scope: Some(e.scopes),
                exp: Some(e.expires_at / 1000),
                iat: Some(e.created_at / 1000),
                amr: Some(amr_list(&e.amr)),
                aal: Some(2),
            });
        }
        Ok(inactive)
    }
}
