//! Second factors: authenticator apps (TOTP), whose secret is stored only sealed (see
//! `crypto::secret_box`), and email, which has no secret but the address it was verified
//! for (its codes are kept in `confirmations`).

use super::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct FactorRow {
    pub id: String,
    pub user_id: String,
    pub kind: FactorKind,
    pub name: String,
    pub status: FactorState,
    /// TOTP only.
    pub secret_key_id: Option<String>,
    /// TOTP only.
    pub secret_sealed: Option<Vec<u8>>,
    /// TOTP only.
    pub algorithm: Option<String>,
    /// TOTP: the code's digits and period; email: the code's digits and lifetime (s).
    pub digits: i64,
    pub period: i64,
    pub last_used_step: Option<i64>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The user's preferred factor, asked for first at sign-in.
    pub preferred: bool,
    /// The device clock's offset, in time steps, at the last accepted code.
    pub drift_steps: i64,
    /// A regenerated secret waiting for a code from it.
    pub next_secret_key_id: Option<String>,
    pub next_secret_sealed: Option<Vec<u8>>,
    /// Email only: the address the factor was verified for, where its codes go.
    pub address: Option<String>,
    /// A refused code that matched this step beyond the accepted window: the first half
    /// of a clock resynchronisation, waiting for a code from the next step.
    pub resync_step: Option<i64>,
    /// When that code came (Unix ms).
    pub resync_at: Option<i64>,
}

/// An authenticator app as a code check reads it: its sealed secret, its codes' shape and
/// its device clock's state. The check reads only these columns (nine of a factor
/// row's 21), of active apps only; the rest of the domain makes one from a [`FactorRow`].
#[derive(Clone, Debug)]
pub struct TotpFactor {
    pub id: String,
    pub secret_key_id: Option<String>,
    pub secret_sealed: Option<Vec<u8>>,
    pub algorithm: Option<String>,
    pub digits: i64,
    pub period: i64,
    pub drift_steps: i64,
    pub resync_step: Option<i64>,
    pub resync_at: Option<i64>,
}

impl From<&FactorRow> for TotpFactor {
    fn from(f: &FactorRow) -> Self {
        TotpFactor {
            id: f.id.clone(),
            secret_key_id: f.secret_key_id.clone(),
            secret_sealed: f.secret_sealed.clone(),
            algorithm: f.algorithm.clone(),
            digits: f.digits,
            period: f.period,
            drift_steps: f.drift_steps,
            resync_step: f.resync_step,
            resync_at: f.resync_at,
        }
    }
}

/// What kind of second factor a factor is. Every `match` on it is exhaustive, so a new
/// kind (a passkey) is added here and the compiler lists every place that must learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactorKind {
    /// An authenticator app (TOTP, RFC 6238).
    Totp,
    /// Codes mailed to a verified address.
    Email,
    /// A passkey (WebAuthn): its credential is in `webauthn_credentials`.
    Webauthn,
}

impl FactorKind {
    /// The name stored in `factors.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Email => "email",
            FactorKind::Webauthn => "webauthn",
        }
    }
}

impl TryFrom<String> for FactorKind {
    type Error = UnknownValue;

    fn try_from(s: String) -> Result<Self, UnknownValue> {
        match s.as_str() {
            "totp" => Ok(FactorKind::Totp),
            "email" => Ok(FactorKind::Email),
            "webauthn" => Ok(FactorKind::Webauthn),
            _ => Err(UnknownValue("factor kind", s)),
        }
    }
}

/// Where a factor is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactorState {
    /// Enrolled, waiting for its first code: it signs nobody in.
    Pending,
    /// Signs in.
    Active,
}

impl FactorState {
    /// The name stored in `factors.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FactorState::Pending => "pending",
            FactorState::Active => "active",
        }
    }
}

impl TryFrom<String> for FactorState {
    type Error = UnknownValue;

    fn try_from(s: String) -> Result<Self, UnknownValue> {
        match s.as_str() {
            "pending" => Ok(FactorState::Pending),
            "active" => Ok(FactorState::Active),
            _ => Err(UnknownValue("factor status", s)),
        }
    }
}

/// A stored value that is none of its type's (a row written by a newer release, say).
#[derive(Debug, thiserror::Error)]
#[error("unknown {0} {1:?}")]
pub struct UnknownValue(pub &'static str, pub String);

/// A [`FactorRow`]'s columns.
pub const SELECT_FACTOR: &str = "SELECT id, user_id, kind, name, status, secret_key_id, secret_sealed, \
     algorithm, digits, period, last_used_step, created_at, activated_at, last_used_at, preferred, \
     drift_steps, next_secret_key_id, next_secret_sealed, address, resync_step, resync_at FROM factors";

/// Binds: user id.
pub fn factors_of_user_sql() -> &'static str {
    // Built once: every sign-in's factor list runs it.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{SELECT_FACTOR} WHERE user_id = $1 ORDER BY created_at, id")
    });
    &SQL
}

/// Binds: id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm,
/// digits, period, created_at, activated_at, address.
pub const INSERT_FACTOR: &str = "INSERT INTO factors \
     (id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm, digits, period, \
     created_at, activated_at, address) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The replay rule as one conditional statement.
