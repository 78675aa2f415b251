//! Going back to the provider while signed in: a federated step-up (the provider asked to
//! authenticate the same person again, recently) and linking a provider identity to the
//! signed-in password user (the same verified email).

use serde_json::{Value, json};

use crate::oidc::VerifiedToken;
use crate::store::UserRow;

use super::super::sessions::amr_list;
use super::super::{DomainError, Twofold};
use super::handoff::to_app;
use super::sign_in::{Callback, Finished, Refused, local_path, refused};

/// How far a provider's clock may be from ours when it says when the person signed in.
const AUTH_TIME_SKEW_MS: i64 = 60 * 1000;

/// The signed-in person's identity providers, for their Security page.
#[derive(Clone, Debug, Default)]
pub struct AccountProviders {
    /// Bound to this account (a federated user's, or linked), by name.
    pub linked: Vec<String>,
    /// Providers this password user may link (linking by email allowed there).
    pub linkable: Vec<String>,
}

impl Twofold {
    /// The caller's identity providers: bound ones, and ones they may link.
    pub async fn account_providers(
        &self,
        caller: &super::super::sessions::Caller,
    ) -> super::super::Result<AccountProviders> {
        let org = self.org_of_slug(&caller.user.org_slug).await?;
        let providers = self.store.oidc_providers_of_org(&org.id).await?;
        if providers.is_empty() {
            return Ok(AccountProviders::default());
        }
        let linked: Vec<String> = self
            .store
            .federated_identities_of_org(&org.id)
            .await?
            .into_iter()
            .filter(|i| i.user_id == caller.user.id)
            .map(|i| i.provider)
            .collect();
        let linkable = providers
            .into_iter()
            .filter(|p| p.link_by_email && !caller.user.federated && !linked.contains(&p.name))
            .map(|p| p.name)
            .collect();
        Ok(AccountProviders { linked, linkable })
    }
    /// The session a step-up or link was started from, still live and the identity's.
    pub(super) async fn starting_session(
        &self,
        cb: &Callback,
    ) -> std::result::Result<crate::store::SessionRow, Refused> {
        let gone = || {
            refused(
                "session_gone",
                DomainError::FederationFailed(
                    "the session this was started from has ended; sign in again".into(),
                ),
            )
        };
        let (Some(id), Some(user_id)) = (&cb.login.session_id, &cb.login.user_id) else {
            return Err(gone());
        };
        self.live_session(user_id, id).await?.ok_or_else(gone)
    }

    pub(super) async fn federated_step_up(
        &self,
        cb: &Callback,
        user: &Option<UserRow>,
        token: &VerifiedToken,
    ) -> std::result::Result<Finished, Refused> {
        let session = self.starting_session(cb).await?;
        let Some(user) = user
            .as_ref()
            .filter(|u| u.id == session.user_id && u.federated)
        else {
            return Err(refused(
                "other_identity",
                DomainError::FederatedUserRefused(
                    "the identity provider signed in someone else than this session's user".into(),
                ),
            ));
        };
        // `max_age=0` asked for a new authentication: it must have happened after the
        // step-up started.
        let fresh = token
            .auth_time
            .is_some_and(|t| t.as_millis() >= cb.login.created_at - AUTH_TIME_SKEW_MS);
        if !fresh {
            return Err(refused(
                "not_reauthenticated",
                DomainError::FederationFailed(
                    "the identity provider did not authenticate you again (no recent auth_time)"
                        .into(),
                ),
            ));
        }
        let (amr, aal) = Self::federated_amr(token);
        if aal < 2 {
            // A fresh second factor is what a step-up proves; a password alone at the
            // provider is not one (its `amr` says which methods it used).
            return Err(refused(
                "no_second_factor",
                DomainError::FederatedUserRefused(format!(
                    "{:?} did not report a second factor for this sign-in (amr {:?}), so it \
                     cannot confirm a sensitive change",
                    cb.provider.name, token.amr
                )),
            ));
        }
        self.record_by(
            user,
            "mfa.step_up",
            json!({"method": "federated", "provider": cb.provider.name, "amr": amr}),
        )
        .await;
        match (&cb.login.app_redirect, &cb.login.app_challenge) {
            (Some(redirect), Some(challenge)) => {
                let code = self
                    .hand_off(user, cb, &amr, aal, challenge, Some(&session.id))
                    .await?;
                Ok(to_app(cb, redirect, &code))
            }
            _ => {
                let mut all = amr_list(&session.amr);
                for a in amr {
                    if !all.contains(&a) {
                        all.push(a);
                    }
                }
                self.store
                    .raise_session(&session.id, &all.join(" "), None, self.now().as_millis())
                    .await?;
                Ok(Finished::SteppedUp {
                    return_to: local_path(cb.login.return_to.as_deref()),
                })
            }
        }
    }

    pub(super) async fn federated_link(
        &self,
        cb: &Callback,
        bound: &Option<UserRow>,
        token: &VerifiedToken,
    ) -> std::result::Result<Finished, Refused> {
        let session = self.starting_session(cb).await?;
        if bound.is_some() {
            return Err(refused(
                "already_bound",
                DomainError::FederatedUserRefused(format!(
                    "this identity at {:?} is already linked to an account",
                    cb.provider.name
                )),
            ));
        }
        let user = self
            .store
            .user_by_id(&session.user_id)
            .await?
            .ok_or_else(|| refused("session_gone", DomainError::Unauthenticated))?;
        // Linking by email: the provider vouches for this very address.
        let email = token.claims.get("email").and_then(Value::as_str);
        let verified = token.claims.get("email_verified").and_then(Value::as_bool) == Some(true);
        if !(verified && email.is_some_and(|e| e.eq_ignore_ascii_case(&user.email))) {
            return Err(refused(
                "email_mismatch",
                DomainError::FederatedUserRefused(format!(
                    "{:?} has no verified address {} for you; only the same verified email \
                     links accounts",
                    cb.provider.name,
                    super::super::email::masked(&user.email)
                )),
            ));
        }
        self.bind_identity(cb, token, &user).await?;
        Ok(Finished::Linked {
            return_to: local_path(cb.login.return_to.as_deref()),
        })
    }
}
