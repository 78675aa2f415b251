//! Passkeys (WebAuthn) as a second factor: a security key or a platform authenticator,
//! registered with a name and then used like any other factor — the second step of a
//! sign-in, a step-up, the fresh factor a guarded change asks for.
//!
//! ```text
//!  POST /me/factors/webauthn/begin {name} ──► options ──navigator.credentials.create()──►
//!  POST /me/factors/webauthn/finish {credential} ──► active factor (its registration
//!                                                     authenticated it: no code to follow)
//!
//!  POST /auth/mfa/webauthn/options {flow_token} ──► options ──navigator.credentials.get()──►
//!  POST /auth/mfa {flow_token, method: webauthn, credential} ──► session, amr [pwd, hwk(, user)]
//!
//!  POST /auth/step-up/webauthn/options (session) ──► options ──► POST /auth/step-up or
//!                                                                POST /me/session/mfa
//! ```
//!
//! The checks (challenge, origin, relying party id, signature, user presence, the
//! counter) are `webauthn-rs`'s. The relying party is Twofold's public URL: its host is the
//! RP id and the URL itself the one allowed origin. User verification is *preferred*: a
//! passkey is a second factor after the password, so a security key without a PIN
//! serves, and a session that passed one with verification says so (`amr` `user`).
//!
//! What the server asked (the challenge, the credentials allowed) is a *ceremony* kept in
//! the database for 5 minutes, one per session or sign-in flow and purpose, and taken once
//! by the answer: an answer replayed finds none. Checking an answer is the one path of
//! `verify` (counted towards the lockout, audited alike); accepting it raises the stored
//! signature counter in the same conditional statement that decides races, and a counter
//! that does not go up marks the passkey as possibly cloned: refused from then on,
//! audited, the user mailed.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use webauthn_rs_proto::AuthenticatorTransport;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::mail::messages::{self, CodeUse};
use crate::store::{
    AddPasskey, CeremonyRow, FLOW_MFA, FactorKind, FactorRow, FactorState, PasskeyRow, UserRow,
};

use super::factors::Factor;
use super::input::passkey_name;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// The most passkeys one user may register.
pub const MAX_PASSKEYS: i64 = 10;
/// How long a ceremony waits for its answer.
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

/// What a ceremony is for.
const REGISTER: &str = "register";
pub(crate) const SIGN_IN: &str = "sign_in";
pub(crate) const SESSION: &str = "session";

/// The methods a passkey stands for in a session's `amr` (RFC 8176): proof of a hardware
/// or platform key, and of the user (a PIN or biometric) when it verified them.
pub(crate) const AMR: [&str; 2] = ["pwd", "hwk"];
pub(crate) const AMR_VERIFIED: [&str; 3] = ["pwd", "hwk", "user"];

/// The answer to starting a passkey's registration.
#[derive(Debug)]
pub enum AddPasskeyStart {
    /// `navigator.credentials.create()`'s options, in the WebAuthn JSON form
    /// (`{"publicKey": {…}}`).
    Options(Value),
    /// A code was mailed to the user's address (their first factor, as for an
    /// authenticator app): send the same request again with it.
    ConfirmationRequired { expires_at: Timestamp },
}

/// What a passkey's checked answer proved.
pub(crate) struct PasskeyAnswer {
    pub factor_id: String,
    pub sign_count: i64,
    pub user_verified: bool,
}

/// Why a passkey's answer was refused.
pub(crate) enum PasskeyRefusal {
    /// No ceremony was waiting for it (none asked, expired, or answered already).
    NoCeremony,
    /// Its counter went backwards: this passkey (named) may have been copied.
    Cloned { factor_id: String },
    /// Any other failed check (origin, RP id, signature, a credential not allowed).
    Failed(String),
}

impl Twofold {
    /// The relying party: Twofold's public URL.
    fn relying_party(&self) -> Result<Webauthn> {
        let url = Url::parse(&self.public_url)
            .map_err(|e| DomainError::Internal(format!("public URL: {e}")))?;
        // A browser takes no IP address as a relying party id.
        let host = match url.domain() {
            Some(host) => host.to_owned(),
            None => {
                return Err(DomainError::MethodNotAvailable(format!(
                    "passkeys need Twofold reached by a host name, and its public URL is {}; \
                     set --public-url (http://localhost:PORT works on this machine)",
                    self.public_url
                )));
            }
        };
        WebauthnBuilder::new(&host, &url)
            .and_then(|b| b.rp_name(&self.issuer).build())
            .map_err(|e| DomainError::Internal(format!("WebAuthn relying party: {e}")))
    }

