//! The load population: users with a known password and a TOTP secret, written as the CSV
//! that `twofold user import` reads and read back by `run`, which needs the secrets to
//! compute codes. The file is the tool's only knowledge of the users.
//!
//! Format (RFC 4180: fields holding `,`, `"` or a line break are quoted, `"` doubled):
//!
//! ```text
//! username,email,role,password_hash_or_password,totp_uri
//! load-000001,load-000001@load.test,member,"$argon2id$v=19$m=8,t=1,p=1$…",otpauth://totp/…
//! ```
//!
//! The PHC hash contains commas, so that field is always quoted.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use twofold_otp::{KeyUri, Secret, Totp, TotpParams};

use crate::LoadError;

/// The password every load user shares. Known to the tool by construction: the CSV holds
/// only its hash.
pub const LOAD_PASSWORD: &str = "twofold-load-password";

/// The issuer written into every Key URI.
pub const ISSUER: &str = "Twofold-load";

/// Emails are `<username>@load.test`: `.test` is reserved (RFC 2606), so no mail to a load
/// user can ever reach anyone.
pub const EMAIL_DOMAIN: &str = "load.test";

/// The header line, in the order the import reads.
pub const CSV_COLUMNS: [&str; 5] = [
    "username",
    "email",
    "role",
    "password_hash_or_password",
    "totp_uri",
];

/// The most users one file may hold: bounds memory and the time `prepare` takes.
pub const MAX_USERS: usize = 10_000_000;

/// How expensive the users' password hash is to verify.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordCost {
    /// Argon2id m=8 KiB, t=1, p=1: nearly free to verify, so preparing flows for
    /// `mfa-step` costs little. Only for load populations: it protects nothing.
    #[default]
    Fast,
    /// Argon2id m=19456 KiB, t=2, p=1: what the server writes (OWASP). For `sign-in`
    /// and `storm`, where the password step is what is measured.
    Owasp,
}

impl PasswordCost {
    /// (memory KiB, passes, lanes).
    pub fn params(self) -> (u32, u32, u32) {
        match self {
            PasswordCost::Fast => (8, 1, 1),
            PasswordCost::Owasp => (19_456, 2, 1),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PasswordCost::Fast => "fast",
            PasswordCost::Owasp => "owasp",
        }
    }
}

impl FromStr for PasswordCost {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fast" => Ok(PasswordCost::Fast),
            "owasp" => Ok(PasswordCost::Owasp),
            other => Err(format!(
                "unknown password cost {other:?}: use fast or owasp"
            )),
        }
    }
}

impl fmt::Display for PasswordCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Argon2id instance at `cost`.
pub fn argon2id(cost: PasswordCost) -> Result<Argon2<'static>, LoadError> {
    let (m, t, p) = cost.params();
    let params = Params::new(m, t, p, None).map_err(|e| LoadError::Argon2(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of [`LOAD_PASSWORD`] at `cost`, with a fresh random salt.
pub fn hash_load_password(cost: PasswordCost) -> Result<String, LoadError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| LoadError::Argon2(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| LoadError::Argon2(e.to_string()))?;
    argon2id(cost)?
        .hash_password(LOAD_PASSWORD.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| LoadError::Argon2(e.to_string()))
}

/// What `prepare` makes.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    pub users: usize,
    /// Usernames are `<prefix>-000001`, ….
    pub prefix: String,
    /// TOTP period in seconds (a shorter one lets each user verify more often).
    pub period: u64,
    pub cost: PasswordCost,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            users: 1000,
            prefix: "load".into(),
            period: 30,
            cost: PasswordCost::Fast,
        }
    }
}

/// One load user: a row of the CSV.
#[derive(Clone, Debug)]
pub struct LoadUser {
    pub username: String,
    pub email: String,
    pub role: String,
    /// The fourth column as written: a PHC hash of [`LOAD_PASSWORD`], or a plain password.
    pub password_hash_or_password: String,
    /// The user's authenticator entry, secret included.
    pub key_uri: KeyUri,
}

