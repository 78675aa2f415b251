//! The SQLite side of [`twofold_core::store::settings`].

use super::Sqlite;
use super::columns::ByName;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::settings::*;

#[async_trait::async_trait]
impl SettingsStore for Sqlite {
    async fn org_settings(&self, org_id: &str) -> Result<Option<OrgSettingsRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SELECT)?
                .query_row([org_id], |r| {
                    let mut col = ByName::new(r);
                    Ok(OrgSettingsRow {
                        org_id: col.get("org_id")?,
                        allow_qr_redisplay: col.get("allow_qr_redisplay")?,
                        remember_devices: col.get("remember_devices")?,
                        confirm_first_app_by_email: col.get("confirm_first_app_by_email")?,
                        max_authenticator_apps: col.get("max_authenticator_apps")?,
                        updated_at: col.get("updated_at")?,
                        updated_by: col.get("updated_by")?,
                    })
                })
                .optional()
        })
    }

    async fn put_org_settings(&self, s: &OrgSettingsRow) -> Result<(), StoreError> {
        {
            let s = s.clone();
            self.write(move |c| {
                c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                    s.org_id,
                    s.allow_qr_redisplay,
                    s.remember_devices,
                    s.confirm_first_app_by_email,
                    s.updated_at,
                    s.updated_by,
                    s.max_authenticator_apps
                ])?;
                Ok(())
            })
            .await
        }
    }
}
