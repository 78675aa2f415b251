//! The SQLite side of [`twofold_core::store::passkeys`].

use super::Sqlite;
use super::columns::ByName;
use super::factors::insert_factor_sqlite;
use twofold_core::store::StoreError;
use twofold_core::store::factors::{ANY_ACTIVE, FactorRow};
use twofold_core::store::passkeys::*;

fn passkey_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PasskeyRow> {
    let mut col = ByName::new(r);
    Ok(PasskeyRow {
        factor_id: col.get("factor_id")?,
        user_id: col.get("user_id")?,
        credential_id: col.get("credential_id")?,
        credential: col.get("credential")?,
        sign_count: col.get("sign_count")?,
        authenticator: col.get("authenticator")?,
        backup_eligible: col.get("backup_eligible")?,
        cloned_at: col.get("cloned_at")?,
    })
}

fn ceremony_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CeremonyRow> {
    let mut col = ByName::new(r);
    Ok(CeremonyRow {
        id: col.get("id")?,
        user_id: col.get("user_id")?,
        purpose: col.get("purpose")?,
        bound_to: col.get("bound_to")?,
        name: col.get("name")?,
        state: col.get("state")?,
        created_at: col.get("created_at")?,
        expires_at: col.get("expires_at")?,
    })
}

#[async_trait::async_trait]
impl PasskeysStore for Sqlite {
    async fn add_passkey(
        &self,
        f: &FactorRow,
        p: &PasskeyRow,
        only_if_first: bool,
        max: i64,
    ) -> Result<AddPasskey, StoreError> {
        let (f, p) = (f.clone(), p.clone());
        // One writer job: nothing else writes between the checks and the inserts.
        self.write(move |c| {
            if only_if_first
                && c.prepare_cached(ANY_ACTIVE)?
                    .query_row([&f.user_id], |r| r.get::<_, bool>(0))?
            {
                return Ok(AddPasskey::NotFirst);
            }
            let active: i64 = c
                .prepare_cached(COUNT_PASSKEYS)?
                .query_row([&f.user_id], |r| r.get(0))?;
            if active >= max {
                return Ok(AddPasskey::TooMany { active });
            }
            if c.prepare_cached(CREDENTIAL_EXISTS)?
                .query_row([&p.credential_id], |r| r.get::<_, bool>(0))?
            {
                return Ok(AddPasskey::Registered);
            }
            insert_factor_sqlite(c, &f)?;
            c.prepare_cached(INSERT_CREDENTIAL)?
                .execute(rusqlite::params![
                    p.factor_id,
                    p.user_id,
                    p.credential_id,
                    p.credential,
                    p.sign_count,
                    p.authenticator,
                    p.backup_eligible
                ])?;
            Ok(AddPasskey::Added)
        })
        .await
    }

    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<PasskeyRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(PASSKEYS_OF_USER)?
                .query_map([user_id], passkey_row)?
                .collect()
        })
    }

    async fn put_ceremony(&self, r: &CeremonyRow) -> Result<(), StoreError> {
        let r = r.clone();
        self.write(move |c| {
            c.prepare_cached(DELETE_CEREMONY)?
                .execute([&r.purpose, &r.bound_to])?;
            c.prepare_cached(INSERT_CEREMONY)?
                .execute(rusqlite::params![
                    r.id,
                    r.user_id,
                    r.purpose,
                    r.bound_to,
                    r.name,
                    r.state,
                    r.created_at,
                    r.expires_at
                ])?;
            Ok(())
        })
        .await
    }

    async fn take_ceremony(
        &self,
        purpose: &str,
        bound_to: &str,
        now: i64,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        let (purpose, bound_to) = (purpose.to_owned(), bound_to.to_owned());
        self.write(move |c| {
            let mut q = c.prepare_cached(TAKE_CEREMONY)?;
            let mut rows = q.query(rusqlite::params![purpose, bound_to, now])?;
            Ok(rows.next()?.map(ceremony_row).transpose()?)
        })
        .await
    }

    async fn mark_passkey_cloned(&self, factor_id: &str, now: i64) -> Result<bool, StoreError> {
        let id = factor_id.to_owned();
        self.write(move |c| {
            Ok(c.prepare_cached(MARK_CLONED)?
                .execute(rusqlite::params![now, id])?
                == 1)
        })
        .await
    }
}
