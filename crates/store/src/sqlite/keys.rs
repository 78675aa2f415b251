//! The SQLite side of [`twofold_core::store::keys`].

use super::Sqlite;
use twofold_core::store::StoreError;
use twofold_core::store::keys::*;

#[async_trait::async_trait]
impl KeysStore for Sqlite {
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        {
            let (id, check) = (id.to_owned(), check.to_vec());
            self.write(move |c| {
                c.prepare_cached(REGISTER)?
                    .execute(rusqlite::params![id, check, now])?;
                Ok(c.prepare_cached(CHECK_VALUE)?
                    .query_row([&id], |r| r.get(0))?)
            })
            .await
        }
    }

    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(KEY_IDS)?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }
}
