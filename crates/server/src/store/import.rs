//! Writing many users at once for the bulk import: one transaction per batch, each row's
//! user and factor together.

use std::collections::HashSet;

use super::factors::INSERT_FACTOR;
use super::users::INSERT_USER;
use super::{FactorRow, Store, StoreError, UserRow, on_pool, on_writer};

/// A user to import, with the authenticator entry it brings, if any.
#[derive(Clone, Debug)]
pub struct ImportedUser {
    pub user: UserRow,
    pub factor: Option<FactorRow>,
}

impl Store {
    /// Every username of an organisation, to find clashes before writing anything.
    pub async fn usernames_in_org(&self, org_id: &str) -> Result<HashSet<String>, StoreError> {
        let names: Vec<String> = on_pool!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT username FROM users WHERE org_id = $1")
            .bind(org_id).fetch_all(p).await)?;
        Ok(names.into_iter().collect())
    }

    /// Inserts the users (and their factors) in one transaction: all or none. On failure
    /// answers the index of the row that failed.
    pub async fn insert_imported_users(
        &self,
        batch: &[ImportedUser],
    ) -> Result<(), (usize, StoreError)> {
        on_writer!(self, p => async {
            let mut tx = p.begin().await.map_err(|e| (0, StoreError::from(e)))?;
            for (i, row) in batch.iter().enumerate() {
                let u = &row.user;
                sqlx::query(INSERT_USER)
                    .bind(&u.id).bind(&u.org_id).bind(&u.username).bind(&u.email).bind(&u.role)
                    .bind(u.federated).bind(&u.password_hash).bind(u.created_at)
                    .execute(&mut *tx).await
                    .map_err(|e| (i, StoreError::unique_as(e, "users_org_username_key")))?;
                if let Some(f) = &row.factor {
                    sqlx::query(INSERT_FACTOR)
                        .bind(&f.id).bind(&f.user_id).bind(&f.kind).bind(&f.name).bind(&f.status)
                        .bind(&f.secret_key_id).bind(&f.secret_sealed).bind(&f.algorithm)
                        .bind(f.digits).bind(f.period).bind(f.created_at).bind(f.activated_at)
                        .execute(&mut *tx).await
                        .map_err(|e| (i, StoreError::from(e)))?;
                }
            }
            tx.commit().await.map_err(|e| (batch.len().saturating_sub(1), StoreError::from(e)))
        }.await)
    }
}
