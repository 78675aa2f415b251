//! The audit log: security events per organisation, read newest first.

use super::{Store, StoreError};

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

/// Which events to read: all (empty fields), or those naming a user (as actor or
/// subject), of one kind (`event`), or of one area (`area`: `mfa.` is every `mfa.*`).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user_id: String,
    pub event: String,
    pub area: String,
}

/// `area` as a LIKE pattern for "starts with" ('' for none), its wildcards escaped.
pub fn area_pattern(area: &str) -> String {
    if area.is_empty() {
        return String::new();
    }
    format!("{}%", super::like_escaped(area))
}

/// The events after `before`, newest first. Binds: org id, the cursor's time and id,
/// whether there is no cursor, [`AuditFilter`]'s user id, event and [`area_pattern`],
/// limit. (In the order they appear: SQLite numbers `$n` by their first appearance.)
pub const PAGE: &str = "SELECT id, org_id, at, event, actor_id, subject_id, ip, user_agent, \
     details FROM audit_events WHERE org_id = $1 AND (at < $2 OR (at = $2 AND id < $3) OR $4) \
     AND ($5 = '' OR subject_id = $5 OR actor_id = $5) AND ($6 = '' OR event = $6) \
     AND ($7 = '' OR event LIKE $7 ESCAPE '\\') \
     ORDER BY at DESC, id DESC LIMIT $8";

/// The engines' side of this area.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError>;

    /// Event `id` of organisation `org_id`, as a paging cursor.
    async fn audit_cursor(&self, org_id: &str, id: &str)
    -> Result<Option<AuditCursor>, StoreError>;

    /// Up to `limit` events of organisation `org_id` that pass `filter`, newest first,
    /// older than `before` if given.
    async fn audit_page(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError>;
}

impl Store {
    /// Up to `limit` of all the organisation's events, newest first, older than `before`.
    pub async fn audit_events(
        &self,
        org_id: &str,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_page(org_id, &AuditFilter::default(), before, limit)
            .await
    }
}
