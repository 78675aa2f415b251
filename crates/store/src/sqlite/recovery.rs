//! The SQLite side of [`twofold_core::store::recovery`].

use super::Sqlite;
use twofold_core::store::StoreError;
use twofold_core::store::recovery::*;

#[async_trait::async_trait]
impl RecoveryStore for Sqlite {
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        rows: Vec<RecoveryRow>,
    ) -> Result<(), StoreError> {
        {
            let user_id = user_id.to_owned();
            self.write(move |c| {
                c.prepare_cached(DELETE_ALL)?.execute([&user_id])?;
                for r in &rows {
                    c.prepare_cached(INSERT)?.execute(rusqlite::params![
                        r.id,
                        r.user_id,
                        r.code_hash,
                        r.created_at
                    ])?;
                }
                Ok(())
            })
            .await
        }
    }

    async fn unused_recovery_codes(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            c.prepare_cached(UNUSED)?
                .query_map([user_id], |r| Ok((r.get("id")?, r.get("code_hash")?)))?
                .collect()
        })
    }

    async fn count_unused_recovery_codes(&self, user_id: &str) -> Result<i64, StoreError> {
        self.read(|c| {
            c.prepare_cached(COUNT_UNUSED)?
                .query_row([user_id], |r| r.get(0))
        })
    }
}
