//! Elevated tokens (step-up) and organisation API keys: both stored only as SHA-256
//! hashes of their 256-bit random text.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ElevatedRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub session_id: String,
    /// Space-separated.
    pub scopes: String,
    /// Space-separated RFC 8176 method references.
    pub amr: String,
    pub single_use: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const ELEVATED_COLUMNS: &str = "id, token_hash, user_id, session_id, scopes, amr, single_use, \
     created_at, expires_at, used_at";
const KEY_COLUMNS: &str = "id, org_id, name, key_hash, created_by, created_at, last_used_at";

/// Binds: now, id. Spends a single-use token: of two requests presenting it, one wins.
const SPEND: &str = "UPDATE elevated_tokens SET used_at = $1 \
     WHERE id = $2 AND single_use AND used_at IS NULL";
/// Binds: org id, key id.
const DELETE_KEY: &str = "DELETE FROM api_keys WHERE org_id = $1 AND id = $2";
/// Binds: now, key id.
const TOUCH_KEY: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";

impl ElevatedRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ElevatedRow {
            id: r.get(0)?,
            token_hash: r.get(1)?,
            user_id: r.get(2)?,
            session_id: r.get(3)?,
            scopes: r.get(4)?,
            amr: r.get(5)?,
            single_use: r.get(6)?,
            created_at: r.get(7)?,
            expires_at: r.get(8)?,
            used_at: r.get(9)?,
        })
    }
}

impl ApiKeyRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ApiKeyRow {
            id: r.get(0)?,
            org_id: r.get(1)?,
            name: r.get(2)?,
            key_hash: r.get(3)?,
            created_by: r.get(4)?,
            created_at: r.get(5)?,
            last_used_at: r.get(6)?,
        })
    }
}

impl Store {
    pub async fn insert_elevated(&self, e: &ElevatedRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO elevated_tokens ({ELEVATED_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        match self {
            Store::Sqlite(db) => {
                let e = e.clone();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                sqlx::query(&sql)
                    .bind(&e.id)
                    .bind(&e.token_hash)
                    .bind(&e.user_id)
                    .bind(&e.session_id)
                    .bind(&e.scopes)
                    .bind(&e.amr)
                    .bind(e.single_use)
                    .bind(e.created_at)
                    .bind(e.expires_at)
                    .bind(e.used_at)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }

    /// The elevated token with this hash, live or not.
    pub async fn elevated_by_token(&self, hash: &[u8]) -> Result<Option<ElevatedRow>, StoreError> {
        let sql = format!("SELECT {ELEVATED_COLUMNS} FROM elevated_tokens WHERE token_hash = $1");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row([hash], ElevatedRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, ElevatedRow>(&sql)
                .bind(hash)
                .fetch_optional(p)
                .await?),
        }
    }

    /// Spends single-use token `id` at `now`; false if it was already spent.
    pub async fn spend_elevated(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let id = id.to_owned();
                db.write(move |c| {
                    Ok(c.prepare_cached(SPEND)?
                        .execute(rusqlite::params![now, id])?
                        == 1)
                })
                .await
            }
            Store::Postgres(p) => Ok(sqlx::query(SPEND)
                .bind(now)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }

    pub async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        match self {
            Store::Sqlite(db) => {
                let k = k.clone();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                sqlx::query(&sql)
                    .bind(&k.id)
                    .bind(&k.org_id)
                    .bind(&k.name)
                    .bind(&k.key_hash)
                    .bind(&k.created_by)
                    .bind(k.created_at)
                    .bind(k.last_used_at)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }

    /// Organisation `org_id`'s keys, oldest first.
    pub async fn api_keys_of_org(&self, org_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql =
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_map([org_id], ApiKeyRow::from_sqlite)?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, ApiKeyRow>(&sql)
                .bind(org_id)
                .fetch_all(p)
                .await?),
        }
    }

    pub async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row([hash], ApiKeyRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, ApiKeyRow>(&sql)
                .bind(hash)
                .fetch_optional(p)
                .await?),
        }
    }

    /// Revokes key `id` of organisation `org_id`; false if it has no such key.
    pub async fn delete_api_key(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE_KEY, &[org_id, id]).await? == 1)
    }

    /// Records that key `id` was used at `now`.
    pub async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let id = id.to_owned();
                db.write(move |c| {
                    c.prepare_cached(TOUCH_KEY)?
                        .execute(rusqlite::params![now, id])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(TOUCH_KEY).bind(now).bind(id).execute(p).await?;
                Ok(())
            }
        }
    }
}
