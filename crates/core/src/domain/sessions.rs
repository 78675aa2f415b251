//! Sessions: minted at the end of a sign-in, presented as bearer tokens, ended by logout
//! or expiry. A session records how strongly its user proved who they are: `aal` 1 after
//! a password alone, 2 after a second factor; `amr` lists the methods (RFC 8176).

use serde_json::json;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{SessionRow, UserRow};

use super::users::{Role, parse_role};
use super::{DomainError, Result, Twofold};

/// A session just created: the token is shown to the client once.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub expires_at: Timestamp,
}

/// How recently a session must have passed a second factor to change the user's
/// factors without a code or an elevated token.
pub const FRESH_MFA_MS: i64 = 10 * 60 * 1000;

/// A stored space-separated `amr` as a list.
pub(crate) fn amr_list(amr: &str) -> Vec<String> {
    amr.split_whitespace().map(str::to_owned).collect()
}

/// The caller of an authenticated request: what the domain found behind the token, handed
/// back to it by the edge. Its rows stay inside the domain; the edge sees the user's id.
#[derive(Clone, Debug)]
pub struct Caller {
    pub(crate) session: SessionRow,
    pub(crate) user: UserRow,
}

impl Caller {
    /// The signed-in user's id (for the edge's logs).
    pub fn user_id(&self) -> &str {
        &self.user.id
    }

    /// The organisation they belong to.
    pub fn org_slug(&self) -> &str {
        &self.user.org_slug
    }

    /// Whether they sign in through the organisation's identity provider.
    pub fn federated(&self) -> bool {
        self.user.federated
    }

    /// Their registered address.
    pub fn email(&self) -> &str {
        &self.user.email
    }

    /// Their role in the organisation (a member if the stored role were unreadable).
    pub fn role(&self) -> super::users::Role {
        super::users::parse_role(&self.user.role).unwrap_or(super::users::Role::Member)
    }

    /// Whether this session passed a second factor in the last 10 minutes.
    pub fn passed_mfa_recently(&self, now: Timestamp) -> bool {
        self.session
            .mfa_at
            .is_some_and(|at| now.as_millis() - at <= FRESH_MFA_MS)
    }
}

/// The signed-in user, as they see themselves.
#[derive(Clone, Debug)]
pub struct Me {
    pub id: String,
    /// Their organisation's slug.
    pub org: String,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub federated: bool,
    pub mfa: MfaSummary,
    pub session: SessionInfo,
}

/// Whether a user has second factors, and how many are active.
#[derive(Clone, Debug)]
pub struct MfaSummary {
    pub enrolled: bool,
    pub factors: u32,
}

/// What a session has proved.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// 1: a password (or a remembered device); 2: a second factor too.
    pub aal: u8,
    /// How it was authenticated (`pwd`, `otp`, …, RFC 8176).
    pub amr: Vec<String>,
    pub expires_at: Timestamp,
}

/// One of the user's live sessions.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    pub id: String,
    /// The session asking.
    pub current: bool,
    pub aal: u8,
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Where it was signed in from.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Twofold {
    /// A new session's row for `user_id` and the token to hand out, not yet stored.
    /// A second factor (`factor_id`) makes it aal 2.
    pub(crate) fn new_session(
        &self,
        user_id: &str,
        amr: &[&str],
        aal: i64,
    ) -> Result<(SessionRow, NewSession)> {
        let now = self.now();
        let tok = token::mint(TokenKind::Session)?;
        let expires_at = now.plus(self.security.session_ttl);
        let origin = super::audit::current_origin();
        let row = SessionRow {
            id: Self::new_id(),
            token_hash: tok.hash,
            user_id: user_id.to_owned(),
            aal,
            amr: amr.join(" "),
            // Set by the store to the factor that matched, for an aal-2 session.
            factor_id: None,
            created_at: now.as_millis(),
            expires_at: expires_at.as_millis(),
            mfa_at: (aal >= 2).then_some(now.as_millis()),
            ip: origin.ip,
            user_agent: origin.user_agent,
        };
        Ok((
            row,
            NewSession {
                token: tok.text,
                expires_at,
            },
        ))
    }

    /// Creates and stores a session after a password alone.
    pub(crate) async fn start_session(&self, user: &UserRow, amr: &[&str]) -> Result<NewSession> {
        self.start_session_at(user, amr, 1).await
    }

    /// Creates and stores a session at `aal` (a federated sign-in's follows its provider's
    /// methods), and records the sign-in.
    pub(crate) async fn start_session_at(
        &self,
        user: &UserRow,
        amr: &[&str],
        aal: u8,
    ) -> Result<NewSession> {
        let (row, session) = self.new_session(&user.id, amr, i64::from(aal))?;
        self.store.insert_session(&row).await?;
        self.store.record_login(&user.id, row.created_at).await?;
        Ok(session)
    }

    /// The caller behind a bearer token, if it is a live session.
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller> {
        let hash =
            token::lookup_hash(TokenKind::Session, bearer).ok_or(DomainError::Unauthenticated)?;
        let session = self
            .store
            .session_by_token(&hash, self.now().as_millis())
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        let user = self
            .store
            .user_by_id(&session.user_id)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        Ok(Caller { session, user })
    }

    pub async fn logout(&self, caller: &Caller) -> Result<()> {
        self.store.delete_session(&caller.session.id).await?;
        Ok(())
    }

    pub async fn me(&self, caller: &Caller) -> Result<Me> {
        let u = &caller.user;
        let active = self.store.count_active_factors(&u.id).await?;
        Ok(Me {
            id: u.id.clone(),
            org: u.org_slug.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            role: parse_role(&u.role)?,
            federated: u.federated,
            mfa: MfaSummary {
                enrolled: active > 0,
                factors: u32::try_from(active).unwrap_or(u32::MAX),
            },
            session: SessionInfo {
                aal: u8::try_from(caller.session.aal).unwrap_or(1),
                amr: amr_list(&caller.session.amr),
                expires_at: Timestamp::from_millis(caller.session.expires_at),
            },
        })
    }

    /// The caller's live sessions, newest first, the current one marked.
    pub async fn list_sessions(&self, caller: &Caller) -> Result<Vec<SessionSummary>> {
        let rows = self
            .store
            .sessions_of_user(&caller.user.id, self.now().as_millis())
            .await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionSummary {
                current: s.id == caller.session.id,
                aal: u8::try_from(s.aal).unwrap_or(1),
                amr: amr_list(&s.amr),
                created_at: Timestamp::from_millis(s.created_at),
                expires_at: Timestamp::from_millis(s.expires_at),
                ip: s.ip,
                user_agent: s.user_agent,
                id: s.id,
            })
            .collect())
    }

    /// Ends one of the caller's sessions (the current one too, like a logout).
    pub async fn end_session(&self, caller: &Caller, id: &str) -> Result<()> {
        if !self.store.delete_own_session(&caller.user.id, id).await? {
            return Err(DomainError::NotFound("session"));
        }
        self.record_by(&caller.user, "session.revoked", json!({"session_id": id}))
            .await;
        Ok(())
    }

    /// Ends every session of the caller's but the current one; answers how many.
    pub async fn end_other_sessions(&self, caller: &Caller) -> Result<u64> {
        let ended = self
            .store
            .delete_other_sessions(&caller.user.id, &caller.session.id)
            .await?;
        self.record_by(
            &caller.user,
            "sessions.revoked",
            json!({"sessions_ended": ended, "kept": caller.session.id}),
        )
        .await;
        Ok(ended)
    }
}