/// Records the device clock's drift (steps) of the accepted code as well, and ends any
/// resynchronisation in progress. Binds: step, now, drift, factor id.
pub const CLAIM_TOTP_STEP: &str = "UPDATE factors SET last_used_step = $1, last_used_at = $2, \
     drift_steps = $3, resync_step = NULL, resync_at = NULL WHERE id = $4 AND status = 'active' \
     AND (last_used_step IS NULL OR last_used_step < $1)";
/// Remembers a refused code's far step for a resynchronisation. Binds: step, now, id.
pub const NOTE_RESYNC: &str =
    "UPDATE factors SET resync_step = $1, resync_at = $2 WHERE id = $3 AND status = 'active'";

/// Locks the user's row until the transaction ends (PostgreSQL), so that checks of a
/// user's factors and the change they guard are one step across processes. SQLite's
/// single writer gives the same. Binds: user id.
pub const LOCK_USER: &str = "SELECT id FROM users WHERE id = $1 FOR UPDATE";

/// The activating code's step counts as used, and as the factor's last use. Binds: now,
/// step, id, user id.
pub const ACTIVATE: &str = "UPDATE factors SET status = 'active', activated_at = $1, last_used_at = $1, \
     last_used_step = $2 WHERE id = $3 AND user_id = $4 AND status = 'pending'";
pub const ANY_ACTIVE: &str =
    "SELECT EXISTS (SELECT 1 FROM factors WHERE user_id = $1 AND status = 'active')";
/// Binds: the preferred factor's id, user id.
pub const PREFER: &str = "UPDATE factors SET preferred = (id = $1) WHERE user_id = $2";
pub const COUNT_ACTIVE_APPS: &str =
    "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND kind = 'totp' AND status = 'active'";
pub const DELETE_PENDING_APPS: &str =
    "DELETE FROM factors WHERE user_id = $1 AND kind = 'totp' AND status = 'pending'";
pub const DELETE_PENDING: &str = "DELETE FROM factors WHERE id = $1 AND status = 'pending'";
pub const DELETE: &str = "DELETE FROM factors WHERE id = $1";
/// Binds: name, id, user id.
pub const RENAME: &str = "UPDATE factors SET name = $1 WHERE id = $2 AND user_id = $3";
pub const COUNT_ACTIVE: &str =
    "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'active'";

/// Activating a pending factor.
#[derive(Clone, Debug)]
pub struct Activate {
    pub id: String,
    pub user_id: String,
    /// An authenticator app's activating step (counts as used).
    pub step: Option<i64>,
    pub now: i64,
    /// Only while the user has no active factor: the caller's right to add one rests on
    /// having none (a password-only session, an enrolment flow), so of two activations at
    /// once only the first may succeed.
    pub only_if_first: bool,
    /// Make it the preferred factor too.
    pub preferred: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// Not pending (activated by a concurrent request, or gone).
    NotPending,
    /// `only_if_first`, and the user has an active factor now.
    NotFirst,
}

/// Adding a pending authenticator app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewPending {
    Inserted,
    /// The user has this many active apps already, the most allowed.
    TooMany {
        active: i64,
    },
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait FactorsStore: Send + Sync {
    /// Adds pending authenticator app `f`, replacing the user's unfinished ones, unless
    /// they have `max_active` active apps already: one step, so concurrent enrolments
    /// leave one pending app and never pass the limit.
    async fn replace_pending_totp(
        &self,
        f: &FactorRow,
        max_active: i64,
    ) -> Result<NewPending, StoreError>;

    /// Activates a pending factor (see [`Activate`]): the check that the user has no
    /// active factor, when asked for, and the activation are one step.
    async fn activate_factor(&self, a: &Activate) -> Result<Activation, StoreError>;

    /// Inserts a factor; `Duplicate` if the user has an email factor already and `f` is
    /// another.
    async fn insert_factor(&self, f: &FactorRow) -> Result<(), StoreError>;

    /// All of a user's factors, oldest first.
    async fn factors_of_user(&self, user_id: &str) -> Result<Vec<FactorRow>, StoreError>;

    /// One factor, only if it belongs to `user_id`.
    async fn factor_of_user(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<FactorRow>, StoreError>;

    async fn count_active_factors(&self, user_id: &str) -> Result<i64, StoreError>;

    /// Stores a regenerated secret for active factor `id`, replacing one not yet
    /// activated; false if the factor is not active.
    async fn set_next_secret(
        &self,
        id: &str,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError>;

    /// Makes factor `id`'s regenerated secret its secret, with the activating code's step
    /// as used; false if there was none (activated by a concurrent request).
    async fn promote_next_secret(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError>;

    /// Makes active factor `id` of `user_id` the preferred one (and no other); false if
    /// the user has no such active factor.
    async fn set_preferred_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError>;
}

impl Store {
    /// Deletes a factor only while it is still pending, so an activation that wins a race
    /// with an abandoned-enrolment cleanup is never undone by it.
    pub async fn delete_pending_factor(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_one(DELETE_PENDING, id).await
    }

    /// Renames factor `id` of `user_id`; false if they have none such.
    pub async fn rename_factor(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.exec_text(RENAME, &[name, id, user_id]).await? == 1)
    }

    pub async fn delete_factor(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_one(DELETE, id).await
    }

    /// Runs a `DELETE … WHERE id = $1`; true if it deleted a row.
    async fn delete_one(&self, sql: &'static str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(sql, &[id]).await? == 1)
    }
}