    /// Starts registering a passkey named `name`: guarded like any new factor (a fresh
    /// second factor once one is active; a code mailed to the user's address for their
    /// first), and answers the options for `navigator.credentials.create()`.
    pub async fn begin_passkey_registration(
        &self,
        caller: &Caller,
        name: Option<&str>,
        confirmation_code: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<AddPasskeyStart> {
        let name = passkey_name(name)?;
        let rp = self.relying_party()?;
        let first = self.adding_factor_guard(caller, elevated).await?;
        if first {
            let session = caller.session.id.as_str();
            if let Some(expires_at) = self
                .confirm_first_app(
                    &caller.user,
                    confirmation_code,
                    session,
                    CodeUse::AddPasskey,
                )
                .await?
            {
                return Ok(AddPasskeyStart::ConfirmationRequired { expires_at });
            }
        }
        let user = &caller.user;
        let existing = self.store.passkeys_of_user(&user.id).await?;
        if i64::try_from(existing.len()).unwrap_or(i64::MAX) >= MAX_PASSKEYS {
            return Err(too_many(existing.len()));
        }
        // The browser refuses to register an authenticator that holds one of these.
        let exclude = existing
            .iter()
            .map(|p| p.credential_id.clone().into())
            .collect();
        let (mut options, state) = rp
            .start_securitykey_registration(
                user_handle(user),
                &user.username,
                &user.username,
                Some(exclude),
                None,
                None,
            )
            .map_err(|e| DomainError::Internal(format!("WebAuthn registration: {e}")))?;
        // The library hints "security key"; a platform authenticator is as welcome.
        options.public_key.hints = None;
        // It also asks, unenforced, for credProtect at "user verification required", which
        // Chromium refuses outright beside a preferred user verification ("inconsistent
        // with other requested parameters"). Unenforced, the request changes nothing
        // checked here, so it is dropped.
        if let Some(extensions) = options.public_key.extensions.as_mut() {
            extensions.cred_protect = None;
        }
        self.put_ceremony(user, REGISTER, &caller.session.id, Some(name), &state)
            .await?;
        Ok(AddPasskeyStart::Options(to_json(&options)?))
    }

    /// Finishes registering a passkey with the authenticator's answer
    /// (`PublicKeyCredential` JSON); answers the new, active factor.
    pub async fn finish_passkey_registration(
        &self,
        caller: &Caller,
        credential: &Value,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        let answer: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| {
                DomainError::InvalidInput(format!(
                    "credential is not a WebAuthn registration (PublicKeyCredential JSON): {e}"
                ))
            })?;
        let rp = self.relying_party()?;
        let first = self.adding_factor_guard(caller, elevated).await?;
        let user = &caller.user;
        let ceremony = self
            .store
            .take_ceremony(REGISTER, &caller.session.id, self.now().as_millis())
            .await?
            .filter(|c| c.user_id == user.id)
            .ok_or(DomainError::PasskeyChallengeGone)?;
        let state: SecurityKeyRegistration = from_json(&ceremony.state)?;
        let key = rp
            .finish_securitykey_registration(&answer, &state)
            .map_err(|e| DomainError::PasskeyRefused(refusal_text(&e)))?;
        let stored = to_json(&key)?;
        let backup_eligible = stored["cred"]["backup_eligible"].as_bool().unwrap_or(false);
        let now = self.now().as_millis();
        let name = ceremony.name.unwrap_or_else(|| "Passkey".into());
        let id = Self::new_id();
        let factor = passkey_factor(&id, user, &name, now);
        let row = PasskeyRow {
            factor_id: id.clone(),
            user_id: user.id.clone(),
            credential_id: key.cred_id().as_ref().to_vec(),
            credential: stored.to_string(),
            sign_count: stored["cred"]["counter"].as_i64().unwrap_or(0),
            authenticator: authenticator_kind(answer.response.transports.as_deref()).into(),
            backup_eligible,
            cloned_at: None,
        };
        match self
            .store
            .add_passkey(&factor, &row, first, MAX_PASSKEYS)
            .await?
        {
            AddPasskey::Added => {}
            // Another factor became active meanwhile: adding this one now takes a fresh
            // second factor, like any other.
            AddPasskey::NotFirst => return Err(DomainError::StepUpRequired),
            AddPasskey::TooMany { active } => {
                return Err(too_many(usize::try_from(active).unwrap_or(usize::MAX)));
            }
            AddPasskey::Registered => {
                return Err(DomainError::Conflict(
                    "this passkey is registered already".into(),
                ));
            }
        }
        self.first_factor_activated(user, &caller.session.id)
            .await?;
        self.record_by(
            user,
            "factor.enrolled",
            json!({"factor_id": id, "name": name, "kind": "webauthn",
                   "authenticator": row.authenticator}),
        )
        .await;
        self.mailer
            .send(&messages::factor_added(&user.email, &name), self.now());
        self.factor_answer(&user.id, &id).await
    }

