//! Users of an organisation, and their passwords.

use serde_json::json;
use zeroize::Zeroizing;

use crate::crypto::password;
use crate::mail::messages;
use crate::store::{StoreError, UserRow};

use super::audit::Event;
use super::input::{Email, Slug, Username};
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// A password of the allowed length, or `invalid_request` naming it as `what`.
pub(super) fn check_length(p: &str, what: &str) -> Result<()> {
    let len = p.chars().count();
    if !(password::MIN_LEN..=password::MAX_LEN).contains(&len) {
        return Err(DomainError::InvalidInput(format!(
            "the {what} must be {} to {} characters",
            password::MIN_LEN,
            password::MAX_LEN
        )));
    }
    Ok(())
}

/// What a user may do in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the organisation; only an owner makes or changes an owner.
    Owner,
    /// Runs its users and policy.
    Admin,
    Member,
}

pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
    }
}

pub fn parse_role(s: &str) -> Result<Role> {
    match s {
        "owner" => Ok(Role::Owner),
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        _ => Err(DomainError::InvalidInput(format!(
            "invalid role {s:?}: expected owner, admin or member"
        ))),
    }
}

/// What it takes to create a user.
pub struct NewUser {
    pub org: String,
    pub username: String,
    pub email: String,
    pub role: Role,
    /// Signs in through the organisation's identity provider: no password here, and
    /// exempt from TOTP.
    pub federated: bool,
    pub password: Option<Zeroizing<String>>,
}

impl Twofold {
    /// Creates a user (an operator's command: no actor in the audit log); answers the id.
    pub async fn create_user(&self, new: NewUser) -> Result<String> {
        self.create_user_by(new, None).await
    }

    /// Creates a user on behalf of `actor`, if any; answers the id.
    pub(crate) async fn create_user_by(&self, new: NewUser, actor: Option<&str>) -> Result<String> {
        let slug = Slug::parse(&new.org)?;
        let username = Username::parse(&new.username)?;
        let email = Email::parse(&new.email)?;
        let password_hash = match (&new.password, new.federated) {
            (Some(_), true) => {
                return Err(DomainError::InvalidInput(
                    "a federated user signs in through the identity provider and has no password here".into(),
                ));
            }
            (Some(p), false) => {
                check_length(p, "password")?;
                Some(self.passwords.hash(p.clone()).await?)
            }
            (None, _) => None,
        };
        let org = self
            .store
            .org_by_slug(slug.as_str())
            .await?
            .ok_or(DomainError::NotFound("organisation"))?;
        let row = UserRow {
            id: Self::new_id(),
            org_id: org.id,
            org_slug: org.slug,
            username: username.as_str().to_owned(),
            email: email.as_str().to_owned(),
            role: role_str(new.role).to_owned(),
            federated: new.federated,
            password_hash,
            created_at: self.now().as_millis(),
            last_login_at: None,
            last_login_ip: None,
        };
        match self.store.insert_user(&row).await {
            Ok(()) => {
                self.record(Event {
                    org_id: &row.org_id,
                    event: "user.created",
                    actor_id: actor,
                    subject_id: Some(&row.id),
                    details: json!({
                        "username": row.username, "role": row.role, "federated": row.federated,
                    }),
                })
                .await;
                Ok(row.id)
            }
            Err(StoreError::Duplicate(_)) => Err(DomainError::AlreadyExists(format!(
                "user {:?} already exists in organisation {:?}",
                row.username, row.org_slug
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

impl Twofold {
    /// Replaces an imported bcrypt, scrypt or Argon2i/d hash with an Argon2id one after the
    /// password was just verified against it. Best effort: the sign-in goes on if this
    /// fails, and a concurrent password change is never overwritten (the update only
    /// applies while the old hash is still the one stored).
    pub(crate) async fn upgrade_password_hash(
        &self,
        user_id: &str,
        old_hash: &str,
        password: Zeroizing<String>,
    ) {
        let result = match self.passwords.hash(password).await {
            Ok(new_hash) => self
                .store
                .replace_password_hash(user_id, old_hash, &new_hash)
                .await
                .map_err(DomainError::from),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(_) => tracing::info!(user_id, "password.rehashed: upgraded to Argon2id"),
            Err(e) => tracing::warn!(user_id, error = %e, "password.rehash_failed"),
        }
    }
}

impl Twofold {
    /// Changes the caller's password; the current one must be given. Whoever knew the old
    /// one may have signed in with it: the user's other sessions end and their remembered
    /// devices are forgotten (this session stays). The user is mailed.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: Zeroizing<String>,
        new: Zeroizing<String>,
    ) -> Result<()> {
        let user = &caller.user;
        let old_hash = match (&user.password_hash, user.federated) {
            (Some(h), false) => h.clone(),
            _ => {
                return Err(DomainError::Conflict(
                    "this user signs in through the identity provider and has no password here"
                        .into(),
                ));
            }
        };
        check_length(&new, "new password")?;
        // A wrong current password counts towards the user's lockout like a wrong code, so
        // a stolen session cannot guess the password at leisure; while locked, none is
        // checked. (Counted after the check, not before: concurrent guesses are bounded by
        // the password-hashing threads, and a right password must not leave a count or a
        // lock behind.)
        self.refuse_while_locked(user).await?;
        let right = current.chars().count() <= password::MAX_LEN
            && self
                .passwords
                .verify(current, Some(old_hash.clone()), None)
                .await?
                .ok;
        if !right {
            match self.reserve_attempt(&user.id).await {
                Ok(attempt) => {
                    let details = json!({"attempt": attempt, "reason": "invalid_credentials"});
                    self.failed_attempt(user, attempt, "password.change_failed", details)
                        .await;
                }
                // A concurrent guess locked the user meanwhile: this one is refused anyway.
                Err(DomainError::Locked { .. }) => {}
                Err(e) => return Err(e),
            }
            return Err(DomainError::InvalidCredentials);
        }
        let new_hash = self.passwords.hash(new).await?;
        let Some((ended, devices)) = self
            .store
            .change_password(&user.id, Some(&old_hash), &new_hash, &caller.session.id)
            .await?
        else {
            return Err(DomainError::Conflict(
                "the password was changed meanwhile; sign in again".into(),
            ));
        };
        self.record_by(
            user,
            "password.changed",
            json!({"sessions_ended": ended, "devices_forgotten": devices}),
        )
        .await;
        self.mailer
            .send(&messages::password_changed(&user.email, ended), self.now());
        Ok(())
    }
}
