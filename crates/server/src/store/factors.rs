//! Second factors: authenticator apps (TOTP), whose secret is stored only sealed (see
//! `crypto::secret_box`), and email, which has no secret but the address it was verified
//! for (its codes are kept in `confirmations`).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FactorRow {
    pub id: String,
    pub user_id: String,
    /// [`TOTP`] or [`EMAIL`].
    pub kind: String,
    pub name: String,
    pub status: String,
    /// TOTP only.
    pub secret_key_id: Option<String>,
    /// TOTP only.
    pub secret_sealed: Option<Vec<u8>>,
    /// TOTP only.
    pub algorithm: Option<String>,
    /// TOTP: the code's digits and period; email: the code's digits and lifetime (s).
    pub digits: i64,
    pub period: i64,
    pub last_used_step: Option<i64>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The user's preferred factor, asked for first at sign-in.
    pub preferred: bool,
    /// The device clock's offset, in time steps, at the last accepted code.
    pub drift_steps: i64,
    /// A regenerated secret waiting for a code from it.
    pub next_secret_key_id: Option<String>,
    pub next_secret_sealed: Option<Vec<u8>>,
    /// Email only: the address the factor was verified for, where its codes go.
    pub address: Option<String>,
    /// A refused code that matched this step beyond the accepted window: the first half
    /// of a clock resynchronisation, waiting for a code from the next step.
    pub resync_step: Option<i64>,
    /// When that code came (Unix ms).
    pub resync_at: Option<i64>,
}

/// The kind of an authenticator-app factor.
pub const TOTP: &str = "totp";
/// The kind of an email factor.
pub const EMAIL: &str = "email";

/// Columns in [`FactorRow`]'s field order (SQLite reads them by position).
const SELECT_FACTOR: &str = "SELECT id, user_id, kind, name, status, secret_key_id, secret_sealed, \
     algorithm, digits, period, last_used_step, created_at, activated_at, last_used_at, preferred, \
     drift_steps, next_secret_key_id, next_secret_sealed, address, resync_step, resync_at FROM factors";

/// Binds: user id.
pub(super) fn factors_of_user_sql() -> String {
    format!("{SELECT_FACTOR} WHERE user_id = $1 ORDER BY created_at, id")
}

/// All of a user's factors, oldest first, on SQLite (shared with the code check).
pub(super) fn factors_of_user_sqlite(
    c: &rusqlite::Connection,
    user_id: &str,
) -> rusqlite::Result<Vec<FactorRow>> {
    c.prepare_cached(&factors_of_user_sql())?
        .query_map([user_id], FactorRow::from_sqlite)?
        .collect()
}

impl FactorRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(FactorRow {
            id: r.get(0)?,
            user_id: r.get(1)?,
            kind: r.get(2)?,
            name: r.get(3)?,
            status: r.get(4)?,
            secret_key_id: r.get(5)?,
            secret_sealed: r.get(6)?,
            algorithm: r.get(7)?,
            digits: r.get(8)?,
            period: r.get(9)?,
            last_used_step: r.get(10)?,
            created_at: r.get(11)?,
            activated_at: r.get(12)?,
            last_used_at: r.get(13)?,
            preferred: r.get(14)?,
            drift_steps: r.get(15)?,
            next_secret_key_id: r.get(16)?,
            next_secret_sealed: r.get(17)?,
            address: r.get(18)?,
            resync_step: r.get(19)?,
            resync_at: r.get(20)?,
        })
    }
}

/// Binds: id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm,
/// digits, period, created_at, activated_at, address.
const INSERT_FACTOR: &str = "INSERT INTO factors \
     (id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm, digits, period, \
     created_at, activated_at, address) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The replay rule as one conditional statement.
/// Records the device clock's drift (steps) of the accepted code as well, and ends any
/// resynchronisation in progress. Binds: step, now, drift, factor id.
pub(super) const CLAIM_TOTP_STEP: &str = "UPDATE factors SET last_used_step = $1, last_used_at = $2, \
     drift_steps = $3, resync_step = NULL, resync_at = NULL WHERE id = $4 AND status = 'active' \
     AND (last_used_step IS NULL OR last_used_step < $1)";
/// Remembers a refused code's far step for a resynchronisation. Binds: step, now, id.
pub(super) const NOTE_RESYNC: &str =
    "UPDATE factors SET resync_step = $1, resync_at = $2 WHERE id = $3 AND status = 'active'";

/// Locks the user's row until the transaction ends (PostgreSQL), so that checks of a
/// user's factors and the change they guard are one step across processes. SQLite's
/// single writer gives the same. Binds: user id.
pub(super) const LOCK_USER: &str = "SELECT id FROM users WHERE id = $1 FOR UPDATE";

