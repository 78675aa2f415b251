//! The audit log: security events per organisation, read newest first.

use super::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub id: String,
    pub org_id: String,
    /// Unix ms.
    pub at: i64,
    pub event: String,
    pub actor_id: Option<String>,
    pub subject_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object.
    pub details: String,
}

pub const INSERT_AUDIT: &str = "INSERT INTO audit_events \
     (id, org_id, at, event, actor_id, subject_id, ip, user_agent, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Columns in [`AuditRow`]'s field order.
pub const SELECT_AUDIT: &str = "SELECT id, org_id, at, event, actor_id, subject_id, ip, user_agent, \
     details FROM audit_events";

/// The position of an event in the log, for paging: events strictly older come next.
#[derive(Clone, Debug)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError>;

    /// Event `id` of organisation `org_id`, as a paging cursor.
    async fn audit_cursor(&self, org_id: &str, id: &str)
    -> Result<Option<AuditCursor>, StoreError>;

    /// Up to `limit` events of organisation `org_id`, newest first, older than `before`
    /// if given.
    async fn audit_events(
        &self,
        org_id: &str,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError>;
}
