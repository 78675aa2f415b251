//! The SQLite side of [`twofold_core::store::lockout`].

use rusqlite::OptionalExtension;

use super::Sqlite;
use twofold_core::store::StoreError;
use twofold_core::store::lockout::*;

#[async_trait::async_trait]
impl LockoutStore for Sqlite {
    async fn reserve_mfa_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: LockAfter,
    ) -> Result<Reservation, StoreError> {
        {
            let user_id = user_id.to_owned();
            // The single writer runs this alone: the read and the write cannot race.
            self.write(move |c| {
                let (failures, locked_until): (i64, Option<i64>) = c
                    .prepare_cached(LOCK_STATE)?
                    .query_row([&user_id], |r| {
                        Ok((r.get("mfa_failures")?, r.get("mfa_locked_until")?))
                    })
                    .optional()?
                    .ok_or(StoreError::Missing("user"))?;
                if let Some(until) = locked_until.filter(|&u| u > now) {
                    return Ok(Reservation::Locked { until });
                }
                let attempt = failures + 1;
                let lock = lock_after(attempt).or(locked_until);
                c.prepare_cached(RESERVE)?
                    .execute(rusqlite::params![attempt, lock, user_id, failures, now])?;
                Ok(Reservation::Granted { attempt })
            })
            .await
        }
    }

    async fn mfa_locked_until(&self, user_id: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let until: Option<i64> = self
            .read(|c| {
                c.prepare_cached(LOCK_STATE)?
                    .query_row([user_id], |r| r.get("mfa_locked_until"))
                    .optional()
            })?
            .ok_or(StoreError::Missing("user"))?;
        Ok(until.filter(|&u| u > now))
    }
}
