//! Users and their passwords.

use rusqlite::OptionalExtension;

use super::devices::DELETE_DEVICES_OF_USER;
use super::flows::DELETE_FLOWS_OF_USER;
use super::sessions::DELETE_OTHER_SESSIONS;
use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    /// The organisation's slug (joined in on reads; ignored on insert).
    pub org_slug: String,
    pub username: String,
    pub email: String,
    pub role: String,
    pub federated: bool,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Where the right password was last given from (it passes the password throttle).
    pub last_login_ip: Option<String>,
}

/// Columns in [`UserRow`]'s field order (SQLite reads them by position).
const SELECT_USER: &str = "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
     u.federated, u.password_hash, u.created_at, u.last_login_at, u.last_login_ip \
     FROM users u JOIN orgs o ON o.id = u.org_id";

impl UserRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(UserRow {
            id: r.get(0)?,
            org_id: r.get(1)?,
            org_slug: r.get(2)?,
            username: r.get(3)?,
            email: r.get(4)?,
            role: r.get(5)?,
            federated: r.get(6)?,
            password_hash: r.get(7)?,
            created_at: r.get(8)?,
            last_login_at: r.get(9)?,
            last_login_ip: r.get(10)?,
        })
    }
}

/// Binds: id, org_id, username, email, role, federated, password_hash, created_at.
const INSERT_USER: &str = "INSERT INTO users \
     (id, org_id, username, email, role, federated, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Inserts `u` on SQLite (shared with the import batches).
pub(super) fn insert_user_sqlite(c: &rusqlite::Connection, u: &UserRow) -> rusqlite::Result<()> {
    c.prepare_cached(INSERT_USER)?.execute(rusqlite::params![
        u.id,
        u.org_id,
        u.username,
        u.email,
        u.role,
        u.federated,
        u.password_hash,
        u.created_at
    ])?;
    Ok(())
}

/// Inserts `u` on PostgreSQL, alone or inside a transaction.
pub(super) async fn insert_user_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    u: &UserRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_USER)
        .bind(&u.id)
        .bind(&u.org_id)
        .bind(&u.username)
        .bind(&u.email)
        .bind(&u.role)
        .bind(u.federated)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(e)
        .await?;
    Ok(())
}

/// Every user of an organisation with their number of active factors, by username.
/// Binds: org id.
const USERS_OF_ORG: &str = "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
     u.federated, u.password_hash, u.created_at, u.last_login_at, u.last_login_ip, \
     (SELECT COUNT(*) FROM factors f WHERE f.user_id = u.id AND f.status = 'active') AS active_factors \
     FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.org_id = $1 ORDER BY u.username";

/// A row of [`USERS_OF_ORG`] on PostgreSQL.
#[derive(sqlx::FromRow)]
struct UserWithFactors {
    #[sqlx(flatten)]
    user: UserRow,
    active_factors: i64,
}

const REPLACE_PASSWORD_HASH: &str =
    "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3";

