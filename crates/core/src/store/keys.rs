//! Which encryption keys have sealed secrets in this database, which were retired, and the
//! sealed values a key rotation re-seals (`twofold secret-key rotate`, `retire`).
//!
//! Sealed values live in three columns: a TOTP factor's secret, the secret waiting to
//! replace it (an app being moved to a new phone), and an identity provider's client
//! secret. Each names its key in a column that references `secret_keys`, so a key's row
//! cannot be deleted while anything is sealed under it, and nothing can be sealed under a
//! key whose row is gone.

use super::StoreError;

/// Registers a key unless it is known already or was retired (then nothing is inserted
/// and [`CHECK_VALUE`] finds no row). Binds: id, check value, now.
pub const REGISTER: &str = "INSERT INTO secret_keys (id, check_value, created_at) \
     SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM retired_secret_keys WHERE id = $1) \
     ON CONFLICT (id) DO NOTHING";
pub const CHECK_VALUE: &str = "SELECT check_value FROM secret_keys WHERE id = $1";
pub const KEY_IDS: &str = "SELECT id FROM secret_keys ORDER BY id";
pub const KEYS: &str = "SELECT id, check_value, created_at FROM secret_keys ORDER BY id";
pub const RETIRED_AT: &str = "SELECT retired_at FROM retired_secret_keys WHERE id = $1";
/// How many values each column holds sealed under key `$1`.
pub const USES: &str = "SELECT \
     (SELECT COUNT(*) FROM factors WHERE secret_key_id = $1), \
     (SELECT COUNT(*) FROM factors WHERE next_secret_key_id = $1), \
     (SELECT COUNT(*) FROM oidc_providers WHERE secret_key_id = $1)";
/// Keys registered besides `$1`.
/// Keys registered after key `$1`: none means it is the newest, the one servers seal with.
pub const NEWER_KEYS: &str = "SELECT COUNT(*) FROM secret_keys \
     WHERE created_at > (SELECT created_at FROM secret_keys WHERE id = $1)";
pub const DELETE_KEY: &str = "DELETE FROM secret_keys WHERE id = $1";
pub const INSERT_RETIRED: &str = "INSERT INTO retired_secret_keys (id, retired_at) VALUES ($1, $2)";

/// One page of a column's values sealed under another key than `$1`, after factor id `$2`,
/// in id order. Binds: key id, after, limit.
pub const FACTOR_SECRETS_NOT_UNDER: &str = "SELECT id, secret_key_id, secret_sealed FROM factors \
     WHERE secret_key_id IS NOT NULL AND secret_key_id <> $1 AND id > $2 ORDER BY id LIMIT $3";
pub const NEXT_SECRETS_NOT_UNDER: &str = "SELECT id, next_secret_key_id, next_secret_sealed \
     FROM factors WHERE next_secret_key_id IS NOT NULL AND next_secret_key_id <> $1 AND id > $2 \
     ORDER BY id LIMIT $3";
/// Replaces a sealed value only if it is still the one that was read, key and bytes: a
/// server that changed it meanwhile (a new secret, or one promoted from waiting) wins.
/// Binds: new key id, new bytes, factor id, old key id, old bytes.
pub const RESEAL_FACTOR_SECRET: &str = "UPDATE factors SET secret_key_id = $1, secret_sealed = $2 \
     WHERE id = $3 AND secret_key_id = $4 AND secret_sealed = $5";
pub const RESEAL_NEXT_SECRET: &str = "UPDATE factors SET next_secret_key_id = $1, \
     next_secret_sealed = $2 WHERE id = $3 AND next_secret_key_id = $4 AND next_secret_sealed = $5";
/// Binds: key id, after org id, after name, limit.
pub const OIDC_SECRETS_NOT_UNDER: &str = "SELECT org_id, name, issuer, client_id, secret_key_id, \
     client_secret_sealed FROM oidc_providers WHERE secret_key_id <> $1 \
     AND (org_id > $2 OR (org_id = $2 AND name > $3)) ORDER BY org_id, name LIMIT $4";
/// As [`RESEAL_FACTOR_SECRET`], and the issuer and client id the secret is bound to must be
/// unchanged too. Binds: new key id, new bytes, org id, name, issuer, client id, old key
/// id, old bytes.
pub const RESEAL_OIDC_SECRET: &str = "UPDATE oidc_providers SET secret_key_id = $1, \
     client_secret_sealed = $2 WHERE org_id = $3 AND name = $4 AND issuer = $5 \
     AND client_id = $6 AND secret_key_id = $7 AND client_secret_sealed = $8";

