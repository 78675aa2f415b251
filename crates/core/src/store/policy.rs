//! An organisation's MFA policy (no row: MFA is not required).

use super::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRow {
    pub org_id: String,
    pub required: bool,
    pub grace_period_days: i64,
    /// Unix ms.
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub const POLICY: &str = "SELECT org_id, required, grace_period_days, updated_at, updated_by \
     FROM mfa_policies WHERE org_id = $1";
pub const UPSERT: &str = "INSERT INTO mfa_policies \
     (org_id, required, grace_period_days, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (org_id) DO UPDATE SET required = excluded.required, \
     grace_period_days = excluded.grace_period_days, updated_at = excluded.updated_at, \
     updated_by = excluded.updated_by";
pub const END_ORG_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    async fn mfa_policy(&self, org_id: &str) -> Result<Option<PolicyRow>, StoreError>;

    /// Stores `policy` and, if `end_sessions`, ends every session of every user of the
    /// organisation, together; answers how many sessions ended.
    async fn set_mfa_policy(
        &self,
        policy: &PolicyRow,
        end_sessions: bool,
    ) -> Result<u64, StoreError>;
}