    /// The options for `navigator.credentials.get()` that finish sign-in flow
    /// `flow_token` with a passkey (`POST /auth/mfa` with `webauthn`).
    pub async fn passkey_sign_in_options(&self, flow_token: &str) -> Result<Value> {
        let hash =
            token::lookup_hash(TokenKind::Flow, flow_token).ok_or(DomainError::FlowExpired)?;
        let (flow, user) = self.live_flow(&hash, FLOW_MFA).await?;
        self.passkey_options(&user, SIGN_IN, &flow.id).await
    }

    /// The options for `navigator.credentials.get()` that pass a passkey in the caller's
    /// session: a step-up, raising the session, or a guarded change.
    pub async fn passkey_session_options(&self, caller: &Caller) -> Result<Value> {
        self.passkey_options(&caller.user, SESSION, &caller.session.id)
            .await
    }

    /// A ceremony asking `user`'s usable passkeys for an assertion, for `purpose` in the
    /// session or flow `bound_to`.
    async fn passkey_options(
        &self,
        user: &UserRow,
        purpose: &str,
        bound_to: &str,
    ) -> Result<Value> {
        let rp = self.relying_party()?;
        self.refuse_while_locked(user).await?;
        let keys = self.usable_passkeys(user).await?;
        if keys.is_empty() {
            return Err(DomainError::MethodNotAvailable(
                "this user has no passkey that can be used".into(),
            ));
        }
        let (mut options, state) = rp
            .start_securitykey_authentication(&keys)
            .map_err(|e| DomainError::Internal(format!("WebAuthn authentication: {e}")))?;
        options.public_key.hints = None;
        self.put_ceremony(user, purpose, bound_to, None, &state)
            .await?;
        to_json(&options)
    }

    /// `user`'s passkeys that are not marked as possibly cloned (a passkey's factor is
    /// active from its registration on, and the query joins it, so a removed one is
    /// gone), each with the counter last accepted (the database's, which the stored
    /// credential does not follow).
    async fn usable_passkeys(&self, user: &UserRow) -> Result<Vec<SecurityKey>> {
        self.store
            .passkeys_of_user(&user.id)
            .await?
            .into_iter()
            .filter(|p| p.cloned_at.is_none())
            .map(|p| {
                let mut stored: Value = from_json(&p.credential)?;
                stored["cred"]["counter"] = json!(p.sign_count);
                serde_json::from_value(stored)
                    .map_err(|e| DomainError::Internal(format!("passkey {}: {e}", p.factor_id)))
            })
            .collect()
    }

    async fn put_ceremony<S: serde::Serialize>(
        &self,
        user: &UserRow,
        purpose: &str,
        bound_to: &str,
        name: Option<String>,
        state: &S,
    ) -> Result<()> {
        let now = self.now().as_millis();
        self.store
            .put_ceremony(&CeremonyRow {
                id: Self::new_id(),
                user_id: user.id.clone(),
                purpose: purpose.into(),
                bound_to: bound_to.into(),
                name,
                state: to_json(state)?.to_string(),
                created_at: now,
                expires_at: now + CEREMONY_TTL_MS,
            })
            .await?;
        Ok(())
    }

    /// Checks `answer` against the ceremony of `purpose` waiting in `bound_to` for `user`,
    /// taking the ceremony (whatever the outcome: an answer is checked once).
    pub(crate) async fn check_passkey_answer(
        &self,
        user: &UserRow,
        purpose: &str,
        bound_to: &str,
        answer: &PublicKeyCredential,
    ) -> Result<std::result::Result<PasskeyAnswer, PasskeyRefusal>> {
        let rp = self.relying_party()?;
        let Some(ceremony) = self
            .store
            .take_ceremony(purpose, bound_to, self.now().as_millis())
            .await?
            .filter(|c| c.user_id == user.id)
        else {
            return Ok(Err(PasskeyRefusal::NoCeremony));
        };
        let state: SecurityKeyAuthentication = from_json(&ceremony.state)?;
        let passkeys = self.store.passkeys_of_user(&user.id).await?;
        let of_credential = |id: &[u8]| {
            passkeys
                .iter()
                .find(|p| p.credential_id == id)
                .map(|p| p.factor_id.clone())
        };
        match rp.finish_securitykey_authentication(answer, &state) {
            Ok(result) => {
                let Some(factor_id) = of_credential(result.cred_id().as_ref()) else {
                    // Removed since the ceremony began.
                    return Ok(Err(PasskeyRefusal::Failed(
                        "the passkey is no longer registered".into(),
                    )));
                };
                Ok(Ok(PasskeyAnswer {
                    factor_id,
                    sign_count: i64::from(result.counter()),
                    user_verified: result.user_verified(),
                }))
            }
            Err(WebauthnError::CredentialPossibleCompromise) => {
                match of_credential(answer.raw_id.as_ref()) {
                    Some(factor_id) => Ok(Err(PasskeyRefusal::Cloned { factor_id })),
                    None => Ok(Err(PasskeyRefusal::Failed(
                        "the passkey is no longer registered".into(),
                    ))),
                }
            }
            Err(e) => Ok(Err(PasskeyRefusal::Failed(refusal_text(&e)))),
        }
    }

