//! The PostgreSQL side of [`twofold_core::store::backup`]: copies are pg_dump's (the domain
//! says so before asking); a database put back with pg_restore gets its fence here.

use std::path::Path;

use super::{Db, Postgres};
use twofold_core::store::backup::*;
use twofold_core::store::{EngineError, StoreError};

#[async_trait::async_trait]
impl BackupStore for Postgres {
    async fn copy_to(&self, _to: &Path, _taken_at: i64) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Database(EngineError::new(
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "copies of a PostgreSQL database are made with pg_dump",
            ),
            false,
        )))
    }

    async fn fence_restored(&self, fence: RestoreFence) -> Result<Fenced, StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        let raised = sqlx::query(FENCE_APP_STEPS)
            .bind(fence.now_secs)
            .bind(fence.steps_ahead)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        let mut ended = 0;
        for sql in END_IN_PROGRESS {
            ended += sqlx::query(sql)
                .execute(&mut *tx)
                .await
                .db()?
                .rows_affected();
        }
        tx.commit().await.db()?;
        Ok(Fenced {
            app_factors: raised,
            in_progress_ended: ended,
        })
    }
}
