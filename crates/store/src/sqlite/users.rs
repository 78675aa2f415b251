//! The SQLite side of [`twofold_core::store::users`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::devices::DELETE_DEVICES_OF_USER;
use twofold_core::store::flows::DELETE_FLOWS_OF_USER;
use twofold_core::store::sessions::DELETE_OTHER_SESSIONS;
use twofold_core::store::users::*;
use twofold_core::store::*;

impl FromSqlite for UserRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(UserRow {
            id: col.get("id")?,
            org_id: col.get("org_id")?,
            org_slug: col.get("org_slug")?,
            username: col.get("username")?,
            email: col.get("email")?,
            role: col.get("role")?,
            federated: col.get("federated")?,
            password_hash: col.get("password_hash")?,
            created_at: col.get("created_at")?,
            last_login_at: col.get("last_login_at")?,
            last_login_ip: col.get("last_login_ip")?,
        })
    }
}

/// Inserts `u` on SQLite (shared with the import batches).
pub(crate) fn insert_user_sqlite(c: &rusqlite::Connection, u: &UserRow) -> rusqlite::Result<()> {
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

#[async_trait::async_trait]
impl UsersStore for Sqlite {
    async fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let res = {
            let u = u.clone();
            self.write(move |c| Ok(insert_user_sqlite(c, &u)?)).await
        };
        res.map_err(|e| e.unique_as("users_org_username_key"))
    }

    async fn user_by_login(
        &self,
        org_slug: &str,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE o.slug = $1 AND u.username = $2");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([org_slug, username], UserRow::from_sqlite)
                .optional()
        })
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE u.id = $1");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([id], UserRow::from_sqlite)
                .optional()
        })
    }

    async fn users_of_org(&self, org_id: &str) -> Result<Vec<(UserRow, i64)>, StoreError> {
        self.read(|c| {
            c.prepare_cached(USERS_OF_ORG)?
                .query_map([org_id], |r| {
                    Ok((UserRow::from_sqlite(r)?, r.get("active_factors")?))
                })?
                .collect()
        })
    }

    async fn users_page(
        &self,
        org_id: &str,
        q: &UserSearch,
    ) -> Result<Vec<ListedUser>, StoreError> {
        let pattern = contains_pattern(&q.text);
        let sql = users_page_sql("LIKE", q.backwards);
        let mut users: Vec<ListedUser> = self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map(rusqlite::params![org_id, pattern, q.from, q.limit], |r| {
                    Ok(ListedUser {
                        user: UserRow::from_sqlite(r)?,
                        active_factors: r.get("active_factors")?,
                        mfa_locked_until: r.get("mfa_locked_until")?,
                    })
                })?
                .collect()
        })?;
        if q.backwards {
            users.reverse();
        }
        Ok(users)
    }

    async fn count_users(&self, org_id: &str, text: &str, cap: i64) -> Result<i64, StoreError> {
        let pattern = contains_pattern(text);
        let sql = count_users_sql("LIKE");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(rusqlite::params![org_id, pattern, cap], |r| r.get("n"))
        })
    }

    async fn record_login(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";
        {
            let user_id = user_id.to_owned();
            self.write(move |c| {
                c.prepare_cached(SQL)?
                    .execute(rusqlite::params![now, user_id])?;
                Ok(())
            })
            .await
        }
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        {
            let args = [new.to_owned(), user_id.to_owned(), old.to_owned()];
            self.write(move |c| Ok(c.prepare_cached(REPLACE_PASSWORD_HASH)?.execute(args)? == 1))
                .await
        }
    }

    async fn change_password(
        &self,
        user_id: &str,
        old: Option<&str>,
        new: &str,
        keep: &str,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";
        {
            let args = [
                new.to_owned(),
                user_id.to_owned(),
                old.unwrap_or_default().to_owned(),
                keep.to_owned(),
            ];
            let conditional = old.is_some();
            self.write(move |c| {
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
    }

    async fn reset_mfa(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        const FACTORS: &str = "DELETE FROM factors WHERE user_id = $1";
        const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        const OTHERS: [&str; 5] = [
            DELETE_DEVICES_OF_USER,
            DELETE_FLOWS_OF_USER,
            "DELETE FROM confirmation_codes WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            UNLOCK,
        ];
        {
            let id = user_id.to_owned();
            self.write(move |c| {
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
    }

    async fn unlock_mfa(&self, user_id: &str) -> Result<bool, StoreError> {
        const LOCKED: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
             WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)";
        {
            let id = user_id.to_owned();
            self.write(move |c| Ok(c.prepare_cached(LOCKED)?.execute([id])? == 1))
                .await
        }
    }
}
