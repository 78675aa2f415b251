//! The rules of Twofold in plain Rust: organisations, users, second factors, the sign-in
//! flow, sessions. Calls the store; knows nothing of HTTP. Every "now" comes from the
//! injected [`Clock`].

pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod confirm;
pub mod devices;
pub mod email;
pub mod enrollment;
pub mod factors;
pub mod federation;
pub mod health;
pub mod import;
pub mod input;
pub mod invitations;
pub mod lockout;
pub mod operator;
pub mod org_admin;
pub mod orgs;
pub mod passkeys;
pub mod password_throttle;
pub mod policy;
pub mod recovery;
pub mod secret_keys;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod step_up;
pub mod users;
pub(crate) mod verify;

pub use verify::Method;

use std::sync::Arc;

use crate::clock::{Clock, Timestamp};
use crate::config::{Config, Security};
use crate::crypto::secret_box::{KeyRing, Sealed, SecretKey};
use crate::crypto::{CryptoError, password::Passwords};
use crate::mail::Mailer;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("wrong organisation, username or password")]
    InvalidCredentials,
    #[error("no valid session")]
    Unauthenticated,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the code is not valid")]
    InvalidCode,
    /// Wrong now, but it would be right `seconds` away (negative: in the past).
    #[error(
        "the code is not valid now, but it would have been about {} seconds {}: the device's clock looks off by about that much; set it to the network time",
        seconds.unsigned_abs(),
        if *seconds < 0 { "ago" } else { "from now" }
    )]
    ClockSkew { seconds: i64 },
    #[error("this code was already used; wait for the next one")]
    CodeReused,
    #[error("the confirmation code is wrong or was already used")]
    WrongConfirmation,
    #[error("the mailed code has expired or used up its attempts; ask for a new one")]
    ConfirmationExpired,
    /// A new mailed code was asked for too soon after the last.
    #[error("a code was mailed less than 30 s ago; wait {retry_after} s before asking for another")]
    TooSoon { retry_after: u64 },
    #[error("too many failed attempts; try again in {retry_after} s")]
    Locked { retry_after: u64 },
    #[error("the sign-in has expired or was already completed; sign in again")]
    FlowExpired,
    #[error("{0}")]
    MethodNotAvailable(String),
    #[error(
        "this needs a session that passed a second factor in the last 10 minutes: pass one \
         (POST /me/session/mfa) or send an elevated token (X-Elevated-Token)"
    )]
    StepUpRequired,
    #[error(
        "this needs a second factor and you have none: add one (POST /me/factors/totp or \
         /me/factors/email), pass it (POST /me/session/mfa), then try again"
    )]
    EnrollmentRequired,
    #[error("the elevated token does not carry the scope {scope:?}; step up again asking for it")]
    InsufficientScope { scope: String },
    /// Too many wrong passwords for this account lately: a new guess waits.
    #[error("too many wrong passwords for this account; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// The password hashing queue is full.
    #[error("the server is busy; try again in {retry_after} s")]
    Overloaded { retry_after: u64 },
    #[error(
        "your organisation requires a second factor and this is your last one; to replace a \
         lost or changed authenticator, regenerate it (POST /me/factors/{{id}}/regenerate)"
    )]
    LastFactor,
    /// A failed password sign-in in an organisation that has an identity provider: a
    /// federated user's, an unknown name's or a wrong password's (one answer for all).
    #[error(
        "wrong username or password, or this account signs in through the organisation's \
         identity provider ({}) instead",
        providers.join(", ")
    )]
    UseIdentityProvider { providers: Vec<String> },
    /// A federated sign-in that failed a check (the state's browser, the code, the ID token).
    #[error("the sign-in through the identity provider failed: {0}")]
    FederationFailed(String),
    /// A federated sign-in that passed its checks, by someone the rules keep out.
    #[error("{0}")]
    FederatedUserRefused(String),
    /// The identity provider could not be reached or used.
    #[error("the identity provider could not be reached; try again later")]
    ProviderUnavailable(String),
    /// A passkey's answer came with no request waiting for it: never asked, older than 5
    /// minutes, or answered already (a replay).
    #[error(
        "no passkey request is waiting for this answer (it expired or was answered already); \
         ask for new options"
    )]
    PasskeyChallengeGone,
    /// A passkey's answer failed a check.
    #[error("the passkey was not accepted: {0}")]
    PasskeyRefused(String),
    /// A passkey's signature counter went backwards: it may have been copied.
    #[error(
        "this passkey's signature counter went backwards, so it may have been copied; it is \
         refused from now on: remove it and register the device again"
    )]
    PasskeyCloned,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(CryptoError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

impl From<CryptoError> for DomainError {
    fn from(e: CryptoError) -> Self {
        match e {
            // A flood of sign-ins: refused now rather than queued without end.
            CryptoError::Busy => DomainError::Overloaded { retry_after: 1 },
            e => DomainError::Crypto(e),
        }
    }
}

/// The service: everything a request needs, cheap to clone (one reference count: every
/// request's handler takes a clone).
#[derive(Clone)]
pub struct Twofold(Arc<Service>);

/// What [`Twofold`] shares; its rules reach the fields through `Deref`.
#[derive(Clone)]
pub struct Service {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) passwords: Passwords,
    pub(crate) security: Arc<Security>,
    pub(crate) issuer: Arc<str>,
    pub(crate) mailer: Mailer,
    /// The identity providers' documents and keys (federated sign-in).
    pub(crate) oidc: Arc<crate::oidc::Providers>,
    /// The origin people reach this server at (`--public-url`), without a trailing slash.
    pub(crate) public_url: Arc<str>,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

impl std::ops::Deref for Twofold {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.0
    }
}

