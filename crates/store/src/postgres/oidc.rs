//! The PostgreSQL side of [`twofold_core::store::oidc`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::oidc::*;

#[async_trait::async_trait]
impl OidcStore for Postgres {
    async fn put_oidc_provider(&self, p: &OidcProviderRow) -> Result<(), StoreError> {
        sqlx::query(UPSERT)
            .bind(&p.org_id)
            .bind(&p.name)
            .bind(&p.issuer)
            .bind(&p.client_id)
            .bind(&p.secret_key_id)
            .bind(&p.client_secret_sealed)
            .bind(&p.scopes)
            .bind(&p.allowed_email_domains)
            .bind(&p.username_claim)
            .bind(p.create_users)
            .bind(p.created_at)
            .bind(p.updated_at)
            .bind(&p.updated_by)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn oidc_providers_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<OidcProviderRow>, StoreError> {
        Ok(sqlx::query(SELECT_OF_ORG)
            .bind(org_id)
            .try_map(OidcProviderRow::from_pg)
            .fetch_all(&self.pool)
            .await
            .db()?)
    }
}
