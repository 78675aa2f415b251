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
    /// An existing password user with the provider's verified email may link the identity
    /// (with their password and second factor, once).
    pub link_by_email: bool,
    /// Unix ms.
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub const SELECT_OF_ORG: &str = "SELECT org_id, name, issuer, client_id, secret_key_id, \
     client_secret_sealed, scopes, allowed_email_domains, username_claim, create_users, \
     link_by_email, created_at, updated_at, updated_by FROM oidc_providers WHERE org_id = $1 \
     ORDER BY name";
/// Inserts a provider, or replaces all but its creation time.
pub const UPSERT: &str = "INSERT INTO oidc_providers \
     (org_id, name, issuer, client_id, secret_key_id, client_secret_sealed, scopes, \
     allowed_email_domains, username_claim, create_users, link_by_email, created_at, \
     updated_at, updated_by) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (org_id, name) DO UPDATE SET \
     issuer = excluded.issuer, client_id = excluded.client_id, \
     secret_key_id = excluded.secret_key_id, \
     client_secret_sealed = excluded.client_secret_sealed, scopes = excluded.scopes, \
     allowed_email_domains = excluded.allowed_email_domains, \
     username_claim = excluded.username_claim, create_users = excluded.create_users, \
     link_by_email = excluded.link_by_email, \
     updated_at = excluded.updated_at, updated_by = excluded.updated_by";
/// Binds: org id, name.
pub const DELETE: &str = "DELETE FROM oidc_providers WHERE org_id = $1 AND name = $2";

/// A federated sign-in (or step-up, or link) under way: kept from the redirect to the
/// provider until its callback takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct OidcLoginRow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: Vec<u8>,
    pub org_id: String,
    pub org_slug: String,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// SHA-256 of the browser's binding cookie, or of an application's PKCE challenge.
    pub binding_hash: Vec<u8>,
    /// `signin`, `step_up` or `link`.
    pub purpose: String,
    /// Step-up and link: the session that started it, and its user.
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub app_redirect: Option<String>,
    pub app_state: Option<String>,
    pub app_challenge: Option<String>,
    pub return_to: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub const INSERT_LOGIN: &str = "INSERT INTO oidc_logins (state_hash, org_id, org_slug, \
     provider, nonce, pkce_verifier, binding_hash, purpose, session_id, user_id, app_redirect, \
     app_state, app_challenge, return_to, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
/// Deletes the sign-in with this state and answers it. Binds: state hash.
pub const TAKE_LOGIN: &str = "DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING \
     state_hash, org_id, org_slug, provider, nonce, pkce_verifier, binding_hash, purpose, \
     session_id, user_id, app_redirect, app_state, app_challenge, return_to, created_at, \
     expires_at";

/// A finished federated sign-in or step-up waiting for its application to exchange the
/// one-time code for a session or an elevated token.
#[derive(Clone, Debug, PartialEq)]
pub struct OidcHandoffRow {
    /// SHA-256 of the one-time code.
    pub code_hash: Vec<u8>,
    pub user_id: String,
    /// `signin` or `step_up`.
    pub purpose: String,
    pub session_id: Option<String>,
    pub provider: String,
    /// Space-separated.
    pub amr: String,
    pub aal: i64,
    pub app_challenge: String,
    pub expires_at: i64,
}

pub const INSERT_HANDOFF: &str = "INSERT INTO oidc_handoffs (code_hash, user_id, purpose, \
     session_id, provider, amr, aal, app_challenge, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// Deletes the hand-off with this code and answers it. Binds: code hash.
pub const TAKE_HANDOFF: &str = "DELETE FROM oidc_handoffs WHERE code_hash = $1 RETURNING \
     code_hash, user_id, purpose, session_id, provider, amr, aal, app_challenge, expires_at";

/// A provider's user bound to a user here.
#[derive(Clone, Debug, PartialEq)]
pub struct FederatedIdentityRow {
    pub org_id: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub provider: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub const INSERT_IDENTITY: &str = "INSERT INTO federated_identities (org_id, issuer, subject, \
     user_id, provider, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Binds: org id, issuer, subject.
pub const SELECT_IDENTITY: &str = "SELECT org_id, issuer, subject, user_id, provider, \
     created_at, last_used_at FROM federated_identities \
     WHERE org_id = $1 AND issuer = $2 AND subject = $3";
/// Binds: org id.
pub const SELECT_IDENTITIES_OF_ORG: &str = "SELECT org_id, issuer, subject, user_id, provider, \
     created_at, last_used_at FROM federated_identities WHERE org_id = $1 \
     ORDER BY user_id, provider";
/// Binds: now, org id, issuer, subject.
pub const TOUCH_IDENTITY: &str = "UPDATE federated_identities SET last_used_at = $1 \
     WHERE org_id = $2 AND issuer = $3 AND subject = $4";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait OidcStore: Send + Sync {
    /// Adds the provider, or replaces the one of the same name (keeping when it was made).
    async fn put_oidc_provider(&self, p: &OidcProviderRow) -> Result<(), StoreError>;

    /// Organisation `org_id`'s providers, by name.
    async fn oidc_providers_of_org(&self, org_id: &str)
    -> Result<Vec<OidcProviderRow>, StoreError>;

    async fn insert_oidc_login(&self, l: &OidcLoginRow) -> Result<(), StoreError>;

    /// Deletes and answers the sign-in under way with this state hash (expired or not: the
    /// caller checks), so that of two callbacks with one state only one gets it.
    async fn take_oidc_login(&self, state_hash: &[u8]) -> Result<Option<OidcLoginRow>, StoreError>;

    async fn insert_oidc_handoff(&self, h: &OidcHandoffRow) -> Result<(), StoreError>;

    /// Deletes and answers the hand-off with this code hash, like [`Self::take_oidc_login`].
    async fn take_oidc_handoff(
        &self,
        code_hash: &[u8],
    ) -> Result<Option<OidcHandoffRow>, StoreError>;

    /// Binds a provider identity to a user; `Duplicate("federated identity")` if the
    /// identity, or an identity of that issuer for the user, is bound already.
    async fn insert_federated_identity(&self, i: &FederatedIdentityRow) -> Result<(), StoreError>;

    async fn federated_identity(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedIdentityRow>, StoreError>;

    /// Records that the identity was just used to sign in.
    async fn touch_federated_identity(
        &self,
        i: &FederatedIdentityRow,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Organisation `org_id`'s bound identities.
    async fn federated_identities_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<FederatedIdentityRow>, StoreError>;
}

impl Store {
    /// Removes provider `name` of organisation `org_id`; false if it has none by that name.
    pub async fn delete_oidc_provider(&self, org_id: &str, name: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE, &[org_id, name]).await? == 1)
    }
}
