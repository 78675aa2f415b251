//! The PostgreSQL side of [`twofold_core::store::users`].

use super::Db;
use super::FromPg;
use super::Postgres;

use twofold_core::store::devices::DELETE_DEVICES_OF_USER;
use twofold_core::store::flows::DELETE_FLOWS_OF_USER;
use twofold_core::store::sessions::DELETE_OTHER_SESSIONS;
use twofold_core::store::users::*;
use twofold_core::store::*;

/// Inserts `u` on PostgreSQL, alone or inside a transaction.
pub(crate) async fn insert_user_pg<'c>(
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

#[async_trait::async_trait]
impl UsersStore for Postgres {
    async fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let p = &self.pool;
        let res = insert_user_pg(p, u).await.db();
        res.map_err(|e| e.unique_as("users_org_username_key"))
    }

    async fn user_by_login(
        &self,
        org_slug: &str,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        let p = &self.pool;
        let sql = format!("{SELECT_USER} WHERE o.slug = $1 AND u.username = $2");
        Ok(sqlx::query(&sql)
            .bind(org_slug)
            .bind(username)
            .try_map(UserRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let p = &self.pool;
        let sql = format!("{SELECT_USER} WHERE u.id = $1");
        Ok(sqlx::query(&sql)
            .bind(id)
            .try_map(UserRow::from_pg)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn users_of_org(&self, org_id: &str) -> Result<Vec<(UserRow, i64)>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(USERS_OF_ORG)
            .bind(org_id)
            .try_map(|r: sqlx::postgres::PgRow| {
                let active: i64 = sqlx::Row::try_get(&r, "active_factors")?;
                Ok((UserRow::from_pg(r)?, active))
            })
            .fetch_all(p)
            .await
            .db()?)
    }

    async fn users_page(
        &self,
        org_id: &str,
        q: &UserSearch,
    ) -> Result<Vec<ListedUser>, StoreError> {
        let p = &self.pool;
        let mut users = sqlx::query(&users_page_sql("ILIKE", q.backwards))
            .bind(org_id)
            .bind(contains_pattern(&q.text))
            .bind(&q.from)
            .bind(q.limit)
            .try_map(|r: sqlx::postgres::PgRow| {
                let active_factors: i64 = sqlx::Row::try_get(&r, "active_factors")?;
                let mfa_locked_until: Option<i64> = sqlx::Row::try_get(&r, "mfa_locked_until")?;
                Ok(ListedUser {
                    user: UserRow::from_pg(r)?,
                    active_factors,
                    mfa_locked_until,
                })
            })
            .fetch_all(p)
            .await
            .db()?;
        if q.backwards {
            users.reverse();
        }
        Ok(users)
    }

    async fn count_users(&self, org_id: &str, text: &str, cap: i64) -> Result<i64, StoreError> {
        let p = &self.pool;
        let (n,): (i64,) = sqlx::query_as(&count_users_sql("ILIKE"))
            .bind(org_id)
            .bind(contains_pattern(text))
            .bind(cap)
            .fetch_one(p)
            .await
            .db()?;
        Ok(n)
    }

    async fn record_login(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let p = &self.pool;
        const SQL: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";
        {
            sqlx::query(SQL)
                .bind(now)
                .bind(user_id)
                .execute(p)
                .await
                .db()?;
            Ok(())
        }
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query(REPLACE_PASSWORD_HASH)
            .bind(new)
            .bind(user_id)
            .bind(old)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }

    async fn change_password(
        &self,
        user_id: &str,
        old: Option<&str>,
        new: &str,
        keep: &str,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let p = &self.pool;
        const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";
        {
            let mut tx = p.begin().await.db()?;
            let changed = match old {
                Some(old) => sqlx::query(REPLACE_PASSWORD_HASH)
                    .bind(new)
                    .bind(user_id)
                    .bind(old),
                None => sqlx::query(SET_PASSWORD_HASH).bind(new).bind(user_id),
            }
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
            if changed != 1 {
                return Ok(None);
            }
            let sessions = sqlx::query(DELETE_OTHER_SESSIONS)
                .bind(user_id)
                .bind(keep)
                .execute(&mut *tx)
                .await
                .db()?
                .rows_affected();
            let devices = sqlx::query(DELETE_DEVICES_OF_USER)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?
                .rows_affected();
            sqlx::query(DELETE_FLOWS_OF_USER)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            tx.commit().await.db()?;
            Ok(Some((sessions, devices)))
        }
    }

    async fn reset_mfa(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        let p = &self.pool;
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
            let mut tx = p.begin().await.db()?;
            // The user's row first, as every check of their codes takes it.
            sqlx::query(twofold_core::store::factors::LOCK_USER)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            let factors = sqlx::query(FACTORS)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            let sessions = sqlx::query(SESSIONS)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .db()?;
            for sql in OTHERS {
                sqlx::query(sql)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            tx.commit().await.db()?;
            Ok((factors.rows_affected(), sessions.rows_affected()))
        }
    }

    async fn unlock_mfa(&self, user_id: &str) -> Result<bool, StoreError> {
        let p = &self.pool;
        const LOCKED: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL \
             WHERE id = $1 AND (mfa_failures <> 0 OR mfa_locked_until IS NOT NULL)";
        Ok(sqlx::query(LOCKED)
            .bind(user_id)
            .execute(p)
            .await
            .db()?
            .rows_affected()
            == 1)
    }
}
