//! Running an organisation: who may (its owners and admins), its users, and whether each
//! has a second factor (the seeds' "MFA column").

use twofold_proto::{MfaStatus, NewOrgUser, OrgUser, Role};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::store::{OrgRow, UserRow};

use super::sessions::Caller;
use super::users::{NewUser, parse_role};
use super::{DomainError, Result, Twofold};

fn org_user(u: &UserRow, active_factors: i64) -> Result<OrgUser> {
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
        last_login_at: u
            .last_login_at
            .map(|t| Timestamp::from_millis(t).to_rfc3339()),
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

    /// Every user of the organisation, by username, with their MFA status.
    pub async fn org_users(&self, caller: &Caller, slug: &str) -> Result<Vec<OrgUser>> {
        let org = self.org_for_admin(caller, slug).await?;
        self.store
            .users_of_org(&org.id)
            .await?
            .iter()
            .map(|(u, active)| org_user(u, *active))
            .collect()
    }

    /// Creates a user in the organisation. Only an owner may create another owner: an
    /// admin must not be able to hand out more power than their own.
    pub async fn create_org_user(
        &self,
        caller: &Caller,
        slug: &str,
        new: NewOrgUser,
    ) -> Result<OrgUser> {
        let org = self.org_for_admin(caller, slug).await?;
        if new.role == Role::Owner && parse_role(&caller.user.role)? != Role::Owner {
            return Err(DomainError::Forbidden(
                "only an owner may create another owner".into(),
            ));
        }
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
        org_user(&user, 0)
    }
}
