//! Break-glass for operators: what the `twofold user …` commands do offline, on the
//! database directly, when no admin can sign in (the only admin lost their phone, say).
//! The admin actions of `org_admin` do the work (one rule each for the API and here); each
//! is audited with no actor and the operator named in its details (`"via": "cli"`), since
//! no user of the organisation did it.

use serde_json::json;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::mail::messages;
use crate::store::UserRow;

use super::input::{Slug, Username};
use super::org_admin::{Actor, OrgUser};
use super::{DomainError, Result, Twofold};

/// A user as an operator's listing shows them.
#[derive(Debug)]
pub struct OperatorView {
    pub user: OrgUser,
    /// Their second step is locked until then.
    pub locked_until: Option<Timestamp>,
}

impl Twofold {
    /// Every user of organisation `slug`, by username, with their MFA status and lock.
    pub async fn operator_list_users(&self, slug: &str) -> Result<Vec<OperatorView>> {
        let slug = Slug::parse(slug)?;
        let org = self
            .store
            .org_by_slug(slug.as_str())
            .await?
            .ok_or(DomainError::NotFound("organisation"))?;
        let now = self.now().as_millis();
        let rows = self.store.users_of_org(&org.id).await?;
        let mut users = rows
            .iter()
            .map(|(u, active)| super::org_admin::org_user(u, *active))
            .collect::<Result<Vec<_>>>()?;
        self.fill_providers(&org.id, &mut users).await?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            let locked_until = self
                .store
                .mfa_locked_until(&user.id, now)
                .await?
                .map(Timestamp::from_millis);
            out.push(OperatorView { user, locked_until });
        }
        Ok(out)
    }

    /// Resets `username`'s MFA as an admin would (`reset_user_mfa`); answers the factors
    /// removed and sessions ended.
    pub async fn operator_reset_mfa(
        &self,
        slug: &str,
        username: &str,
        operator: &str,
    ) -> Result<(u64, u64)> {
        let user = self.operator_target(slug, username).await?;
        self.reset_mfa_of(&user, Actor::Operator(operator)).await
    }

    /// Clears `username`'s second-factor lock and the wait on their password guesses;
    /// answers whether there was a lock or failures to clear.
    pub async fn operator_unlock(
        &self,
        slug: &str,
        username: &str,
        operator: &str,
    ) -> Result<bool> {
        let user = self.operator_target(slug, username).await?;
        self.unlock_of(&user, Actor::Operator(operator)).await
    }

    /// Sets `username`'s password; like a change, their sessions, sign-ins in progress and
    /// remembered devices end, and they are mailed. Answers the sessions and devices ended.
    pub async fn operator_set_password(
        &self,
        slug: &str,
        username: &str,
        password: Zeroizing<String>,
        operator: &str,
    ) -> Result<(u64, u64)> {
        let user = self.operator_target(slug, username).await?;
        if user.federated {
            return Err(DomainError::Conflict(
                "this user signs in through the identity provider and has no password here".into(),
            ));
        }
        super::users::check_length(&password, "password")?;
        let hash = self.passwords.hash(password).await?;
        let (sessions, devices) = self
            .store
            .change_password(&user.id, None, &hash, "")
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        self.store
            .clear_password_failures(&user.org_slug, &user.username)
            .await?;
        self.record_by_actor(
            &user,
            "password.changed",
            Actor::Operator(operator),
            json!({"sessions_ended": sessions, "devices_forgotten": devices}),
        )
        .await;
        self.mailer.send(
            &messages::password_changed(&user.email, sessions),
            self.now(),
        );
        Ok((sessions, devices))
    }

    async fn operator_target(&self, slug: &str, username: &str) -> Result<UserRow> {
        let slug = Slug::parse(slug)?;
        let name = Username::parse(username)?;
        if self.store.org_by_slug(slug.as_str()).await?.is_none() {
            return Err(DomainError::NotFound("organisation"));
        }
        self.store
            .user_by_login(slug.as_str(), name.as_str())
            .await?
            .ok_or(DomainError::NotFound("user"))
    }
}
