//! The PostgreSQL side of [`twofold_core::store::keys`].

use super::Db;
use super::Postgres;
use twofold_core::store::StoreError;
use twofold_core::store::keys::*;

/// Locks key `$1`'s row for the retiring transaction: a concurrent insert or update that
/// seals under that key holds a share lock on the row (its foreign key check) until it
/// commits, so the counts read after this lock see it, and one that comes later waits and
/// then fails its foreign key check once the row is gone.
const LOCK_KEY: &str = "SELECT id FROM secret_keys WHERE id = $1 FOR UPDATE";

/// `USES` as [`KeyUses`].
fn key_uses((f, n, o): (i64, i64, i64)) -> KeyUses {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    KeyUses {
        factor_secrets: count(f),
        next_secrets: count(n),
        oidc_client_secrets: count(o),
    }
}

#[async_trait::async_trait]
impl KeysStore for Postgres {
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let p = &self.pool;
        sqlx::query(REGISTER)
            .bind(id)
            .bind(check)
            .bind(now)
            .execute(p)
            .await
            .db()?;
        Ok(sqlx::query_scalar::<_, Vec<u8>>(CHECK_VALUE)
            .bind(id)
            .fetch_optional(p)
            .await
            .db()?)
    }

    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        let p = &self.pool;
        Ok(sqlx::query_scalar::<_, String>(KEY_IDS)
            .fetch_all(p)
            .await
            .db()?)
    }

    async fn secret_keys(&self) -> Result<Vec<SecretKeyRow>, StoreError> {
        let rows: Vec<(String, Vec<u8>, i64)> =
            sqlx::query_as(KEYS).fetch_all(&self.pool).await.db()?;
        Ok(rows
            .into_iter()
            .map(|(id, check_value, created_at)| SecretKeyRow {
                id,
                check_value,
                created_at,
            })
            .collect())
    }

    async fn secret_key_retired_at(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(RETIRED_AT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .db()?)
    }

    async fn secret_key_uses(&self, id: &str) -> Result<KeyUses, StoreError> {
        Ok(key_uses(
            sqlx::query_as(USES)
                .bind(id)
                .fetch_one(&self.pool)
                .await
                .db()?,
        ))
    }

    async fn retire_secret_key(&self, id: &str, now: i64) -> Result<Retirement, StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        let known: Option<String> = sqlx::query_scalar(LOCK_KEY)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        if known.is_none() {
            // Read after the lock: a retirement that was under way has committed by now.
            let at: Option<i64> = sqlx::query_scalar(RETIRED_AT)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
            return Ok(at.map_or(Retirement::Unknown, |at| Retirement::AlreadyRetired { at }));
        }
        let others: i64 = sqlx::query_scalar(NEWER_KEYS)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if others == 0 {
            return Ok(Retirement::Newest);
        }
        let in_use = key_uses(
            sqlx::query_as(USES)
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .db()?,
        );
        if in_use.total() > 0 {
            return Ok(Retirement::InUse(in_use));
        }
        sqlx::query(DELETE_KEY)
            .bind(id)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(INSERT_RETIRED)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(Retirement::Retired)
    }

    async fn factor_secrets_not_under(
        &self,
        slot: SecretSlot,
        key_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<SealedFactorSecret>, StoreError> {
        let sql = slot.not_under_sql();
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(sql)
            .bind(key_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows
            .into_iter()
            .map(|(factor_id, key_id, sealed)| SealedFactorSecret {
                factor_id,
                slot,
                key_id,
                sealed,
            })
            .collect())
    }

    async fn reseal_factor_secret(
        &self,
        old: &SealedFactorSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let sql = old.slot.reseal_sql();
        let done = sqlx::query(sql)
            .bind(key_id)
            .bind(sealed)
            .bind(&old.factor_id)
            .bind(&old.key_id)
            .bind(&old.sealed)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected() == 1)
    }

    async fn oidc_secrets_not_under(
        &self,
        key_id: &str,
        after: (&str, &str),
        limit: u32,
    ) -> Result<Vec<SealedOidcSecret>, StoreError> {
        type Row = (String, String, String, String, String, Vec<u8>);
        let rows: Vec<Row> = sqlx::query_as(OIDC_SECRETS_NOT_UNDER)
            .bind(key_id)
            .bind(after.0)
            .bind(after.1)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows
            .into_iter()
            .map(
                |(org_id, name, issuer, client_id, key_id, sealed)| SealedOidcSecret {
                    org_id,
                    name,
                    issuer,
                    client_id,
                    key_id,
                    sealed,
                },
            )
            .collect())
    }

    async fn reseal_oidc_secret(
        &self,
        old: &SealedOidcSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RESEAL_OIDC_SECRET)
            .bind(key_id)
            .bind(sealed)
            .bind(&old.org_id)
            .bind(&old.name)
            .bind(&old.issuer)
            .bind(&old.client_id)
            .bind(&old.key_id)
            .bind(&old.sealed)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected() == 1)
    }
}
