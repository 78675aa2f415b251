//! The SQLite side of [`twofold_core::store::sessions`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::sessions::*;

impl FromSqlite for SessionRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(SessionRow {
            id: col.get("id")?,
            token_hash: col.get("token_hash")?,
            user_id: col.get("user_id")?,
            aal: col.get("aal")?,
            amr: col.get("amr")?,
            factor_id: col.get("factor_id")?,
            created_at: col.get("created_at")?,
            expires_at: col.get("expires_at")?,
            mfa_at: col.get("mfa_at")?,
            ip: col.get("ip")?,
            user_agent: col.get("user_agent")?,
        })
    }
}

/// Inserts `s` on SQLite (shared with the sign-in's code check).
pub(crate) fn insert_session_sqlite(
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
            s.expires_at,
            s.mfa_at,
            s.ip,
            s.user_agent
        ])?;
    Ok(())
}

#[async_trait::async_trait]
impl SessionsStore for Sqlite {
    async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        {
            let s = s.clone();
            self.write(move |c| Ok(insert_session_sqlite(c, &s)?)).await
        }
    }

    async fn session_by_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SESSION_BY_TOKEN)?
                .query_row(rusqlite::params![token_hash, now], SessionRow::from_sqlite)
                .optional()
        })
    }

    async fn sessions_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SESSIONS_OF_USER)?
                .query_map(rusqlite::params![user_id, now], SessionRow::from_sqlite)?
                .collect()
        })
    }

    async fn raise_session(
        &self,
        id: &str,
        amr: &str,
        factor_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        const RAISE: &str =
            "UPDATE sessions SET aal = 2, amr = $1, factor_id = $2, mfa_at = $3 WHERE id = $4";
        {
            let args = (amr.to_owned(), factor_id.map(str::to_owned), id.to_owned());
            self.write(move |c| {
                Ok(c.prepare_cached(RAISE)?
                    .execute(rusqlite::params![args.0, args.1, now, args.2])?
                    == 1)
            })
            .await
        }
    }
}