impl LoadUser {
    /// The password to sign in with: [`LOAD_PASSWORD`] when the file holds a hash (the
    /// tool's own files), the column itself when it holds a plain password.
    pub fn password(&self) -> &str {
        if self.password_hash_or_password.starts_with('$') {
            LOAD_PASSWORD
        } else {
            &self.password_hash_or_password
        }
    }

    /// The user's authenticator, for computing codes.
    pub fn totp(&self) -> Result<Totp, LoadError> {
        Ok(Totp::new(self.key_uri.secret.clone(), self.key_uri.params)?)
    }
}

fn check_prefix(prefix: &str) -> Result<(), LoadError> {
    // The server's username rule is 1-64 of `a-z 0-9 . _ - @ +`; "-000001" takes 7 (more
    // above a million users), and '@' is left out so the names never look like emails.
    let ok = (1..=50).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LoadError::Config(format!(
            "invalid --prefix {prefix:?}: use 1-50 lower-case letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Makes `opts.users` users with fresh 160-bit secrets and one shared password hash.
///
/// The hash is computed once and every row gets the same string, salt included. For real
/// accounts a shared salt would let one cracking effort serve them all; here every user
/// has the same, published password anyway, so the salt protects nothing, and hashing
/// 100,000 times at OWASP cost would take the better part of an hour for no gain.
pub fn generate_users(opts: &PrepareOptions) -> Result<Vec<LoadUser>, LoadError> {
    if !(1..=MAX_USERS).contains(&opts.users) {
        return Err(LoadError::Config(format!(
            "--users must be 1 to {MAX_USERS}"
        )));
    }
    check_prefix(&opts.prefix)?;
    let params = TotpParams {
        period: opts.period,
        ..TotpParams::default()
    };
    params
        .validate()
        .map_err(|e| LoadError::Config(format!("--period: {e}")))?;
    let hash = hash_load_password(opts.cost)?;
    (1..=opts.users)
        .map(|i| {
            let username = format!("{}-{i:06}", opts.prefix);
            let key_uri = KeyUri {
                issuer: Some(ISSUER.into()),
                account: username.clone(),
                secret: Secret::generate()?,
                params,
            };
            Ok(LoadUser {
                email: format!("{username}@{EMAIL_DOMAIN}"),
                username,
                role: "member".into(),
                password_hash_or_password: hash.clone(),
                key_uri,
            })
        })
        .collect()
}

/// Appends `field`, quoted if it needs to be (RFC 4180 §2.6-2.7).
fn push_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Writes the header and one row per user to `out`.
pub fn write_users(mut out: impl Write, users: &[LoadUser]) -> std::io::Result<()> {
    let mut line = CSV_COLUMNS.join(",");
    line.push('\n');
    out.write_all(line.as_bytes())?;
    for u in users {
        line.clear();
        let uri = u.key_uri.to_uri();
        for (i, field) in [
            u.username.as_str(),
            &u.email,
            &u.role,
            &u.password_hash_or_password,
            &uri,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                line.push(',');
            }
            push_field(&mut line, field);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// Writes the users file at `path` (replacing it). It holds every user's TOTP secret.
pub fn write_users_csv(path: &Path, users: &[LoadUser]) -> Result<(), LoadError> {
    let file = std::fs::File::create(path).map_err(|e| LoadError::io(path, e))?;
    write_users(std::io::BufWriter::new(file), users).map_err(|e| LoadError::io(path, e))
}

/// One CSV record and the line it starts on.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits RFC 4180 text into records. Quoted fields may hold commas, doubled quotes and
/// line breaks; CRLF and LF both end a record; blank lines are skipped.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    // Whether the current field was quoted, and whether we are inside its quotes.
    let mut quoted = false;
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                quoted = true;
                in_quotes = true;
            }
            '"' => return Err((line, "stray '\"' in an unquoted field".into())),
            ',' => {
                fields.push(std::mem::take(&mut field));
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                quoted = false;
                let done = std::mem::take(&mut fields);
                if !(done.len() == 1 && done.first().is_some_and(String::is_empty)) {
                    out.push(Record {
                        line: start_line,
                        fields: done,
                    });
                }
                line += 1;
                start_line = line;
            }
            _ if quoted => return Err((line, "text after a closing '\"'".into())),
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err((start_line, "unterminated quoted field".into()));
    }
    if !field.is_empty() || quoted || !fields.is_empty() {
        fields.push(field);
        out.push(Record {
            line: start_line,
            fields,
        });
    }
    Ok(out)
}

/// Parses a users file's text. `limit` keeps the first N users (and fails if there are
/// fewer); `path` only names the file in errors.
pub fn parse_users(
    text: &str,
    limit: Option<usize>,
    path: &Path,
) -> Result<Vec<LoadUser>, LoadError> {
    let err = |line: usize, message: String| LoadError::Csv {
        path: path.to_owned(),
        line,
        message,
    };
    let records = records(text).map_err(|(line, m)| err(line, m))?;
    let mut rows = records.into_iter();
    let header = rows
        .next()
        .ok_or_else(|| err(1, "the file is empty".into()))?;
    let names: Vec<&str> = header.fields.iter().map(|f| f.trim()).collect();
    if names != CSV_COLUMNS {
        return Err(err(
            header.line,
            format!("expected the header {:?}", CSV_COLUMNS.join(",")),
        ));
    }
    let mut users = Vec::new();
    for record in rows {
        if limit.is_some_and(|n| users.len() >= n) {
            break;
        }
        let [username, email, role, password, uri]: [String; 5] =
            record.fields.try_into().map_err(|f: Vec<String>| {
                err(record.line, format!("expected 5 fields, found {}", f.len()))
            })?;
        let key_uri =
            KeyUri::parse(uri.trim()).map_err(|e| err(record.line, format!("totp_uri: {e}")))?;
        if username.trim().is_empty() {
            return Err(err(record.line, "empty username".into()));
        }
        users.push(LoadUser {
            username: username.trim().to_owned(),
            email,
            role,
            password_hash_or_password: password,
            key_uri,
        });
    }
    if let Some(n) = limit.filter(|&n| users.len() < n) {
        return Err(LoadError::Config(format!(
            "{} holds {} users; --users asked for {n}",
            path.display(),
            users.len()
        )));
    }
    if users.is_empty() {
        return Err(err(1, "no users after the header".into()));
    }
    Ok(users)
}

/// Reads the users file at `path`: all users, or the first `limit`.
pub fn read_users_csv(path: &Path, limit: Option<usize>) -> Result<Vec<LoadUser>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, e))?;
    parse_users(&text, limit, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(users: usize) -> PrepareOptions {
        PrepareOptions {
            users,
            prefix: "load".into(),
            period: 30,
            cost: PasswordCost::Fast,
        }
    }

    #[test]
    fn generated_users_share_one_fast_hash_and_have_distinct_secrets() {
        let users = generate_users(&opts(3)).unwrap();
        assert_eq!(users.len(), 3);
        assert_eq!(users[0].username, "load-000001");
        assert_eq!(users[2].email, "load-000003@load.test");
        assert_eq!(users[0].role, "member");
        let hash = &users[0].password_hash_or_password;
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(users.iter().all(|u| &u.password_hash_or_password == hash));
        assert_ne!(users[0].key_uri.secret, users[1].key_uri.secret);
        assert_eq!(users[0].key_uri.secret.len(), 20);
        assert_eq!(users[0].password(), LOAD_PASSWORD);
        assert_eq!(users[0].key_uri.issuer.as_deref(), Some(ISSUER));
    }

    #[test]
    fn the_hash_verifies_the_load_password() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let hash = hash_load_password(PasswordCost::Fast).unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        // Verification reads the parameters from the hash, as the server's does.
        let verifier = argon2id(PasswordCost::Owasp).unwrap();
        assert!(
            verifier
                .verify_password(LOAD_PASSWORD.as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            verifier
                .verify_password(b"something else", &parsed)
                .is_err()
        );
    }

    #[test]
    fn csv_round_trip_quotes_what_needs_quoting() {
        let mut users = generate_users(&PrepareOptions {
            period: 5,
            ..opts(2)
        })
        .unwrap();
        // A plain password with every character that forces quoting.
        users[1].password_hash_or_password = "pa,ss \"word\"\r\nline two".into();
        let mut buf = Vec::new();
        write_users(&mut buf, &users).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("username,email,role,password_hash_or_password,totp_uri")
        );
        let first = lines.next().unwrap();
        assert!(
            first.starts_with(
                "load-000001,load-000001@load.test,member,\"$argon2id$v=19$m=8,t=1,p=1$"
            ),
            "{first}"
        );
        assert!(
            first.contains(",otpauth://totp/Twofold-load:load-000001?secret="),
            "{first}"
        );
        assert!(first.ends_with("&issuer=Twofold-load&algorithm=SHA1&digits=6&period=5"));
        assert!(text.contains("\"pa,ss \"\"word\"\"\r\nline two\""));

        let back = parse_users(&text, None, Path::new("users.csv")).unwrap();
        assert_eq!(back.len(), 2);
        for (a, b) in users.iter().zip(&back) {
            assert_eq!(a.username, b.username);
            assert_eq!(a.email, b.email);
            assert_eq!(a.role, b.role);
            assert_eq!(a.password_hash_or_password, b.password_hash_or_password);
            assert_eq!(a.key_uri, b.key_uri);
        }
        assert_eq!(back[0].key_uri.params.period, 5);
        assert_eq!(back[1].password(), "pa,ss \"word\"\r\nline two");

        // The first N rows, and a clear error when there are fewer.
        assert_eq!(
            parse_users(&text, Some(1), Path::new("u.csv"))
                .unwrap()
                .len(),
            1
        );
        let e = parse_users(&text, Some(3), Path::new("u.csv")).unwrap_err();
        assert_eq!(e.to_string(), "u.csv holds 2 users; --users asked for 3");
    }

    #[test]
    fn file_round_trip() {
        let dir = std::env::temp_dir().join(format!("twofold-load-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.csv");
        let users = generate_users(&opts(5)).unwrap();
        write_users_csv(&path, &users).unwrap();
        let back = read_users_csv(&path, Some(4)).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[3].key_uri, users[3].key_uri);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let p = Path::new("u.csv");
        let header = "username,email,role,password_hash_or_password,totp_uri\n";
        let e = parse_users("name,email\n", None, p).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("u.csv: line 1: expected the header"),
            "{e}"
        );
        let e = parse_users(&format!("{header}a,b,c\n"), None, p).unwrap_err();
        assert_eq!(e.to_string(), "u.csv: line 2: expected 5 fields, found 3");
        let e = parse_users(&format!("{header}a,b,c,d,not-a-uri\n"), None, p).unwrap_err();
        assert!(e.to_string().starts_with("u.csv: line 2: totp_uri:"), "{e}");
        let e = parse_users(&format!("{header}a,\"b,c,d,e\n"), None, p).unwrap_err();
        assert_eq!(e.to_string(), "u.csv: line 2: unterminated quoted field");
        let e = parse_users(&format!("{header}a,b\"x,c,d,e\n"), None, p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "u.csv: line 2: stray '\"' in an unquoted field"
        );
        let e = parse_users(header, None, p).unwrap_err();
        assert_eq!(e.to_string(), "u.csv: line 1: no users after the header");
    }

    #[test]
    fn records_handle_crlf_blank_lines_and_a_missing_final_newline() {
        let r = records("a,b\r\n\r\n\"x\ny\",\"\"\"\"\nlast,").unwrap();
        let fields: Vec<Vec<String>> = r.iter().map(|r| r.fields.clone()).collect();
        assert_eq!(
            fields,
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x\ny".to_owned(), "\"".to_owned()],
                vec!["last".to_owned(), String::new()],
            ]
        );
        assert_eq!(r[1].line, 3);
        assert_eq!(r[2].line, 5);
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(generate_users(&opts(0)).is_err());
        let e = generate_users(&PrepareOptions {
            prefix: "Load Users".into(),
            ..opts(1)
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("invalid --prefix"), "{e}");
        assert!(
            generate_users(&PrepareOptions {
                period: 0,
                ..opts(1)
            })
            .is_err()
        );
        assert_eq!("owasp".parse(), Ok(PasswordCost::Owasp));
        assert!("slow".parse::<PasswordCost>().is_err());
    }
}
