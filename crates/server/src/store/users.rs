//! Users and their passwords.

use super::{Store, StoreError, on_pool, on_writer};

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
}

const SELECT_USER: &str = "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
     u.federated, u.password_hash, u.created_at, u.last_login_at \
     FROM users u JOIN orgs o ON o.id = u.org_id";

/// Binds: id, org_id, username, email, role, federated, password_hash, created_at.
pub(super) const INSERT_USER: &str = "INSERT INTO users \
     (id, org_id, username, email, role, federated, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

impl Store {
    pub async fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(INSERT_USER)
            .bind(&u.id).bind(&u.org_id).bind(&u.username).bind(&u.email).bind(&u.role)
            .bind(u.federated).bind(&u.password_hash).bind(u.created_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::unique_as(e, "users_org_username_key"))
    }

    pub async fn user_by_login(
        &self,
        org_slug: &str,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE o.slug = $1 AND u.username = $2");
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserRow>(&sql)
            .bind(org_slug).bind(username).fetch_optional(p).await)?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("{SELECT_USER} WHERE u.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserRow>(&sql)
            .bind(id).fetch_optional(p).await)?)
    }

    pub async fn record_login(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now).bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Swaps the password hash only while `old` is still the stored one; true if it did.
    pub async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        Ok(on_writer!(self, p => sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(new).bind(user_id).bind(old)
            .execute(p).await.map(|r| r.rows_affected() == 1))?)
    }
}
