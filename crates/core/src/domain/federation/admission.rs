//! Who a provider identity is here, and whether they may come in: the bound identity,
//! the federated user the username claim names (bound at the first sign-in), a user made
//! just in time, the allowed email domains, and what the provider's methods prove.

use serde_json::{Value, json};

use crate::oidc::VerifiedToken;
use crate::store::{FederatedIdentityRow, OidcProviderRow, StoreError, UserRow};

use super::super::audit::Event;
use super::super::input::{Email, Username};
use super::super::users::{NewUser, Role};
use super::super::{DomainError, Twofold};
use super::sign_in::{Callback, Refused, refused};

/// Methods (RFC 8176) that are more than a password: a provider sign-in listing one
/// passed a second factor there.
const STRONG_AMR: [&str; 12] = [
    "mfa", "otp", "hwk", "swk", "sms", "tel", "sc", "fpt", "face", "iris", "retina", "vbm",
];

/// Whether the provider vouches for the token's `email`: `email_verified: true`, and
/// nothing less. An address a provider does not say it verified may be one its user typed
/// (the "nOAuth" takeovers of multi-tenant Entra ID apps); such a provider can still sign
/// in users an admin created, but not make users or pass an email-domain rule.
fn vouched_for(token: &VerifiedToken) -> bool {
    token.claims.get("email_verified").and_then(Value::as_bool) == Some(true)
}

impl Twofold {
    /// The provider's allowed email domains, when it has any: a verified address in one
    /// of them.
    pub(super) fn check_email_domain(
        &self,
        p: &OidcProviderRow,
        token: &VerifiedToken,
    ) -> std::result::Result<(), Refused> {
        if p.allowed_email_domains.trim().is_empty() {
            return Ok(());
        }
        let email = token.claims.get("email").and_then(Value::as_str);
        let verified = vouched_for(token);
        let domain = email
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        let allowed = verified
            && domain.is_some_and(|d| p.allowed_email_domains.split_whitespace().any(|a| a == d));
        if allowed {
            Ok(())
        } else {
            Err(refused(
                "email_domain",
                DomainError::FederatedUserRefused(format!(
                    "provider {:?} signs in only verified addresses at {}",
                    p.name,
                    p.allowed_email_domains
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ))
        }
    }

    /// Who a provider identity not bound yet is here: the federated user named by the
    /// username claim (bound now), or a new one where the provider creates users.
    pub(super) async fn bind_new_identity(
        &self,
        cb: &Callback,
        token: &VerifiedToken,
    ) -> std::result::Result<UserRow, Refused> {
        let p = &cb.provider;
        let claim = token
            .claims
            .get(&p.username_claim)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                refused(
                    "no_username_claim",
                    DomainError::FederatedUserRefused(format!(
                        "the identity provider did not send the {:?} claim that names users here",
                        p.username_claim
                    )),
                )
            })?;
        let name = Username::parse(claim).map_err(|_| {
            refused(
                "bad_username_claim",
                DomainError::FederatedUserRefused(format!(
                    "the provider's {:?} claim is not a username here",
                    p.username_claim
                )),
            )
        })?;
        let link_hint = if p.link_by_email {
            format!(
                "; if you have a password here, sign in with it and your second factor, then \
                 link {:?} on your Security page",
                p.name
            )
        } else {
            String::new()
        };
        let user = match self
            .store
            .user_by_login(&cb.org.slug, name.as_str())
            .await?
        {
            Some(u) if u.federated => {
                // Bound by the claim only once: a user bound to an identity (of this or
                // another provider) is found by that identity, never by a name another
                // provider's account claims.
                let bound = self
                    .store
                    .federated_identities_of_org(&cb.org.id)
                    .await?
                    .iter()
                    .any(|i| i.user_id == u.id);
                if bound {
                    return Err(refused(
                        "already_bound",
                        DomainError::FederatedUserRefused(format!(
                            "{:?} is already bound to another account at an identity provider",
                            name.as_str()
                        )),
                    ));
                }
                u
            }
            Some(_) => {
                return Err(refused(
                    "password_user",
                    DomainError::FederatedUserRefused(format!(
                        "{:?} signs in with a password here, not through {:?}{link_hint}",
                        name.as_str(),
                        p.name
                    )),
                ));
            }
            None if p.create_users => self.create_federated_user(cb, token, &name).await?,
            None => {
                return Err(refused(
                    "unknown_user",
                    DomainError::FederatedUserRefused(format!(
                        "there is no user {:?} in this organisation; ask an admin to add you{link_hint}",
                        name.as_str()
                    )),
                ));
            }
        };
        self.bind_identity(cb, token, &user).await?;
        Ok(user)
    }

    pub(super) async fn create_federated_user(
        &self,
        cb: &Callback,
        token: &VerifiedToken,
        name: &Username,
    ) -> std::result::Result<UserRow, Refused> {
        let email = token
            .claims
            .get("email")
            .and_then(Value::as_str)
            .filter(|_| vouched_for(token))
            .and_then(|e| Email::parse(e).ok())
            .ok_or_else(|| {
                refused(
                    "no_verified_email",
                    DomainError::FederatedUserRefused(
                        "a new user needs a verified email address from the identity provider"
                            .into(),
                    ),
                )
            })?;
        let id = self
            .create_user_by(
                NewUser {
                    org: cb.org.slug.clone(),
                    username: name.as_str().to_owned(),
                    email: email.as_str().to_owned(),
                    role: Role::Member,
                    federated: true,
                    password: None,
                },
                None,
            )
            .await?;
        self.record(Event {
            org_id: &cb.org.id,
            event: "oidc.user_created",
            actor_id: None,
            subject_id: Some(&id),
            details: json!({"provider": cb.provider.name, "username": name.as_str()}),
        })
        .await;
        self.store
            .user_by_id(&id)
            .await?
            .ok_or_else(|| DomainError::Internal("a user just created is gone".into()).into())
    }

    pub(super) async fn bind_identity(
        &self,
        cb: &Callback,
        token: &VerifiedToken,
        user: &UserRow,
    ) -> std::result::Result<(), Refused> {
        let now = self.now().as_millis();
        let row = FederatedIdentityRow {
            org_id: cb.org.id.clone(),
            issuer: cb.provider.issuer.clone(),
            subject: token.subject.clone(),
            user_id: user.id.clone(),
            provider: cb.provider.name.clone(),
            created_at: now,
            last_used_at: Some(now),
        };
        match self.store.insert_federated_identity(&row).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => {
                return Err(refused(
                    "already_bound",
                    DomainError::FederatedUserRefused(format!(
                        "{:?} is already bound to another account at {:?}",
                        user.username, cb.provider.name
                    )),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.record(Event {
            org_id: &cb.org.id,
            event: "oidc.identity_bound",
            actor_id: Some(&user.id),
            subject_id: Some(&user.id),
            details: json!({"provider": cb.provider.name, "purpose": cb.purpose.as_str()}),
        })
        .await;
        Ok(())
    }

    /// `fed`, then the provider's own methods (RFC 8176 words only).
    pub(super) fn federated_amr(token: &VerifiedToken) -> (Vec<String>, u8) {
        let mut amr = vec!["fed".to_owned()];
        for a in &token.amr {
            let word = a.len() <= 16
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if word && !amr.contains(a) && amr.len() < 9 {
                amr.push(a.clone());
            }
        }
        let strong = token.amr.iter().any(|a| STRONG_AMR.contains(&a.as_str()));
        (amr, if strong { 2 } else { 1 })
    }
}
