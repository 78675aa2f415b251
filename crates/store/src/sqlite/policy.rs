//! The SQLite side of [`twofold_core::store::policy`].

use super::Sqlite;
use super::columns::ByName;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::policy::*;

#[async_trait::async_trait]
impl PolicyStore for Sqlite {
    async fn mfa_policy(&self, org_id: &str) -> Result<Option<PolicyRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(POLICY)?
                .query_row([org_id], |r| {
                    let mut col = ByName::new(r);
                    Ok(PolicyRow {
                        org_id: col.get("org_id")?,
                        required: col.get("required")?,
                        grace_period_days: col.get("grace_period_days")?,
                        updated_at: col.get("updated_at")?,
                        updated_by: col.get("updated_by")?,
                    })
                })
                .optional()
        })
    }

    async fn set_mfa_policy(
        &self,
        policy: &PolicyRow,
        end_sessions: bool,
    ) -> Result<u64, StoreError> {
        {
            let p = policy.clone();
            self.write(move |c| {
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
    }
}
