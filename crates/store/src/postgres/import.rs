//! The PostgreSQL side of [`twofold_core::store::import`].

use super::Postgres;
use super::{Db, pg};
use crate::postgres::factors::insert_factor_pg;
use crate::postgres::users::insert_user_pg;
use std::collections::HashSet;
use twofold_core::store::StoreError;
use twofold_core::store::import::*;

#[async_trait::async_trait]
impl ImportStore for Postgres {
    async fn usernames_in_org(&self, org_id: &str) -> Result<HashSet<String>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_scalar::<_, String>(USERNAMES)
            .bind(org_id)
            .fetch_all(p)
            .await
            .db()?
            .into_iter()
            .collect())
    }

    async fn insert_imported_users(
        &self,
        batch: &[ImportedUser],
    ) -> Result<(), (usize, StoreError)> {
        let p = &self.pool;
        let last = batch.len().saturating_sub(1);
        {
            let mut tx = p.begin().await.map_err(|e| (0, pg(e)))?;
            for (i, row) in batch.iter().enumerate() {
                insert_user_pg(&mut *tx, &row.user)
                    .await
                    .map_err(|e| (i, pg(e).unique_as(USERNAME_KEY)))?;
                if let Some(f) = &row.factor {
                    insert_factor_pg(&mut *tx, f)
                        .await
                        .map_err(|e| (i, pg(e)))?;
                }
            }
            tx.commit().await.map_err(|e| (last, pg(e)))
        }
    }
}
