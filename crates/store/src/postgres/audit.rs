//! The PostgreSQL side of [`twofold_core::store::audit`].

use super::Db;
use super::FromPg;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::audit::*;

/// Inserts `e` on PostgreSQL, alone or inside a transaction.
pub(crate) async fn insert_audit_pg<'c>(
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

#[async_trait::async_trait]
impl AuditStore for Postgres {
    async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError> {
        let p = &self.pool;
        Ok(insert_audit_pg(p, e).await.db()?)
    }

    async fn audit_cursor(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<AuditCursor>, StoreError> {
        let p = &self.pool;
        const SQL: &str = "SELECT at, id FROM audit_events WHERE org_id = $1 AND id = $2";
        {
            let row: Option<(i64, String)> = sqlx::query_as(SQL)
                .bind(org_id)
                .bind(id)
                .fetch_optional(p)
                .await
                .db()?;
            Ok(row.map(|(at, id)| AuditCursor { at, id }))
        }
    }

    async fn audit_page(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let p = &self.pool;
        // Without a cursor, one later than any event.
        let (at, id) = before.map_or((i64::MAX, String::new()), |c| (c.at, c.id.clone()));
        let first_page = before.is_none();
        let area = area_pattern(&filter.area);
        Ok(sqlx::query(PAGE)
            .bind(org_id)
            .bind(at)
            .bind(&id)
            .bind(first_page)
            .bind(&filter.user_id)
            .bind(&filter.event)
            .bind(&area)
            .bind(limit)
            .try_map(AuditRow::from_pg)
            .fetch_all(p)
            .await
            .db()?)
    }
}
