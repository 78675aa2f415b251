//! The SQLite side of [`twofold_core::store::orgs`].

use super::Sqlite;
use super::columns::ByName;
use rusqlite::OptionalExtension;
use twofold_core::store::StoreError;
use twofold_core::store::orgs::*;

#[async_trait::async_trait]
impl OrgsStore for Sqlite {
    async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        let res = {
            let org = org.clone();
            self.write(move |c| {
                c.prepare_cached(INSERT_ORG)?.execute(rusqlite::params![
                    org.id,
                    org.slug,
                    org.name,
                    org.created_at
                ])?;
                Ok(())
            })
            .await
        };
        res.map_err(|e| e.unique_as("orgs_slug_key"))
    }

    async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(ORG_BY_SLUG)?
                .query_row([slug], |r| {
                    let mut col = ByName::new(r);
                    Ok(OrgRow {
                        id: col.get("id")?,
                        slug: col.get("slug")?,
                        name: col.get("name")?,
                        created_at: col.get("created_at")?,
                        miss_hash: col.get("miss_hash")?,
                    })
                })
                .optional()
        })
    }

    async fn set_org_miss_hash(
        &self,
        org_id: &str,
        miss_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        const SET: &str = "UPDATE orgs SET miss_hash = $1 WHERE id = $2";
        {
            let args = (miss_hash.map(str::to_owned), org_id.to_owned());
            self.write(move |c| {
                c.prepare_cached(SET)?
                    .execute(rusqlite::params![args.0, args.1])?;
                Ok(())
            })
            .await
        }
    }

    async fn orgs_with_miss_hash(&self) -> Result<Vec<(String, String)>, StoreError> {
        const SQL: &str = "SELECT id, miss_hash FROM orgs WHERE miss_hash IS NOT NULL";
        self.read(|c| {
            c.prepare_cached(SQL)?
                .query_map([], |r| Ok((r.get("id")?, r.get("miss_hash")?)))?
                .collect()
        })
    }

    async fn org_holds_other_hashes(
        &self,
        org_id: &str,
        current: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 \
             AND password_hash IS NOT NULL AND substr(password_hash, 1, $2) <> $3)";
        let len = i64::try_from(current.len()).unwrap_or(i64::MAX);
        self.read(|c| {
            c.prepare_cached(SQL)?
                .query_row(rusqlite::params![org_id, len, current], |r| r.get(0))
        })
    }
}
