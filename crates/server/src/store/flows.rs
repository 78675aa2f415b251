//! Sign-in flows: the state between a correct password and the second factor.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FlowRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// [`FLOW_MFA`] or [`FLOW_ENROLL`].
    pub purpose: String,
}

/// A flow for the second step of a sign-in.
pub const FLOW_MFA: &str = "mfa";
/// A flow that can only enrol a first factor (the organisation requires one).
pub const FLOW_ENROLL: &str = "enroll";

const INSERT_FLOW: &str = "INSERT INTO login_flows \
     (id, token_hash, user_id, created_at, expires_at, purpose) VALUES ($1, $2, $3, $4, $5, $6)";
const FLOW_BY_TOKEN: &str = "SELECT id, token_hash, user_id, created_at, expires_at, purpose \
     FROM login_flows WHERE token_hash = $1";
/// Binds: user id.
pub(super) const DELETE_FLOWS_OF_USER: &str = "DELETE FROM login_flows WHERE user_id = $1";
/// Binds: token hash.
pub(super) const DELETE_FLOW: &str = "DELETE FROM login_flows WHERE token_hash = $1";

impl Store {
    pub async fn insert_flow(&self, f: &FlowRow) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let f = f.clone();
                db.write(move |c| {
                    c.prepare_cached(INSERT_FLOW)?.execute(rusqlite::params![
                        f.id,
                        f.token_hash,
                        f.user_id,
                        f.created_at,
                        f.expires_at,
                        f.purpose
                    ])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(INSERT_FLOW)
                    .bind(&f.id)
                    .bind(&f.token_hash)
                    .bind(&f.user_id)
                    .bind(f.created_at)
                    .bind(f.expires_at)
                    .bind(&f.purpose)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }

    /// The flow with this token hash, expired or not (the caller tells them apart).
    pub async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(FLOW_BY_TOKEN)?
                    .query_row([token_hash], |r| {
                        Ok(FlowRow {
                            id: r.get(0)?,
                            token_hash: r.get(1)?,
                            user_id: r.get(2)?,
                            created_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            purpose: r.get(5)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, FlowRow>(FLOW_BY_TOKEN)
                .bind(token_hash)
                .fetch_optional(p)
                .await?),
        }
    }

    /// Ends the flow with this token hash; true for exactly one caller however many race.
    pub async fn end_flow(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let hash = token_hash.to_vec();
                db.write(move |c| Ok(c.prepare_cached(DELETE_FLOW)?.execute([hash])? == 1))
                    .await
            }
            Store::Postgres(p) => Ok(sqlx::query(DELETE_FLOW)
                .bind(token_hash)
                .execute(p)
                .await?
                .rows_affected()
                == 1),
        }
    }
}