/// The plaintext sealed under every key as its check value.
const KEY_CHECK: &[u8] = b"twofold secret key check v1";

/// Whether `check`, recorded for key `id`, opens under the ring's key of that id to
/// [`KEY_CHECK`].
fn opens_check(keys: &KeyRing, id: &str, check: &[u8]) -> bool {
    let sealed = Sealed {
        key_id: id.to_owned(),
        bytes: check.to_vec(),
    };
    keys.open(&sealed, b"key-check")
        .ok()
        .as_deref()
        .map(Vec::as_slice)
        == Some(KEY_CHECK)
}

impl Twofold {
    /// The service for a server, over `store`: loads the secret key (from the data
    /// directory, which the caller has created, if the configuration holds none) and the
    /// previous keys of a rotation, and checks them against the keys this database was set
    /// up with, so a misconfigured process refuses to start instead of refusing every
    /// sign-in: every registered key must be given, every given key that is registered
    /// must be the one of its id, and the current key must not be one that was retired.
    pub async fn open(config: &Config, store: Store, clock: Arc<dyn Clock>) -> Result<Twofold> {
        let key = match &config.secret_key {
            Some(text) => SecretKey::parse(secrecy::ExposeSecret::expose_secret(text))?,
            None => SecretKey::load_or_create(&config.data_dir)?,
        };
        let previous = match &config.secret_key_previous {
            Some(text) => SecretKey::parse_list(secrecy::ExposeSecret::expose_secret(text))?,
            None => SecretKey::load_previous(&config.data_dir)?,
        };
        let mut keys = KeyRing::with_previous(key, previous)?;
        // Checked before registering our own key: a process with a stray key must not
        // leave it behind for the next start to trip over.
        let registered = store.secret_keys().await?;
        for row in &registered {
            if !keys.has_key(&row.id) {
                return Err(DomainError::Internal(format!(
                    "the database holds secrets sealed with key {}, which this server does not \
                     have; give every server the same TWOFOLD_SECRET_KEY (during a rotation, \
                     that key as TWOFOLD_SECRET_KEY_PREVIOUS)",
                    row.id
                )));
            }
            if row.id != keys.current_id() && !opens_check(&keys, &row.id, &row.check_value) {
                return Err(DomainError::Internal(format!(
                    "the previous secret key {} does not match the key of that id this \
                     database was set up with",
                    row.id
                )));
            }
        }
        for id in keys.previous_ids() {
            if let Some(at) = store.secret_key_retired_at(&id).await? {
                // Not refused: the rolling restarts that take it out of the configuration
                // (the rotation's last step) must not stop a server that restarts first.
                tracing::warn!(
                    key = %id,
                    retired_at = %Timestamp::from_millis(at).to_rfc3339(),
                    "the previous secret key {id} was retired from this database and is \
                     ignored; remove it from TWOFOLD_SECRET_KEY_PREVIOUS"
                );
                keys.forget(&id);
            }
        }
        let check = keys.seal(KEY_CHECK, b"key-check")?;
        let Some(recorded) = store
            .register_secret_key(keys.current_id(), &check.bytes, clock.now().as_millis())
            .await?
        else {
            let at = store
                .secret_key_retired_at(keys.current_id())
                .await?
                .map(|at| format!(" on {}", Timestamp::from_millis(at).to_rfc3339()))
                .unwrap_or_default();
            return Err(DomainError::Internal(format!(
                "the secret key {} was retired from this database{at} \
                 (`twofold secret-key retire`) and cannot be used again; give this server \
                 the key that replaced it",
                keys.current_id()
            )));
        };
        if !opens_check(&keys, keys.current_id(), &recorded) {
            return Err(DomainError::Internal(format!(
                "the secret key {} does not match the key of that id this database was set up with",
                keys.current_id()
            )));
        }
        Self::assemble(config, clock, store, keys)
    }

