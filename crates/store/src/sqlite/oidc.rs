//! The SQLite side of [`twofold_core::store::oidc`].

use super::Sqlite;
use super::columns::ByName;
use twofold_core::store::StoreError;
use twofold_core::store::oidc::*;

#[async_trait::async_trait]
impl OidcStore for Sqlite {
    async fn put_oidc_provider(&self, p: &OidcProviderRow) -> Result<(), StoreError> {
        let p = p.clone();
        self.write(move |c| {
            c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                p.org_id,
                p.name,
                p.issuer,
                p.client_id,
                p.secret_key_id,
                p.client_secret_sealed,
                p.scopes,
                p.allowed_email_domains,
                p.username_claim,
                p.create_users,
                p.created_at,
                p.updated_at,
                p.updated_by
            ])?;
            Ok(())
        })
        .await
    }

    async fn oidc_providers_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<OidcProviderRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SELECT_OF_ORG)?
                .query_map([org_id], |r| {
                    let mut col = ByName::new(r);
                    Ok(OidcProviderRow {
                        org_id: col.get("org_id")?,
                        name: col.get("name")?,
                        issuer: col.get("issuer")?,
                        client_id: col.get("client_id")?,
                        secret_key_id: col.get("secret_key_id")?,
                        client_secret_sealed: col.get("client_secret_sealed")?,
                        scopes: col.get("scopes")?,
                        allowed_email_domains: col.get("allowed_email_domains")?,
                        username_claim: col.get("username_claim")?,
                        create_users: col.get("create_users")?,
                        created_at: col.get("created_at")?,
                        updated_at: col.get("updated_at")?,
                        updated_by: col.get("updated_by")?,
                    })
                })?
                .collect()
        })
    }
}
