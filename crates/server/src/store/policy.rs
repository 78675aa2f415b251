//! An organisation's MFA policy (no row: MFA is not required).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PolicyRow {
    pub org_id: String,
    pub required: bool,
    pub grace_period_days: i64,
    /// Unix ms.
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

const POLICY: &str = "SELECT org_id, required, grace_period_days, updated_at, updated_by \
     FROM mfa_policies WHERE org_id = $1";
const UPSERT: &str = "INSERT INTO mfa_policies \
     (org_id, required, grace_period_days, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (org_id) DO UPDATE SET required = excluded.required, \
     grace_period_days = excluded.grace_period_days, updated_at = excluded.updated_at, \
     updated_by = excluded.updated_by";
const END_ORG_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)";

impl Store {
    pub async fn mfa_policy(&self, org_id: &str) -> Result<Option<PolicyRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(POLICY)?
                    .query_row([org_id], |r| {
                        Ok(PolicyRow {
                            org_id: r.get(0)?,
                            required: r.get(1)?,
                            grace_period_days: r.get(2)?,
                            updated_at: r.get(3)?,
                            updated_by: r.get(4)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, PolicyRow>(POLICY)
                .bind(org_id)
                .fetch_optional(p)
                .await?),
        }
    }

    /// Stores `policy` and, if `end_sessions`, ends every session of every user of the
    /// organisation, together; answers how many sessions ended.
    pub async fn set_mfa_policy(
        &self,
        policy: &PolicyRow,
        end_sessions: bool,
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let p = policy.clone();
                db.write(move |c| {
                    c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                        p.org_id,
                        p.required,
                        p.grace_period_days,
                        p.updated_at,
                        p.updated_by
                    ])?;
                    let ended = if end_sessions {
                        c.prepare_cached(END_ORG_SESSIONS)?.execute([&p.org_id])?
                    } else {
                        0
                    };
                    Ok(u64::try_from(ended).unwrap_or(u64::MAX))
                })
                .await
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(UPSERT)
                    .bind(&policy.org_id)
                    .bind(policy.required)
                    .bind(policy.grace_period_days)
                    .bind(policy.updated_at)
                    .bind(&policy.updated_by)
                    .execute(&mut *tx)
                    .await?;
                let ended = if end_sessions {
                    sqlx::query(END_ORG_SESSIONS)
                        .bind(&policy.org_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                } else {
                    0
                };
                tx.commit().await?;
                Ok(ended)
            }
        }
    }
}
