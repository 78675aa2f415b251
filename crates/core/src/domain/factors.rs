//! Second factors: enrolling an authenticator app (pending until a code from it is
//! accepted), listing, removing, and checking a code against a user's factors with the
//! lockout and the replay rule. Email factors have their own module (`email`); what is
//! common to both (activating, preferring, removing) is here.
//!
//! Adding a factor is guarded: with a fresh second factor once the user has one; while
//! they have none, the first authenticator app waits for a code mailed to their address
//! (seed 000, step 2: a stolen password alone cannot enrol the thief's phone), and the
//! activation succeeds only while they still have none (one atomic step with the check).

use serde_json::json;
use twofold_otp::{Algorithm, KeyUri, Secret, Totp, TotpParams, Window};

use crate::clock::Timestamp;
use crate::crypto::secret_box::{KeyRing, Sealed};
use crate::mail::messages::{self, CodeUse};
use crate::store::{
    Activate, Activation, Evaluation, FactorRow, NewPending, PasskeyRow, TotpFactor, UserRow,
};

use super::input::{OtpCode, factor_name};
use super::sessions::Caller;
use super::verify::{Proof, Purpose};
use super::{DomainError, Result, Twofold};

/// The purpose of the mailed code that confirms adding a first authenticator app.
const FIRST_APP: &str = "factor.first_app";

/// A new pending TOTP factor: the only time the secret leaves the server.
#[derive(Debug)]
pub struct Enrollment {
    pub id: String,
    pub secret_base32: String,
    pub uri: String,
}

/// The answer to adding an authenticator app.
#[derive(Debug)]
pub enum AddApp {
    Enrolled(Enrollment),
    /// A code was mailed to the user's address, valid until then: send the same request
    /// again with it.
    ConfirmationRequired {
        expires_at: Timestamp,
    },
}

/// The factor asked for first at sign-in: the active one marked preferred, else the oldest
/// active one (`factors` is oldest first).
pub(crate) fn effective_preferred(factors: &[FactorRow]) -> Option<&FactorRow> {
    factors
        .iter()
        .find(|f| f.status == FactorState::Active && f.preferred)
        .or_else(|| factors.iter().find(|f| f.status == FactorState::Active))
}

pub use crate::store::{FactorKind, FactorState};

/// A factor's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FactorId(String);

impl FactorId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FactorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A second factor as the domain shows it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factor {
    pub id: FactorId,
    pub name: String,
    pub state: FactorState,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The one asked for first at sign-in (the marked one, else the oldest active one).
    pub preferred: bool,
    pub details: FactorDetails,
}

/// What a factor is, with what only its kind has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactorDetails {
    /// An authenticator app.
    Totp,
    /// Codes mailed to this address, the one it was verified for.
    Email { address: String },
    /// A passkey.
    Passkey {
        /// `security_key`, `platform`, `hybrid` or `unknown`.
        authenticator: String,
        /// It may be synchronised between devices.
        backup_eligible: bool,
        /// Its counter went backwards once: refused until removed.
        possibly_cloned: bool,
    },
}

impl Factor {
    pub fn kind(&self) -> FactorKind {
        match self.details {
            FactorDetails::Totp => FactorKind::Totp,
            FactorDetails::Email { .. } => FactorKind::Email,
            FactorDetails::Passkey { .. } => FactorKind::Webauthn,
        }
    }

    /// `f`; `preferred` is the id of the user's effective preferred factor, `passkeys`
    /// the user's passkeys' credentials.
    fn of(f: &FactorRow, preferred: Option<&str>, passkeys: &[PasskeyRow]) -> Factor {
        Factor {
            id: FactorId(f.id.clone()),
            name: f.name.clone(),
            state: f.status,
            created_at: Timestamp::from_millis(f.created_at),
            last_used_at: f.last_used_at.map(Timestamp::from_millis),
            preferred: preferred == Some(f.id.as_str()),
            details: match f.kind {
                FactorKind::Totp => FactorDetails::Totp,
                FactorKind::Email => FactorDetails::Email {
                    address: f.address.clone().unwrap_or_default(),
                },
                FactorKind::Webauthn => {
                    let p = passkeys.iter().find(|p| p.factor_id == f.id);
                    FactorDetails::Passkey {
                        authenticator: p
                            .map_or_else(|| "unknown".into(), |p| p.authenticator.clone()),
                        backup_eligible: p.is_some_and(|p| p.backup_eligible),
                        possibly_cloned: p.is_some_and(|p| p.cloned_at.is_some()),
                    }
                }
            },
        }
    }
}

