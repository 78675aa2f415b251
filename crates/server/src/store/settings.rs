//! An organisation's MFA options besides the requirement (no row: the defaults).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OrgSettingsRow {
    pub org_id: String,
    pub allow_qr_redisplay: bool,
    /// Users may have a device remembered (skip the second step there for a while).
    pub remember_devices: bool,
    /// A first authenticator app waits for a code mailed to the user's address.
    pub confirm_first_app_by_email: bool,
    /// Unix ms.
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

const SELECT: &str = "SELECT org_id, allow_qr_redisplay, remember_devices, \
     confirm_first_app_by_email, updated_at, updated_by FROM org_settings WHERE org_id = $1";
const UPSERT: &str = "INSERT INTO org_settings \
     (org_id, allow_qr_redisplay, remember_devices, confirm_first_app_by_email, updated_at, \
     updated_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO UPDATE SET \
     allow_qr_redisplay = excluded.allow_qr_redisplay, \
     remember_devices = excluded.remember_devices, \
     confirm_first_app_by_email = excluded.confirm_first_app_by_email, \
     updated_at = excluded.updated_at, updated_by = excluded.updated_by";

impl Store {
    pub async fn org_settings(&self, org_id: &str) -> Result<Option<OrgSettingsRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(SELECT)?
                    .query_row([org_id], |r| {
                        Ok(OrgSettingsRow {
                            org_id: r.get(0)?,
                            allow_qr_redisplay: r.get(1)?,
                            remember_devices: r.get(2)?,
                            confirm_first_app_by_email: r.get(3)?,
                            updated_at: r.get(4)?,
                            updated_by: r.get(5)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, OrgSettingsRow>(SELECT)
                .bind(org_id)
                .fetch_optional(p)
                .await?),
        }
    }

    pub async fn put_org_settings(&self, s: &OrgSettingsRow) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let s = s.clone();
                db.write(move |c| {
                    c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                        s.org_id,
                        s.allow_qr_redisplay,
                        s.remember_devices,
                        s.confirm_first_app_by_email,
                        s.updated_at,
                        s.updated_by
                    ])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(UPSERT)
                    .bind(&s.org_id)
                    .bind(s.allow_qr_redisplay)
                    .bind(s.remember_devices)
                    .bind(s.confirm_first_app_by_email)
                    .bind(s.updated_at)
                    .bind(&s.updated_by)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }
}
