//! Second factors. The TOTP secret is stored only sealed (see `crypto::secret_box`).

use super::{Store, StoreError, on_pool, on_writer};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FactorRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub secret_key_id: String,
    pub secret_sealed: Vec<u8>,
    pub algorithm: String,
    pub digits: i64,
    pub period: i64,
    pub last_used_step: Option<i64>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const SELECT_FACTOR: &str = "SELECT id, user_id, kind, name, status, secret_key_id, secret_sealed, \
     algorithm, digits, period, last_used_step, created_at, activated_at, last_used_at FROM factors";

/// Binds: id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm,
/// digits, period, created_at, activated_at.
pub(super) const INSERT_FACTOR: &str = "INSERT INTO factors \
     (id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm, digits, period, \
     created_at, activated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// The replay rule as one conditional statement. Binds: step, now, factor id.
pub(super) const CLAIM_TOTP_STEP: &str = "UPDATE factors SET last_used_step = $1, last_used_at = $2 \
     WHERE id = $3 AND status = 'active' AND (last_used_step IS NULL OR last_used_step < $1)";

impl Store {
    pub async fn insert_factor(&self, f: &FactorRow) -> Result<(), StoreError> {
        on_writer!(self, p => sqlx::query(INSERT_FACTOR)
            .bind(&f.id).bind(&f.user_id).bind(&f.kind).bind(&f.name).bind(&f.status)
            .bind(&f.secret_key_id).bind(&f.secret_sealed).bind(&f.algorithm)
            .bind(f.digits).bind(f.period).bind(f.created_at).bind(f.activated_at)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// All of a user's factors, oldest first.
    pub async fn factors_of_user(&self, user_id: &str) -> Result<Vec<FactorRow>, StoreError> {
        let sql = format!("{SELECT_FACTOR} WHERE user_id = $1 ORDER BY created_at, id");
        Ok(on_pool!(self, p => sqlx::query_as::<_, FactorRow>(&sql)
            .bind(user_id).fetch_all(p).await)?)
    }

    /// One factor, only if it belongs to `user_id`.
    pub async fn factor_of_user(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<FactorRow>, StoreError> {
        let sql = format!("{SELECT_FACTOR} WHERE id = $1 AND user_id = $2");
        Ok(on_pool!(self, p => sqlx::query_as::<_, FactorRow>(&sql)
            .bind(id).bind(user_id).fetch_optional(p).await)?)
    }

    pub async fn count_active_factors(&self, user_id: &str) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'active'")
            .bind(user_id).fetch_one(p).await)?)
    }

    /// Makes a pending factor active, recording the activating code's step as used.
    /// False if it was not pending (already activated by a concurrent request, or gone).
    pub async fn activate_factor(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        Ok(on_writer!(self, p => sqlx::query(
            "UPDATE factors SET status = 'active', activated_at = $1, last_used_step = $2 \
             WHERE id = $3 AND status = 'pending'")
            .bind(now).bind(step).bind(id)
            .execute(p).await.map(|r| r.rows_affected() == 1))?)
    }

    /// Accepts time step `step` for an active factor if no step at or after it was
    /// accepted before. This single conditional UPDATE is the replay protection: of two
    /// requests with the same code, on any number of servers, exactly one sees `true`.
    pub async fn claim_totp_step(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        Ok(on_writer!(self, p => sqlx::query(CLAIM_TOTP_STEP)
            .bind(step).bind(now).bind(id)
            .execute(p).await.map(|r| r.rows_affected() == 1))?)
    }

    /// Deletes a factor only while it is still pending, so an activation that wins a race
    /// with an abandoned-enrolment cleanup is never undone by it.
    pub async fn delete_pending_factor(&self, id: &str) -> Result<bool, StoreError> {
        Ok(
            on_writer!(self, p => sqlx::query("DELETE FROM factors WHERE id = $1 AND status = 'pending'")
            .bind(id).execute(p).await.map(|r| r.rows_affected() == 1))?,
        )
    }

    pub async fn delete_factor(&self, id: &str) -> Result<bool, StoreError> {
        Ok(
            on_writer!(self, p => sqlx::query("DELETE FROM factors WHERE id = $1")
            .bind(id).execute(p).await.map(|r| r.rows_affected() == 1))?,
        )
    }
}
