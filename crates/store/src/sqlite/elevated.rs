//! The SQLite side of [`twofold_core::store::elevated`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::elevated::*;

impl FromSqlite for ElevatedRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(ElevatedRow {
            id: col.get("id")?,
            token_hash: col.get("token_hash")?,
            user_id: col.get("user_id")?,
            session_id: col.get("session_id")?,
            scopes: col.get("scopes")?,
            amr: col.get("amr")?,
            single_use: col.get("single_use")?,
            created_at: col.get("created_at")?,
            expires_at: col.get("expires_at")?,
            used_at: col.get("used_at")?,
        })
    }
}

impl FromSqlite for ApiKeyRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(ApiKeyRow {
            id: col.get("id")?,
            org_id: col.get("org_id")?,
            name: col.get("name")?,
            key_hash: col.get("key_hash")?,
            created_by: col.get("created_by")?,
            created_at: col.get("created_at")?,
            last_used_at: col.get("last_used_at")?,
        })
    }
}

#[async_trait::async_trait]
impl ElevatedStore for Sqlite {
    async fn insert_elevated(&self, e: &ElevatedRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO elevated_tokens ({ELEVATED_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        {
            let e = e.clone();
            self.write(move |c| {
                c.prepare_cached(&sql)?.execute(rusqlite::params![
                    e.id,
                    e.token_hash,
                    e.user_id,
                    e.session_id,
                    e.scopes,
                    e.amr,
                    e.single_use,
                    e.created_at,
                    e.expires_at,
                    e.used_at
                ])?;
                Ok(())
            })
            .await
        }
    }

    async fn elevated_by_token(&self, hash: &[u8]) -> Result<Option<ElevatedRow>, StoreError> {
        let sql = format!("SELECT {ELEVATED_COLUMNS} FROM elevated_tokens WHERE token_hash = $1");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([hash], ElevatedRow::from_sqlite)
                .optional()
        })
    }

    async fn spend_elevated(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        {
            let id = id.to_owned();
            self.write(move |c| {
                Ok(c.prepare_cached(SPEND)?
                    .execute(rusqlite::params![now, id])?
                    == 1)
            })
            .await
        }
    }

    async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        {
            let k = k.clone();
            self.write(move |c| {
                c.prepare_cached(&sql)?.execute(rusqlite::params![
                    k.id,
                    k.org_id,
                    k.name,
                    k.key_hash,
                    k.created_by,
                    k.created_at,
                    k.last_used_at
                ])?;
                Ok(())
            })
            .await
        }
    }

    async fn api_keys_of_org(&self, org_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql =
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map([org_id], ApiKeyRow::from_sqlite)?
                .collect()
        })
    }

    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([hash], ApiKeyRow::from_sqlite)
                .optional()
        })
    }

    async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError> {
        {
            let id = id.to_owned();
            self.write(move |c| {
                c.prepare_cached(TOUCH_KEY)?
                    .execute(rusqlite::params![now, id])?;
                Ok(())
            })
            .await
        }
    }
}
