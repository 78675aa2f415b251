//! The SQLite side of [`twofold_core::store::confirmations`].

use super::Sqlite;
use super::columns::ByName;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::confirmations::*;

#[async_trait::async_trait]
impl ConfirmationsStore for Sqlite {
    async fn put_confirmation(
        &self,
        row: &ConfirmationRow,
        replaces_up_to: i64,
    ) -> Result<bool, StoreError> {
        {
            let r = row.clone();
            self.write(move |c| {
                let n = c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                    r.user_id,
                    r.purpose,
                    r.salt,
                    r.code_hash,
                    r.expires_at,
                    r.attempts_left,
                    r.created_at,
                    r.bound_to,
                    replaces_up_to
                ])?;
                Ok(n == 1)
            })
            .await
        }
    }

    async fn confirmation(
        &self,
        user_id: &str,
        purpose: &str,
    ) -> Result<Option<ConfirmationRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SELECT)?
                .query_row([user_id, purpose], |r| {
                    let mut col = ByName::new(r);
                    Ok(ConfirmationRow {
                        user_id: col.get("user_id")?,
                        purpose: col.get("purpose")?,
                        salt: col.get("salt")?,
                        code_hash: col.get("code_hash")?,
                        expires_at: col.get("expires_at")?,
                        attempts_left: col.get("attempts_left")?,
                        created_at: col.get("created_at")?,
                        bound_to: col.get("bound_to")?,
                    })
                })
                .optional()
        })
    }

    async fn on_confirmation(
        &self,
        sql: &'static str,
        row: &ConfirmationRow,
    ) -> Result<bool, StoreError> {
        {
            let r = row.clone();
            self.write(move |c| {
                Ok(c.prepare_cached(sql)?.execute(rusqlite::params![
                    r.user_id,
                    r.purpose,
                    r.code_hash
                ])? == 1)
            })
            .await
        }
    }
}