/// The activating code's step counts as used, and as the factor's last use. Binds: now,
/// step, id, user id.
const ACTIVATE: &str = "UPDATE factors SET status = 'active', activated_at = $1, last_used_at = $1, \
     last_used_step = $2 WHERE id = $3 AND user_id = $4 AND status = 'pending'";
const ANY_ACTIVE: &str =
    "SELECT EXISTS (SELECT 1 FROM factors WHERE user_id = $1 AND status = 'active')";
/// Binds: the preferred factor's id, user id.
const PREFER: &str = "UPDATE factors SET preferred = (id = $1) WHERE user_id = $2";
const COUNT_ACTIVE_APPS: &str =
    "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND kind = 'totp' AND status = 'active'";
const DELETE_PENDING_APPS: &str =
    "DELETE FROM factors WHERE user_id = $1 AND kind = 'totp' AND status = 'pending'";
const DELETE_PENDING: &str = "DELETE FROM factors WHERE id = $1 AND status = 'pending'";
const DELETE: &str = "DELETE FROM factors WHERE id = $1";
const COUNT_ACTIVE: &str = "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'active'";

/// Activating a pending factor.
#[derive(Clone, Debug)]
pub struct Activate {
    pub id: String,
    pub user_id: String,
    /// An authenticator app's activating step (counts as used).
    pub step: Option<i64>,
    pub now: i64,
    /// Only while the user has no active factor: the caller's right to add one rests on
    /// having none (a password-only session, an enrolment flow), so of two activations at
    /// once only the first may succeed.
    pub only_if_first: bool,
    /// Make it the preferred factor too.
    pub preferred: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// Not pending (activated by a concurrent request, or gone).
    NotPending,
    /// `only_if_first`, and the user has an active factor now.
    NotFirst,
}

/// Adding a pending authenticator app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewPending {
    Inserted,
    /// The user has this many active apps already, the most allowed.
    TooMany {
        active: i64,
    },
}

