//! Sign-in flows: the state between a correct password and the second factor.

use super::StoreError;

#[derive(Clone, Debug)]
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

pub const INSERT_FLOW: &str = "INSERT INTO login_flows \
     (id, token_hash, user_id, created_at, expires_at, purpose) VALUES ($1, $2, $3, $4, $5, $6)";
pub const FLOW_BY_TOKEN: &str = "SELECT id, token_hash, user_id, created_at, expires_at, purpose \
     FROM login_flows WHERE token_hash = $1";
/// Binds: user id.
pub const DELETE_FLOWS_OF_USER: &str = "DELETE FROM login_flows WHERE user_id = $1";
/// Binds: token hash.
pub const DELETE_FLOW: &str = "DELETE FROM login_flows WHERE token_hash = $1";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait FlowsStore: Send + Sync {
    async fn insert_flow(&self, f: &FlowRow) -> Result<(), StoreError>;

    /// The flow with this token hash, expired or not (the caller tells them apart).
    async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<FlowRow>, StoreError>;

    /// Ends the flow with this token hash; true for exactly one caller however many race.
    async fn end_flow(&self, token_hash: &[u8]) -> Result<bool, StoreError>;
}
