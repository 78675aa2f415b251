//! Running an organisation: who may (its owners and admins), its users, whether each has
//! a second factor (the seeds' "MFA column"), and resetting or unlocking a user's MFA.

use serde_json::json;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::mail::messages;
use crate::store::{OrgRow, UserRow, UserSearch};

use super::audit::Event;
use super::sessions::Caller;
use super::users::{NewUser, Role, parse_role, role_str};
use super::{DomainError, Result, Twofold};

/// A user of an organisation, as its admins see them.
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub federated: bool,
    pub mfa: MfaStatus,
    pub last_login_at: Option<Timestamp>,
    /// Their second step is locked until then (wrong codes).
    pub locked_until: Option<Timestamp>,
    /// Whether they have a password (an invited user has none until they accept).
    pub has_password: bool,
    /// The identity providers they have signed in through (or linked), by name.
    pub providers: Vec<String>,
}

/// A search of the organisation's users, a page at a time (the console's Users table).
#[derive(Clone, Debug, Default)]
pub struct UsersQuery {
    /// Part of a username or email, in any case; empty: everyone.
    pub text: String,
    /// The page after this username, or (`before`) the page before that one.
    pub after: Option<String>,
    pub before: Option<String>,
    /// Users per page, 1 to [`MAX_USERS_PAGE`].
    pub limit: u32,
}

/// A search counts its matches up to this many (and then says "or more").
pub const COUNT_CAP: i64 = 10_000;

/// The most users one page lists.
pub const MAX_USERS_PAGE: u32 = 200;

/// One page of users and how many match in all.
#[derive(Clone, Debug)]
pub struct UsersPage {
    pub users: Vec<OrgUser>,
    /// How many match; for a search, at most [`COUNT_CAP`] + 1 (more than the cap).
    pub total: u64,
    /// There are users before the first of this page, or after its last.
    pub has_prev: bool,
    pub has_next: bool,
}

/// A user as their admin's user page shows them: what the list shows and their factors
/// (kinds and names; never a secret).
#[derive(Clone, Debug)]
pub struct OrgUserDetail {
    pub user: OrgUser,
    pub factors: Vec<super::factors::Factor>,
    /// Unused recovery codes.
    pub recovery_codes: u32,
}

/// The seeds' "MFA column".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaStatus {
    /// At least one active second factor.
    Enrolled,
    NotEnrolled,
    /// Federated: their identity provider does their MFA.
    NotApplicable,
}

impl MfaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaStatus::Enrolled => "enrolled",
            MfaStatus::NotEnrolled => "not_enrolled",
            MfaStatus::NotApplicable => "not_applicable",
        }
    }
}

/// A user an admin creates.
#[derive(Debug)]
pub struct NewOrgUser {
    pub username: String,
    pub email: String,
    pub role: Role,
    /// A first password; `None`: none yet.
    pub password: Option<String>,
    pub federated: Option<bool>,
    /// Where the invitation mail sends them (the web page `/welcome`), when known.
    pub welcome_url: Option<String>,
}

pub(super) fn org_user(u: &UserRow, active_factors: i64) -> Result<OrgUser> {
    Ok(OrgUser {
        id: u.id.clone(),
        username: u.username.clone(),
        email: u.email.clone(),
        role: parse_role(&u.role)?,
        federated: u.federated,
        mfa: if u.federated {
            MfaStatus::NotApplicable
        } else if active_factors > 0 {
            MfaStatus::Enrolled
        } else {
            MfaStatus::NotEnrolled
        },
        last_login_at: u.last_login_at.map(Timestamp::from_millis),
        locked_until: None,
        has_password: u.password_hash.is_some(),
        providers: Vec::new(),
    })
}

impl Twofold {
    /// The organisation `slug`, if `caller` may run it. Another organisation's slug,
    /// existing or not, is `not_found` — the answer never tells which organisations exist —
    /// and a member of this one is `forbidden`.
    pub(crate) async fn org_for_admin(&self, caller: &Caller, slug: &str) -> Result<OrgRow> {
        if caller.user.org_slug != slug {
            return Err(DomainError::NotFound("organisation"));
        }
        match parse_role(&caller.user.role)? {
            Role::Owner | Role::Admin => {}
            Role::Member => {
                return Err(DomainError::Forbidden(
                    "only the organisation's owners and admins may do this".into(),
                ));
            }
        }
        self.store
            .org_by_slug(slug)
            .await?
            .ok_or(DomainError::NotFound("organisation"))
    }

