//! An organisation's OpenID Connect providers, as its owner configures them (with a fresh
//! second factor) or an operator does offline: each checked, its client secret sealed
//! under the server's key, never shown again.

use serde_json::json;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::crypto::secret_box::Sealed;
use crate::store::{OidcProviderRow, OrgRow};

use super::super::input::Slug;
use super::super::org_admin::Actor;
use super::super::sessions::Caller;
use super::super::users::Role;
use super::super::{DomainError, Result, Twofold};

/// A provider as its organisation's admins see it (never the client secret).
#[derive(Clone, Debug)]
pub struct OidcProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// Asked for besides `openid`.
    pub scopes: Vec<String>,
    pub username_claim: String,
    /// Empty: any.
    pub allowed_email_domains: Vec<String>,
    pub create_users: bool,
    pub link_by_email: bool,
    /// What to register at the provider as the redirect URI.
    pub redirect_uri: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A provider to add or replace. Unset fields take their defaults; an unset secret keeps
/// the one already stored (a new provider needs one).
#[derive(Default)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Zeroizing<String>>,
    pub scopes: Option<Vec<String>>,
    pub username_claim: Option<String>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub create_users: Option<bool>,
    pub link_by_email: Option<bool>,
}

pub const DEFAULT_SCOPES: [&str; 2] = ["profile", "email"];
pub const DEFAULT_USERNAME_CLAIM: &str = "preferred_username";

/// The sealing context of a provider's client secret: a sealed secret moved to another
/// provider's row does not open.
pub(super) fn secret_context(p: &OidcProviderRow) -> Vec<u8> {
    client_secret_context(&p.org_id, &p.name, &p.issuer, &p.client_id)
}

/// [`secret_context`] from its parts (a key rotation re-seals from these alone).
pub(crate) fn client_secret_context(
    org_id: &str,
    name: &str,
    issuer: &str,
    client_id: &str,
) -> Vec<u8> {
    // The issuer and client id too: a secret kept across a change of either would be sent
    // to a token endpoint it was never meant for.
    format!("oidc-client-secret:{org_id}:{name}:{issuer}:{client_id}").into_bytes()
}

/// Whether `public_url` is plain http on a loopback host (Twofold tried out locally).
fn is_local(public_url: &str) -> bool {
    openidconnect::url::Url::parse(public_url)
        .is_ok_and(|u| u.scheme() == "http" && super::on_loopback(&u, true))
}

/// A provider's name: it appears in URLs (`/auth/oidc/{org}/{name}/start`).
pub fn provider_name(text: &str) -> Result<String> {
    let ok = (1..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(DomainError::InvalidInput(format!(
            "a provider's name is 1 to 40 lowercase letters, digits and inner hyphens, not {text:?}"
        )))
    }
}

/// An issuer: an `https` URL without query, fragment or credentials; `http` on a loopback
/// host only where Twofold itself is tried out on one (`local`: its public URL is plain
/// http on loopback), so that a server on the internet never fetches plain-http or
/// loopback addresses an owner names.
fn issuer(text: &str, local: bool) -> Result<String> {
    if text.len() > 512 {
        return Err(DomainError::InvalidInput(
            "the issuer is at most 512 characters".into(),
        ));
    }
    let bad = |why: &str| DomainError::InvalidInput(format!("issuer {text:?}: {why}"));
    let url = openidconnect::url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if url.host().is_none() {
        return Err(bad("it has no host"));
    }
    let loopback = super::on_loopback(&url, true);
    match url.scheme() {
        "https" => {}
        "http" if loopback && local => {}
        "http" if loopback => {
            return Err(bad(
                "it must be https (plain http on a loopback host only while Twofold's own \
                 public URL is one too)",
            ));
        }
        "http" => return Err(bad("it must be https (plain http only on a loopback host)")),
        _ => return Err(bad("it must be an https URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it may not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it may not hold credentials"));
    }
    // Exactly as given: the ID token's `iss` must equal it, trailing slash and all (some
    // providers' issuers end in one).
    Ok(text.to_owned())
}

/// A printable value without spaces: a client id, a claim's name.
fn token_text(text: &str, what: &str, max: usize) -> Result<String> {
    if (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(text.to_owned())
    } else {
        Err(DomainError::InvalidInput(format!(
            "the {what} is 1 to {max} printable characters without spaces"
        )))
    }
}

/// Scopes besides `openid` (which is always asked for): RFC 6749 scope tokens.
fn scope_list(list: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in list {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if !ok {
            return Err(DomainError::InvalidInput(format!("{s:?} is not a scope")));
        }
        if s != "openid" && !out.contains(s) {
            out.push(s.clone());
        }
    }
    if out.len() > 20 {
        return Err(DomainError::InvalidInput("at most 20 scopes".into()));
    }
    Ok(out)
}

