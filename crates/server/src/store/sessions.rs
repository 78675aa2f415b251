//! Sessions: who signed in, how strongly (aal/amr), when they last passed a second
//! factor, from where, until when.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
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

/// Columns in [`SessionRow`]'s field order (SQLite reads them by position).
const COLUMNS: &str =
    "id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at, mfa_at, ip, user_agent";

impl SessionRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(SessionRow {
            id: r.get(0)?,
            token_hash: r.get(1)?,
            user_id: r.get(2)?,
            aal: r.get(3)?,
            amr: r.get(4)?,
            factor_id: r.get(5)?,
            created_at: r.get(6)?,
            expires_at: r.get(7)?,
            mfa_at: r.get(8)?,
            ip: r.get(9)?,
            user_agent: r.get(10)?,
        })
    }
}

/// Binds the columns in order.
fn insert_sql() -> String {
    format!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
}

fn by_token_sql() -> String {
    format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2")
}

/// A user's live sessions, newest first. Binds: user id, now.
fn of_user_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC"
    )
}

const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";
/// Binds: user id, session id.
const DELETE_OWN_SESSION: &str = "DELETE FROM sessions WHERE user_id = $1 AND id = $2";
/// Binds: user id, the session to keep.
pub(super) const DELETE_OTHER_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id <> $2";
/// Binds: user id, the session to keep.
const DELETE_OTHER_AAL1_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 AND aal < 2";
/// Binds: factor id. A session raised by a removed factor is back to the password alone.
const LOWER_SESSIONS_OF_FACTOR: &str = "UPDATE sessions SET aal = 1, amr = 'pwd', \
     factor_id = NULL, mfa_at = NULL WHERE factor_id = $1";

/// Inserts `s` on SQLite (shared with the sign-in's code check).
pub(super) fn insert_session_sqlite(
    c: &rusqlite::Connection,
    s: &SessionRow,
) -> rusqlite::Result<()> {
    c.prepare_cached(&insert_sql())?.execute(rusqlite::params![
        s.id,
        s.token_hash,
        s.user_id,
        s.aal,
        s.amr,
        s.factor_id,
        s.created_at,
        s.expires_at,
        s.mfa_at,
        s.ip,
        s.user_agent
    ])?;
    Ok(())
}

/// Inserts `s` on PostgreSQL, alone or inside a transaction.
pub(super) async fn insert_session_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    s: &SessionRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&insert_sql())
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(s.aal)
        .bind(&s.amr)
        .bind(&s.factor_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.mfa_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(e)
        .await?;
    Ok(())
}

impl Store {
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let s = s.clone();
                db.write(move |c| Ok(insert_session_sqlite(c, &s)?)).await
            }
            Store::Postgres(p) => Ok(insert_session_pg(p, s).await?),
        }
    }

    /// The live session with this token hash at `now`.
    pub async fn session_by_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&by_token_sql())?
                    .query_row(rusqlite::params![token_hash, now], SessionRow::from_sqlite)
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, SessionRow>(&by_token_sql())
                .bind(token_hash)
                .bind(now)
                .fetch_optional(p)
                .await?),
        }
    }

    /// `user_id`'s live sessions at `now`, newest first.
    pub async fn sessions_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&of_user_sql())?
                    .query_map(rusqlite::params![user_id, now], SessionRow::from_sqlite)?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, SessionRow>(&of_user_sql())
                .bind(user_id)
                .bind(now)
                .fetch_all(p)
                .await?),
        }
    }

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

    /// Drops the sessions that factor `factor_id` raised back to aal 1.
    pub async fn lower_sessions_of_factor(&self, factor_id: &str) -> Result<u64, StoreError> {
        self.exec_text(LOWER_SESSIONS_OF_FACTOR, &[factor_id]).await
    }

    /// Raises session `id` to aal 2 after it passed a second factor at `now`, with the
    /// methods `amr` (and the factor, if any, whose removal lowers it again); false if the
    /// session is gone.
    pub async fn raise_session(
        &self,
        id: &str,
        amr: &str,
        factor_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        const RAISE: &str =
            "UPDATE sessions SET aal = 2, amr = $1, factor_id = $2, mfa_at = $3 WHERE id = $4";
        match self {
            Store::Sqlite(db) => {
                let args = (amr.to_owned(), factor_id.map(str::to_owned), id.to_owned());
                db.write(move |c| {
                    Ok(c.prepare_cached(RAISE)?
                        .execute(rusqlite::params![args.0, args.1, now, args.2])?
                        == 1)
                })
                .await
            }
            Store::Postgres(p) => Ok(sqlx::query(RAISE)
                .bind(amr)
                .bind(factor_id)
                .bind(now)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }
}
