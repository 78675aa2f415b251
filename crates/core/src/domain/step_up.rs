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

use super::Method;
use serde_json::json;

use super::sessions::SessionInfo;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{ElevatedRow, SessionRow};

use super::input::scopes;
use super::sessions::{Caller, amr_list};
use super::verify::{Proof, Purpose};
use super::{DomainError, Result, Twofold};

/// How long an elevated token lasts (never past its session).
pub const ELEVATED_TTL_MS: i64 = 5 * 60 * 1000;
/// The scope Twofold's own guarded changes take.
pub const MANAGE_SCOPE: &str = "mfa:manage";

/// Proof of a fresh second factor for `scopes`, sent with the next sensitive calls.
#[derive(Debug)]
pub struct ElevatedToken {
    /// The token itself; only its hash is kept.
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
}

/// What a token an application presents is (RFC 7662).
#[derive(Debug, PartialEq)]
pub enum Introspection {
    /// Unknown, expired, spent, revoked or another organisation's: nothing more is said.
    Inactive,
    Active(ActiveToken),
}

/// A live token of one of the organisation's users.
#[derive(Debug, PartialEq)]
pub struct ActiveToken {
    pub kind: TokenType,
    pub user_id: String,
    /// The organisation's slug.
    pub org: String,
    pub username: String,
    /// An elevated token's scopes, space-separated.
    pub scope: Option<String>,
    pub expires_at: Timestamp,
    pub issued_at: Timestamp,
    pub amr: Vec<String>,
    pub aal: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    Session,
    Elevated,
}

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
        let passed = self.check_second_factor(caller, method, code).await?;
        let elevated = self
            .mint_elevated(&caller.session, scopes, &passed.amr.join(" "), single_use)
            .await?;
        self.record_by(
            user,
            "mfa.step_up",
            json!({"method": method.as_str(), "scopes": elevated.scopes, "single_use": single_use, "factor_id": passed.factor_id}),
        )
        .await;
        Ok(elevated)
    }

    /// Stores and answers an elevated token of `session` for `scopes`, proved by `amr`:
    /// 5 minutes, never past the session.
    pub(crate) async fn mint_elevated(
        &self,
        session: &SessionRow,
        scopes: Vec<String>,
        amr: &str,
        single_use: bool,
    ) -> Result<ElevatedToken> {
        let now = self.now().as_millis();
        let tok = token::mint(TokenKind::Elevated)?;
        let expires_at = (now + ELEVATED_TTL_MS).min(session.expires_at);
        self.store
            .insert_elevated(&ElevatedRow {
                id: Self::new_id(),
                token_hash: tok.hash,
                user_id: session.user_id.clone(),
                session_id: session.id.clone(),
                scopes: scopes.join(" "),
                amr: amr.to_owned(),
                single_use,
                created_at: now,
                expires_at,
                used_at: None,
            })
            .await?;
        Ok(ElevatedToken {
            token: tok.text,
            scopes,
            expires_at: Timestamp::from_millis(expires_at),
        })
    }

    /// Raises the caller's own session to aal 2 with a code from one of their active
    /// factors (seed 004's `authenticateTotpMfaDevice`): checked like a sign-in's (lockout,
    /// replay) and audited. The session counts as having passed a second factor now.
    pub async fn pass_second_factor_in_session(
        &self,
        caller: &Caller,
        method: Method,
        code: &str,
    ) -> Result<SessionInfo> {
        let passed = self.check_second_factor(caller, method, code).await?;
        // What the session already had (the password, a remembered device), then the
        // methods just passed.
        let mut amr = amr_list(&caller.session.amr);
        for m in passed.amr {
            if !amr.iter().any(|a| a == m) {
                amr.push((*m).to_owned());
            }
        }
        let now = self.now().as_millis();
        if !self
            .store
            .raise_session(
                &caller.session.id,
                &amr.join(" "),
                passed.factor_id.as_deref(),
                now,
            )
            .await?
        {
            return Err(DomainError::Unauthenticated);
        }
        self.record_by(
            &caller.user,
            "session.upgraded",
            json!({"method": method.as_str(), "amr": amr, "factor_id": passed.factor_id}),
        )
        .await;
        Ok(SessionInfo {
            aal: 2,
            amr,
            expires_at: Timestamp::from_millis(caller.session.expires_at),
        })
    }

    /// Checks a code from one of the caller's active factors by `method`, counted like a
    /// sign-in's (lockout, replay); answers what it proved.
    async fn check_second_factor(
        &self,
        caller: &Caller,
        method: Method,
        code: &str,
    ) -> Result<Passed> {
        let user = &caller.user;
        if self.store.count_active_factors(&user.id).await? == 0 {
            return Err(DomainError::Conflict(
                "there is no second factor to pass: activate one first".into(),
            ));
        }
        let passed = self
            .verify_second_factor(Purpose::Session(caller), Proof::of(method, code))
            .await?;
        Ok(Passed {
            amr: passed.amr,
            factor_id: passed.factor_id,
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

    /// The guard of an admin action that weakens someone's protection or hands out a
    /// credential: the same fresh second factor as a user's own factor changes. An admin
    /// who has no second factor has none to give: they enrol one first. A federated admin
    /// gives theirs at the identity provider (a federated step-up).
    pub(crate) async fn require_admin_second_factor(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<()> {
        if !caller.user.federated && self.store.count_active_factors(&caller.user.id).await? == 0 {
            return Err(DomainError::EnrollmentRequired);
        }
        self.require_fresh_second_factor(caller, elevated).await
    }

    /// Accepts `presented` for `scope` from the session that minted it, spending it if
    /// single-use. A live token of this session without the scope is
    /// `insufficient_scope`; anything else is `step_up_required`.
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
            })
            .ok_or(DomainError::StepUpRequired)?;
        if !row.scopes.split_whitespace().any(|s| s == scope) {
            return Err(DomainError::InsufficientScope {
                scope: scope.to_owned(),
            });
        }
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
        let inactive = Introspection::Inactive;
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
            return Ok(Introspection::Active(ActiveToken {
                kind: TokenType::Session,
                user_id: user.id,
                org: user.org_slug,
                username: user.username,
                scope: None,
                expires_at: Timestamp::from_millis(s.expires_at),
                issued_at: Timestamp::from_millis(s.created_at),
                amr: amr_list(&s.amr),
                aal: u8::try_from(s.aal).unwrap_or(1),
            }));
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
            return Ok(Introspection::Active(ActiveToken {
                kind: TokenType::Elevated,
                user_id: user.id,
                org: user.org_slug,
                username: user.username,
                scope: Some(e.scopes),
                expires_at: Timestamp::from_millis(e.expires_at),
                issued_at: Timestamp::from_millis(e.created_at),
                amr: amr_list(&e.amr),
                aal: 2,
            }));
        }
        Ok(inactive)
    }
}

/// What a checked second factor proved: the session's methods, and the factor.
struct Passed {
    amr: &'static [&'static str],
    factor_id: Option<String>,
}
