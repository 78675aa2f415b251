//! Users and their passwords.

use super::{Store, StoreError};

#[derive(Clone, Debug)]
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

/// A [`UserRow`]'s columns, by name.
pub const SELECT_USER: &str = "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
     u.federated, u.password_hash, u.created_at, u.last_login_at, u.last_login_ip \
     FROM users u JOIN orgs o ON o.id = u.org_id";

/// Binds: id, org_id, username, email, role, federated, password_hash, created_at.
pub const INSERT_USER: &str = "INSERT INTO users \
     (id, org_id, username, email, role, federated, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Every user of an organisation with their number of active factors, by username.
/// Binds: org id.
pub const USERS_OF_ORG: &str = "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
     u.federated, u.password_hash, u.created_at, u.last_login_at, u.last_login_ip, \
     (SELECT COUNT(*) FROM factors f WHERE f.user_id = u.id AND f.status = 'active') AS active_factors \
     FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.org_id = $1 ORDER BY u.username";

/// One page of the organisation's users, as the admin console lists them.
#[derive(Clone, Debug, Default)]
pub struct UserSearch {
    /// Users whose username or email holds this, in any case (empty: everyone).
    pub text: String,
    /// Usernames after this one (the next page), or before it (`backwards`: the page
    /// before); empty: from the first.
    pub from: String,
    pub backwards: bool,
    pub limit: i64,
}

/// A user as the console lists them: with their active factors and their lock.
#[derive(Clone, Debug)]
pub struct ListedUser {
    pub user: UserRow,
    pub active_factors: i64,
    /// Unix ms; may be in the past.
    pub mfa_locked_until: Option<i64>,
}

/// `text` as a LIKE pattern for "contains", its wildcards escaped ('' stays '': everyone).
pub fn contains_pattern(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("%{}%", super::like_escaped(text))
}

/// The filter of [`users_page_sql`] and [`count_users_sql`]. Binds: org id, the
/// [`contains_pattern`] or '' for everyone. `like` is the engine's case-insensitive LIKE:
/// SQLite's `LIKE` is (for ASCII), PostgreSQL's `ILIKE`. (No `lower()`: at 100,000 users
/// it made a search three times slower.)
fn search(like: &str) -> String {
    format!(
        "u.org_id = $1 AND ($2 = '' OR u.username {like} $2 ESCAPE '\\' \
         OR u.email {like} $2 ESCAPE '\\')"
    )
}

/// How many users match, counting no further than `$3` (a search that matches most of a
/// large organisation is answered "10,000 or more" instead of scanning them all). Binds:
/// org id, pattern, the cap.
pub fn count_users_sql(like: &str) -> String {
    format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM users u WHERE {} LIMIT $3) AS m",
        search(like)
    )
}

/// A page of users by username (`backwards`: the page before, newest last). Binds: org
/// id, pattern, the username to start after (or before), limit.
pub fn users_page_sql(like: &str, backwards: bool) -> String {
    let (cmp, order) = if backwards {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    format!(
        "SELECT u.id, u.org_id, o.slug AS org_slug, u.username, u.email, u.role, \
         u.federated, u.password_hash, u.created_at, u.last_login_at, u.last_login_ip, \
         u.mfa_locked_until, \
         (SELECT COUNT(*) FROM factors f WHERE f.user_id = u.id AND f.status = 'active') \
         AS active_factors \
         FROM users u JOIN orgs o ON o.id = u.org_id \
         WHERE {} AND ($3 = '' OR u.username {cmp} $3) \
         ORDER BY u.username {order} LIMIT $4",
        search(like)
    )
}

pub const SET_ROLE: &str = "UPDATE users SET role = $1 WHERE id = $2";

pub const REPLACE_PASSWORD_HASH: &str =
    "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3";

/// Clears the failure count and lock. Binds: user id.
pub const UNLOCK: &str = "UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL WHERE id = $1";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait UsersStore: Send + Sync {
    async fn insert_user(&self, u: &UserRow) -> Result<(), StoreError>;

    async fn user_by_login(
        &self,
        org_slug: &str,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError>;

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError>;

    /// Every user of organisation `org_id`, by username, each with how many active
    /// second factors they have.
    async fn users_of_org(&self, org_id: &str) -> Result<Vec<(UserRow, i64)>, StoreError>;

    /// A page of organisation `org_id`'s users matching `q`, by username.
    async fn users_page(&self, org_id: &str, q: &UserSearch)
    -> Result<Vec<ListedUser>, StoreError>;

    /// How many of organisation `org_id`'s users hold `text` in their username or email,
    /// counting no further than `cap`.
    async fn count_users(&self, org_id: &str, text: &str, cap: i64) -> Result<i64, StoreError>;

    async fn record_login(&self, user_id: &str, now: i64) -> Result<(), StoreError>;

    /// Swaps the password hash only while `old` is still the stored one; true if it did.
    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// A password change, in one transaction: `user_id`'s hash becomes `new` if it is
    /// still `old` (`None`: whatever it is, for an operator's reset), and then every other
    /// session (all but `keep`), remembered device and sign-in in progress of theirs ends,
    /// since whoever knew the old password may have started one. Answers the sessions and
    /// devices ended, or `None` if the hash had changed meanwhile (nothing is written).
    async fn change_password(
        &self,
        user_id: &str,
        old: Option<&str>,
        new: &str,
        keep: &str,
    ) -> Result<Option<(u64, u64)>, StoreError>;

    /// Removes all of a user's factors, recovery codes, remembered devices and confirmation
    /// codes, ends their sessions and
    /// sign-in flows, and clears any lock, in one transaction; answers how many factors
    /// and sessions went.
    async fn reset_mfa(&self, user_id: &str) -> Result<(u64, u64), StoreError>;

    /// Clears a user's second-factor failure count and lock; true if there was one.
    async fn unlock_mfa(&self, user_id: &str) -> Result<bool, StoreError>;
}

impl Store {
    /// Gives user `user_id` role `role`; false if there is no such user.
    pub async fn set_role(&self, user_id: &str, role: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(SET_ROLE, &[role, user_id]).await? == 1)
    }

    /// Records that the right password for `user_id` was given from `ip`.
    pub async fn set_last_login_ip(&self, user_id: &str, ip: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET last_login_ip = $1 WHERE id = $2 \
             AND (last_login_ip IS NULL OR last_login_ip <> $1)";
        self.exec_text(SQL, &[ip, user_id]).await.map(|_| ())
    }
}
