//! Writing many users at once for the bulk import: one transaction per batch, each row's
//! user and factor together.

use std::collections::HashSet;

use super::{FactorRow, StoreError, UserRow};

/// A user to import, with the authenticator entry it brings, if any.
#[derive(Clone, Debug)]
pub struct ImportedUser {
    pub user: UserRow,
    pub factor: Option<FactorRow>,
}

pub const USERNAMES: &str = "SELECT username FROM users WHERE org_id = $1";
pub const USERNAME_KEY: &str = "users_org_username_key";

pub fn row_error(i: usize, e: StoreError) -> StoreError {
    StoreError::Row(i, Box::new(e))
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait ImportStore: Send + Sync {
    /// Every username of an organisation, to find clashes before writing anything.
    async fn usernames_in_org(&self, org_id: &str) -> Result<HashSet<String>, StoreError>;

    /// Inserts the users (and their factors) in one transaction: all or none. On failure
    /// answers the index of the row that failed.
    async fn insert_imported_users(
        &self,
        batch: &[ImportedUser],
    ) -> Result<(), (usize, StoreError)>;
}
