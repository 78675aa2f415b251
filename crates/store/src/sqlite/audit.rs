//! The SQLite side of [`twofold_core::store::audit`].

use super::Sqlite;
use super::columns::ByName;
use super::columns::FromSqlite;
use twofold_core::store::StoreError;
use twofold_core::store::audit::*;

impl FromSqlite for AuditRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut col = ByName::new(r);
        Ok(AuditRow {
            id: col.get("id")?,
            org_id: col.get("org_id")?,
            at: col.get("at")?,
            event: col.get("event")?,
            actor_id: col.get("actor_id")?,
            subject_id: col.get("subject_id")?,
            ip: col.get("ip")?,
            user_agent: col.get("user_agent")?,
            details: col.get("details")?,
        })
    }
}

/// Inserts `e` on SQLite (shared with the code check, which records sign-ins in its own
/// transaction).
pub(crate) fn insert_audit_sqlite(c: &rusqlite::Connection, e: &AuditRow) -> rusqlite::Result<()> {
    c.prepare_cached(INSERT_AUDIT)?.execute(rusqlite::params![
        e.id,
        e.org_id,
        e.at,
        e.event,
        e.actor_id,
        e.subject_id,
        e.ip,
        e.user_agent,
        e.details
    ])?;
    Ok(())
}

#[async_trait::async_trait]
impl AuditStore for Sqlite {
    async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError> {
        {
            let e = e.clone();
            self.write(move |c| Ok(insert_audit_sqlite(c, &e)?)).await
        }
    }

    async fn audit_cursor(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<AuditCursor>, StoreError> {
        const SQL: &str = "SELECT at, id FROM audit_events WHERE org_id = $1 AND id = $2";
        self.read(|c| {
            use rusqlite::OptionalExtension;
            c.prepare_cached(SQL)?
                .query_row([org_id, id], |r| {
                    Ok(AuditCursor {
                        at: r.get("at")?,
                        id: r.get("id")?,
                    })
                })
                .optional()
        })
    }

    async fn audit_page(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        // Without a cursor, one later than any event.
        let (at, id) = before.map_or((i64::MAX, String::new()), |c| (c.at, c.id.clone()));
        let first_page = before.is_none();
        let area = area_pattern(&filter.area);
        self.read(|c| {
            c.prepare_cached(PAGE)?
                .query_map(
                    rusqlite::params![
                        org_id,
                        at,
                        id,
                        first_page,
                        filter.user_id,
                        filter.event,
                        area,
                        limit
                    ],
                    AuditRow::from_sqlite,
                )?
                .collect()
        })
    }
}
