//! The federated sign-in itself: the redirect to the provider, the callback that checks
//! everything and decides who comes in, and the hand-off to an application.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::oidc::{Authorize, OidcError, ProviderConfig, VerifiedToken};
use crate::store::{OidcLoginRow, OidcProviderRow, OrgRow, StoreError, UserRow};

use super::super::audit::Event;
use super::super::sessions::{Caller, NewSession};
use super::super::step_up::ElevatedToken;
use super::super::{DomainError, Result, Twofold};
use super::providers::secret_context;

/// How long a sign-in may stay at the provider.
const LOGIN_TTL_MS: i64 = 10 * 60 * 1000;

/// What a federated sign-in is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    /// Re-authentication at the provider for a fresh second factor.
    StepUp,
    /// Binding a provider identity to the signed-in password user.
    Link,
}

impl Purpose {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "signin",
            Purpose::StepUp => "step_up",
            Purpose::Link => "link",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Purpose> {
        match text {
            "signin" => Some(Purpose::SignIn),
            "step_up" => Some(Purpose::StepUp),
            "link" => Some(Purpose::Link),
            _ => None,
        }
    }
}

/// An application (the CLI, say) waiting on a loopback address for the outcome.
#[derive(Clone, Debug)]
pub struct AppReturn {
    /// `http://127.0.0.1:<port>/…` or `http://[::1]:<port>/…`.
    pub redirect_uri: String,
    /// Handed back unchanged.
    pub state: String,
    /// The application's PKCE challenge (S256): its verifier is needed for the exchange.
    pub code_challenge: String,
}

/// A sign-in sent to the provider: where the browser goes, and the value of the cookie
/// that binds the callback to this browser.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub binding: String,
    pub expires_at: Timestamp,
}

/// What a callback came to.
#[derive(Debug)]
pub enum Finished {
    /// A browser signed in: its session, and the page to go to.
    SignedIn {
        session: NewSession,
        return_to: String,
    },
    /// The browser's session passed a fresh second factor at the provider.
    SteppedUp { return_to: String },
    /// The signed-in user's account is now linked to the provider.
    Linked { return_to: String },
    /// The application's loopback address to send the browser to: with `code` and
    /// `state`, or with `error` and `error_description`.
    ToApp { redirect: String },
}

/// What an application gets for its one-time code.
#[derive(Debug)]
pub enum Exchanged {
    SignedIn {
        session: NewSession,
        amr: Vec<String>,
        aal: u8,
    },
    SteppedUp(ElevatedToken),
}

/// What an application's step-up is bound to: its PKCE challenge, hashed apart from the
/// cookies (which are hashed with their `tfb_` prefix).
fn challenge_binding(challenge: &str) -> Vec<u8> {
    Sha256::digest(format!("app-challenge:{challenge}").as_bytes()).to_vec()
}

/// A random 256-bit value as text (no prefix).
fn random_text() -> Result<String> {
    let t = token::mint(TokenKind::Nonce)?;
    Ok(t.text.trim_start_matches("tfn_").to_owned())
}

/// `text` is a loopback `http` URL an application listens on (RFC 8252 §7.3).
fn loopback_redirect(text: &str) -> Result<()> {
    let bad = || {
        DomainError::InvalidInput(
            "redirect_uri must be http://127.0.0.1:<port>/… or http://[::1]:<port>/… (an \
             application listening on this machine)"
                .into(),
        )
    };
    let url = openidconnect::url::Url::parse(text).map_err(|_| bad())?;
    // Not `localhost`: a name may resolve elsewhere (RFC 8252 §8.3).
    let loopback = super::on_loopback(&url, false);
    if url.scheme() != "http"
        || !loopback
        || url.port().is_none()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || text.len() > 512
    {
        return Err(bad());
    }
    Ok(())
}

/// An S256 PKCE challenge: 43 base64url characters.
fn pkce_challenge(text: &str) -> Result<()> {
    let ok = text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::InvalidInput(
            "code_challenge must be an S256 PKCE challenge (43 base64url characters)".into(),
        ))
    }
}

/// A local path to return to (never another site).
pub(super) fn local_path(text: Option<&str>) -> String {
    match text {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_owned()
        }
        _ => "/account/security".to_owned(),
    }
}