    /// Opens the database for the offline admin commands, which never touch TOTP secrets
    /// and so need no key: a throwaway one stands in, never stored or registered.
    pub async fn open_for_admin(
        config: &Config,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Twofold> {
        let keys = KeyRing::new(SecretKey::parse(&SecretKey::generate_text()?)?);
        Self::assemble(config, clock, store, keys)
    }

    fn assemble(
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Store,
        keys: KeyRing,
    ) -> Result<Twofold> {
        let passwords = Passwords::new(
            config.security.password_hash_concurrency,
            config.security.password_hash_queue,
        )?;
        let metrics =
            crate::metrics::Metrics::new(store.metrics(), passwords.wait_histogram().clone());
        let mailer = Mailer::start(&config.mail, &config.data_dir, metrics.mail.clone())
            .map_err(|e| DomainError::Internal(format!("mail: {e}")))?;
        let oidc = crate::oidc::Providers::new()
            .map_err(|e| DomainError::Internal(format!("identity providers: {e}")))?;
        Ok(Twofold(Arc::new(Service {
            store,
            clock,
            keys: Arc::new(keys),
            passwords,
            security: Arc::new(config.security.clone()),
            issuer: config.issuer.as_str().into(),
            mailer,
            oidc: Arc::new(oidc),
            public_url: config.public_url_for(config.listen).as_str().into(),
            metrics: Arc::new(metrics),
        })))
    }

    /// The service answering at `url` (the public URL once the port is bound: it names
    /// the redirect URI identity providers send people back to).
    pub fn with_public_url(self, url: &crate::config::PublicUrl) -> Twofold {
        let mut service = Arc::unwrap_or_clone(self.0);
        service.public_url = url.as_str().trim_end_matches('/').into();
        Twofold(Arc::new(service))
    }

    /// The origin people reach this server at.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The longest a browser or device is remembered for (a page keeps its cookie as
    /// long; the token inside is checked each time).
    pub fn remember_device_ttl(&self) -> std::time::Duration {
        self.security.remember_device_ttl
    }

    /// The database, for tests that look behind the domain. Nothing else may: without the
    /// `test-support` feature (which only test builds turn on) this does not exist, so the
    /// HTTP crate and the binary cannot reach the store.
    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The storage engine's name, for the start-up log.
    pub fn engine_name(&self) -> &'static str {
        self.store.name()
    }

    /// Deletes sign-in flows, sessions and mailed codes that expired, and password
    /// failures not added to for a day (rows refused on read anyway: this keeps tables
    /// small).
    pub async fn purge_expired(&self) -> Result<u64> {
        Ok(self.store.purge_expired(self.now().as_millis()).await?)
    }

    /// Closes the database once the writes already sent are done.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Where mail goes (tests wait for it to be delivered and read the outbox).
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub(crate) fn new_id() -> String {
        // Time-ordered (UUIDv7): new rows land at the end of each id index, on a page
        // that is already in memory, instead of on a random one (a sign-in writes a
        // session row and its index entries on every code check).
        uuid::Uuid::now_v7().to_string()
    }
}