/// A registered key: its id, its check value (a known plaintext sealed under it) and when
/// it was first used (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyRow {
    pub id: String,
    pub check_value: Vec<u8>,
    pub created_at: i64,
}

/// Which of a factor's two sealed secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSlot {
    /// The secret the factor's codes come from.
    Current,
    /// The secret waiting for its first code before it replaces the current one.
    Next,
}

impl SecretSlot {
    /// The slot's [`FACTOR_SECRETS_NOT_UNDER`] or [`NEXT_SECRETS_NOT_UNDER`].
    pub fn not_under_sql(self) -> &'static str {
        match self {
            SecretSlot::Current => FACTOR_SECRETS_NOT_UNDER,
            SecretSlot::Next => NEXT_SECRETS_NOT_UNDER,
        }
    }

    /// The slot's [`RESEAL_FACTOR_SECRET`] or [`RESEAL_NEXT_SECRET`].
    pub fn reseal_sql(self) -> &'static str {
        match self {
            SecretSlot::Current => RESEAL_FACTOR_SECRET,
            SecretSlot::Next => RESEAL_NEXT_SECRET,
        }
    }
}

/// A factor's secret as stored: the key it is sealed under and `nonce || ciphertext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedFactorSecret {
    pub factor_id: String,
    pub slot: SecretSlot,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// An identity provider's client secret as stored, with what it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedOidcSecret {
    pub org_id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// How many values are sealed under one key, by column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUses {
    pub factor_secrets: u64,
    pub next_secrets: u64,
    pub oidc_client_secrets: u64,
}

impl KeyUses {
    pub fn total(&self) -> u64 {
        self.factor_secrets + self.next_secrets + self.oidc_client_secrets
    }
}

/// What [`KeysStore::retire_secret_key`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retirement {
    /// The key's row is gone and its id is remembered as retired.
    Retired,
    /// No key of that id was ever registered.
    Unknown,
    /// It was retired already, at this time (Unix ms).
    AlreadyRetired { at: i64 },
    /// Values are still sealed under it: nothing changed.
    InUse(KeyUses),
    /// No key was registered after it: the one the servers seal with (the only key, or
    /// the new one of a rotation), which nothing has replaced.
    Newest,
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait KeysStore: Send + Sync {
    /// Records key `id` with its check value unless it is already known; answers the
    /// check value on record (the new one, or the one an earlier start stored), or `None`
    /// if the key was retired (nothing is recorded then).
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Ids of every key registered in this database (every sealed secret names one).
    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError>;

    /// Every registered key, in id order.
    async fn secret_keys(&self) -> Result<Vec<SecretKeyRow>, StoreError>;

    /// When key `id` was retired, if it was.
    async fn secret_key_retired_at(&self, id: &str) -> Result<Option<i64>, StoreError>;

    /// How many values are sealed under key `id`.
    async fn secret_key_uses(&self, id: &str) -> Result<KeyUses, StoreError>;

    /// Retires key `id` if nothing is sealed under it and another key is registered: its
    /// row goes, its id is remembered. One transaction that locks the key's row first, so
    /// a value sealed under it concurrently either counts here or is refused by the
    /// foreign key.
    async fn retire_secret_key(&self, id: &str, now: i64) -> Result<Retirement, StoreError>;

    /// Up to `limit` of the factors' secrets in `slot` sealed under a key other than
    /// `key_id`, with factor ids after `after` (`""`: from the start), in id order.
    async fn factor_secrets_not_under(
        &self,
        slot: SecretSlot,
        key_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<SealedFactorSecret>, StoreError>;

    /// Replaces `old` with `sealed` under `key_id` if the factor still holds exactly `old`
    /// in that slot; answers whether it did.
    async fn reseal_factor_secret(
        &self,
        old: &SealedFactorSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError>;

    /// Up to `limit` client secrets sealed under a key other than `key_id`, of providers
    /// after `(org_id, name)` `after` (`("", "")`: from the start), in that order.
    async fn oidc_secrets_not_under(
        &self,
        key_id: &str,
        after: (&str, &str),
        limit: u32,
    ) -> Result<Vec<SealedOidcSecret>, StoreError>;

    /// Replaces `old` with `sealed` under `key_id` if the provider still holds exactly
    /// `old`, for the same issuer and client id; answers whether it did.
    async fn reseal_oidc_secret(
        &self,
        old: &SealedOidcSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError>;
}
