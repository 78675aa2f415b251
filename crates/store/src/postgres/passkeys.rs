//! The PostgreSQL side of [`twofold_core::store::passkeys`].

use super::Db;
use super::FromPg;
use super::Postgres;
use super::factors::insert_factor_pg;
use twofold_core::store::StoreError;
use twofold_core::store::factors::{ANY_ACTIVE, FactorRow, LOCK_USER};
use twofold_core::store::passkeys::*;

#[async_trait::async_trait]
impl PasskeysStore for Postgres {
    async fn add_passkey(
        &self,
        f: &FactorRow,
        p: &PasskeyRow,
        only_if_first: bool,
        max: i64,
    ) -> Result<AddPasskey, StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        // The user's row lock makes the checks and the inserts one step across servers.
        sqlx::query(LOCK_USER)
            .bind(&f.user_id)
            .execute(&mut *tx)
            .await
            .db()?;
        if only_if_first
            && sqlx::query_scalar::<_, bool>(ANY_ACTIVE)
                .bind(&f.user_id)
                .fetch_one(&mut *tx)
                .await
                .db()?
        {
            return Ok(AddPasskey::NotFirst);
        }
        let active: i64 = sqlx::query_scalar(COUNT_PASSKEYS)
            .bind(&f.user_id)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if active >= max {
            return Ok(AddPasskey::TooMany { active });
        }
        insert_factor_pg(&mut *tx, f).await.db()?;
        let inserted = sqlx::query(INSERT_CREDENTIAL)
            .bind(&p.factor_id)
            .bind(&p.user_id)
            .bind(&p.credential_id)
            .bind(&p.credential)
            .bind(p.sign_count)
            .bind(&p.authenticator)
            .bind(p.backup_eligible)
            .execute(&mut *tx)
            .await
            .db();
        match inserted {
            Ok(_) => {}
            // Another account's (or this one's) already: the unique credential id decides,
            // whichever server registered it first. Rolled back with the factor.
            Err(StoreError::Database(e)) if e.is_unique_violation() => {
                return Ok(AddPasskey::Registered);
            }
            Err(e) => return Err(e),
        }
        tx.commit().await.db()?;
        Ok(AddPasskey::Added)
    }

    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<PasskeyRow>, StoreError> {
        Ok(sqlx::query(PASSKEYS_OF_USER)
            .bind(user_id)
            .try_map(PasskeyRow::from_pg)
            .fetch_all(&self.pool)
            .await
            .db()?)
    }

    async fn put_ceremony(&self, r: &CeremonyRow) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        sqlx::query(DELETE_CEREMONY)
            .bind(&r.purpose)
            .bind(&r.bound_to)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(INSERT_CEREMONY)
            .bind(&r.id)
            .bind(&r.user_id)
            .bind(&r.purpose)
            .bind(&r.bound_to)
            .bind(&r.name)
            .bind(&r.state)
            .bind(r.created_at)
            .bind(r.expires_at)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn take_ceremony(
        &self,
        purpose: &str,
        bound_to: &str,
        now: i64,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        Ok(sqlx::query(TAKE_CEREMONY)
            .bind(purpose)
            .bind(bound_to)
            .bind(now)
            .try_map(CeremonyRow::from_pg)
            .fetch_optional(&self.pool)
            .await
            .db()?)
    }

    async fn mark_passkey_cloned(&self, factor_id: &str, now: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(MARK_CLONED)
            .bind(now)
            .bind(factor_id)
            .execute(&self.pool)
            .await
            .db()?
            .rows_affected()
            == 1)
    }
}
