//! Bulk import of users from another system, so an organisation that moves to Twofold
//! keeps its people's passwords and their authenticator-app entries.
//!
//! Two phases, so a bad file changes nothing:
//!
//! 1. [`Twofold::check_import`] validates every row (format, duplicates in the file and
//!    in the organisation, password hashes, `otpauth://` URIs) and collects *all* the bad
//!    rows with their line numbers. `--dry-run` stops here.
//! 2. [`Twofold::run_import`] refuses to start while any row is bad, then writes the rows
//!    in batches, each batch one transaction holding each row's user *and* its factor, so
//!    no row is ever half there. Batches keep a running server's writes flowing (one
//!    transaction over 100,000 rows would hold SQLite's write lock for seconds).
//!
//! Imported TOTP secrets are sealed like enrolled ones and the factor is active at once:
//! the user proved it to the old system. Its last used step starts empty, so the code on
//! the user's phone right now works once.

use std::collections::HashMap;

use tokio::task::JoinSet;
use twofold_otp::KeyUri;
use zeroize::Zeroizing;

use crate::crypto::password;
use crate::store::{FactorRow, ImportedUser, UserRow};

use super::input::{Email, Slug, Username};
use super::users::{Role, parse_role, role_str};
use super::{DomainError, Result, Twofold};

/// The columns of an import file, in order.
pub const COLUMNS: [&str; 5] = [
    "username",
    "email",
    "role",
    "password_hash_or_password",
    "totp_uri",
];

/// The name imported authenticator entries get in the user's factor list.
const IMPORTED_FACTOR_NAME: &str = "Imported authenticator";

/// Rows written per transaction.
const BATCH: usize = 1000;

/// One row as read from the file; `line` is where it starts (1-based, header included).
#[derive(Clone, Debug, Default)]
pub struct ImportRecord {
    pub line: u64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub password: String,
    pub totp_uri: String,
}

/// A row that cannot be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

enum PasswordInput {
    None,
    /// A hash from another system, checked and stored as it is.
    Hash(String),
    /// A plain password, hashed with Argon2id when written.
    Plain(Zeroizing<String>),
}

struct ValidRow {
    line: u64,
    username: Username,
    email: Email,
    role: Role,
    password: PasswordInput,
    totp: Option<KeyUri>,
}

/// A validated file: the rows that can be written and the ones that cannot.
pub struct CheckedImport {
    org_id: String,
    org_slug: String,
    rows: Vec<ValidRow>,
    errors: Vec<RowError>,
}

impl CheckedImport {
    pub fn errors(&self) -> &[RowError] {
        &self.errors
    }
    /// Rows that passed every check.
    pub fn valid_rows(&self) -> usize {
        self.rows.len()
    }
    /// Valid rows that bring an authenticator entry.
    pub fn with_totp(&self) -> usize {
        self.rows.iter().filter(|r| r.totp.is_some()).count()
    }
    /// Valid rows with a plain password, each of which costs an Argon2id hash.
    pub fn plain_passwords(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.password, PasswordInput::Plain(_)))
            .count()
    }
}

/// What an import wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    pub users: usize,
    pub factors: usize,
}

fn check_password(value: &str) -> std::result::Result<PasswordInput, String> {
    if value.is_empty() {
        return Ok(PasswordInput::None);
    }
    if password::looks_like_hash(value) {
        return password::check_hash(value).map(|_| PasswordInput::Hash(value.to_owned()));
    }
    let len = value.chars().count();
    if !(password::MIN_LEN..=password::MAX_LEN).contains(&len) {
        return Err(format!(
            "the password must be {} to {} characters (or a password hash)",
            password::MIN_LEN,
            password::MAX_LEN
        ));
    }
    Ok(PasswordInput::Plain(Zeroizing::new(value.to_owned())))
}

fn check_record(r: &ImportRecord) -> std::result::Result<ValidRow, String> {
    let username = Username::parse(&r.username).map_err(|e| e.to_string())?;
    let email = Email::parse(&r.email).map_err(|e| e.to_string())?;
    let role = match r.role.trim() {
        "" => Role::Member,
        s => parse_role(s).map_err(|e| e.to_string())?,
    };
    let password = check_password(&r.password)?;
    let totp = match r.totp_uri.trim() {
        "" => None,
        uri => Some(KeyUri::parse(uri).map_err(|e| format!("invalid totp_uri: {e}"))?),
    };
    Ok(ValidRow {
        line: r.line,
        username,
        email,
        role,
        password,
        totp,
    })
}

