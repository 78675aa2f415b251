//! The SQLite side of [`twofold_core::store::devices`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::devices::*;

impl FromSqlite for DeviceRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(DeviceRow {
            id: col.get("id")?,
            token_hash: col.get("token_hash")?,
            user_id: col.get("user_id")?,
            created_at: col.get("created_at")?,
            expires_at: col.get("expires_at")?,
            last_used_at: col.get("last_used_at")?,
            ip: col.get("ip")?,
            user_agent: col.get("user_agent")?,
        })
    }
}

#[async_trait::async_trait]
impl DevicesStore for Sqlite {
    async fn insert_device(&self, d: &DeviceRow, cap: i64) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO remembered_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        {
            let d = d.clone();
            self.write(move |c| {
                c.prepare_cached(&insert)?.execute(rusqlite::params![
                    d.id,
                    d.token_hash,
                    d.user_id,
                    d.created_at,
                    d.expires_at,
                    d.last_used_at,
                    d.ip,
                    d.user_agent
                ])?;
                c.prepare_cached(TRIM)?
                    .execute(rusqlite::params![d.user_id, cap])?;
                Ok(())
            })
            .await
        }
    }

    async fn device_by_token(
        &self,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE token_hash = $1 AND expires_at > $2"
        );
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(rusqlite::params![hash, now], DeviceRow::from_sqlite)
                .optional()
        })
    }

    async fn devices_of_user(&self, user_id: &str, now: i64) -> Result<Vec<DeviceRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        );
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map(rusqlite::params![user_id, now], DeviceRow::from_sqlite)?
                .collect()
        })
    }

    async fn touch_device(&self, id: &str, now: i64) -> Result<(), StoreError> {
        {
            let id = id.to_owned();
            self.write(move |c| {
                c.prepare_cached(TOUCH)?
                    .execute(rusqlite::params![now, id])?;
                Ok(())
            })
            .await
        }
    }
}
