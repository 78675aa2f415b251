//! Which encryption keys have sealed secrets in this database.

use super::{Store, StoreError};

const REGISTER: &str = "INSERT INTO secret_keys (id, check_value, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO NOTHING";
const CHECK_VALUE: &str = "SELECT check_value FROM secret_keys WHERE id = $1";
const KEY_IDS: &str = "SELECT id FROM secret_keys ORDER BY id";

impl Store {
    /// Records key `id` with its check value unless it is already known; answers the
    /// check value on record (the new one, or the one an earlier start stored).
    pub async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        match self {
            Store::Sqlite(db) => {
                let (id, check) = (id.to_owned(), check.to_vec());
                db.write(move |c| {
                    c.prepare_cached(REGISTER)?
                        .execute(rusqlite::params![id, check, now])?;
                    Ok(c.prepare_cached(CHECK_VALUE)?
                        .query_row([&id], |r| r.get(0))?)
                })
                .await
            }
            Store::Postgres(p) => {
                sqlx::query(REGISTER)
                    .bind(id)
                    .bind(check)
                    .bind(now)
                    .execute(p)
                    .await?;
                Ok(sqlx::query_scalar::<_, Vec<u8>>(CHECK_VALUE)
                    .bind(id)
                    .fetch_one(p)
                    .await?)
            }
        }
    }

    /// Ids of every key registered in this database (every sealed secret names one).
    pub async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(db) => db.read(|c| {
                c.prepare_cached(KEY_IDS)?
                    .query_map([], |r| r.get(0))?
                    .collect()
            }),
            Store::Postgres(p) => Ok(sqlx::query_scalar::<_, String>(KEY_IDS)
                .fetch_all(p)
                .await?),
        }
    }
}
