//! Passkeys (WebAuthn credentials): each is a factor of kind `webauthn` with its public
//! key and signature counter beside it in `webauthn_credentials`, and the ceremonies under
//! way — a registration or an assertion asked for and not yet answered — in
//! `webauthn_ceremonies`, so that one begun on one server can finish on another.

use super::StoreError;
use super::factors::FactorRow;

/// A passkey's credential.
#[derive(Clone, Debug)]
pub struct PasskeyRow {
    /// Its factor (name, state, times, preference live there).
    pub factor_id: String,
    pub user_id: String,
    /// The credential id the authenticator chose: unique across every account.
    pub credential_id: Vec<u8>,
    /// The credential as the WebAuthn library keeps it (public key, flags), JSON. Not a
    /// secret: a public key.
    pub credential: String,
    /// The signature counter last accepted (0: the authenticator keeps none).
    pub sign_count: i64,
    /// What kind of authenticator holds it, where known: `security_key`, `platform`,
    /// `hybrid` or `unknown`.
    pub authenticator: String,
    /// The credential may be synchronised between devices (a synced passkey).
    pub backup_eligible: bool,
    /// When its counter went backwards (a possible clone): refused from then on.
    pub cloned_at: Option<i64>,
}

/// A ceremony under way: what the server asked an authenticator, to check its answer.
#[derive(Clone, Debug)]
pub struct CeremonyRow {
    pub id: String,
    pub user_id: String,
    /// `register`, `sign_in` or `session`.
    pub purpose: String,
    /// The session or sign-in flow it belongs to: only that one may answer it.
    pub bound_to: String,
    /// A registration's name for the new passkey.
    pub name: Option<String>,
    /// The library's state (the challenge, the credentials allowed), JSON.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Adding a registered passkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddPasskey {
    Added,
    /// Asked `only_if_first`, and the user has an active factor now.
    NotFirst,
    /// The user has this many passkeys already, the most allowed.
    TooMany {
        active: i64,
    },
    /// The credential is registered already (to this account or another).
    Registered,
}

pub const INSERT_CREDENTIAL: &str = "INSERT INTO webauthn_credentials \
     (factor_id, user_id, credential_id, credential, sign_count, authenticator, backup_eligible) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const CREDENTIAL_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM webauthn_credentials WHERE credential_id = $1)";
pub const COUNT_PASSKEYS: &str =
    "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND kind = 'webauthn'";
/// The user's passkeys, oldest first. Binds: user id.
pub const PASSKEYS_OF_USER: &str = "SELECT c.factor_id, c.user_id, c.credential_id, \
     c.credential, c.sign_count, c.authenticator, c.backup_eligible, c.cloned_at \
     FROM webauthn_credentials c JOIN factors f ON f.id = c.factor_id \
     WHERE c.user_id = $1 ORDER BY f.created_at, f.id";
/// The counter rule as one conditional statement: a passkey's counter only goes up (or
/// stays 0 for an authenticator that keeps none), and a possibly cloned one is never
/// used. Binds: the new counter, factor id.
pub const CLAIM_COUNTER: &str = "UPDATE webauthn_credentials SET sign_count = $1 \
     WHERE factor_id = $2 AND cloned_at IS NULL AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))";
/// Binds: now, factor id.
pub const MARK_CLONED: &str = "UPDATE webauthn_credentials SET cloned_at = $1 \
     WHERE factor_id = $2 AND cloned_at IS NULL";
/// One live ceremony per purpose and session or flow: a new one replaces it. Binds:
/// purpose, bound to.
pub const DELETE_CEREMONY: &str =
    "DELETE FROM webauthn_ceremonies WHERE purpose = $1 AND bound_to = $2";
pub const INSERT_CEREMONY: &str = "INSERT INTO webauthn_ceremonies \
     (id, user_id, purpose, bound_to, name, state, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Takes a live ceremony once: of two answers to it only the first finds it. Binds:
/// purpose, bound to, now.
pub const TAKE_CEREMONY: &str = "DELETE FROM webauthn_ceremonies \
     WHERE purpose = $1 AND bound_to = $2 AND expires_at > $3 \
     RETURNING id, user_id, purpose, bound_to, name, state, created_at, expires_at";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait PasskeysStore: Send + Sync {
    /// Adds active factor `f` with its credential `c`, in one step with the checks: the
    /// user has no active factor (when `only_if_first`), fewer than `max` passkeys, and
    /// the credential is new.
    async fn add_passkey(
        &self,
        f: &FactorRow,
        c: &PasskeyRow,
        only_if_first: bool,
        max: i64,
    ) -> Result<AddPasskey, StoreError>;

    /// The user's passkeys, oldest first.
    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<PasskeyRow>, StoreError>;

    /// Stores a ceremony, replacing the one of the same purpose for the same session or
    /// flow.
    async fn put_ceremony(&self, c: &CeremonyRow) -> Result<(), StoreError>;

    /// Takes (deletes and answers) the live ceremony of `purpose` for `bound_to`.
    async fn take_ceremony(
        &self,
        purpose: &str,
        bound_to: &str,
        now: i64,
    ) -> Result<Option<CeremonyRow>, StoreError>;

    /// Marks passkey `factor_id` as possibly cloned; false if it was already.
    async fn mark_passkey_cloned(&self, factor_id: &str, now: i64) -> Result<bool, StoreError>;
}
