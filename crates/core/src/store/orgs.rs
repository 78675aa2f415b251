//! Organisations.

use super::StoreError;

#[derive(Clone, Debug)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    /// A dummy password hash of the slowest imported kind the organisation holds, which
    /// an unknown username is checked against (see `crypto::password`).
    pub miss_hash: Option<String>,
}

pub const INSERT_ORG: &str =
    "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
pub const ORG_BY_SLUG: &str =
    "SELECT id, slug, name, created_at, miss_hash FROM orgs WHERE slug = $1";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait OrgsStore: Send + Sync {
    async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError>;

    async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRow>, StoreError>;

    /// Sets (or clears) organisation `org_id`'s dummy hash for unknown usernames.
    async fn set_org_miss_hash(
        &self,
        org_id: &str,
        miss_hash: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The organisations that have a dummy hash for unknown usernames: (id, hash).
    async fn orgs_with_miss_hash(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Whether any user of `org_id` has a password hash not starting with `current`
    /// (one imported from another system, not yet replaced).
    async fn org_holds_other_hashes(&self, org_id: &str, current: &str)
    -> Result<bool, StoreError>;
}
