//! The SQLite side of [`twofold_core::store::factors`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::factors::*;

impl FromSqlite for FactorRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(FactorRow {
            id: col.get("id")?,
            user_id: col.get("user_id")?,
            kind: col.parsed("kind")?,
            name: col.get("name")?,
            status: col.parsed("status")?,
            secret_key_id: col.get("secret_key_id")?,
            secret_sealed: col.get("secret_sealed")?,
            algorithm: col.get("algorithm")?,
            digits: col.get("digits")?,
            period: col.get("period")?,
            last_used_step: col.get("last_used_step")?,
            created_at: col.get("created_at")?,
            activated_at: col.get("activated_at")?,
            last_used_at: col.get("last_used_at")?,
            preferred: col.get("preferred")?,
            drift_steps: col.get("drift_steps")?,
            next_secret_key_id: col.get("next_secret_key_id")?,
            next_secret_sealed: col.get("next_secret_sealed")?,
            address: col.get("address")?,
            resync_step: col.get("resync_step")?,
            resync_at: col.get("resync_at")?,
        })
    }
}

impl FromSqlite for TotpFactor {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(TotpFactor {
            id: col.get("id")?,
            secret_key_id: col.get("secret_key_id")?,
            secret_sealed: col.get("secret_sealed")?,
            algorithm: col.get("algorithm")?,
            digits: col.get("digits")?,
            period: col.get("period")?,
            drift_steps: col.get("drift_steps")?,
            resync_step: col.get("resync_step")?,
            resync_at: col.get("resync_at")?,
        })
    }
}

/// All of a user's factors, oldest first, on SQLite.
fn factors_of_user_sqlite(
    c: &rusqlite::Connection,
    user_id: &str,
) -> rusqlite::Result<Vec<FactorRow>> {
    c.prepare_cached(factors_of_user_sql())?
        .query_map([user_id], FactorRow::from_sqlite)?
        .collect()
}

/// Inserts `f` on SQLite (shared with the import batches).
pub(crate) fn insert_factor_sqlite(
    c: &rusqlite::Connection,
    f: &FactorRow,
) -> rusqlite::Result<()> {
    c.prepare_cached(INSERT_FACTOR)?.execute(rusqlite::params![
        f.id,
        f.user_id,
        f.kind.as_str(),
        f.name,
        f.status.as_str(),
        f.secret_key_id,
        f.secret_sealed,
        f.algorithm,
        f.digits,
        f.period,
        f.created_at,
        f.activated_at,
        f.address
    ])?;
    Ok(())
}

#[async_trait::async_trait]
impl FactorsStore for Sqlite {
    async fn replace_pending_totp(
        &self,
        f: &FactorRow,
        max_active: i64,
    ) -> Result<NewPending, StoreError> {
        {
            let f = f.clone();
            self.write(move |c| {
                let active: i64 = c
                    .prepare_cached(COUNT_ACTIVE_APPS)?
                    .query_row([&f.user_id], |r| r.get(0))?;
                if active >= max_active {
                    return Ok(NewPending::TooMany { active });
                }
                c.prepare_cached(DELETE_PENDING_APPS)?
                    .execute([&f.user_id])?;
                insert_factor_sqlite(c, &f)?;
                Ok(NewPending::Inserted)
            })
            .await
        }
    }

    async fn activate_factor(&self, a: &Activate) -> Result<Activation, StoreError> {
        {
            let a = a.clone();
            self.write(move |c| {
                if a.only_if_first
                    && c.prepare_cached(ANY_ACTIVE)?
                        .query_row([&a.user_id], |r| r.get::<_, bool>(0))?
                {
                    return Ok(Activation::NotFirst);
                }
                let n = c
                    .prepare_cached(ACTIVATE)?
                    .execute(rusqlite::params![a.now, a.step, a.id, a.user_id])?;
                if n != 1 {
                    return Ok(Activation::NotPending);
                }
                if a.preferred {
                    c.prepare_cached(PREFER)?.execute([&a.id, &a.user_id])?;
                }
                Ok(Activation::Activated)
            })
            .await
        }
    }

    async fn insert_factor(&self, f: &FactorRow) -> Result<(), StoreError> {
        let out = {
            let f = f.clone();
            self.write(move |c| Ok(insert_factor_sqlite(c, &f)?)).await
        };
        out.map_err(|e| e.unique_as("factors_one_email_key"))
    }

    async fn factors_of_user(&self, user_id: &str) -> Result<Vec<FactorRow>, StoreError> {
        self.read(|c| factors_of_user_sqlite(c, user_id))
    }

    async fn factor_of_user(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<FactorRow>, StoreError> {
        let sql = format!("{SELECT_FACTOR} WHERE id = $1 AND user_id = $2");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([id, user_id], FactorRow::from_sqlite)
                .optional()
        })
    }

    async fn count_active_factors(&self, user_id: &str) -> Result<i64, StoreError> {
        self.read(|c| {
            c.prepare_cached(COUNT_ACTIVE)?
                .query_row([user_id], |r| r.get(0))
        })
    }

    async fn set_next_secret(
        &self,
        id: &str,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        const SET: &str = "UPDATE factors SET next_secret_key_id = $1, next_secret_sealed = $2 \
             WHERE id = $3 AND status = 'active'";
        {
            let args = (key_id.to_owned(), sealed.to_vec(), id.to_owned());
            self.write(move |c| {
                Ok(c.prepare_cached(SET)?
                    .execute(rusqlite::params![args.0, args.1, args.2])?
                    == 1)
            })
            .await
        }
    }

    async fn promote_next_secret(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        const PROMOTE: &str = "UPDATE factors SET secret_key_id = next_secret_key_id, \
             secret_sealed = next_secret_sealed, next_secret_key_id = NULL, \
             next_secret_sealed = NULL, last_used_step = $1, last_used_at = $2, drift_steps = 0, \
             resync_step = NULL, resync_at = NULL \
             WHERE id = $3 AND next_secret_sealed IS NOT NULL";
        {
            let id = id.to_owned();
            self.write(move |c| {
                Ok(c.prepare_cached(PROMOTE)?
                    .execute(rusqlite::params![step, now, id])?
                    == 1)
            })
            .await
        }
    }

    async fn set_preferred_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        const ACTIVE_ONE: &str =
            "SELECT 1 FROM factors WHERE id = $1 AND user_id = $2 AND status = 'active'";
        {
            let args = [id.to_owned(), user_id.to_owned()];
            // One writer job: the check and the update see the same state.
            self.write(move |c| {
                if !c
                    .prepare_cached(ACTIVE_ONE)?
                    .exists(rusqlite::params![args[0], args[1]])?
                {
                    return Ok(false);
                }
                c.prepare_cached(PREFER)?
                    .execute(rusqlite::params![args[0], args[1]])?;
                Ok(true)
            })
            .await
        }
    }
}
