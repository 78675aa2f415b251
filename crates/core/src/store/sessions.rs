//! Sessions: who signed in, how strongly (aal/amr), when they last passed a second
//! factor, from where, until when.

use super::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub aal: i64,
    /// Space-separated RFC 8176 method references.
    pub amr: String,
    /// The second factor that raised this session to aal 2, if any.
    pub factor_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// When the session last passed a second factor (Unix ms); `None` at aal 1.
    pub mfa_at: Option<i64>,
    /// Where it was opened, as the server saw it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// [`SessionRow`]'s columns, as a literal for the statements below (built at compile time: the
/// insert runs in every sign-in and the lookup by token in every signed-in request).
macro_rules! columns {
    () => {
        "id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at, mfa_at, ip, user_agent"
    };
}

/// Binds the columns in order.
pub const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);

/// Binds: token hash, now.
pub const SESSION_BY_TOKEN: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE token_hash = $1 AND expires_at > $2"
);

/// A user's live sessions, newest first. Binds: user id, now.
pub const SESSIONS_OF_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC"
);

pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";
/// Binds: user id, session id.
pub const DELETE_OWN_SESSION: &str = "DELETE FROM sessions WHERE user_id = $1 AND id = $2";
/// Binds: user id, the session to keep.
pub const DELETE_OTHER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2";
/// Binds: user id, the session to keep.
pub const DELETE_OTHER_AAL1_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 AND aal < 2";
/// Binds: user id, factor id. A session raised by a removed factor is back to the
/// password alone. Found through the user's sessions: an index on `factor_id` would be one
/// more B-tree for every sign-in to write, for the rare removal of a factor.
pub const LOWER_SESSIONS_OF_FACTOR: &str = "UPDATE sessions SET aal = 1, amr = 'pwd', \
     factor_id = NULL, mfa_at = NULL WHERE user_id = $1 AND factor_id = $2";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait SessionsStore: Send + Sync {
    async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError>;

    /// The live session with this token hash at `now`.
    async fn session_by_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError>;

    /// `user_id`'s live sessions at `now`, newest first.
    async fn sessions_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError>;

    /// Raises session `id` to aal 2 after it passed a second factor at `now`, with the
    /// methods `amr` (and the factor, if any, whose removal lowers it again); false if the
    /// session is gone.
    async fn raise_session(
        &self,
        id: &str,
        amr: &str,
        factor_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;
}

impl Store {
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.exec_text(DELETE_SESSION, &[id]).await.map(drop)
    }

    /// Ends `user_id`'s session `id`; false if they have no such session.
    pub async fn delete_own_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.exec_text(DELETE_OWN_SESSION, &[user_id, id]).await? == 1)
    }

    /// Ends every session of `user_id` but `keep`; answers how many ended.
    pub async fn delete_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
    ) -> Result<u64, StoreError> {
        self.exec_text(DELETE_OTHER_SESSIONS, &[user_id, keep])
            .await
    }

    /// Ends every aal-1 session of `user_id` but `keep` (`""` keeps none).
    pub async fn delete_other_aal1_sessions(
        &self,
        user_id: &str,
        keep: &str,
    ) -> Result<u64, StoreError> {
        self.exec_text(DELETE_OTHER_AAL1_SESSIONS, &[user_id, keep])
            .await
    }

    /// Drops the sessions of `user_id` that factor `factor_id` raised back to aal 1.
    pub async fn lower_sessions_of_factor(
        &self,
        user_id: &str,
        factor_id: &str,
    ) -> Result<u64, StoreError> {
        self.exec_text(LOWER_SESSIONS_OF_FACTOR, &[user_id, factor_id])
            .await
    }
}
