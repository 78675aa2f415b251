//! The SQLite side of [`twofold_core::store::import`].

use super::{Sqlite, driver};
use crate::sqlite::factors::insert_factor_sqlite;
use crate::sqlite::users::insert_user_sqlite;
use std::collections::HashSet;
use twofold_core::store::StoreError;
use twofold_core::store::import::*;

#[async_trait::async_trait]
impl ImportStore for Sqlite {
    async fn usernames_in_org(&self, org_id: &str) -> Result<HashSet<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(USERNAMES)?
                .query_map([org_id], |r| r.get(0))?
                .collect()
        })
    }

    async fn insert_imported_users(
        &self,
        batch: &[ImportedUser],
    ) -> Result<(), (usize, StoreError)> {
        let last = batch.len().saturating_sub(1);
        {
            let batch = batch.to_vec();
            // The job is a savepoint of its own: a failing row rolls back the batch.
            let res = self
                .write(move |c| {
                    for (i, row) in batch.iter().enumerate() {
                        insert_user_sqlite(c, &row.user)
                            .map_err(|e| row_error(i, driver(e).unique_as(USERNAME_KEY)))?;
                        if let Some(f) = &row.factor {
                            insert_factor_sqlite(c, f).map_err(|e| row_error(i, driver(e)))?;
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
    }
}
