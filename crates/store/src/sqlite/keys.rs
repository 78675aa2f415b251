//! The SQLite side of [`twofold_core::store::keys`].

use rusqlite::OptionalExtension;

use super::Sqlite;
use super::columns::ByName;
use twofold_core::store::StoreError;
use twofold_core::store::keys::*;

/// Reads the three counts of [`USES`].
fn uses(c: &rusqlite::Connection, id: &str) -> rusqlite::Result<KeyUses> {
    c.prepare_cached(USES)?.query_row([id], |r| {
        let count = |i: usize| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(KeyUses {
            factor_secrets: count(0)?,
            next_secrets: count(1)?,
            oidc_client_secrets: count(2)?,
        })
    })
}

#[async_trait::async_trait]
impl KeysStore for Sqlite {
    async fn register_secret_key(
        &self,
        id: &str,
        check: &[u8],
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        {
            let (id, check) = (id.to_owned(), check.to_vec());
            self.write(move |c| {
                c.prepare_cached(REGISTER)?
                    .execute(rusqlite::params![id, check, now])?;
                Ok(c.prepare_cached(CHECK_VALUE)?
                    .query_row([&id], |r| r.get(0))
                    .optional()?)
            })
            .await
        }
    }

    async fn secret_key_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(KEY_IDS)?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }

    async fn secret_keys(&self) -> Result<Vec<SecretKeyRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(KEYS)?
                .query_map([], |r| {
                    let mut col = ByName::new(r);
                    Ok(SecretKeyRow {
                        id: col.get("id")?,
                        check_value: col.get("check_value")?,
                        created_at: col.get("created_at")?,
                    })
                })?
                .collect()
        })
    }

    async fn secret_key_retired_at(&self, id: &str) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.prepare_cached(RETIRED_AT)?
                .query_row([id], |r| r.get(0))
                .optional()
        })
    }

    async fn secret_key_uses(&self, id: &str) -> Result<KeyUses, StoreError> {
        self.read(|c| uses(c, id))
    }

    async fn retire_secret_key(&self, id: &str, now: i64) -> Result<Retirement, StoreError> {
        let id = id.to_owned();
        // One writer job: the checks and the delete see the same state, and no other
        // process writes between them (the job holds SQLite's write lock).
        self.write(move |c| {
            let known = c
                .prepare_cached(CHECK_VALUE)?
                .query_row([&id], |_| Ok(()))
                .optional()?
                .is_some();
            if !known {
                let at: Option<i64> = c
                    .prepare_cached(RETIRED_AT)?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                return Ok(at.map_or(Retirement::Unknown, |at| Retirement::AlreadyRetired { at }));
            }
            let others: i64 = c
                .prepare_cached(NEWER_KEYS)?
                .query_row([&id], |r| r.get(0))?;
            if others == 0 {
                return Ok(Retirement::Newest);
            }
            let in_use = uses(c, &id)?;
            if in_use.total() > 0 {
                return Ok(Retirement::InUse(in_use));
            }
            c.prepare_cached(DELETE_KEY)?.execute([&id])?;
            c.prepare_cached(INSERT_RETIRED)?
                .execute(rusqlite::params![id, now])?;
            Ok(Retirement::Retired)
        })
        .await
    }

    async fn factor_secrets_not_under(
        &self,
        slot: SecretSlot,
        key_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<SealedFactorSecret>, StoreError> {
        let sql = slot.not_under_sql();
        self.read(|c| {
            c.prepare_cached(sql)?
                .query_map(rusqlite::params![key_id, after, limit], |r| {
                    Ok(SealedFactorSecret {
                        factor_id: r.get(0)?,
                        slot,
                        key_id: r.get(1)?,
                        sealed: r.get(2)?,
                    })
                })?
                .collect()
        })
    }

    async fn reseal_factor_secret(
        &self,
        old: &SealedFactorSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let sql = old.slot.reseal_sql();
        let (old, key_id, sealed) = (old.clone(), key_id.to_owned(), sealed.to_vec());
        self.write(move |c| {
            Ok(c.prepare_cached(sql)?.execute(rusqlite::params![
                key_id,
                sealed,
                old.factor_id,
                old.key_id,
                old.sealed
            ])? == 1)
        })
        .await
    }

    async fn oidc_secrets_not_under(
        &self,
        key_id: &str,
        after: (&str, &str),
        limit: u32,
    ) -> Result<Vec<SealedOidcSecret>, StoreError> {
        self.read(|c| {
            c.prepare_cached(OIDC_SECRETS_NOT_UNDER)?
                .query_map(rusqlite::params![key_id, after.0, after.1, limit], |r| {
                    let mut col = ByName::new(r);
                    Ok(SealedOidcSecret {
                        org_id: col.get("org_id")?,
                        name: col.get("name")?,
                        issuer: col.get("issuer")?,
                        client_id: col.get("client_id")?,
                        key_id: col.get("secret_key_id")?,
                        sealed: col.get("client_secret_sealed")?,
                    })
                })?
                .collect()
        })
    }

    async fn reseal_oidc_secret(
        &self,
        old: &SealedOidcSecret,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let (old, key_id, sealed) = (old.clone(), key_id.to_owned(), sealed.to_vec());
        self.write(move |c| {
            Ok(c.prepare_cached(RESEAL_OIDC_SECRET)?
                .execute(rusqlite::params![
                    key_id,
                    sealed,
                    old.org_id,
                    old.name,
                    old.issuer,
                    old.client_id,
                    old.key_id,
                    old.sealed
                ])?
                == 1)
        })
        .await
    }
}
