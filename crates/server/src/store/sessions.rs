//! Sessions: who signed in, how strongly (aal/amr), until when.

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
}

/// Binds: id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at.
const INSERT_SESSION: &str = "INSERT INTO sessions \
     (id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const SESSION_BY_TOKEN: &str = "SELECT id, token_hash, user_id, aal, amr, factor_id, created_at, expires_at \
     FROM sessions WHERE token_hash = $1 AND expires_at > $2";

const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";

/// Inserts `s` on SQLite (shared with the sign-in's code check).
pub(super) fn insert_session_sqlite(
    c: &rusqlite::Connection,
    s: &SessionRow,
) -> rusqlite::Result<()> {
    c.prepare_cached(INSERT_SESSION)?
        .execute(rusqlite::params![
            s.id,
            s.token_hash,
            s.user_id,
            s.aal,
            s.amr,
            s.factor_id,
            s.created_at,
            s.expires_at
        ])?;
    Ok(())
}

/// Inserts `s` on PostgreSQL, alone or inside a transaction.
pub(super) async fn insert_session_pg<'c>(
    e: impl sqlx::PgExecutor<'c>,
    s: &SessionRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_SESSION)
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(s.aal)
        .bind(&s.amr)
        .bind(&s.factor_id)
        .bind(s.created_at)
        .bind(s.expires_at)
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
                c.prepare_cached(SESSION_BY_TOKEN)?
                    .query_row(rusqlite::params![token_hash, now], |r| {
                        Ok(SessionRow {
                            id: r.get(0)?,
                            token_hash: r.get(1)?,
                            user_id: r.get(2)?,
                            aal: r.get(3)?,
                            amr: r.get(4)?,
                            factor_id: r.get(5)?,
                            created_at: r.get(6)?,
                            expires_at: r.get(7)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, SessionRow>(SESSION_BY_TOKEN)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(p)
                .await?),
        }
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let id = id.to_owned();
                db.write(move |c| {
                    c.prepare_cached(DELETE_SESSION)?.execute([id])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(DELETE_SESSION).bind(id).execute(p).await?;
                Ok(())
            }
        }
    }
}
