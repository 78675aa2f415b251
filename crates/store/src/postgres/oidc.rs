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
            .bind(p.link_by_email)
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

    async fn insert_oidc_login(&self, l: &OidcLoginRow) -> Result<(), StoreError> {
        sqlx::query(INSERT_LOGIN)
            .bind(&l.state_hash)
            .bind(&l.org_id)
            .bind(&l.org_slug)
            .bind(&l.provider)
            .bind(&l.nonce)
            .bind(&l.pkce_verifier)
            .bind(&l.binding_hash)
            .bind(&l.purpose)
            .bind(&l.session_id)
            .bind(&l.user_id)
            .bind(&l.app_redirect)
            .bind(&l.app_state)
            .bind(&l.app_challenge)
            .bind(&l.return_to)
            .bind(l.created_at)
            .bind(l.expires_at)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn take_oidc_login(&self, state_hash: &[u8]) -> Result<Option<OidcLoginRow>, StoreError> {
        Ok(sqlx::query(TAKE_LOGIN)
            .bind(state_hash)
            .try_map(OidcLoginRow::from_pg)
            .fetch_optional(&self.pool)
            .await
            .db()?)
    }

    async fn insert_oidc_handoff(&self, h: &OidcHandoffRow) -> Result<(), StoreError> {
        sqlx::query(INSERT_HANDOFF)
            .bind(&h.code_hash)
            .bind(&h.user_id)
            .bind(&h.purpose)
            .bind(&h.session_id)
            .bind(&h.provider)
            .bind(&h.amr)
            .bind(h.aal)
            .bind(&h.app_challenge)
            .bind(h.expires_at)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn take_oidc_handoff(
        &self,
        code_hash: &[u8],
    ) -> Result<Option<OidcHandoffRow>, StoreError> {
        Ok(sqlx::query(TAKE_HANDOFF)
            .bind(code_hash)
            .try_map(OidcHandoffRow::from_pg)
            .fetch_optional(&self.pool)
            .await
            .db()?)
    }

    async fn insert_federated_identity(&self, i: &FederatedIdentityRow) -> Result<(), StoreError> {
        let res = sqlx::query(INSERT_IDENTITY)
            .bind(&i.org_id)
            .bind(&i.issuer)
            .bind(&i.subject)
            .bind(&i.user_id)
            .bind(&i.provider)
            .bind(i.created_at)
            .bind(i.last_used_at)
            .execute(&self.pool)
            .await
            .db();
        res.map(|_| ())
            .map_err(|e| e.unique_as("federated identity"))
    }

    async fn federated_identity(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedIdentityRow>, StoreError> {
        Ok(sqlx::query(SELECT_IDENTITY)
            .bind(org_id)
            .bind(issuer)
            .bind(subject)
            .try_map(FederatedIdentityRow::from_pg)
            .fetch_optional(&self.pool)
            .await
            .db()?)
    }

    async fn touch_federated_identity(
        &self,
        i: &FederatedIdentityRow,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(TOUCH_IDENTITY)
            .bind(now)
            .bind(&i.org_id)
            .bind(&i.issuer)
            .bind(&i.subject)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn federated_identities_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<FederatedIdentityRow>, StoreError> {
        Ok(sqlx::query(SELECT_IDENTITIES_OF_ORG)
            .bind(org_id)
            .try_map(FederatedIdentityRow::from_pg)
            .fetch_all(&self.pool)
            .await
            .db()?)
    }
}