/// Email domains, lowercased.
fn domain_list(list: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for d in list {
        let d = d.trim().to_ascii_lowercase();
        let ok = (1..=253).contains(&d.len())
            && d.split('.').count() >= 2
            && d.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return Err(DomainError::InvalidInput(format!(
                "{d:?} is not an email domain (such as example.com)"
            )));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > 50 {
        return Err(DomainError::InvalidInput("at most 50 email domains".into()));
    }
    Ok(out)
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

impl Twofold {
    /// The redirect URI every provider is given: `<public url>/auth/oidc/callback`.
    pub fn oidc_redirect_uri(&self) -> String {
        format!("{}/auth/oidc/callback", self.public_url)
    }

    pub(super) fn provider_view(&self, p: &OidcProviderRow) -> OidcProvider {
        OidcProvider {
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            scopes: words(&p.scopes),
            username_claim: p.username_claim.clone(),
            allowed_email_domains: words(&p.allowed_email_domains),
            create_users: p.create_users,
            link_by_email: p.link_by_email,
            redirect_uri: self.oidc_redirect_uri(),
            created_at: Timestamp::from_millis(p.created_at),
            updated_at: Timestamp::from_millis(p.updated_at),
        }
    }

    /// The organisation's providers, for its owners and admins.
    pub async fn oidc_providers(&self, caller: &Caller, slug: &str) -> Result<Vec<OidcProvider>> {
        let org = self.org_for_admin(caller, slug).await?;
        self.providers_of(&org).await
    }

    async fn providers_of(&self, org: &OrgRow) -> Result<Vec<OidcProvider>> {
        let rows = self.store.oidc_providers_of_org(&org.id).await?;
        Ok(rows.iter().map(|p| self.provider_view(p)).collect())
    }

    /// Adds or replaces provider `name`: the organisation's owners only, with a fresh
    /// second factor (it decides who may sign in).
    pub async fn put_oidc_provider(
        &self,
        caller: &Caller,
        slug: &str,
        name: &str,
        settings: ProviderSettings,
        elevated: Option<&str>,
    ) -> Result<OidcProvider> {
        let org = self.org_for_owner(caller, slug).await?;
        self.require_admin_second_factor(caller, elevated).await?;
        self.save_provider(&org, name, settings, Actor::Admin(&caller.user))
            .await
    }

    /// Removes provider `name` (owners only, fresh second factor). Its users stay; they
    /// cannot sign in until a provider is configured again.
    pub async fn delete_oidc_provider(
        &self,
        caller: &Caller,
        slug: &str,
        name: &str,
        elevated: Option<&str>,
    ) -> Result<()> {
        let org = self.org_for_owner(caller, slug).await?;
        self.require_admin_second_factor(caller, elevated).await?;
        self.remove_provider(&org, name, Actor::Admin(&caller.user))
            .await
    }

    /// [`Twofold::put_oidc_provider`] for an operator, offline.
    pub async fn operator_put_oidc_provider(
        &self,
        slug: &str,
        name: &str,
        settings: ProviderSettings,
        operator: &str,
    ) -> Result<OidcProvider> {
        let org = self.org_of_slug(slug).await?;
        self.save_provider(&org, name, settings, Actor::Operator(operator))
            .await
    }

    /// [`Twofold::delete_oidc_provider`] for an operator, offline.
    pub async fn operator_delete_oidc_provider(
        &self,
        slug: &str,
        name: &str,
        operator: &str,
    ) -> Result<()> {
        let org = self.org_of_slug(slug).await?;
        self.remove_provider(&org, name, Actor::Operator(operator))
            .await
    }

    /// Organisation `slug`'s providers, for an operator.
    pub async fn operator_oidc_providers(&self, slug: &str) -> Result<Vec<OidcProvider>> {
        let org = self.org_of_slug(slug).await?;
        self.providers_of(&org).await
    }

    pub(super) async fn org_of_slug(&self, slug: &str) -> Result<OrgRow> {
        let slug = Slug::parse(slug)?;
        self.store
            .org_by_slug(slug.as_str())
            .await?
            .ok_or(DomainError::NotFound("organisation"))
    }

    async fn org_for_owner(&self, caller: &Caller, slug: &str) -> Result<OrgRow> {
        let org = self.org_for_admin(caller, slug).await?;
        if caller.role() != Role::Owner {
            return Err(DomainError::Forbidden(
                "only the organisation's owners may configure identity providers".into(),
            ));
        }
        Ok(org)
    }

    async fn save_provider(
        &self,
        org: &OrgRow,
        name: &str,
        s: ProviderSettings,
        actor: Actor<'_>,
    ) -> Result<OidcProvider> {
        let name = provider_name(name)?;
        let issuer = issuer(&s.issuer, is_local(&self.public_url))?;
        let client_id = token_text(&s.client_id, "client id", 255)?;
        let scopes = match &s.scopes {
            Some(list) => scope_list(list)?,
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let username_claim = token_text(
            s.username_claim
                .as_deref()
                .unwrap_or(DEFAULT_USERNAME_CLAIM),
            "username claim",
            64,
        )?;
        let domains = domain_list(s.allowed_email_domains.as_deref().unwrap_or(&[]))?;
        let existing = self
            .store
            .oidc_providers_of_org(&org.id)
            .await?
            .into_iter()
            .find(|p| p.name == name);
        let now = self.now().as_millis();
        let (actor_id, via) = match actor {
            Actor::Admin(u) => (Some(u.id.clone()), None),
            Actor::Operator(op) => (None, Some(op.to_owned())),
        };
        let mut row = OidcProviderRow {
            org_id: org.id.clone(),
            name,
            issuer,
            client_id,
            secret_key_id: String::new(),
            client_secret_sealed: Vec::new(),
            scopes: scopes.join(" "),
            allowed_email_domains: domains.join(" "),
            username_claim,
            create_users: s.create_users.unwrap_or(false),
            link_by_email: s.link_by_email.unwrap_or(false),
            created_at: existing.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
            updated_by: actor_id.clone(),
        };
        let sealed = match (&s.client_secret, &existing) {
            (Some(secret), _) => {
                if !(1..=1024).contains(&secret.len()) {
                    return Err(DomainError::InvalidInput(
                        "the client secret is 1 to 1024 characters".into(),
                    ));
                }
                self.keys.seal(secret.as_bytes(), &secret_context(&row))?
            }
            (None, Some(old)) if old.issuer == row.issuer && old.client_id == row.client_id => {
                Sealed {
                    key_id: old.secret_key_id.clone(),
                    bytes: old.client_secret_sealed.clone(),
                }
            }
            (None, Some(_)) => {
                return Err(DomainError::InvalidInput(
                    "a new issuer or client id needs its client secret (the stored one is never \
                     sent anywhere else)"
                        .into(),
                ));
            }
            (None, None) => {
                return Err(DomainError::InvalidInput(
                    "a new provider needs its client secret".into(),
                ));
            }
        };
        row.secret_key_id = sealed.key_id;
        row.client_secret_sealed = sealed.bytes;
        self.store.put_oidc_provider(&row).await?;
        if let Some(old) = &existing {
            self.oidc.forget(&old.issuer);
        }
        self.record(super::super::audit::Event {
            org_id: &org.id,
            event: "oidc.provider_saved",
            actor_id: actor_id.as_deref(),
            subject_id: None,
            details: json!({
                "provider": row.name, "issuer": row.issuer, "client_id": row.client_id,
                "scopes": scopes, "username_claim": row.username_claim,
                "allowed_email_domains": domains, "create_users": row.create_users,
                "link_by_email": row.link_by_email, "created": existing.is_none(),
                "secret_changed": s.client_secret.is_some(), "via": via,
            }),
        })
        .await;
        Ok(self.provider_view(&row))
    }

    async fn remove_provider(&self, org: &OrgRow, name: &str, actor: Actor<'_>) -> Result<()> {
        let name = provider_name(name)?;
        if !self.store.delete_oidc_provider(&org.id, &name).await? {
            return Err(DomainError::NotFound("identity provider"));
        }
        let (actor_id, via) = match actor {
            Actor::Admin(u) => (Some(u.id.as_str()), None),
            Actor::Operator(op) => (None, Some(op)),
        };
        self.record(super::super::audit::Event {
            org_id: &org.id,
            event: "oidc.provider_removed",
            actor_id,
            subject_id: None,
            details: json!({"provider": name, "via": via}),
        })
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http_without_query_or_credentials() {
        assert_eq!(
            issuer("https://login.acme.com/", false).unwrap(),
            "https://login.acme.com/",
            "as given: some providers' iss ends in a slash"
        );
        assert_eq!(
            issuer("https://login.acme.com/realms/acme", false).unwrap(),
            "https://login.acme.com/realms/acme"
        );
        assert!(issuer("http://127.0.0.1:9000", true).is_ok());
        assert!(issuer("http://localhost:9000", true).is_ok());
        // A server on the internet never fetches plain http, loopback included.
        assert!(issuer("http://127.0.0.1:9000", false).is_err());
        assert!(is_local("http://127.0.0.1:8080") && is_local("http://[::1]:8080"));
        assert!(!is_local("https://127.0.0.1:8080") && !is_local("http://mfa.example.com"));
        for bad in [
            "http://login.acme.com",
            "ftp://login.acme.com",
            "https://login.acme.com/?x=1",
            "https://login.acme.com/#f",
            "https://u:p@login.acme.com",
            "login.acme.com",
            "",
        ] {
            assert!(issuer(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_scopes_and_domains_are_checked() {
        assert!(provider_name("okta").is_ok());
        assert!(provider_name("entra-id-2").is_ok());
        for bad in [
            "",
            "-okta",
            "okta-",
            "Okta",
            "ok ta",
            "ok/ta",
            &"a".repeat(41),
        ] {
            assert!(provider_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            scope_list(&[
                "openid".into(),
                "email".into(),
                "email".into(),
                "groups".into()
            ])
            .unwrap(),
            vec!["email", "groups"]
        );
        assert!(scope_list(&["a b".into()]).is_err());
        assert_eq!(
            domain_list(&["Acme.COM".into(), "acme.com".into()]).unwrap(),
            vec!["acme.com"]
        );
        for bad in ["acme", "@acme.com", "-acme.com", "acme..com"] {
            assert!(domain_list(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
