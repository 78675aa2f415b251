//! Copies of the database, and what a restored one must forget or refuse: the trait through
//! which the domain backs the database up and fences a restored one (`domain/backup.rs` says
//! why a restore needs a fence), and the SQL both engines share.

use std::path::Path;

use super::StoreError;

/// The ids of the keys a server needs to open the database: every key registered and not
/// retired (a server refuses to start without all of them, though after `rotate` and
/// before `retire` the old one may seal nothing any more). Every authenticator app's
/// secret, the one waiting to replace it and every identity provider's client secret is
/// sealed under one of them.
pub const SEALED_KEY_IDS: &str = "SELECT id FROM secret_keys ORDER BY 1";

/// Every authenticator app's last used step raised to the step current at the restore plus
/// the steps ahead a code can be accepted (each app by its own period), never lowered.
/// Binds: now (Unix seconds), steps ahead.
pub const FENCE_APP_STEPS: &str = "UPDATE factors SET last_used_step = $1 / period + $2 \
     WHERE kind = 'totp' AND period > 0 \
     AND (last_used_step IS NULL OR last_used_step < $1 / period + $2)";

/// What was in progress when the copy was taken and can be used once only: elevated
/// tokens, sign-ins at their second step, mailed codes, passkey ceremonies and sign-ins at
/// an identity provider. The copy still holds those used after it was taken, so they end.
/// So do sessions and remembered devices: one ended after the copy was taken (signed out,
/// revoked by an admin, a lost laptop) would be live again, so everyone signs in again,
/// with a second factor.
pub const END_IN_PROGRESS: [&str; 8] = [
    "DELETE FROM sessions",
    "DELETE FROM remembered_devices",
    "DELETE FROM elevated_tokens",
    "DELETE FROM login_flows",
    "DELETE FROM confirmation_codes",
    "DELETE FROM webauthn_ceremonies",
    "DELETE FROM oidc_handoffs",
    "DELETE FROM oidc_logins",
];

/// The fence a restore puts up: from `now` on, no app accepts a code of a step at or
/// before the current one plus `steps_ahead`, however its clock drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreFence {
    /// Unix seconds.
    pub now_secs: i64,
    pub steps_ahead: i64,
}

/// What putting a fence up changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fenced {
    /// Authenticator apps whose last used step was raised.
    pub app_factors: u64,
    /// Sessions, remembered devices, and tokens, flows, codes and ceremonies in progress
    /// that ended.
    pub in_progress_ended: u64,
}

/// A database file put back from a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// When the copy was taken (Unix ms), if it says (copies made by `backup` do).
    pub taken_at: Option<i64>,
    /// The keys its secrets are sealed with ([`SEALED_KEY_IDS`]).
    pub secret_key_ids: Vec<String>,
    pub fenced: Fenced,
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait BackupStore: Send + Sync {
    /// Writes a consistent copy of the whole database into `to` (an empty file the caller
    /// created with the permissions it wants) while the database is in use, records in it
    /// that it was taken at `taken_at` (Unix ms), and answers the ids of the keys the copy
    /// needs ([`SEALED_KEY_IDS`], read from the copy itself).
    async fn copy_to(&self, to: &Path, taken_at: i64) -> Result<Vec<String>, StoreError>;

    /// Puts `fence` up in this database, restored in place by the operator, and ends what
    /// was in progress ([`END_IN_PROGRESS`]), in one transaction.
    async fn fence_restored(&self, fence: RestoreFence) -> Result<Fenced, StoreError>;
}