impl Twofold {
    /// Validates every record for organisation `org`. Only an unknown organisation or a
    /// database failure is an error; bad rows are reported in the result.
    pub async fn check_import(
        &self,
        org: &str,
        records: Vec<ImportRecord>,
    ) -> Result<CheckedImport> {
        let slug = Slug::parse(org)?;
        let org = self
            .store
            .org_by_slug(slug.as_str())
            .await?
            .ok_or(DomainError::NotFound("organisation"))?;
        let existing = self.store.usernames_in_org(&org.id).await?;
        let mut seen: HashMap<String, u64> = HashMap::with_capacity(records.len());
        let mut rows = Vec::with_capacity(records.len());
        let mut errors = Vec::new();
        for record in &records {
            let row = match check_record(record) {
                Ok(row) => row,
                Err(message) => {
                    errors.push(RowError {
                        line: record.line,
                        message,
                    });
                    continue;
                }
            };
            let name = row.username.as_str();
            let problem = if let Some(first) = seen.get(name) {
                Some(format!("username {name:?} already appears on line {first}"))
            } else if existing.contains(name) {
                Some(format!(
                    "user {name:?} already exists in organisation {:?}",
                    org.slug
                ))
            } else {
                None
            };
            seen.entry(name.to_owned()).or_insert(row.line);
            match problem {
                Some(message) => errors.push(RowError {
                    line: row.line,
                    message,
                }),
                None => rows.push(row),
            }
        }
        Ok(CheckedImport {
            org_id: org.id,
            org_slug: org.slug,
            rows,
            errors,
        })
    }

