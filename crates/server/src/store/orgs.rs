//! Organisations.

use super::{Store, StoreError, on_pool, on_writer};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&org.id).bind(&org.slug).bind(&org.name).bind(org.created_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::unique_as(e, "orgs_slug_key"))
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, OrgRow>(
            "SELECT id, slug, name, created_at FROM orgs WHERE slug = $1")
            .bind(slug).fetch_optional(p).await)?)
    }
}
