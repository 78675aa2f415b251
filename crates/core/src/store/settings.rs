//! An organisation's MFA options besides the requirement (no row: the defaults).

use super::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct OrgSettingsRow {
    pub org_id: String,
    pub allow_qr_redisplay: bool,
    /// Users may have a device remembered (skip the second step there for a while).
    pub remember_devices: bool,
    /// A first authenticator app waits for a code mailed to the user's address.
    pub confirm_first_app_by_email: bool,
    /// The most authenticator apps a user may have (`None`: the server's limit).
    pub max_authenticator_apps: Option<i64>,
    /// Unix ms.
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub const SELECT: &str = "SELECT org_id, allow_qr_redisplay, remember_devices, \
     confirm_first_app_by_email, max_authenticator_apps, updated_at, updated_by \
     FROM org_settings WHERE org_id = $1";
pub const UPSERT: &str = "INSERT INTO org_settings \
     (org_id, allow_qr_redisplay, remember_devices, confirm_first_app_by_email, updated_at, \
     updated_by, max_authenticator_apps) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (org_id) DO UPDATE SET \
     allow_qr_redisplay = excluded.allow_qr_redisplay, \
     remember_devices = excluded.remember_devices, \
     confirm_first_app_by_email = excluded.confirm_first_app_by_email, \
     max_authenticator_apps = excluded.max_authenticator_apps, \
     updated_at = excluded.updated_at, updated_by = excluded.updated_by";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync {
    async fn org_settings(&self, org_id: &str) -> Result<Option<OrgSettingsRow>, StoreError>;

    async fn put_org_settings(&self, s: &OrgSettingsRow) -> Result<(), StoreError>;
}