impl Twofold {
    /// Adds a pending TOTP factor with a fresh 160-bit secret, replacing an unfinished one.
    /// A user without an active factor first gets a code mailed to their address (unless
    /// the organisation turned that off) and sends it back as `confirmation_code`.
    pub async fn enroll_totp(
        &self,
        caller: &Caller,
        name: Option<&str>,
        confirmation_code: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<AddApp> {
        let name = factor_name(name)?;
        let first = self.adding_factor_guard(caller, elevated).await?;
        if first {
            let session = caller.session.id.as_str();
            if let Some(expires_at) = self
                .confirm_first_app(&caller.user, confirmation_code, session, CodeUse::AddApp)
                .await?
            {
                return Ok(AddApp::ConfirmationRequired { expires_at });
            }
        }
        Ok(AddApp::Enrolled(
            self.new_pending_totp(&caller.user, name).await?,
        ))
    }

    /// The mailed confirmation of a first factor (an authenticator app, or a passkey, as
    /// `code_use` says), for the session or flow `bound_to`: without `code`, a code is mailed and its expiry answered; with one, it
    /// is checked and used up (`None`: go on). `None` too when the organisation does not
    /// ask for it.
    pub(crate) async fn confirm_first_app(
        &self,
        user: &UserRow,
        code: Option<&str>,
        bound_to: &str,
        code_use: CodeUse,
    ) -> Result<Option<Timestamp>> {
        let wanted = self
            .store
            .org_settings(&user.org_id)
            .await?
            .is_none_or(|s| s.confirm_first_app_by_email);
        if !wanted {
            return Ok(None);
        }
        let Some(code) = code else {
            let (code, expires_at) = self
                .issue_confirmation(user, FIRST_APP, Some(bound_to))
                .await?;
            let minutes = super::confirm::CODE_TTL_SECS / 60;
            self.mailer.send(
                &messages::email_code(&user.email, code_use, &code, minutes),
                self.now(),
            );
            tracing::info!(event = "factor.confirmation_sent", user_id = %user.id);
            return Ok(Some(expires_at));
        };
        self.use_confirmation(user, FIRST_APP, code, Some(bound_to))
            .await?;
        Ok(None)
    }

    /// A new pending TOTP factor for `user`, replacing an unfinished one, unless they have
    /// the most authenticator apps allowed.
    pub(crate) async fn new_pending_totp(
        &self,
        user: &UserRow,
        name: String,
    ) -> Result<Enrollment> {
        let secret = Secret::generate().map_err(|e| DomainError::Internal(e.to_string()))?;
        let params = TotpParams::default();
        let id = Self::new_id();
        let sealed = self.keys.seal(secret.as_bytes(), id.as_bytes())?;
        let uri = self.key_uri(user, &secret, params);
        let row = FactorRow {
            id: id.clone(),
            user_id: user.id.clone(),
            kind: FactorKind::Totp,
            name,
            status: FactorState::Pending,
            secret_key_id: Some(sealed.key_id),
            secret_sealed: Some(sealed.bytes),
            algorithm: Some(params.algorithm.to_string()),
            digits: i64::from(params.digits),
            period: i64::try_from(params.period).unwrap_or(30),
            last_used_step: None,
            created_at: self.now().as_millis(),
            activated_at: None,
            last_used_at: None,
            preferred: false,
            drift_steps: 0,
            next_secret_key_id: None,
            next_secret_sealed: None,
            address: None,
            resync_step: None,
            resync_at: None,
        };
        let max = i64::from(self.max_apps_of(&user.org_id).await?);
        match self.store.replace_pending_totp(&row, max).await? {
            NewPending::Inserted => Ok(Enrollment {
                id,
                secret_base32: secret.to_base32(),
                uri,
            }),
            NewPending::TooMany { active } => Err(DomainError::Conflict(format!(
                "you already have {active} authenticator {}, the most allowed here; remove \
                 one, or regenerate one to move it to a new device",
                if active == 1 { "app" } else { "apps" }
            ))),
        }
    }

    /// The Key URI a factor's QR code shows. A pending factor's is shown freely (it is
    /// being set up). A regenerated secret waiting for its first code is shown with a fresh
    /// second factor (it is what the new device must scan). An active one's only if the
    /// organisation allows it, behind a fresh second factor. The last two are audited and
    /// mailed (the seed's eye icon).
    pub async fn factor_qr_uri(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<String> {
        let f = self.own_factor(caller, id).await?;
        if f.kind != FactorKind::Totp {
            return Err(DomainError::Conflict(
                "only an authenticator app has a QR code".into(),
            ));
        }
        if f.status == FactorState::Pending {
            return self.uri_of(&caller.user, &TotpFactor::from(&f));
        }
        let regenerating = f.next_secret_sealed.is_some();
        if !regenerating {
            let allowed = self
                .store
                .org_settings(&caller.user.org_id)
                .await?
                .is_none_or(|s| s.allow_qr_redisplay);
            if !allowed {
                return Err(DomainError::Forbidden(
                    "your organisation does not show an authenticator's QR code again; \
                     regenerate it to set up a new device"
                        .into(),
                ));
            }
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let uri = if regenerating {
            self.uri_of(&caller.user, &next_secret_of(&f))?
        } else {
            self.uri_of(&caller.user, &TotpFactor::from(&f))?
        };
        self.record_by(
            &caller.user,
            "factor.qr_viewed",
            json!({"factor_id": f.id, "regenerated_secret": regenerating}),
        )
        .await;
        self.mailer.send(
            &messages::factor_qr_viewed(&caller.user.email, &f.name),
            self.now(),
        );
        Ok(uri)
    }

    /// Starts moving active factor `id` to a new secret (a new device, or a lost one):
    /// the new secret waits for a code from it (`activate`), and the old one keeps working
    /// until then.
    pub async fn regenerate_factor(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<Enrollment> {
        let f = self.own_factor(caller, id).await?;
        if f.kind != FactorKind::Totp {
            return Err(DomainError::Conflict(
                "only an authenticator app can be regenerated; an email factor's codes are \
                 mailed one at a time, and a passkey is removed and registered again"
                    .into(),
            ));
        }
        if f.status != FactorState::Active {
            return Err(DomainError::Conflict(
                "only an active factor can be regenerated; a pending one is still being set up"
                    .into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        let secret = Secret::generate().map_err(|e| DomainError::Internal(e.to_string()))?;
        let sealed = self.keys.seal(secret.as_bytes(), f.id.as_bytes())?;
        if !self
            .store
            .set_next_secret(&f.id, &sealed.key_id, &sealed.bytes)
            .await?
        {
            return Err(DomainError::NotFound("factor"));
        }
        self.record_by(
            &caller.user,
            "factor.regeneration_started",
            json!({"factor_id": f.id}),
        )
        .await;
        Ok(Enrollment {
            id: f.id,
            secret_base32: secret.to_base32(),
            uri: self.key_uri(&caller.user, &secret, TotpParams::default()),
        })
    }

    /// The Key URI of `secret` with `params` for `user` (what a QR code shows).
    fn key_uri(&self, user: &UserRow, secret: &Secret, params: TotpParams) -> String {
        KeyUri {
            issuer: Some(self.issuer.to_string()),
            account: user.email.clone(),
            secret: secret.clone(),
            params,
        }
        .to_uri()
    }

    /// The Key URI of `user`'s factor `f`, from its sealed secret.
    fn uri_of(&self, user: &UserRow, f: &TotpFactor) -> Result<String> {
        let totp = totp_of(&self.keys, f)?;
        Ok(self.key_uri(user, totp.secret(), *totp.params()))
    }

    /// The Key URI of `user`'s pending factor `id`.
    pub(crate) async fn pending_uri_of(&self, user: &UserRow, id: &str) -> Result<String> {
        let f = self
            .store
            .factor_of_user(&user.id, id)
            .await?
            .ok_or(DomainError::NotFound("factor"))?;
        if f.status != FactorState::Pending {
            return Err(DomainError::Conflict(
                "the QR code is shown only while the factor is pending".into(),
            ));
        }
        self.uri_of(user, &TotpFactor::from(&f))
    }

    /// Activates `user`'s pending factor `f` with `code`: the code an authenticator app
    /// shows now (its step counts as used), or the code mailed for an email factor. With
    /// `only_if_first`, only while the user has no active factor: false (nothing changed)
    /// if they have one now.
    pub(crate) async fn activate_pending(
        &self,
        user: &UserRow,
        f: &FactorRow,
        code: &OtpCode,
        only_if_first: bool,
        preferred: bool,
    ) -> Result<bool> {
        if f.status != FactorState::Pending {
            return Err(DomainError::Conflict("the factor is already active".into()));
        }
        let step = match f.kind {
            FactorKind::Email => {
                self.check_email_activation_code(user, f, code.as_str())
                    .await?;
                None
            }
            FactorKind::Totp => {
                let totp = totp_of(&self.keys, &f.into())?;
                Some(setup_code_step(&totp, code, self.now(), self.window())?)
            }
            FactorKind::Webauthn => {
                return Err(DomainError::Conflict(
                    "a passkey is active once registered; it takes no code".into(),
                ));
            }
        };
        let activation = self
            .store
            .activate_factor(&Activate {
                id: f.id.clone(),
                user_id: user.id.clone(),
                step,
                now: self.now().as_millis(),
                only_if_first,
                preferred,
            })
            .await?;
        match activation {
            Activation::Activated => Ok(true),
            Activation::NotFirst => Ok(false),
            Activation::NotPending => {
                Err(DomainError::Conflict("the factor is already active".into()))
            }
        }
    }

    /// Activates a pending factor with a code from it: an authenticator app's current
    /// code (its step counts as used), or the code mailed for an email factor; with
    /// `preferred`, it becomes the preferred factor too. A regenerated factor moves to its
    /// new secret the same way.
    pub async fn activate_factor(
        &self,
        caller: &Caller,
        id: &str,
        code: &str,
        preferred: bool,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        let code = OtpCode::parse(code)?;
        let f = self.own_factor(caller, id).await?;
        if f.status == FactorState::Active && f.next_secret_sealed.is_some() {
            return self.finish_regeneration(caller, f, &code, elevated).await;
        }
        if f.status != FactorState::Pending {
            return Err(DomainError::Conflict("the factor is already active".into()));
        }
        let first = self.adding_factor_guard(caller, elevated).await?;
        if !self
            .activate_pending(&caller.user, &f, &code, first, preferred)
            .await?
        {
            // Another factor became active meanwhile: adding this one now takes a fresh
            // second factor, like any other.
            return Err(DomainError::StepUpRequired);
        }
        // This session stays as it was (it passed no second factor to sign in); the
        // user's other password-only sessions end if this is their first factor.
        self.first_factor_activated(&caller.user, &caller.session.id)
            .await?;
        self.record_by(
            &caller.user,
            "factor.enrolled",
            json!({"factor_id": f.id, "name": f.name, "preferred": preferred}),
        )
        .await;
        self.mailer.send(
            &messages::factor_added(&caller.user.email, &f.name),
            self.now(),
        );
        self.factor_answer(&caller.user.id, id).await
    }

    /// Moves a regenerated factor to its new secret with a code from it.
    async fn finish_regeneration(
        &self,
        caller: &Caller,
        f: FactorRow,
        code: &OtpCode,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        self.require_fresh_second_factor(caller, elevated).await?;
        let now = self.now();
        let totp = totp_of(&self.keys, &next_secret_of(&f))?;
        let step = setup_code_step(&totp, code, now, self.window())?;
        if !self
            .store
            .promote_next_secret(&f.id, step, now.as_millis())
            .await?
        {
            return Err(DomainError::Conflict(
                "the factor has no regenerated secret waiting".into(),
            ));
        }
        self.record_by(
            &caller.user,
            "factor.regenerated",
            json!({"factor_id": f.id}),
        )
        .await;
        self.mailer.send(
            &messages::factor_regenerated(&caller.user.email, &f.name),
            self.now(),
        );
        self.factor_answer(&caller.user.id, &f.id).await
    }

    /// Makes an active factor the caller's preferred one: a change to their factors like
    /// any other, so it needs a fresh second factor and the user is mailed.
    pub async fn prefer_factor(
        &self,
        caller: &Caller,
        id: &str,
        elevated: Option<&str>,
    ) -> Result<Factor> {
        let f = self.own_factor(caller, id).await?;
        if f.status != FactorState::Active {
            return Err(DomainError::Conflict(
                "only an active factor can be preferred".into(),
            ));
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        if !self.store.set_preferred_factor(&caller.user.id, id).await? {
            return Err(DomainError::Conflict(
                "only an active factor can be preferred".into(),
            ));
        }
        self.record_by(&caller.user, "factor.preferred", json!({"factor_id": f.id}))
            .await;
        self.mailer.send(
            &messages::factor_preferred(&caller.user.email, &f.name),
            self.now(),
        );
        self.factor_answer(&caller.user.id, id).await
    }

    /// The user's factors, oldest first, the one asked for first at sign-in marked
    /// `preferred`.
    pub async fn list_factors(&self, caller: &Caller) -> Result<Vec<Factor>> {
        self.factors_of(&caller.user.id).await
    }

    /// User `user_id`'s factors, the preferred one marked.
    pub(crate) async fn factors_of(&self, user_id: &str) -> Result<Vec<Factor>> {
        let factors = self.store.factors_of_user(user_id).await?;
        let preferred = effective_preferred(&factors).map(|f| f.id.as_str());
        let passkeys = self.passkeys_among(user_id, &factors).await?;
        Ok(factors
            .iter()
            .map(|f| Factor::of(f, preferred, &passkeys))
            .collect())
    }

    /// Factor `id` of `user_id`.
    pub(crate) async fn factor_answer(&self, user_id: &str, id: &str) -> Result<Factor> {
        self.factors_of(user_id)
            .await?
            .into_iter()
            .find(|f| f.id.as_str() == id)
            .ok_or(DomainError::NotFound("factor"))
    }

    /// The credentials of `user_id`'s passkeys, if `factors` has any (one read saved for
    /// everyone else).
    async fn passkeys_among(
        &self,
        user_id: &str,
        factors: &[FactorRow],
    ) -> Result<Vec<PasskeyRow>> {
        if factors.iter().any(|f| f.kind == FactorKind::Webauthn) {
            Ok(self.store.passkeys_of_user(user_id).await?)
        } else {
            Ok(Vec::new())
        }
    }

    /// Renames one of the caller's factors (any kind): only a label in their own list, so
    /// it needs no fresh second factor, but it is audited.
    pub async fn rename_factor(&self, caller: &Caller, id: &str, name: &str) -> Result<Factor> {
        let name = super::input::label(name, "factor name")?;
        let f = self.own_factor(caller, id).await?;
        if !self
            .store
            .rename_factor(&caller.user.id, &f.id, &name)
            .await?
        {
            return Err(DomainError::NotFound("factor"));
        }
        self.record_by(
            &caller.user,
            "factor.renamed",
            json!({"factor_id": f.id, "from": f.name, "to": name}),
        )
        .await;
        self.factor_answer(&caller.user.id, id).await
    }

    /// Removes a factor. An active one needs a current code from itself (for an email
    /// factor, a step-up code mailed to it), checked like a sign-in (lockout, replay), or
    /// an elevated token, so a stolen session alone cannot strip a user's MFA. A pending
    /// one (an unfinished enrolment) can go without.
    pub async fn delete_factor(
        &self,
        caller: &Caller,
        id: &str,
        code: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<()> {
        // A pending factor needs no code, but a code that is sent must look like one.
        let code = code.map(OtpCode::parse).transpose()?;
        let f = self.own_factor(caller, id).await?;
        if f.status == FactorState::Pending && self.store.delete_pending_factor(&f.id).await? {
            return Ok(());
        }
        // The last one, where the organisation requires a factor: refused before any code
        // is checked (and counted).
        if self.store.count_active_factors(&caller.user.id).await? <= 1
            && self.mfa_required_for(&caller.user).await?
        {
            return Err(DomainError::LastFactor);
        }
        // Active (possibly activated a moment ago): a current code from itself, or an
        // elevated token.
        match (code, elevated) {
            // A passkey answers no code: the session's own fresh second factor (any
            // factor's, a passkey's included) or an elevated token.
            (_, elevated) if f.kind == FactorKind::Webauthn => {
                self.require_fresh_second_factor(caller, elevated).await?;
            }
            (Some(code), _) => {
                let code = code.as_str();
                let proof = match f.kind {
                    FactorKind::Email => Proof::Email { code },
                    FactorKind::Totp | FactorKind::Webauthn => Proof::App {
                        code,
                        only: Some(&f.id),
                    },
                };
                self.verify_second_factor(Purpose::Session(caller), proof)
                    .await?;
            }
            (None, Some(_)) => self.require_fresh_second_factor(caller, elevated).await?,
            (None, None) => {
                return Err(DomainError::InvalidInput(
                    "a current code from this factor (or an X-Elevated-Token) is required to \
                     remove it"
                        .into(),
                ));
            }
        }
        if self.store.delete_factor(&f.id).await? {
            // Sessions that passed this factor no longer have a second factor behind them,
            // and devices remembered with any factor are forgotten.
            self.store
                .lower_sessions_of_factor(&caller.user.id, &f.id)
                .await?;
            self.store.delete_devices_of_user(&caller.user.id).await?;
            self.record_by(
                &caller.user,
                "factor.removed",
                json!({"factor_id": f.id, "name": f.name}),
            )
            .await;
            self.mailer.send(
                &messages::factor_removed(&caller.user.email, &f.name),
                self.now(),
            );
        }
        Ok(())
    }

    /// The guard of adding a factor. A user who already has an active factor adds another
    /// only from a session that passed a second factor in the last 10 minutes, or with an
    /// elevated token: a password-only session (say, one opened before MFA was turned on,
    /// or stolen), or one left open for hours, must not be able to add an attacker's
    /// authenticator. A user who has none may add one from their session: answers true,
    /// and the activation must then be made `only_if_first`, so that it holds only while
    /// they still have none.
    pub(super) async fn adding_factor_guard(
        &self,
        caller: &Caller,
        elevated: Option<&str>,
    ) -> Result<bool> {
        if self.store.count_active_factors(&caller.user.id).await? == 0 {
            return Ok(true);
        }
        self.require_fresh_second_factor(caller, elevated).await?;
        Ok(false)
    }

    /// After `user` activated a factor: if it is their first, their other password-only
    /// sessions (all but `keep`; `""` keeps none) end, since they were opened without
    /// the factor the account now has.
    pub(crate) async fn first_factor_activated(&self, user: &UserRow, keep: &str) -> Result<()> {
        if self.store.count_active_factors(&user.id).await? != 1 {
            return Ok(());
        }
        let ended = self
            .store
            .delete_other_aal1_sessions(&user.id, keep)
            .await?;
        if ended > 0 {
            self.record_by(
                user,
                "sessions.invalidated",
                json!({"sessions_ended": ended, "reason": "factor.enrolled"}),
            )
            .await;
        }
        Ok(())
    }

    async fn own_factor(&self, caller: &Caller, id: &str) -> Result<FactorRow> {
        self.store
            .factor_of_user(&caller.user.id, id)
            .await?
            .ok_or(DomainError::NotFound("factor"))
    }

    fn window(&self) -> Window {
        Window::symmetric(self.security.totp_window)
    }
}

/// The most drift learnt for a factor (RFC 6238 §6), in steps: 5 minutes.
const MAX_DRIFT_STEPS: i64 = 10;
/// How far out a refused code is looked for: a device's clock this far off can be
/// resynchronised (5 minutes either way).
const PROBE_STEPS: u32 = 10;
/// How far ahead of the current step a code can be accepted with a window of `window`
/// steps: around the most drift a factor can learn, or the second code of a
/// resynchronisation (one step past the furthest probe). A restore fences off every step up
/// to there (`backup.rs`).
pub(super) fn furthest_step_ahead(window: u32) -> i64 {
    (MAX_DRIFT_STEPS + i64::from(window)).max(i64::from(PROBE_STEPS) + 1)
}

/// How long the first code of a resynchronisation waits for the second.
const RESYNC_TTL_MS: i64 = 5 * 60 * 1000;
/// The period of every factor Twofold enrols (imported ones may differ; the hint is
/// approximate anyway).
const TOTP_PERIOD_SECS: i64 = 30;

/// What `code` is for factor `f` (whose secret `totp` holds) at `now`: a match in the
/// usual window or the one around the factor's learnt drift; a match completing a
/// resynchronisation (a later step at the offset its first code showed); a far match (the
/// first half of one); or nothing.
pub(super) fn evaluate_totp(
    totp: &Totp,
    f: &TotpFactor,
    code: &str,
    now: Timestamp,
    usual: Window,
) -> Result<Evaluation> {
    let secs = now.unix_secs();
    // The usual window around now, and the same one around the device's learnt offset: a
    // device whose clock drifts keeps working, and so does one whose clock was fixed
    // since. At most twice the usual codes are accepted, however far the offset.
    let drift = f.drift_steps.clamp(-MAX_DRIFT_STEPS, MAX_DRIFT_STEPS);
    let around_drift = Window {
        center: drift,
        ..usual
    };
    let windows = if drift == 0 {
        vec![usual]
    } else {
        vec![usual, around_drift]
    };
    for window in windows {
        if let Some(m) = totp.verify(code, secs, window) {
            return match_of(m);
        }
    }
    if let Some((first, offset)) = resync_started(f, now, totp.params().period) {
        let at_offset = Window {
            center: offset,
            behind: 1,
            ahead: 1,
        };
        if let Some(m) = totp.verify(code, secs, at_offset)
            && i64::try_from(m.step).is_ok_and(|s| s > first)
        {
            return match_of(m);
        }
    }
    Ok(
        match totp.verify(code, secs, Window::symmetric(PROBE_STEPS)) {
            Some(m) => Evaluation::Skewed {
                step: i64::try_from(m.step).map_err(|_| DomainError::InvalidCode)?,
            },
            None => Evaluation::NoMatch,
        },
    )
}

/// A live first half of a resynchronisation of `f`: the step its code matched, and that
/// step's offset from the step it came at.
fn resync_started(f: &TotpFactor, now: Timestamp, period: u64) -> Option<(i64, i64)> {
    let (step, at) = (f.resync_step?, f.resync_at?);
    if now.as_millis() - at > RESYNC_TTL_MS {
        return None;
    }
    let then = (at / 1000) / i64::try_from(period).ok().filter(|p| *p > 0)?;
    Some((step, step - then))
}

fn match_of(m: twofold_otp::Match) -> Result<Evaluation> {
    Ok(Evaluation::Match {
        step: i64::try_from(m.step).map_err(|_| DomainError::InvalidCode)?,
        drift: m.offset.clamp(-MAX_DRIFT_STEPS, MAX_DRIFT_STEPS),
    })
}

/// The step of `code` from a secret the caller was just shown (a new app, or a
/// regenerated secret): within the window, or `invalid_code` with how far off the
/// device's clock looks when it matches further out. That hint is no help to a guesser:
/// whoever sends this code holds the secret.
fn setup_code_step(totp: &Totp, code: &OtpCode, now: Timestamp, window: Window) -> Result<i64> {
    let secs = now.unix_secs();
    if let Some(m) = totp.verify(code.as_str(), secs, window) {
        return i64::try_from(m.step).map_err(|_| DomainError::InvalidCode);
    }
    Err(
        match totp.verify(code.as_str(), secs, Window::symmetric(PROBE_STEPS)) {
            Some(m) => DomainError::ClockSkew {
                seconds: m.offset.saturating_mul(TOTP_PERIOD_SECS),
            },
            None => DomainError::InvalidCode,
        },
    )
}

/// `f` with its regenerated secret in place of its current one.
fn next_secret_of(f: &FactorRow) -> TotpFactor {
    TotpFactor {
        secret_key_id: f.next_secret_key_id.clone(),
        secret_sealed: f.next_secret_sealed.clone(),
        ..f.into()
    }
}

/// Opens a TOTP factor's sealed secret.
pub(super) fn totp_of(keys: &KeyRing, f: &TotpFactor) -> Result<Totp> {
    let (Some(key_id), Some(bytes), Some(algorithm)) =
        (&f.secret_key_id, &f.secret_sealed, &f.algorithm)
    else {
        return Err(DomainError::Conflict(format!(
            "factor {} is not an authenticator app",
            f.id
        )));
    };
    let sealed = Sealed {
        key_id: key_id.clone(),
        bytes: bytes.clone(),
    };
    let bytes = keys.open(&sealed, f.id.as_bytes())?;
    let secret =
        Secret::from_bytes(bytes.to_vec()).map_err(|e| DomainError::Internal(e.to_string()))?;
    let algorithm: Algorithm = algorithm
        .parse()
        .map_err(|_| DomainError::Internal(format!("factor {} has unknown algorithm", f.id)))?;
    let params = TotpParams {
        algorithm,
        digits: u8::try_from(f.digits).unwrap_or(6),
        period: u64::try_from(f.period).unwrap_or(30),
    };
    Totp::new(secret, params).map_err(|e| DomainError::Internal(e.to_string()))
}