    /// Whether `caller` may run organisation `slug`: `not_found` for another organisation,
    /// `forbidden` for a member (the console's pages ask before showing anything).
    pub async fn check_org_admin(&self, caller: &Caller, slug: &str) -> Result<()> {
        self.org_for_admin(caller, slug).await.map(|_| ())
    }

    /// Every user of the organisation, by username, with their MFA status.
    pub async fn org_users(&self, caller: &Caller, slug: &str) -> Result<Vec<OrgUser>> {
        let org = self.org_for_admin(caller, slug).await?;
        let mut users = self
            .store
            .users_of_org(&org.id)
            .await?
            .iter()
            .map(|(u, active)| org_user(u, *active))
            .collect::<Result<Vec<_>>>()?;
        self.fill_providers(&org.id, &mut users).await?;
        Ok(users)
    }

    /// Fills in each user's identity providers.
    pub(super) async fn fill_providers(&self, org_id: &str, users: &mut [OrgUser]) -> Result<()> {
        let identities = self.store.federated_identities_of_org(org_id).await?;
        if identities.is_empty() {
            return Ok(());
        }
        for u in users.iter_mut() {
            u.providers = identities
                .iter()
                .filter(|i| i.user_id == u.id)
                .map(|i| i.provider.clone())
                .collect();
        }
        Ok(())
    }