    /// Passkey `factor_id` of `user` answered with a counter that did not go up: marked,
    /// audited and mailed about once.
    pub(crate) async fn passkey_possibly_cloned(&self, user: &UserRow, factor_id: &str) {
        let now = self.now();
        match self
            .store
            .mark_passkey_cloned(factor_id, now.as_millis())
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(error = %e, factor_id, "marking a passkey as possibly cloned");
                return;
            }
        }
        let name = self
            .store
            .factor_of_user(&user.id, factor_id)
            .await
            .ok()
            .flatten()
            .map_or_else(|| "Passkey".to_owned(), |f| f.name);
        self.record_by(
            user,
            "factor.possibly_cloned",
            json!({"factor_id": factor_id, "name": name}),
        )
        .await;
        self.mailer
            .send(&messages::passkey_possibly_cloned(&user.email, &name), now);
    }
}

/// A passkey's factor row: active from the start (its registration authenticated it).
fn passkey_factor(id: &str, user: &UserRow, name: &str, now: i64) -> FactorRow {
    FactorRow {
        id: id.to_owned(),
        user_id: user.id.clone(),
        kind: FactorKind::Webauthn,
        name: name.to_owned(),
        status: FactorState::Active,
        secret_key_id: None,
        secret_sealed: None,
        algorithm: None,
        digits: 0,
        period: 0,
        last_used_step: None,
        created_at: now,
        activated_at: Some(now),
        last_used_at: None,
        preferred: false,
        drift_steps: 0,
        next_secret_key_id: None,
        next_secret_sealed: None,
        address: None,
        resync_step: None,
        resync_at: None,
    }
}

/// The WebAuthn user handle of `user`: stable, and says nothing about them (a hash of
/// their id, not their name or address).
fn user_handle(user: &UserRow) -> Uuid {
    let digest = Sha256::digest(format!("twofold user handle {}", user.id).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// What kind of authenticator the transports it reported suggest.
fn authenticator_kind(transports: Option<&[AuthenticatorTransport]>) -> &'static str {
    let has = |t: AuthenticatorTransport| transports.is_some_and(|all| all.contains(&t));
    if has(AuthenticatorTransport::Internal) {
        "platform"
    } else if has(AuthenticatorTransport::Usb)
        || has(AuthenticatorTransport::Nfc)
        || has(AuthenticatorTransport::Ble)
    {
        "security_key"
    } else if has(AuthenticatorTransport::Hybrid) {
        "hybrid"
    } else {
        "unknown"
    }
}

fn too_many(have: usize) -> DomainError {
    DomainError::Conflict(format!(
        "you have {have} passkeys, the most allowed; remove one first"
    ))
}

/// The library's refusal, as the caller may read it (no key material in it).
fn refusal_text(e: &WebauthnError) -> String {
    match e {
        WebauthnError::InvalidRPOrigin => {
            "the answer came from another origin than Twofold's public URL".into()
        }
        WebauthnError::InvalidRPIDHash => {
            "the answer was made for another relying party than Twofold's".into()
        }
        WebauthnError::MismatchedChallenge => {
            "the answer is to another request; ask for new options".into()
        }
        WebauthnError::CredentialNotFound => "the passkey used is not one of this account's".into(),
        WebauthnError::UserNotVerified | WebauthnError::UserNotPresent => {
            "the authenticator did not confirm the user's presence".into()
        }
        other => format!("the passkey's answer failed a check ({other})"),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| DomainError::Internal(format!("WebAuthn state: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| DomainError::Internal(format!("WebAuthn state: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authenticator_kind_follows_its_transports() {
        use AuthenticatorTransport as T;
        assert_eq!(
            authenticator_kind(Some(&[T::Internal, T::Hybrid])),
            "platform"
        );
        assert_eq!(authenticator_kind(Some(&[T::Usb, T::Nfc])), "security_key");
        assert_eq!(authenticator_kind(Some(&[T::Hybrid])), "hybrid");
        assert_eq!(authenticator_kind(None), "unknown");
    }
}
