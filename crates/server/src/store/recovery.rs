//! Recovery codes: stored as Argon2id hashes, each used at most once (accepting one is in
//! `one_time`).

use super::{Store, StoreError};

/// One stored code.
#[derive(Clone, Debug)]
pub struct RecoveryRow {
    pub id: String,
    pub user_id: String,
    /// Argon2id, PHC format.
    pub code_hash: String,
    pub created_at: i64,
}

const DELETE_ALL: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const INSERT: &str = "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) \
     VALUES ($1, $2, $3, $4)";
const UNUSED: &str = "SELECT id, code_hash FROM recovery_codes \
     WHERE user_id = $1 AND used_at IS NULL ORDER BY id";
const COUNT_UNUSED: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
/// Binds: now, code id, user id.
pub(super) const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $1 \
     WHERE id = $2 AND user_id = $3 AND used_at IS NULL";

impl Store {
    /// Replaces `user_id`'s codes with `rows`, in one transaction.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        rows: Vec<RecoveryRow>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let user_id = user_id.to_owned();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(DELETE_ALL)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                for r in &rows {
                    sqlx::query(INSERT)
                        .bind(&r.id)
                        .bind(&r.user_id)
                        .bind(&r.code_hash)
                        .bind(r.created_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// `user_id`'s unused codes: (id, hash).
    pub async fn unused_recovery_codes(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(UNUSED)?
                    .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as(UNUSED).bind(user_id).fetch_all(p).await?),
        }
    }

    pub async fn count_unused_recovery_codes(&self, user_id: &str) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(COUNT_UNUSED)?
                    .query_row([user_id], |r| r.get(0))
            }),
            Store::Postgres(p) => Ok(sqlx::query_scalar(COUNT_UNUSED)
                .bind(user_id)
                .fetch_one(p)
                .await?),
        }
    }
}
