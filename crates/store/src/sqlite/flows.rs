//! The SQLite side of [`twofold_core::store::flows`].

use super::Sqlite;
use super::columns::ByName;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::flows::*;

#[async_trait::async_trait]
impl FlowsStore for Sqlite {
    async fn insert_flow(&self, f: &FlowRow) -> Result<(), StoreError> {
        {
            let f = f.clone();
            self.write(move |c| {
                c.prepare_cached(INSERT_FLOW)?.execute(rusqlite::params![
                    f.id,
                    f.token_hash,
                    f.user_id,
                    f.created_at,
                    f.expires_at,
                    f.purpose
                ])?;
                Ok(())
            })
            .await
        }
    }

    async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(FLOW_BY_TOKEN)?
                .query_row([token_hash], |r| {
                    let mut col = ByName::new(r);
                    Ok(FlowRow {
                        id: col.get("id")?,
                        token_hash: col.get("token_hash")?,
                        user_id: col.get("user_id")?,
                        created_at: col.get("created_at")?,
                        expires_at: col.get("expires_at")?,
                        purpose: col.get("purpose")?,
                    })
                })
                .optional()
        })
    }

    async fn end_flow(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        {
            let hash = token_hash.to_vec();
            self.write(move |c| Ok(c.prepare_cached(DELETE_FLOW)?.execute([hash])? == 1))
                .await
        }
    }
}
