//! The PostgreSQL side of [`twofold_core::store::orgs`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::orgs::*;

#[async_trait::async_trait]
impl OrgsStore for Postgres {
    async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        let p = &self.pool;
        let res = sqlx::query(INSERT_ORG)
            .bind(&org.id)
            .bind(&org.slug)
            .bind(&org.name)
            .bind(org.created_at)
            .execute(p)
            .await
            .map(|_| ())
            .db();
        res.map_err(|e| e.unique_as("orgs_slug_key"))
    }

    async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRow>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(ORG_BY_SLUG)
            .bind(slug)
            .try_map(OrgRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn set_org_miss_hash(
        &self,
        org_id: &str,
        miss_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let p = &self.pool;
        const SET: &str = "UPDATE orgs SET miss_hash = $1 WHERE id = $2";
        {
            sqlx::query(SET)
                .bind(miss_hash)
                .bind(org_id)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }

    async fn orgs_with_miss_hash(&self) -> Result<Vec<(String, String)>, StoreError> {
        let p = &self.pool;
        const SQL: &str = "SELECT id, miss_hash FROM orgs WHERE miss_hash IS NOT NULL";
        Ok(sqlx::query_as(SQL).fetch_all(p).await.db()?)
    }

    async fn org_holds_other_hashes(
        &self,
        org_id: &str,
        current: &str,
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 \
             AND password_hash IS NOT NULL AND substr(password_hash, 1, $2) <> $3)";
        let len = i64::try_from(current.len()).unwrap_or(i64::MAX);
        Ok(sqlx::query_scalar(SQL)
            .bind(org_id)
            .bind(i32::try_from(len).unwrap_or(i32::MAX))
            .bind(current)
            .fetch_one(p)
            .await
            .db()?)
    }
}
