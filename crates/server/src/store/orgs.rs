//! Organisations.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

const INSERT_ORG: &str = "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
const ORG_BY_SLUG: &str = "SELECT id, slug, name, created_at FROM orgs WHERE slug = $1";

impl Store {
    pub async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        let res = match self {
            Store::Sqlite(db) => {
                let org = org.clone();
                db.write(move |c| {
                    c.prepare_cached(INSERT_ORG)?.execute(rusqlite::params![
                        org.id,
                        org.slug,
                        org.name,
                        org.created_at
                    ])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => sqlx::query(INSERT_ORG)
                .bind(&org.id)
                .bind(&org.slug)
                .bind(&org.name)
                .bind(org.created_at)
                .execute(p)
                .await
                .map(|_| ())
                .map_err(StoreError::from),
        };
        res.map_err(|e| StoreError::unique_as(e, "orgs_slug_key"))
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRow>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(ORG_BY_SLUG)?
                    .query_row([slug], |r| {
                        Ok(OrgRow {
                            id: r.get(0)?,
                            slug: r.get(1)?,
                            name: r.get(2)?,
                            created_at: r.get(3)?,
                        })
                    })
                    .optional()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as::<_, OrgRow>(ORG_BY_SLUG)
                .bind(slug)
                .fetch_optional(p)
                .await?),
        }
    }
}