/// Inserts `f` on SQLite (shared with the import batches).
pub(super) fn insert_factor_sqlite(
    c: &rusqlite::Connection,
    f: &FactorRow,
) -> rusqlite::Result<()> {
    c.prepare_cached(INSERT_FACTOR)?.execute(rusqlite::params![
        f.id,
        f.user_id,
        f.kind,
        f.name,
        f.status,
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

/// Inserts `f` on PostgreSQL, alone or inside a transaction.
pub(super) async fn insert_factor_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    f: &FactorRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_FACTOR)
        .bind(&f.id)
        .bind(&f.user_id)
        .bind(&f.kind)
        .bind(&f.name)
        .bind(&f.status)
        .bind(&f.secret_key_id)
        .bind(&f.secret_sealed)
        .bind(&f.algorithm)
        .bind(f.digits)
        .bind(f.period)
        .bind(f.created_at)
        .bind(f.activated_at)
        .bind(&f.address)
        .execute(e)
        .await?;
    Ok(())
}

impl Store {
    /// Adds pending authenticator app `f`, replacing the user's unfinished ones, unless
    /// they have `max_active` active apps already: one step, so concurrent enrolments
    /// leave one pending app and never pass the limit.
    pub async fn replace_pending_totp(
        &self,
        f: &FactorRow,
        max_active: i64,
    ) -> Result<NewPending, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let f = f.clone();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(LOCK_USER)
                    .bind(&f.user_id)
                    .execute(&mut *tx)
                    .await?;
                let active: i64 = sqlx::query_scalar(COUNT_ACTIVE_APPS)
                    .bind(&f.user_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if active >= max_active {
                    return Ok(NewPending::TooMany { active });
                }
                sqlx::query(DELETE_PENDING_APPS)
                    .bind(&f.user_id)
                    .execute(&mut *tx)
                    .await?;
                insert_factor_pg(&mut *tx, f).await?;
                tx.commit().await?;
                Ok(NewPending::Inserted)
            }
        }
    }

    /// Activates a pending factor (see [`Activate`]): the check that the user has no
    /// active factor, when asked for, and the activation are one step.
    pub async fn activate_factor(&self, a: &Activate) -> Result<Activation, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let a = a.clone();
                db.write(move |c| {
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
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(LOCK_USER)
                    .bind(&a.user_id)
                    .execute(&mut *tx)
                    .await?;
                if a.only_if_first
                    && sqlx::query_scalar::<_, bool>(ANY_ACTIVE)
                        .bind(&a.user_id)
                        .fetch_one(&mut *tx)
                        .await?
                {
                    return Ok(Activation::NotFirst);
                }
                let n = sqlx::query(ACTIVATE)
                    .bind(a.now)
                    .bind(a.step)
                    .bind(&a.id)
                    .bind(&a.user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    return Ok(Activation::NotPending);
                }
                if a.preferred {
                    sqlx::query(PREFER)
                        .bind(&a.id)
                        .bind(&a.user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Activation::Activated)
            }
        }
    }

    /// Inserts a factor; `Duplicate` if the user has an email factor already and `f` is
    /// another.
    pub async fn insert_factor(&self, f: &FactorRow) -> Result<(), StoreError> {
        let out = match self {
            Store::Sqlite(db) => {
                let f = f.clone();
                db.write(move |c| Ok(insert_factor_sqlite(c, &f)?)).await
            }
            Store::Postgres(p) => insert_factor_pg(p, f).await.map_err(StoreError::from),
        };
        out.map_err(|e| StoreError::unique_as(e, "factors_one_email_key"))
    }

    /// All of a user's factors, oldest first.
    pub async fn factors_of_user(&self, user_id: &str) -> Result<Vec<FactorRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| factors_of_user_sqlite(c, user_id)),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, FactorRow>(&factors_of_user_sql())
                .bind(user_id)
                .fetch_all(p)
                .await?),
        }
    }

    /// One factor, only if it belongs to `user_id`.
    pub async fn factor_of_user(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<FactorRow>, StoreError> {
        let sql = format!("{SELECT_FACTOR} WHERE id = $1 AND user_id = $2");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row([id, user_id], FactorRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, FactorRow>(&sql)
                .bind(id)
                .bind(user_id)
                .fetch_optional(p)
                .await?),
        }
    }

    pub async fn count_active_factors(&self, user_id: &str) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(COUNT_ACTIVE)?
                    .query_row([user_id], |r| r.get(0))
            }),
            Store::Postgres(p) => Ok(sqlx::query_scalar::<_, i64>(COUNT_ACTIVE)
                .bind(user_id)
                .fetch_one(p)
                .await?),
        }
    }

    /// Stores a regenerated secret for active factor `id`, replacing one not yet
    /// activated; false if the factor is not active.
    pub async fn set_next_secret(
        &self,
        id: &str,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        const SET: &str = "UPDATE factors SET next_secret_key_id = $1, next_secret_sealed = $2 \
             WHERE id = $3 AND status = 'active'";
        match self {
            Store::Sqlite(db) => {
                let args = (key_id.to_owned(), sealed.to_vec(), id.to_owned());
                db.write(move |c| {
                    Ok(c.prepare_cached(SET)?
                        .execute(rusqlite::params![args.0, args.1, args.2])?
                        == 1)
                })
                .await
            }
            Store::Postgres(p) => Ok(sqlx::query(SET)
                .bind(key_id)
                .bind(sealed)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }

    /// Makes factor `id`'s regenerated secret its secret, with the activating code's step
    /// as used; false if there was none (activated by a concurrent request).
    pub async fn promote_next_secret(
        &self,
        id: &str,
        step: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        const PROMOTE: &str = "UPDATE factors SET secret_key_id = next_secret_key_id, \
             secret_sealed = next_secret_sealed, next_secret_key_id = NULL, \
             next_secret_sealed = NULL, last_used_step = $1, last_used_at = $2, drift_steps = 0, \
             resync_step = NULL, resync_at = NULL \
             WHERE id = $3 AND next_secret_sealed IS NOT NULL";
        match self {
            Store::Sqlite(db) => {
                let id = id.to_owned();
                db.write(move |c| {
                    Ok(c.prepare_cached(PROMOTE)?
                        .execute(rusqlite::params![step, now, id])?
                        == 1)
                })
                .await
            }
            Store::Postgres(p) => Ok(sqlx::query(PROMOTE)
                .bind(step)
                .bind(now)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }

    /// Makes active factor `id` of `user_id` the preferred one (and no other); false if
    /// the user has no such active factor.
    pub async fn set_preferred_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        const ACTIVE_ONE: &str =
            "SELECT 1 FROM factors WHERE id = $1 AND user_id = $2 AND status = 'active'";
        match self {
            Store::Sqlite(db) => {
                let args = [id.to_owned(), user_id.to_owned()];
                // One writer job: the check and the update see the same state.
                db.write(move |c| {
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
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let found = sqlx::query(ACTIVE_ONE)
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if !found {
                    return Ok(false);
                }
                sqlx::query(PREFER)
                    .bind(id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    }

    /// Deletes a factor only while it is still pending, so an activation that wins a race
    /// with an abandoned-enrolment cleanup is never undone by it.
    pub async fn delete_pending_factor(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_one(DELETE_PENDING, id).await
    }

    pub async fn delete_factor(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_one(DELETE, id).await
    }

    /// Runs a `DELETE … WHERE id = $1`; true if it deleted a row.
    async fn delete_one(&self, sql: &'static str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(sql, &[id]).await? == 1)
    }
}
