//! The PostgreSQL side of [`twofold_core::store::settings`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::settings::*;

#[async_trait::async_trait]
impl SettingsStore for Postgres {
    async fn org_settings(&self, org_id: &str) -> Result<Option<OrgSettingsRow>, StoreError> {
        let p = &self.pool;
        {
            Ok(sqlx::query(SELECT)
                .bind(org_id)
                .try_map(OrgSettingsRow::from_pg)
                .fetch_optional(p)
                .await
                .db()?)
        }
    }

    async fn put_org_settings(&self, s: &OrgSettingsRow) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            sqlx::query(UPSERT)
                .bind(&s.org_id)
                .bind(s.allow_qr_redisplay)
                .bind(s.remember_devices)
                .bind(s.confirm_first_app_by_email)
                .bind(s.updated_at)
                .bind(&s.updated_by)
                .bind(s.max_authenticator_apps)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }
}
