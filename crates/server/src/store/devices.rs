//! Remembered devices: a hashed token per device that lets its user skip the second step
//! until it expires or is revoked; at most a few per user (the oldest go first).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

const COLUMNS: &str =
    "id, token_hash, user_id, created_at, expires_at, last_used_at, ip, user_agent";
/// Keeps the newest `$2` of user `$1`'s devices.
const TRIM: &str = "DELETE FROM remembered_devices WHERE user_id = $1 AND id NOT IN \
     (SELECT id FROM remembered_devices WHERE user_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2)";
const DELETE_OWN: &str = "DELETE FROM remembered_devices WHERE user_id = $1 AND id = $2";
/// Binds: user id.
pub(super) const DELETE_DEVICES_OF_USER: &str = "DELETE FROM remembered_devices WHERE user_id = $1";
const DELETE_ORG: &str = "DELETE FROM remembered_devices \
     WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)";
const TOUCH: &str = "UPDATE remembered_devices SET last_used_at = $1 WHERE id = $2";

impl DeviceRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(DeviceRow {
            id: r.get(0)?,
            token_hash: r.get(1)?,
            user_id: r.get(2)?,
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
            last_used_at: r.get(5)?,
            ip: r.get(6)?,
            user_agent: r.get(7)?,
        })
    }
}

impl Store {
    /// Remembers `d`, then keeps only its user's newest `cap` devices, together.
    pub async fn insert_device(&self, d: &DeviceRow, cap: i64) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO remembered_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        match self {
            Store::Sqlite(db) => {
                let d = d.clone();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(&insert)
                    .bind(&d.id)
                    .bind(&d.token_hash)
                    .bind(&d.user_id)
                    .bind(d.created_at)
                    .bind(d.expires_at)
                    .bind(d.last_used_at)
                    .bind(&d.ip)
                    .bind(&d.user_agent)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(TRIM)
                    .bind(&d.user_id)
                    .bind(cap)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// The live device with this token hash at `now`.
    pub async fn device_by_token(
        &self,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE token_hash = $1 AND expires_at > $2"
        );
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row(rusqlite::params![hash, now], DeviceRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, DeviceRow>(&sql)
                .bind(hash)
                .bind(now)
                .fetch_optional(p)
                .await?),
        }
    }

    /// `user_id`'s live devices at `now`, newest first.
    pub async fn devices_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<DeviceRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remembered_devices WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        );
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_map(rusqlite::params![user_id, now], DeviceRow::from_sqlite)?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, DeviceRow>(&sql)
                .bind(user_id)
                .bind(now)
                .fetch_all(p)
                .await?),
        }
    }

    /// Forgets `user_id`'s device `id`; false if they have no such device.
    pub async fn delete_device(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE_OWN, &[user_id, id]).await? == 1)
    }

    /// Forgets every device of `user_id`; answers how many.
    pub async fn delete_devices_of_user(&self, user_id: &str) -> Result<u64, StoreError> {
        self.exec_text(DELETE_DEVICES_OF_USER, &[user_id]).await
    }

    /// Forgets every device of every user of organisation `org_id`.
    pub async fn delete_devices_of_org(&self, org_id: &str) -> Result<u64, StoreError> {
        self.exec_text(DELETE_ORG, &[org_id]).await
    }

    pub async fn touch_device(&self, id: &str, now: i64) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let id = id.to_owned();
                db.write(move |c| {
                    c.prepare_cached(TOUCH)?
                        .execute(rusqlite::params![now, id])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(TOUCH).bind(now).bind(id).execute(p).await?;
                Ok(())
            }
        }
    }
}