impl Store {
    pub async fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let res = match self {
            Store::Sqlite(db) => {
                let u = u.clone();
                db.write(move |c| Ok(insert_user_sqlite(c, &u)?)).await
            }
            Store::Postgres(p) => insert_user_pg(p, u).await.map_err(StoreError::from),
        };
        res.map_err(|e| StoreError::unique_as(e, "users_org_username_key"))
    }

    pub async fn user_by_login(
        &self,
        org_slug: &str,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE o.slug = $1 AND u.username = $2");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row([org_slug, username], UserRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, UserRow>(&sql)
                .bind(org_slug)
                .bind(username)
                .fetch_optional(p)
                .await?),
        }
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE u.id = $1");
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_row([id], UserRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, UserRow>(&sql)
                .bind(id)
                .fetch_optional(p)
                .await?),
        }
    }

    /// Every user of organisation `org_id`, by username, each with how many active
    /// second factors they have.
    pub async fn users_of_org(&self, org_id: &str) -> Result<Vec<(UserRow, i64)>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(USERS_OF_ORG)?
                    .query_map([org_id], |r| Ok((UserRow::from_sqlite(r)?, r.get(11)?)))?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, UserWithFactors>(USERS_OF_ORG)
                .bind(org_id)
                .fetch_all(p)
                .await?
                .into_iter()
                .map(|r| (r.user, r.active_factors))
                .collect()),
        }
    }

    /// Records that the right password for `user_id` was given from `ip`.
    pub async fn set_last_login_ip(&self, user_id: &str, ip: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_login_ip = $1 WHERE id = $2 \
             AND (last_login_ip IS NULL OR last_login_ip <> $1)";
        self.exec_text(SQL, &[ip, user_id]).await.map(|_| ())
    }

    pub async fn record_login(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";
        match self {
            Store::Sqlite(db) => {
                let user_id = user_id.to_owned();
                db.write(move |c| {
                    c.prepare_cached(SQL)?
                        .execute(rusqlite::params![now, user_id])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(SQL).bind(now).bind(user_id).execute(p).await?;
                Ok(())
            }
        }
    }

    /// Swaps the password hash only while `old` is still the stored one; true if it did.
    pub async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let args = [new.to_owned(), user_id.to_owned(), old.to_owned()];
                db.write(move |c| Ok(c.prepare_cached(REPLACE_PASSWORD_HASH)?.execute(args)? == 1))
                    .await
            }
            Store::Postgres(p) => Ok(sqlx::query(REPLACE_PASSWORD_HASH)
                .bind(new)
                .bind(user_id)
                .bind(old)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }

    /// A password change, in one transaction: `user_id`'s hash becomes `new` if it is
    /// still `old` (`None`: whatever it is, for an operator's reset), and then every other
    /// session (all but `keep`), remembered device and sign-in in progress of theirs ends,
    /// since whoever knew the old password may have started one. Answers the sessions and
    /// devices ended, or `None` if the hash had changed meanwhile (nothing is written).
    pub async fn change_password(
        &self,
        user_id: &str,
        old: Option<&str>,
        new: &str,
        keep: &str,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";
        match self {
            Store::Sqlite(db) => {
                let args = [
                    new.to_owned(),
                    user_id.to_owned(),
                    old.unwrap_or_default().to_owned(),
                    keep.to_owned(),
                ];
                let conditional = old.is_some();
                db.write(move |c| {
                    let [new, user_id, old, keep] = &args;
                    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
                    let changed = if conditional {
                        c.prepare_cached(REPLACE_PASSWORD_HASH)?
                            .execute([new, user_id, old])?
                    } else {
                        c.prepare_cached(SET_PASSWORD_HASH)?
                            .execute([new, user_id])?
                    };
                    if changed != 1 {
                        return Ok(None);
                    }
                    let sessions = c
                        .prepare_cached(DELETE_OTHER_SESSIONS)?
                        .execute([user_id, keep])?;
                    let devices = c
                        .prepare_cached(DELETE_DEVICES_OF_USER)?
                        .execute([user_id])?;
                    c.prepare_cached(DELETE_FLOWS_OF_USER)?.execute([user_id])?;
                    Ok(Some((n(sessions), n(devices))))
                })
                .await
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let changed = match old {
                    Some(old) => sqlx::query(REPLACE_PASSWORD_HASH)
                        .bind(new)
                        .bind(user_id)
                        .bind(old),
                    None => sqlx::query(SET_PASSWORD_HASH).bind(new).bind(user_id),
                }
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed != 1 {
                    return Ok(None);
                }
                let sessions = sqlx::query(DELETE_OTHER_SESSIONS)
                    .bind(user_id)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let devices = sqlx::query(DELETE_DEVICES_OF_USER)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(DELETE_FLOWS_OF_USER)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some((sessions, devices)))
            }
        }
    }

    /// Removes all of a user's factors, recovery codes, remembered devices and confirmation
    /// codes, ends their sessions and
    /// sign-in flows, and clears any lock, in one transaction; answers how many factors
    /// and sessions went.
    pub async fn reset_mfa(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        const FACTORS: &str = "DELETE FROM factors WHERE user_id = $1";
        const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        const OTHERS: [&str; 5] = [
            DELETE_DEVICES_OF_USER,
            DELETE_FLOWS_OF_USER,
            "DELETE FROM confirmation_codes WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            UNLOCK,
        ];
        match self {
            Store::Sqlite(db) => {
                let id = user_id.to_owned();
                db.write(move |c| {
                    let factors = c.prepare_cached(FACTORS)?.execute([&id])?;
                    let sessions = c.prepare_cached(SESSIONS)?.execute([&id])?;
                    for sql in OTHERS {
                        c.prepare_cached(sql)?.execute([&id])?;
                    }
                    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
                    Ok((n(factors), n(sessions)))
                })
                .await
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                // The user's row first, as every check of their codes takes it.
                sqlx::query(super::factors::LOCK_USER)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let factors = sqlx::query(FACTORS).bind(user_id).execute(&mut *tx).await?;
                let sessions = sqlx::query(SESSIONS)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                for sql in OTHERS {
                    sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok((factors.rows_affected(), sessions.rows_affected()))
            }
        }
    }

    /// Clears a user's second-factor failure count and lock; true if there was one.
    pub async fn unlock_mfa(&self, user_id: &str) -> Result<bool, StoreError> {
        const LOCKED: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
             WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)";
        match self {
            Store::Sqlite(db) => {
                let id = user_id.to_owned();
                db.write(move |c| Ok(c.prepare_cached(LOCKED)?.execute([id])? == 1))
                    .await
            }
            Store::Postgres(p) => Ok(sqlx::query(LOCKED)
                .bind(user_id)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }
}

/// Clears the failure count and lock. Binds: user id.
const UNLOCK: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL WHERE id = $1";
