//! Recovery codes: stored as Argon2id hashes, each used at most once. Accepting one is a
//! transaction whose first statement, the conditional `UPDATE` that marks it used,
//! decides races; a sign-in's flow, session and record are written in the same one.

use super::audit::{AuditRow, insert_audit_pg, insert_audit_sqlite};
use super::code_check::{Finish, write_finish_pg, write_finish_sqlite};
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

/// Accepting a matched code.
pub struct RecoveryAccept {
    pub code_id: String,
    pub user_id: String,
    pub now: i64,
    /// The sign-in to finish, or a plain claim; the session's `user_id` must be set.
    pub finish: Finish,
    /// Recorded in the same transaction when it commits.
    pub audit: Vec<AuditRow>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RecoveryOutcome {
    Accepted,
    /// Used meanwhile by a concurrent request (or replaced by a new set).
    CodeUsed,
    /// The sign-in flow was finished meanwhile.
    FlowGone,
}

const DELETE_ALL: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const INSERT: &str = "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) \
     VALUES ($1, $2, $3, $4)";
const UNUSED: &str = "SELECT id, code_hash FROM recovery_codes \
     WHERE user_id = $1 AND used_at IS NULL ORDER BY id";
const COUNT_UNUSED: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
/// Binds: now, code id, user id.
const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $1 \
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

    /// Marks the matched code used and writes what its acceptance means, all or nothing.
    pub async fn accept_recovery_code(
        &self,
        a: RecoveryAccept,
    ) -> Result<RecoveryOutcome, StoreError> {
        match self {
            Store::Sqlite(db) => {
                db.write(move |c| {
                    // Nothing else writes while this job runs, so what it reads first
                    // still holds when it writes; it changes nothing unless it accepts.
                    if let Finish::SignIn { flow, .. } = &a.finish {
                        let live = c
                            .prepare_cached("SELECT 1 FROM login_flows WHERE token_hash = $1")?
                            .exists([flow])?;
                        if !live {
                            return Ok(RecoveryOutcome::FlowGone);
                        }
                    }
                    let used = c
                        .prepare_cached(USE_CODE)?
                        .execute(rusqlite::params![a.now, a.code_id, a.user_id])?;
                    if used != 1 {
                        return Ok(RecoveryOutcome::CodeUsed);
                    }
                    write_finish_sqlite(c, &a.finish, &a.user_id, a.now)?;
                    for row in &a.audit {
                        insert_audit_sqlite(c, row)?;
                    }
                    Ok(RecoveryOutcome::Accepted)
                })
                .await
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let used = sqlx::query(USE_CODE)
                    .bind(a.now)
                    .bind(&a.code_id)
                    .bind(&a.user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if used != 1 {
                    return Ok(RecoveryOutcome::CodeUsed);
                }
                if !write_finish_pg(&mut tx, &a.finish, &a.user_id, a.now).await? {
                    // Rolled back with the code's use.
                    return Ok(RecoveryOutcome::FlowGone);
                }
                for row in &a.audit {
                    insert_audit_pg(&mut *tx, row).await?;
                }
                tx.commit().await?;
                Ok(RecoveryOutcome::Accepted)
            }
        }
    }
}
