//! Organisations.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    /// A dummy password hash of the slowest imported kind the organisation holds, which
    /// an unknown username is checked against (see `crypto::password`).
    pub miss_hash: Option<String>,
}

const INSERT_ORG: &str = "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
const ORG_BY_SLUG: &str = "SELECT id, slug, name, created_at, miss_hash FROM orgs WHERE slug = $1";

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
                            miss_hash: r.get(4)?,
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

    /// Sets (or clears) organisation `org_id`'s dummy hash for unknown usernames.
    pub async fn set_org_miss_hash(
        &self,
        org_id: &str,
        miss_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        const SET: &str = "UPDATE orgs SET miss_hash = $1 WHERE id = $2";
        match self {
            Store::Sqlite(db) => {
                let args = (miss_hash.map(str::to_owned), org_id.to_owned());
                db.write(move |c| {
                    c.prepare_cached(SET)?
                        .execute(rusqlite::params![args.0, args.1])?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(SET)
                    .bind(miss_hash)
                    .bind(org_id)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }

    /// The organisations that have a dummy hash for unknown usernames: (id, hash).
    pub async fn orgs_with_miss_hash(&self) -> Result<Vec<(String, String)>, StoreError> {
        const SQL: &str = "SELECT id, miss_hash FROM orgs WHERE miss_hash IS NOT NULL";
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(SQL)?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_as(SQL).fetch_all(p).await?),
        }
    }

    /// Whether any user of `org_id` has a password hash not starting with `current`
    /// (one imported from another system, not yet replaced).
    pub async fn org_holds_other_hashes(
        &self,
        org_id: &str,
        current: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 \
             AND password_hash IS NOT NULL AND substr(password_hash, 1, $2) <> $3)";
        let len = i64::try_from(current.len()).unwrap_or(i64::MAX);
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(SQL)?
                    .query_row(rusqlite::params![org_id, len, current], |r| r.get(0))
            }),
            Store::Postgres(p) => Ok(sqlx::query_scalar(SQL)
                .bind(org_id)
                .bind(i32::try_from(len).unwrap_or(i32::MAX))
                .bind(current)
                .fetch_one(p)
                .await?),
        }
    }
}
