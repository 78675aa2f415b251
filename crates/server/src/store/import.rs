//! Writing many users at once for the bulk import: one transaction per batch, each row's
//! user and factor together.

use std::collections::HashSet;

use super::factors::{insert_factor_pg, insert_factor_sqlite};
use super::users::{insert_user_pg, insert_user_sqlite};
use super::{FactorRow, Store, StoreError, UserRow};

/// A user to import, with the authenticator entry it brings, if any.
#[derive(Clone, Debug)]
pub struct ImportedUser {
    pub user: UserRow,
    pub factor: Option<FactorRow>,
}

const USERNAMES: &str = "SELECT username FROM users WHERE org_id = $1";
const USERNAME_KEY: &str = "users_org_username_key";

impl Store {
    /// Every username of an organisation, to find clashes before writing anything.
    pub async fn usernames_in_org(&self, org_id: &str) -> Result<HashSet<String>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(USERNAMES)?
                    .query_map([org_id], |r| r.get(0))?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_scalar::<_, String>(USERNAMES)
                .bind(org_id)
                .fetch_all(p)
                .await?
                .into_iter()
                .collect()),
        }
    }

    /// Inserts the users (and their factors) in one transaction: all or none. On failure
    /// answers the index of the row that failed.
    pub async fn insert_imported_users(
        &self,
        batch: &[ImportedUser],
    ) -> Result<(), (usize, StoreError)> {
        let last = batch.len().saturating_sub(1);
        match self {
            Store::Sqlite(db) => {
                let batch = batch.to_vec();
                // The job is a savepoint of its own: a failing row rolls back the batch.
                let res = db
                    .write(move |c| {
                        for (i, row) in batch.iter().enumerate() {
                            insert_user_sqlite(c, &row.user).map_err(|e| {
                                row_error(i, StoreError::unique_as(e, USERNAME_KEY))
                            })?;
                            if let Some(f) = &row.factor {
                                insert_factor_sqlite(c, f).map_err(|e| row_error(i, e.into()))?;
                            }
                        }
                        Ok(())
                    })
                    .await;
                res.map_err(|e| match e {
                    StoreError::Row(i, e) => (i, *e),
                    other => (last, other),
                })
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await.map_err(|e| (0, StoreError::from(e)))?;
                for (i, row) in batch.iter().enumerate() {
                    insert_user_pg(&mut *tx, &row.user)
                        .await
                        .map_err(|e| (i, StoreError::unique_as(e, USERNAME_KEY)))?;
                    if let Some(f) = &row.factor {
                        insert_factor_pg(&mut *tx, f)
                            .await
                            .map_err(|e| (i, StoreError::from(e)))?;
                    }
                }
                tx.commit().await.map_err(|e| (last, StoreError::from(e)))
            }
        }
    }
}

fn row_error(i: usize, e: StoreError) -> StoreError {
    StoreError::Row(i, Box::new(e))
}
