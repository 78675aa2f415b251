//! The PostgreSQL side of [`twofold_core::store::elevated`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::elevated::*;

#[async_trait::async_trait]
impl ElevatedStore for Postgres {
    async fn insert_elevated(&self, e: &ElevatedRow) -> Result<(), StoreError> {
        let p = &self.pool;
        let sql = format!(
            "INSERT INTO elevated_tokens ({ELEVATED_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        {
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
                .await
                .db()?;
            Ok(())
        }
    }

    async fn elevated_by_token(&self, hash: &[u8]) -> Result<Option<ElevatedRow>, StoreError> {
        let p = &self.pool;
        let sql = format!("SELECT {ELEVATED_COLUMNS} FROM elevated_tokens WHERE token_hash = $1");
        Ok(sqlx::query(&sql)
            .bind(hash)
            .try_map(ElevatedRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn spend_elevated(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(SPEND)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }

    async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<(), StoreError> {
        let p = &self.pool;
        let sql =
            format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        {
            sqlx::query(&sql)
                .bind(&k.id)
                .bind(&k.org_id)
                .bind(&k.name)
                .bind(&k.key_hash)
                .bind(&k.created_by)
                .bind(k.created_at)
                .bind(k.last_used_at)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }

    async fn api_keys_of_org(&self, org_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let p = &self.pool;
        let sql =
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id");
        Ok(sqlx::query(&sql)
            .bind(org_id)
            .try_map(ApiKeyRow::from_pg)
            .fetch_all(p)
            .await
            .db()?)
    }

    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        let p = &self.pool;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        Ok(sqlx::query(&sql)
            .bind(hash)
            .try_map(ApiKeyRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        {
            sqlx::query(TOUCH_KEY)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }
}
