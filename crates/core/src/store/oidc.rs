//! An organisation's OpenID Connect providers (federated sign-in), each with its client
//! secret sealed under the server's key.

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct OidcProviderRow {
    pub org_id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The key the client secret is sealed under, and the sealed secret.
    pub secret_key_id: String,
    pub client_secret_sealed: Vec<u8>,
    /// Space-separated.
    pub scopes: String,
    /// Space-separated; empty: any domain.
    pub allowed_email_domains: String,
    pub username_claim: String,
    pub create_users: bool,
    /// Unix ms.
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub const SELECT_OF_ORG: &str = "SELECT org_id, name, issuer, client_id, secret_key_id, \
     client_secret_sealed, scopes, allowed_email_domains, username_claim, create_users, \
     created_at, updated_at, updated_by FROM oidc_providers WHERE org_id = $1 ORDER BY name";
/// Inserts a provider, or replaces all but its creation time.
pub const UPSERT: &str = "INSERT INTO oidc_providers \
     (org_id, name, issuer, client_id, secret_key_id, client_secret_sealed, scopes, \
     allowed_email_domains, username_claim, create_users, created_at, updated_at, updated_by) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (org_id, name) DO UPDATE SET \
     issuer = excluded.issuer, client_id = excluded.client_id, \
     secret_key_id = excluded.secret_key_id, \
     client_secret_sealed = excluded.client_secret_sealed, scopes = excluded.scopes, \
     allowed_email_domains = excluded.allowed_email_domains, \
     username_claim = excluded.username_claim, create_users = excluded.create_users, \
     updated_at = excluded.updated_at, updated_by = excluded.updated_by";
/// Binds: org id, name.
pub const DELETE: &str = "DELETE FROM oidc_providers WHERE org_id = $1 AND name = $2";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait OidcStore: Send + Sync {
    /// Adds the provider, or replaces the one of the same name (keeping when it was made).
    async fn put_oidc_provider(&self, p: &OidcProviderRow) -> Result<(), StoreError>;

    /// Organisation `org_id`'s providers, by name.
    async fn oidc_providers_of_org(&self, org_id: &str)
    -> Result<Vec<OidcProviderRow>, StoreError>;
}

impl Store {
    /// Removes provider `name` of organisation `org_id`; false if it has none by that name.
    pub async fn delete_oidc_provider(&self, org_id: &str, name: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE, &[org_id, name]).await? == 1)
    }
}
