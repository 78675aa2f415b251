//! The audit log: security events per organisation, read newest first.

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
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

const INSERT_AUDIT: &str = "INSERT INTO audit_events \
     (id, org_id, at, event, actor_id, subject_id, ip, user_agent, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Columns in [`AuditRow`]'s field order.
const SELECT_AUDIT: &str = "SELECT id, org_id, at, event, actor_id, subject_id, ip, user_agent, \
     details FROM audit_events";

/// The position of an event in the log, for paging: events strictly older come next.
#[derive(Clone, Debug)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

impl AuditRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(AuditRow {
            id: r.get(0)?,
            org_id: r.get(1)?,
            at: r.get(2)?,
            event: r.get(3)?,
            actor_id: r.get(4)?,
            subject_id: r.get(5)?,
            ip: r.get(6)?,
            user_agent: r.get(7)?,
            details: r.get(8)?,
        })
    }
}

/// Inserts `e` on SQLite (shared with the code check, which records sign-ins in its own
/// transaction).
pub(super) fn insert_audit_sqlite(c: &rusqlite::Connection, e: &AuditRow) -> rusqlite::Result<()> {
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

/// Inserts `e` on PostgreSQL, alone or inside a transaction.
pub(super) async fn insert_audit_pg<'c>(
    x: impl sqlx::PgExecutor<'c>,
    e: &AuditRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_AUDIT)
        .bind(&e.id)
        .bind(&e.org_id)
        .bind(e.at)
        .bind(&e.event)
        .bind(&e.actor_id)
        .bind(&e.subject_id)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(&e.details)
        .execute(x)
        .await?;
    Ok(())
}

impl Store {
    pub async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(db) => {
                let e = e.clone();
                db.write(move |c| Ok(insert_audit_sqlite(c, &e)?)).await
            }
            Store::Postgres(p) => Ok(insert_audit_pg(p, e).await?),
        }
    }

    /// Event `id` of organisation `org_id`, as a paging cursor.
    pub async fn audit_cursor(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<AuditCursor>, StoreError> {
        const SQL: &str = "SELECT at, id FROM audit_events WHERE org_id = $1 AND id = $2";
        match self {
            Store::Sqlite(db) => db.read(|c| {
                use rusqlite::OptionalExtension;
                c.prepare_cached(SQL)?
                    .query_row([org_id, id], |r| {
                        Ok(AuditCursor {
                            at: r.get(0)?,
                            id: r.get(1)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => {
                let row: Option<(i64, String)> = sqlx::query_as(SQL)
                    .bind(org_id)
                    .bind(id)
                    .fetch_optional(p)
                    .await?;
                Ok(row.map(|(at, id)| AuditCursor { at, id }))
            }
        }
    }

    /// Up to `limit` events of organisation `org_id`, newest first, older than `before`
    /// if given.
    pub async fn audit_events(
        &self,
        org_id: &str,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        // Without a cursor, one later than any event.
        let (at, id) = before.map_or((i64::MAX, String::new()), |c| (c.at, c.id.clone()));
        let sql = format!(
            "{SELECT_AUDIT} WHERE org_id = $1 AND (at < $2 OR (at = $2 AND id < $3) OR $4) \
             ORDER BY at DESC, id DESC LIMIT $5"
        );
        let first_page = before.is_none();
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(&sql)?
                    .query_map(
                        rusqlite::params![org_id, at, id, first_page, limit],
                        AuditRow::from_sqlite,
                    )?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, AuditRow>(&sql)
                .bind(org_id)
                .bind(at)
                .bind(&id)
                .bind(first_page)
                .bind(limit)
                .fetch_all(p)
                .await?),
        }
    }
}