    /// A page of the organisation's users matching `q`, by username, each with their MFA
    /// status and lock.
    pub async fn search_org_users(
        &self,
        caller: &Caller,
        slug: &str,
        q: UsersQuery,
    ) -> Result<UsersPage> {
        let org = self.org_for_admin(caller, slug).await?;
        if !(1..=MAX_USERS_PAGE).contains(&q.limit) {
            return Err(DomainError::InvalidInput(format!(
                "limit must be 1 to {MAX_USERS_PAGE}"
            )));
        }
        let text: String = q.text.trim().chars().take(100).collect();
        let backwards = q.before.is_some() && q.after.is_none();
        let from = if backwards { q.before } else { q.after }.unwrap_or_default();
        let paging = !from.is_empty();
        let search = UserSearch {
            text,
            from,
            backwards,
            // One more than asked: whether there is another page.
            limit: i64::from(q.limit) + 1,
        };
        let mut rows = self.store.users_page(&org.id, &search).await?;
        let more = rows.len() > q.limit as usize;
        // A first page with room to spare holds every match: no need to count them.
        let total = if !paging && !more {
            i64::try_from(rows.len()).unwrap_or(i64::MAX)
        } else {
            let cap = if search.text.is_empty() {
                i64::MAX
            } else {
                COUNT_CAP + 1
            };
            self.store.count_users(&org.id, &search.text, cap).await?
        };
        if more {
            if backwards {
                rows.remove(0);
            } else {
                rows.pop();
            }
        }
        let now = self.now().as_millis();
        let users = rows
            .iter()
            .map(|r| {
                let mut u = org_user(&r.user, r.active_factors)?;
                u.locked_until = r
                    .mfa_locked_until
                    .filter(|t| *t > now)
                    .map(Timestamp::from_millis);
                Ok(u)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut users = users;
        self.fill_providers(&org.id, &mut users).await?;
        let (has_prev, has_next) = if backwards {
            (more, true)
        } else {
            (paging, more)
        };
        Ok(UsersPage {
            users,
            total: u64::try_from(total).unwrap_or(0),
            has_prev,
            has_next,
        })
    }

    /// User `id` of the organisation with their factors, for its owners and admins.
    pub async fn org_user_detail(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
    ) -> Result<OrgUserDetail> {
        let org = self.org_for_admin(caller, slug).await?;
        let user = self
            .store
            .user_by_id(id)
            .await?
            .filter(|u| u.org_id == org.id)
            .ok_or(DomainError::NotFound("user"))?;
        let factors = self.factors_of(&user.id).await?;
        let active = factors
            .iter()
            .filter(|f| f.state == super::factors::FactorState::Active)
            .count();
        let mut listed = org_user(&user, i64::try_from(active).unwrap_or(i64::MAX))?;
        self.fill_providers(&org.id, std::slice::from_mut(&mut listed))
            .await?;
        let now = self.now().as_millis();
        listed.locked_until = self
            .store
            .mfa_locked_until(&user.id, now)
            .await?
            .map(Timestamp::from_millis);
        let recovery_codes = self.store.count_unused_recovery_codes(&user.id).await?;
        Ok(OrgUserDetail {
            user: listed,
            factors,
            recovery_codes: u32::try_from(recovery_codes).unwrap_or(0),
        })
    }

    /// The usernames of those of `ids` who are users of the organisation (for showing an
    /// audit event's actor and subject by name).
    pub async fn org_usernames(
        &self,
        caller: &Caller,
        slug: &str,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>> {
        let org = self.org_for_admin(caller, slug).await?;
        let mut names = std::collections::HashMap::new();
        for id in ids {
            if names.contains_key(*id) {
                continue;
            }
            if let Some(u) = self.store.user_by_id(id).await?
                && u.org_id == org.id
            {
                names.insert(u.id, u.username);
            }
        }
        Ok(names)
    }

    /// The id of user `username` of the organisation, for its owners and admins.
    pub async fn org_user_id(&self, caller: &Caller, slug: &str, username: &str) -> Result<String> {
        let org = self.org_for_admin(caller, slug).await?;
        self.store
            .user_by_login(&org.slug, username.trim())
            .await?
            .map(|u| u.id)
            .ok_or(DomainError::NotFound("user"))
    }

    /// Gives user `id` the role `role`. Only an owner makes someone an owner or changes an
    /// owner's role; nobody changes their own (so an organisation always keeps the owner
    /// who acts). Audited.
    pub async fn set_user_role(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        role: Role,
        elevated: Option<&str>,
    ) -> Result<OrgUser> {
        if role == Role::Owner && parse_role(&caller.user.role)? != Role::Owner {
            self.org_for_admin(caller, slug).await?;
            return Err(DomainError::Forbidden(
                "only an owner may make someone an owner".into(),
            ));
        }
        let user = self
            .org_member_for_admin(caller, slug, id, elevated)
            .await?;
        let from = parse_role(&user.role)?;
        if from != role && self.store.set_role(&user.id, role_str(role)).await? {
            self.record_by_actor(
                &user,
                "user.role_changed",
                Actor::Admin(&caller.user),
                json!({"from": role_str(from), "to": role_str(role)}),
            )
            .await;
        }
        let active = self.store.count_active_factors(&user.id).await?;
        let changed = UserRow {
            role: role_str(role).to_owned(),
            ..user
        };
        org_user(&changed, active)
    }

    /// Creates a user in the organisation. Only an owner may create another owner: an
    /// admin must not be able to hand out more power than their own.
    pub async fn create_org_user(
        &self,
        caller: &Caller,
        slug: &str,
        new: NewOrgUser,
        elevated: Option<&str>,
    ) -> Result<OrgUser> {
        let org = self.org_for_admin(caller, slug).await?;
        if new.role == Role::Owner && parse_role(&caller.user.role)? != Role::Owner {
            return Err(DomainError::Forbidden(
                "only an owner may create another owner".into(),
            ));
        }
        // A new account (perhaps an admin, perhaps with a password) is a credential.
        self.require_admin_second_factor(caller, elevated).await?;
        let actor = caller.user.id.as_str();
        let id = self
            .create_user_by(
                NewUser {
                    org: org.slug,
                    username: new.username,
                    email: new.email,
                    role: new.role,
                    federated: new.federated.unwrap_or(false),
                    password: new.password.map(Zeroizing::new),
                },
                Some(actor),
            )
            .await?;
        let user = self
            .store
            .user_by_id(&id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        // Without a password and not federated, they could never sign in: they are mailed
        // an invitation to choose their own (never a password an admin chose and sent).
        if user.password_hash.is_none() && !user.federated {
            self.invite(&user, new.welcome_url.as_deref()).await?;
        }
        org_user(&user, 0)
    }
}

impl Twofold {
    /// User `id` of the organisation `slug`, for an owner or admin of it to act on, with a
    /// fresh second factor (these actions weaken someone's protection). A user of another
    /// organisation is `not_found`; an owner can be acted on only by an owner; the caller
    /// cannot act on themselves here: their own factors are changed with a code from one
    /// (`/me/factors`), and their own lock waits like anyone's.
    pub(crate) async fn org_member_for_admin(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<UserRow> {
        let org = self.org_for_admin(caller, slug).await?;
        if id == caller.user.id {
            return Err(DomainError::Forbidden(
                "you cannot do this to yourself as an admin: change your own factors under \
                 /me/factors, with a code from one of them"
                    .into(),
            ));
        }
        let user = self
            .store
            .user_by_id(id)
            .await?
            .filter(|u| u.org_id == org.id)
            .ok_or(DomainError::NotFound("user"))?;
        if parse_role(&user.role)? == Role::Owner && parse_role(&caller.user.role)? != Role::Owner {
            return Err(DomainError::Forbidden(
                "only an owner may do this to an owner".into(),
            ));
        }
        self.require_admin_second_factor(caller, elevated).await?;
        Ok(user)
    }

    /// For a lost phone: removes all of the user's second factors, ends their sessions,
    /// clears any lock and mails them a notice. If the organisation requires MFA they
    /// enrol again at their next sign-in.
    pub async fn reset_user_mfa(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<()> {
        let user = self
            .org_member_for_admin(caller, slug, id, elevated)
            .await?;
        self.reset_mfa_of(&user, Actor::Admin(&caller.user)).await?;
        Ok(())
    }

    /// Clears the user's second-factor lock (and failure count), and the wait on guesses
    /// at their password.
    pub async fn unlock_user(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<()> {
        let user = self
            .org_member_for_admin(caller, slug, id, elevated)
            .await?;
        self.unlock_of(&user, Actor::Admin(&caller.user)).await?;
        Ok(())
    }

    /// Resets `user`'s MFA (the one rule behind the admin's action and the operator's):
    /// factors, recovery codes, remembered devices, sessions and flows go, any lock is
    /// cleared, the user is mailed and it is audited. Answers the factors removed and the
    /// sessions ended.
    pub(crate) async fn reset_mfa_of(&self, user: &UserRow, by: Actor<'_>) -> Result<(u64, u64)> {
        if user.federated {
            // Seeds 000 and 001: their MFA is their identity provider's to reset.
            return Err(DomainError::Conflict(format!(
                "{} signs in through the organisation's identity provider, which does their \
                 MFA: reset it there",
                user.username
            )));
        }
        let (factors, sessions) = self.store.reset_mfa(&user.id).await?;
        self.record_by_actor(
            user,
            "mfa.reset",
            by,
            json!({"factors_removed": factors, "sessions_ended": sessions}),
        )
        .await;
        self.mailer.send(
            &messages::mfa_reset_notice(&user.email, &user.org_slug),
            self.now(),
        );
        Ok((factors, sessions))
    }

    /// Unlocks `user` (the admin's and the operator's action); answers whether there was
    /// a lock or failures to clear.
    pub(crate) async fn unlock_of(&self, user: &UserRow, by: Actor<'_>) -> Result<bool> {
        let had = self.store.unlock_mfa(&user.id).await?;
        self.store
            .clear_password_failures(&user.org_slug, &user.username)
            .await?;
        self.record_by_actor(user, "mfa.unlocked", by, json!({"had_failures": had}))
            .await;
        Ok(had)
    }

    /// Records `event` about `user`, done by `by`.
    pub(crate) async fn record_by_actor(
        &self,
        user: &UserRow,
        event: &'static str,
        by: Actor<'_>,
        mut details: serde_json::Value,
    ) {
        let actor_id = match by {
            Actor::Admin(admin) => Some(admin.id.as_str()),
            Actor::Operator(name) => {
                if let Some(map) = details.as_object_mut() {
                    let name: String = name.chars().take(64).collect();
                    map.insert("via".into(), "cli".into());
                    map.insert("operator".into(), name.into());
                }
                None
            }
        };
        self.record(Event {
            org_id: &user.org_id,
            event,
            actor_id,
            subject_id: Some(&user.id),
            details,
        })
        .await;
    }
}

/// Who acts on a user: an owner or admin of their organisation, or an operator at the
/// command line (no user of the organisation: named in the event's details).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Actor<'a> {
    Admin(&'a UserRow),
    Operator(&'a str),
}
