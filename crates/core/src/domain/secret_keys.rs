//! Rotating the key that seals secrets at rest, while servers run (README, "Rotating the
//! secret key"): re-sealing every value still sealed under another key than the current
//! one (`twofold secret-key rotate`), then retiring the old key (`twofold secret-key
//! retire`) once nothing is sealed under it.
//!
//! Servers may be serving throughout: a value is replaced by one conditional update that
//! names the key *and the bytes* it read, so a secret a server wrote meanwhile (a phone
//! moved to a new secret, one promoted from waiting, a provider's new client secret) is
//! never overwritten with the older one re-sealed; it is read again on the next pass.
//! Retiring deletes the key's row, which the sealed columns reference, so the database
//! itself then refuses anything sealed under it, and remembers the id so that a server
//! given it as its current key refuses to start.

use std::collections::BTreeSet;

use crate::crypto::secret_box::Sealed;
use crate::domain::federation::providers::client_secret_context;
use crate::store::keys::{KeyUses, Retirement, SealedFactorSecret, SealedOidcSecret, SecretSlot};

use super::{DomainError, Result, Twofold};

/// Values read and re-sealed per page.
const PAGE: u32 = 500;
/// Passes over the columns at most: another pass runs only when a server changed a value
/// between its read and its update.
const PASSES: usize = 3;

/// What a rotation did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// The key everything is now sealed under.
    pub key_id: String,
    /// Values re-sealed, by column.
    pub factor_secrets: u64,
    pub next_secrets: u64,
    pub oidc_client_secrets: u64,
    /// Values a server changed between their read and their update (read again).
    pub changed_meanwhile: u64,
    /// Values that did not open under the key they name (damaged, or under a key this
    /// command was not given): `factor <id>`, `next secret of factor <id>`, `provider
    /// <org id>/<name>`.
    pub unreadable: Vec<String>,
    /// Keys other than the current one that still have values sealed under them.
    pub remaining: Vec<KeyInUse>,
}

/// A key with values still sealed under it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyInUse {
    pub key_id: String,
    pub factor_secrets: u64,
    pub next_secrets: u64,
    pub oidc_client_secrets: u64,
}

impl Rotation {
    /// Values re-sealed in all.
    pub fn resealed(&self) -> u64 {
        self.factor_secrets + self.next_secrets + self.oidc_client_secrets
    }

    /// Values left under other keys.
    pub fn left(&self) -> u64 {
        self.remaining
            .iter()
            .map(|k| k.factor_secrets + k.next_secrets + k.oidc_client_secrets)
            .sum()
    }
}

/// The outcome of one value's re-sealing.
enum Resealed {
    Done,
    ChangedMeanwhile,
    Unreadable,
}