    /// Writes a checked import. `progress` is called with the number of rows written so
    /// far after each batch. A batch that fails (a user created meanwhile by someone
    /// else, say) is rolled back whole and ends the import with an error naming its line;
    /// the batches before it stay.
    pub async fn run_import(
        &self,
        checked: CheckedImport,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<ImportSummary> {
        if let Some(first) = checked.errors.first() {
            return Err(DomainError::InvalidInput(format!(
                "{} row(s) are invalid, the first at {first}; nothing was imported",
                checked.errors.len()
            )));
        }
        let mut summary = ImportSummary {
            users: 0,
            factors: 0,
        };
        // One hash of each imported kind, for the organisation's miss cost (below).
        let mut kinds: HashMap<String, String> = HashMap::new();
        for r in &checked.rows {
            if let PasswordInput::Hash(h) = &r.password
                && let Some(t) = password::cost_template(h)
            {
                kinds.entry(t.to_owned()).or_insert_with(|| h.clone());
            }
        }
        let mut rows = checked.rows;
        let mut written = 0;
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(BATCH));
            let batch = std::mem::replace(&mut rows, rest);
            let lines: Vec<u64> = batch.iter().map(|r| r.line).collect();
            let prepared = self
                .prepare_batch(&checked.org_id, &checked.org_slug, batch)
                .await?;
            let factors = prepared.iter().filter(|u| u.factor.is_some()).count();
            if let Err((index, e)) = self.store.insert_imported_users(&prepared).await {
                let line = lines.get(index).copied().unwrap_or_default();
                let what = match e {
                    crate::store::StoreError::Duplicate(_) => format!(
                        "user {:?} was created in organisation {:?} while the import ran",
                        prepared
                            .get(index)
                            .map(|u| u.user.username.as_str())
                            .unwrap_or(""),
                        checked.org_slug
                    ),
                    other => other.to_string(),
                };
                return Err(DomainError::Conflict(format!(
                    "line {line}: {what}; {written} row(s) before this batch were imported, \
                     this batch of {} was not",
                    prepared.len()
                )));
            }
            written += prepared.len();
            summary.users += prepared.len();
            summary.factors += factors;
            progress(written);
        }
        self.set_miss_cost(&checked.org_id, kinds.into_values().collect())
            .await?;
        Ok(summary)
    }

    /// Makes unknown usernames in organisation `org_id` cost what its slowest password
    /// hash kind does, given one hash of each kind just imported (see `crypto::password`).
    async fn set_miss_cost(&self, org_id: &str, mut hashes: Vec<String>) -> Result<()> {
        let current = self
            .store
            .orgs_with_miss_hash()
            .await?
            .into_iter()
            .find(|(id, _)| id == org_id)
            .map(|(_, h)| h);
        hashes.extend(current.clone());
        let slowest = self
            .passwords
            .slowest_dummy(hashes.iter().map(String::as_str))
            .await?;
        if slowest != current {
            self.store
                .set_org_miss_hash(org_id, slowest.as_deref())
                .await?;
        }
        Ok(())
    }

    /// Forgets the miss cost of organisations none of whose users has an imported hash
    /// left (all were replaced at sign-in): their misses cost what ours do again.
    pub async fn retire_miss_costs(&self) -> Result<()> {
        for (org_id, _) in self.store.orgs_with_miss_hash().await? {
            if !self
                .store
                .org_holds_other_hashes(&org_id, password::CURRENT_PREFIX)
                .await?
            {
                self.store.set_org_miss_hash(&org_id, None).await?;
                tracing::info!(org_id, "no imported password hash left: miss cost retired");
            }
        }
        Ok(())
    }

    /// Hashes the batch's plain passwords (in parallel, within the hasher's limit) and
    /// seals its TOTP secrets.
    async fn prepare_batch(
        &self,
        org_id: &str,
        org_slug: &str,
        batch: Vec<ValidRow>,
    ) -> Result<Vec<ImportedUser>> {
        let mut hashes: HashMap<usize, String> = HashMap::new();
        let mut jobs = JoinSet::new();
        for (i, row) in batch.iter().enumerate() {
            if let PasswordInput::Plain(p) = &row.password {
                let passwords = self.passwords.clone();
                let p = p.clone();
                jobs.spawn(async move { (i, passwords.hash_for_import(p).await) });
            }
        }
        while let Some(done) = jobs.join_next().await {
            let (i, hash) = done.map_err(|e| DomainError::Internal(e.to_string()))?;
            hashes.insert(i, hash?);
        }
        let now = self.now().as_millis();
        let mut out = Vec::with_capacity(batch.len());
        for (i, row) in batch.into_iter().enumerate() {
            let user_id = Self::new_id();
            let password_hash = match row.password {
                PasswordInput::None => None,
                PasswordInput::Hash(h) => Some(h),
                PasswordInput::Plain(_) => hashes.remove(&i),
            };
            let factor = match row.totp {
                None => None,
                Some(uri) => {
                    let id = Self::new_id();
                    let sealed = self.keys.seal(uri.secret.as_bytes(), id.as_bytes())?;
                    Some(FactorRow {
                        id,
                        user_id: user_id.clone(),
                        kind: crate::store::FactorKind::Totp,
                        name: IMPORTED_FACTOR_NAME.into(),
                        status: crate::store::FactorState::Active,
                        secret_key_id: Some(sealed.key_id),
                        secret_sealed: Some(sealed.bytes),
                        algorithm: Some(uri.params.algorithm.to_string()),
                        digits: i64::from(uri.params.digits),
                        // The period was checked against TotpParams' bounds (<= 300).
                        period: i64::try_from(uri.params.period).unwrap_or(30),
                        last_used_step: None,
                        created_at: now,
                        activated_at: Some(now),
                        last_used_at: None,
                        preferred: false,
                        drift_steps: 0,
                        next_secret_key_id: None,
                        next_secret_sealed: None,
                        address: None,
                        resync_step: None,
                        resync_at: None,
                    })
                }
            };
            out.push(ImportedUser {
                user: UserRow {
                    id: user_id,
                    org_id: org_id.to_owned(),
                    org_slug: org_slug.to_owned(),
                    username: row.username.as_str().to_owned(),
                    email: row.email.as_str().to_owned(),
                    role: role_str(row.role).to_owned(),
                    federated: false,
                    password_hash,
                    created_at: now,
                    last_login_at: None,
                    last_login_ip: None,
                },
                factor,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: [&str; 5]) -> ImportRecord {
        ImportRecord {
            line: 2,
            username: fields[0].into(),
            email: fields[1].into(),
            role: fields[2].into(),
            password: fields[3].into(),
            totp_uri: fields[4].into(),
        }
    }

    #[test]
    fn a_complete_row_is_valid() {
        let row = check_record(&record([
            "Alice",
            "alice@example.com",
            "admin",
            "$2b$05$A3vI8njO2x2.idj5VIuLuOd.yZKNLC7XR.tG0PCH5AKe/vVEh0U4u",
            "otpauth://totp/Old:alice?secret=JBSWY3DPEHPK3PXP&issuer=Old&digits=8&period=60",
        ]))
        .unwrap();
        assert_eq!(row.username.as_str(), "alice");
        assert_eq!(row.role, Role::Admin);
        assert!(matches!(row.password, PasswordInput::Hash(_)));
        let totp = row.totp.unwrap();
        assert_eq!((totp.params.digits, totp.params.period), (8, 60));
    }

    #[test]
    fn empty_role_password_and_uri_mean_member_without_them() {
        let row = check_record(&record(["bob", "bob@example.com", "", "", ""])).unwrap();
        assert_eq!(row.role, Role::Member);
        assert!(matches!(row.password, PasswordInput::None));
        assert!(row.totp.is_none());
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                ["bad name", "a@example.com", "", "", ""],
                "invalid username",
            ),
            (["a", "not-an-email", "", "", ""], "invalid email"),
            (["a", "a@example.com", "boss", "", ""], "invalid role"),
            (["a", "a@example.com", "", "short", ""], "8 to 1024"),
            (
                ["a", "a@example.com", "", "$md5$x$y", ""],
                "unsupported password hash",
            ),
            (
                [
                    "a",
                    "a@example.com",
                    "",
                    "",
                    "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP",
                ],
                "invalid totp_uri",
            ),
            (
                [
                    "a",
                    "a@example.com",
                    "",
                    "",
                    "otpauth://totp/x?secret=JBSWY3DP",
                ],
                "invalid totp_uri",
            ),
        ];
        for (fields, expected) in cases {
            let err = check_record(&record(fields)).err().unwrap();
            assert!(err.contains(expected), "{fields:?}: {err}");
        }
    }
}