/// `base?k=v&…`, the values encoded.
pub(super) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", q.finish())
}

/// Why a federated sign-in was refused, for the audit log and the person.
pub(super) struct Refused {
    /// Stable, for the audit log and applications (`error_description`).
    pub(super) reason: &'static str,
    pub(super) error: DomainError,
}

pub(super) fn refused(reason: &'static str, error: DomainError) -> Refused {
    Refused { reason, error }
}

impl From<DomainError> for Refused {
    fn from(e: DomainError) -> Self {
        Refused {
            reason: "internal",
            error: e,
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        DomainError::from(e).into()
    }
}

/// The sign-in under way, what was asked at the start and the provider.
pub(super) struct Callback {
    pub(super) login: OidcLoginRow,
    pub(super) purpose: Purpose,
    pub(super) provider: OidcProviderRow,
    pub(super) org: OrgRow,
}

impl Twofold {
    /// The names of organisation `slug`'s providers, for its sign-in page (empty for an
    /// organisation that has none, or none by that name).
    pub async fn sign_in_providers(&self, slug: &str) -> Result<Vec<String>> {
        let Ok(org) = self.org_of_slug(slug).await else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .oidc_providers_of_org(&org.id)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// Starts a federated sign-in with provider `name` of organisation `slug`: for the
    /// browser itself, or for an application waiting on a loopback address.
    pub async fn start_federated_sign_in(
        &self,
        slug: &str,
        name: &str,
        app: Option<AppReturn>,
    ) -> Result<Started> {
        let org = self.org_of_slug(slug).await?;
        let provider = self.provider_named(&org, name).await?;
        self.start_at(&org, &provider, Purpose::SignIn, None, app, None)
            .await
    }

    /// Starts a re-authentication at the provider the caller signed in with, for a fresh
    /// second factor (`prompt=login`, `max_age=0`): their browser's session is raised,
    /// or, for an application, an elevated token is handed off. An application opens the
    /// URL in a browser that holds no cookie of this flow: its PKCE challenge binds it.
    pub async fn start_federated_step_up(
        &self,
        caller: &Caller,
        app: Option<AppReturn>,
        return_to: Option<&str>,
    ) -> Result<Started> {
        if !caller.user.federated {
            // A linked password user's second factor is theirs here, not the provider's.
            return Err(DomainError::MethodNotAvailable(
                "a password user steps up with a code from their own second factor".into(),
            ));
        }
        let org = self.org_of_slug(&caller.user.org_slug).await?;
        let provider = self.provider_of_caller(caller, &org).await?;
        self.start_at(
            &org,
            &provider,
            Purpose::StepUp,
            Some(caller),
            app,
            return_to,
        )
        .await
    }

    /// Starts linking provider `name` to the caller's password account: only with a
    /// second factor passed in the last 10 minutes (their password and second factor,
    /// once) and where the provider allows linking by email.
    pub async fn start_federated_link(
        &self,
        caller: &Caller,
        name: &str,
        return_to: Option<&str>,
    ) -> Result<Started> {
        let org = self.org_of_slug(&caller.user.org_slug).await?;
        let provider = self.provider_named(&org, name).await?;
        if !provider.link_by_email {
            return Err(DomainError::Forbidden(format!(
                "provider {name:?} does not link existing accounts; ask an owner"
            )));
        }
        if caller.user.federated {
            return Err(DomainError::Conflict(
                "this account already signs in through the identity provider".into(),
            ));
        }
        if !caller.passed_mfa_recently(self.now()) {
            return Err(DomainError::StepUpRequired);
        }
        self.start_at(
            &org,
            &provider,
            Purpose::Link,
            Some(caller),
            None,
            return_to,
        )
        .await
    }

    /// The identity provider a federated caller confirms it is them at (a step-up), by
    /// name; `None` for a password user.
    pub async fn step_up_provider(&self, caller: &Caller) -> Result<Option<String>> {
        if !caller.user.federated {
            return Ok(None);
        }
        let org = self.org_of_slug(&caller.user.org_slug).await?;
        match self.provider_of_caller(caller, &org).await {
            Ok(p) => Ok(Some(p.name)),
            Err(DomainError::MethodNotAvailable(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn provider_named(&self, org: &OrgRow, name: &str) -> Result<OidcProviderRow> {
        self.store
            .oidc_providers_of_org(&org.id)
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or(DomainError::NotFound("identity provider"))
    }

    /// The provider a federated caller's identity came from.
    async fn provider_of_caller(&self, caller: &Caller, org: &OrgRow) -> Result<OidcProviderRow> {
        let identities = self.store.federated_identities_of_org(&org.id).await?;
        let providers = self.store.oidc_providers_of_org(&org.id).await?;
        identities
            .iter()
            .filter(|i| i.user_id == caller.user.id)
            .find_map(|i| {
                providers
                    .iter()
                    .find(|p| p.name == i.provider && p.issuer == i.issuer)
                    .cloned()
            })
            .ok_or_else(|| {
                DomainError::MethodNotAvailable(
                    "this account has no identity provider to re-authenticate with".into(),
                )
            })
    }

    /// Provider `p` as the protocol client takes it: its client secret opened, its scopes,
    /// this server's redirect URI.
    fn provider_config(&self, p: &OidcProviderRow) -> Result<ProviderConfig> {
        let sealed = crate::crypto::secret_box::Sealed {
            key_id: p.secret_key_id.clone(),
            bytes: p.client_secret_sealed.clone(),
        };
        let plain = self.keys.open(&sealed, &secret_context(p))?;
        Ok(ProviderConfig {
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: zeroize::Zeroizing::new(String::from_utf8_lossy(&plain).into_owned()),
            scopes: p.scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_uri: self.oidc_redirect_uri(),
        })
    }

    /// Records the sign-in under way and answers the provider's URL. A browser flow is
    /// bound to the browser by the cookie answered in [`Started::binding`]; an
    /// application's step-up, started over the API, to its PKCE challenge instead.
    async fn start_at(
        &self,
        org: &OrgRow,
        provider: &OidcProviderRow,
        purpose: Purpose,
        caller: Option<&Caller>,
        app: Option<AppReturn>,
        return_to: Option<&str>,
    ) -> Result<Started> {
        if let Some(a) = &app {
            loopback_redirect(&a.redirect_uri)?;
            pkce_challenge(&a.code_challenge)?;
            if a.state.len() > 512 {
                return Err(DomainError::InvalidInput(
                    "state is at most 512 characters".into(),
                ));
            }
        }
        let state = token::mint(TokenKind::OidcState)?;
        let binding = token::mint(TokenKind::OidcBinding)?;
        let nonce = random_text()?;
        let verifier = random_text()?;
        let now = self.now();
        let url = self
            .oidc
            .authorize_url(
                &self.provider_config(provider)?,
                now,
                &Authorize {
                    state: &state.text,
                    nonce: &nonce,
                    pkce_verifier: &verifier,
                    // A step-up, and a link (which binds whoever signs in there to
                    // this account), ask the person to sign in there now.
                    fresh_login: purpose != Purpose::SignIn,
                },
            )
            .await
            .map_err(|e| self.provider_failed(e))?;
        let expires_at = now.as_millis() + LOGIN_TTL_MS;
        self.store
            .insert_oidc_login(&OidcLoginRow {
                state_hash: state.hash,
                org_id: org.id.clone(),
                org_slug: org.slug.clone(),
                provider: provider.name.clone(),
                nonce,
                pkce_verifier: verifier,
                binding_hash: match (&app, purpose) {
                    (Some(a), Purpose::StepUp) => challenge_binding(&a.code_challenge),
                    _ => binding.hash,
                },
                purpose: purpose.as_str().to_owned(),
                session_id: caller.map(|c| c.session.id.clone()),
                user_id: caller.map(|c| c.user.id.clone()),
                app_redirect: app.as_ref().map(|a| a.redirect_uri.clone()),
                app_state: app.as_ref().map(|a| a.state.clone()),
                app_challenge: app.map(|a| a.code_challenge),
                return_to: Some(local_path(return_to)),
                created_at: now.as_millis(),
                expires_at,
            })
            .await?;
        Ok(Started {
            authorize_url: url,
            binding: binding.text,
            expires_at: Timestamp::from_millis(expires_at),
        })
    }

    fn provider_failed(&self, e: OidcError) -> DomainError {
        match e {
            OidcError::Unavailable(why) => {
                tracing::warn!(reason = %why, "identity provider unavailable");
                DomainError::ProviderUnavailable(why)
            }
            OidcError::Exchange(why) | OidcError::Token(why) => DomainError::FederationFailed(why),
        }
    }

    /// The provider's redirect back: `state` and `code` (or the provider's `error`), with
    /// the browser's binding cookie. Everything is checked (the state once, bound to this
    /// browser; the code exchanged with the PKCE verifier; the ID token's signature,
    /// issuer, audience, expiry and nonce), then the person comes in as the rules say.
    /// Every outcome past a known state is audited with the provider.
    pub async fn finish_federated(
        &self,
        state: &str,
        code: Option<&str>,
        provider_error: Option<&str>,
        binding: Option<&str>,
    ) -> Result<Finished> {
        let cb = match self.take_callback(state).await {
            Ok(cb) => cb,
            Err(e) => {
                // No organisation to audit it in: an unknown, used or expired state.
                tracing::info!(error = %e, "federated sign-in callback refused");
                return Err(e);
            }
        };
        let done = self
            .check_callback(&cb, code, provider_error, binding)
            .await;
        let (user, token) = match done {
            Ok(v) => v,
            Err(r) => return self.refuse(&cb, None, r).await,
        };
        let outcome = match cb.purpose {
            Purpose::SignIn => self.federated_sign_in(&cb, &user, &token).await,
            Purpose::StepUp => self.federated_step_up(&cb, &user, &token).await,
            Purpose::Link => self.federated_link(&cb, &user, &token).await,
        };
        match outcome {
            Ok(f) => Ok(f),
            Err(r) => self.refuse(&cb, user.as_ref(), r).await,
        }
    }

    async fn take_callback(&self, state: &str) -> Result<Callback> {
        let hash =
            token::lookup_hash(TokenKind::OidcState, state).ok_or(DomainError::FlowExpired)?;
        let login = self
            .store
            .take_oidc_login(&hash)
            .await?
            .filter(|l| l.expires_at > self.now().as_millis())
            .ok_or(DomainError::FlowExpired)?;
        let purpose = Purpose::parse(&login.purpose).ok_or(DomainError::FlowExpired)?;
        let org = self
            .store
            .org_by_slug(&login.org_slug)
            .await?
            .filter(|o| o.id == login.org_id)
            .ok_or(DomainError::FlowExpired)?;
        let provider = self
            .provider_named(&org, &login.provider)
            .await
            .map_err(|_| {
                DomainError::FederationFailed("the identity provider was removed meanwhile".into())
            })?;
        Ok(Callback {
            login,
            purpose,
            provider,
            org,
        })
    }

    /// The browser, the provider's answer and the ID token; answers whose identity it is
    /// (the user it is bound to, or `None` for an identity not bound yet) and the token.
    async fn check_callback(
        &self,
        cb: &Callback,
        code: Option<&str>,
        provider_error: Option<&str>,
        binding: Option<&str>,
    ) -> std::result::Result<(Option<UserRow>, VerifiedToken), Refused> {
        let same = |h: Vec<u8>| -> bool {
            subtle::ConstantTimeEq::ct_eq(h.as_slice(), cb.login.binding_hash.as_slice()).into()
        };
        let bound = binding
            .and_then(|b| token::lookup_hash(TokenKind::OidcBinding, b))
            .is_some_and(same)
            || (cb.purpose == Purpose::StepUp
                && cb
                    .login
                    .app_challenge
                    .as_deref()
                    .is_some_and(|c| same(challenge_binding(c))));
        if cb.provider.updated_at > cb.login.created_at {
            return Err(refused(
                "provider_changed",
                DomainError::FederationFailed(
                    "the identity provider's settings changed since this sign-in started; \
                     start again"
                        .into(),
                ),
            ));
        }
        if !bound {
            return Err(refused(
                "browser_mismatch",
                DomainError::FederationFailed(
                    "this sign-in was started in another browser (or its cookie was lost); \
                     start again"
                        .into(),
                ),
            ));
        }
        if let Some(e) = provider_error {
            let e: String = e.chars().take(64).collect();
            return Err(refused(
                "provider_error",
                DomainError::FederationFailed(format!("the identity provider answered {e:?}")),
            ));
        }
        let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
            return Err(refused(
                "no_code",
                DomainError::FederationFailed("the identity provider sent no code".into()),
            ));
        };
        let token = self
            .oidc
            .finish(
                &self.provider_config(&cb.provider)?,
                self.now(),
                code,
                &cb.login.pkce_verifier,
                &cb.login.nonce,
            )
            .await
            .map_err(|e| {
                let reason = match &e {
                    OidcError::Unavailable(_) => "provider_unavailable",
                    OidcError::Exchange(_) => "code_refused",
                    OidcError::Token(_) => "id_token_refused",
                };
                refused(reason, self.provider_failed(e))
            })?;
        self.check_email_domain(&cb.provider, &token)?;
        let identity = self
            .store
            .federated_identity(&cb.org.id, &cb.provider.issuer, &token.subject)
            .await?;
        let user = match identity {
            Some(i) => {
                let user = self
                    .store
                    .user_by_id(&i.user_id)
                    .await?
                    .filter(|u| u.org_id == cb.org.id);
                if user.is_some() {
                    self.store
                        .touch_federated_identity(&i, self.now().as_millis())
                        .await?;
                }
                user
            }
            None => None,
        };
        Ok((user, token))
    }

    async fn federated_sign_in(
        &self,
        cb: &Callback,
        user: &Option<UserRow>,
        token: &VerifiedToken,
    ) -> std::result::Result<Finished, Refused> {
        let user = match user {
            Some(u) => u.clone(),
            None => self.bind_new_identity(cb, token).await?,
        };
        let (amr, aal) = Self::federated_amr(token);
        if !user.federated && aal < 2 {
            // A linked password user has a second factor here: a provider sign-in that
            // did not pass one there does not stand in for it.
            return Err(refused(
                "no_second_factor",
                DomainError::FederatedUserRefused(format!(
                    "{:?} did not report a second factor for this sign-in (amr {:?}); sign \
                     in with your password and code instead",
                    cb.provider.name, token.amr
                )),
            ));
        }
        self.record(Event {
            org_id: &cb.org.id,
            event: "signin.succeeded",
            actor_id: Some(&user.id),
            subject_id: Some(&user.id),
            details: json!({
                "provider": cb.provider.name, "amr": amr, "acr": token.acr,
                "app": cb.login.app_redirect.is_some(),
            }),
        })
        .await;
        match (&cb.login.app_redirect, &cb.login.app_challenge) {
            (Some(redirect), Some(challenge)) => {
                let code = self.hand_off(&user, cb, &amr, aal, challenge, None).await?;
                Ok(super::handoff::to_app(cb, redirect, &code))
            }
            _ => {
                let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
                let session = self.start_session_at(&user, &amr, aal).await?;
                Ok(Finished::SignedIn {
                    session,
                    return_to: local_path(cb.login.return_to.as_deref()),
                })
            }
        }
    }

    /// Audits a refusal with the provider, then answers it: as an error for a browser, as
    /// a redirect with `error` for an application.
    async fn refuse(&self, cb: &Callback, user: Option<&UserRow>, r: Refused) -> Result<Finished> {
        if matches!(
            r.error,
            DomainError::Store(_) | DomainError::Internal(_) | DomainError::Crypto(_)
        ) {
            return Err(r.error);
        }
        let event = match cb.purpose {
            Purpose::SignIn => "signin.failed",
            Purpose::StepUp => "mfa.step_up_failed",
            Purpose::Link => "oidc.link_failed",
        };
        self.record(Event {
            org_id: &cb.org.id,
            event,
            actor_id: None,
            subject_id: user.map(|u| u.id.as_str()),
            details: json!({
                "provider": cb.provider.name, "reason": r.reason, "detail": r.error.to_string(),
            }),
        })
        .await;
        match &cb.login.app_redirect {
            Some(redirect) => Ok(Finished::ToApp {
                redirect: with_query(
                    redirect,
                    &[
                        ("error", "access_denied"),
                        ("error_description", &r.error.to_string()),
                        ("state", cb.login.app_state.as_deref().unwrap_or("")),
                    ],
                ),
            }),
            None => Err(r.error),
        }
    }
}