impl Twofold {
    /// Re-seals every value sealed under another key than the current one, in pages, each
    /// value by a conditional update (see the module's doc). Run with the new key current
    /// and the old ones as previous keys, as the servers are.
    pub async fn rotate_secret_key(&self) -> Result<Rotation> {
        let current = self.keys.current_id().to_owned();
        let mut done = Rotation {
            key_id: current.clone(),
            ..Rotation::default()
        };
        let mut unreadable = BTreeSet::new();
        for _ in 0..PASSES {
            let changed_before = done.changed_meanwhile;
            unreadable.clear();
            for slot in [SecretSlot::Current, SecretSlot::Next] {
                let mut after = String::new();
                loop {
                    let page = self
                        .store
                        .factor_secrets_not_under(slot, &current, &after, PAGE)
                        .await?;
                    for old in &page {
                        match self.reseal_factor_secret(old).await? {
                            Resealed::Done if slot == SecretSlot::Current => {
                                done.factor_secrets += 1;
                            }
                            Resealed::Done => done.next_secrets += 1,
                            Resealed::ChangedMeanwhile => done.changed_meanwhile += 1,
                            Resealed::Unreadable => {
                                unreadable.insert(match slot {
                                    SecretSlot::Current => format!("factor {}", old.factor_id),
                                    SecretSlot::Next => {
                                        format!("next secret of factor {}", old.factor_id)
                                    }
                                });
                            }
                        }
                    }
                    match page.last() {
                        Some(last) if page.len() == PAGE as usize => {
                            after.clone_from(&last.factor_id);
                        }
                        _ => break,
                    }
                }
            }
            let (mut org, mut name) = (String::new(), String::new());
            loop {
                let page = self
                    .store
                    .oidc_secrets_not_under(&current, (&org, &name), PAGE)
                    .await?;
                for old in &page {
                    match self.reseal_oidc_secret(old).await? {
                        Resealed::Done => done.oidc_client_secrets += 1,
                        Resealed::ChangedMeanwhile => done.changed_meanwhile += 1,
                        Resealed::Unreadable => {
                            unreadable.insert(format!("provider {}/{}", old.org_id, old.name));
                        }
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => {
                        org.clone_from(&last.org_id);
                        name.clone_from(&last.name);
                    }
                    _ => break,
                }
            }
            if done.changed_meanwhile == changed_before {
                break;
            }
        }
        done.unreadable = unreadable.into_iter().collect();
        for key in self.store.secret_key_ids().await? {
            if key == current {
                continue;
            }
            let uses = self.store.secret_key_uses(&key).await?;
            if uses.total() > 0 {
                done.remaining.push(KeyInUse {
                    key_id: key,
                    factor_secrets: uses.factor_secrets,
                    next_secrets: uses.next_secrets,
                    oidc_client_secrets: uses.oidc_client_secrets,
                });
            }
        }
        Ok(done)
    }

    async fn reseal_factor_secret(&self, old: &SealedFactorSecret) -> Result<Resealed> {
        let context = old.factor_id.as_bytes();
        let Some(sealed) = self.resealed(&old.key_id, &old.sealed, context)? else {
            return Ok(Resealed::Unreadable);
        };
        Ok(
            if self
                .store
                .reseal_factor_secret(old, &sealed.key_id, &sealed.bytes)
                .await?
            {
                Resealed::Done
            } else {
                Resealed::ChangedMeanwhile
            },
        )
    }

    async fn reseal_oidc_secret(&self, old: &SealedOidcSecret) -> Result<Resealed> {
        let context = client_secret_context(&old.org_id, &old.name, &old.issuer, &old.client_id);
        let Some(sealed) = self.resealed(&old.key_id, &old.sealed, &context)? else {
            return Ok(Resealed::Unreadable);
        };
        Ok(
            if self
                .store
                .reseal_oidc_secret(old, &sealed.key_id, &sealed.bytes)
                .await?
            {
                Resealed::Done
            } else {
                Resealed::ChangedMeanwhile
            },
        )
    }

    /// `bytes`, sealed under `key_id` for `context`, opened and sealed again under the
    /// current key; `None` if it does not open.
    fn resealed(&self, key_id: &str, bytes: &[u8], context: &[u8]) -> Result<Option<Sealed>> {
        let old = Sealed {
            key_id: key_id.to_owned(),
            bytes: bytes.to_vec(),
        };
        let Ok(plain) = self.keys.open(&old, context) else {
            return Ok(None);
        };
        Ok(Some(self.keys.seal(&plain, context)?))
    }

    /// Retires key `id`: refused while anything is still sealed under it (run `rotate`
    /// first), when it is the newest key (the only one, or a rotation's new one: nothing has
    /// replaced it), and for a key this
    /// database never had. Needs no key itself.
    pub async fn retire_secret_key(&self, id: &str) -> Result<()> {
        match self
            .store
            .retire_secret_key(id, self.now().as_millis())
            .await?
        {
            Retirement::Retired => Ok(()),
            Retirement::Unknown => {
                let known = self.store.secret_key_ids().await?;
                Err(DomainError::InvalidInput(format!(
                    "this database has no secret key {id} (it has: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )))
            }
            Retirement::AlreadyRetired { at } => Err(DomainError::Conflict(format!(
                "the secret key {id} was already retired, on {}",
                crate::clock::Timestamp::from_millis(at).to_rfc3339()
            ))),
            Retirement::InUse(uses) => Err(DomainError::Conflict(format!(
                "the secret key {id} still seals {}: run `twofold secret-key rotate` with the \
                 new key first",
                describe(&uses)
            ))),
            Retirement::Newest => Err(DomainError::Conflict(format!(
                "the secret key {id} is the newest key of this database, the one servers seal \
                 with: nothing has replaced it, so it cannot be retired"
            ))),
        }
    }
}

/// "2 TOTP secrets, 1 TOTP secret waiting for its first code and 1 identity provider's
/// client secret".
fn describe(uses: &KeyUses) -> String {
    let mut parts = Vec::new();
    let mut count = |n: u64, one: &str, many: &str| {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    count(uses.factor_secrets, "TOTP secret", "TOTP secrets");
    count(
        uses.next_secrets,
        "TOTP secret waiting for its first code",
        "TOTP secrets waiting for their first code",
    );
    count(
        uses.oidc_client_secrets,
        "identity provider's client secret",
        "identity providers' client secrets",
    );
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.join(""),
    }
}
