//! Organisation API keys: how applications authenticate to Twofold (introspection).
//! Made by an owner or admin, shown once, stored as a SHA-256 hash (256 random bits, so a
//! fast hash is enough), revocable.

use serde_json::json;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{ApiKeyRow, OrgRow};

use super::audit::Event;
use super::input::label;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// An organisation's API key, as its admins see it (never the key itself).
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A new API key: the only time its text is shown.
#[derive(Debug)]
pub struct ApiKeyCreated {
    pub id: String,
    pub name: String,
    /// The key itself; only its hash is kept.
    pub key: String,
    pub created_at: Timestamp,
}

fn to_api(k: &ApiKeyRow) -> ApiKey {
    ApiKey {
        id: k.id.clone(),
        name: k.name.clone(),
        created_at: Timestamp::from_millis(k.created_at),
        last_used_at: k.last_used_at.map(Timestamp::from_millis),
    }
}

impl Twofold {
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        slug: &str,
        name: &str,
        elevated: Option<&str>,
    ) -> Result<ApiKeyCreated> {
        let org = self.org_for_admin(caller, slug).await?;
        let name = label(name, "key's name")?;
        self.require_admin_second_factor(caller, elevated).await?;
        let tok = token::mint(TokenKind::ApiKey)?;
        let row = ApiKeyRow {
            id: Self::new_id(),
            org_id: org.id.clone(),
            name,
            key_hash: tok.hash,
            created_by: Some(caller.user.id.clone()),
            created_at: self.now().as_millis(),
            last_used_at: None,
        };
        self.store.insert_api_key(&row).await?;
        self.record_admin(&org, caller, "api_key.created", &row)
            .await;
        Ok(ApiKeyCreated {
            created_at: Timestamp::from_millis(row.created_at),
            id: row.id,
            name: row.name,
            key: tok.text,
        })
    }

    pub async fn list_api_keys(&self, caller: &Caller, slug: &str) -> Result<Vec<ApiKey>> {
        let org = self.org_for_admin(caller, slug).await?;
        Ok(self
            .store
            .api_keys_of_org(&org.id)
            .await?
            .iter()
            .map(to_api)
            .collect())
    }

    pub async fn revoke_api_key(&self, caller: &Caller, slug: &str, id: &str) -> Result<()> {
        let org = self.org_for_admin(caller, slug).await?;
        let keys = self.store.api_keys_of_org(&org.id).await?;
        let row = keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(DomainError::NotFound("API key"))?;
        if self.store.delete_api_key(&org.id, id).await? {
            self.record_admin(&org, caller, "api_key.revoked", row)
                .await;
        }
        Ok(())
    }

    /// The organisation whose API key `bearer` is; `unauthenticated` for anything else.
    pub async fn authenticate_app(&self, bearer: &str) -> Result<String> {
        let hash =
            token::lookup_hash(TokenKind::ApiKey, bearer).ok_or(DomainError::Unauthenticated)?;
        let key = self
            .store
            .api_key_by_hash(&hash)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        // Knowing when a key was last used helps an admin retire unused ones; it is not
        // worth failing the request over.
        if let Err(e) = self
            .store
            .touch_api_key(&key.id, self.now().as_millis())
            .await
        {
            tracing::warn!(error = %e, "could not record an API key's use");
        }
        Ok(key.org_id)
    }

    async fn record_admin(
        &self,
        org: &OrgRow,
        caller: &Caller,
        event: &'static str,
        k: &ApiKeyRow,
    ) {
        self.record(Event {
            org_id: &org.id,
            event,
            actor_id: Some(&caller.user.id),
            subject_id: None,
            details: json!({"key_id": k.id, "name": k.name}),
        })
        .await;
    }
}
