//! Password hashing with Argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), run on a small fixed set of threads of its own.
//!
//! Why: each hash takes a core for tens of milliseconds, so running it on the async
//! workers would stall every other request (`/healthz`, code checks), and running an
//! unbounded number at once would let a login flood take every core and a lot of memory.
//! The flood queues for the hashing threads instead. They are long-lived threads rather
//! than tokio's blocking pool because the allocator keeps a freed 19 MiB block per thread
//! (glibc gives each thread an arena): a blocking pool that grows to dozens of threads
//! under a flood left the server hundreds of MiB larger, a few threads reuse their block.
//!
//! An unknown user is checked against a dummy hash, so the answer takes as long as a wrong
//! password and the caller cannot tell which usernames exist.
//!
//! Hashes made by other systems can be imported and still verify: Argon2 (i, d, id) and
//! scrypt in PHC string format, bcrypt in its modular-crypt format (`$2b$…`). Anything
//! but Argon2id is replaced by an Argon2id hash at the user's next successful sign-in
//! ([`Verified::needs_rehash`]), so imported accounts move to our parameters over time.

use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Passwords shorter than this are refused when set (NIST SP 800-63B §5.1.1.2).
pub const MIN_LEN: usize = 8;
/// Longer ones are refused too: nobody types more, and it bounds the work per request.
pub const MAX_LEN: usize = 1024;

#[derive(Clone)]
pub struct Passwords {
    pool: Arc<HashingThreads>,
    dummy: Arc<str>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue. The threads end when the last [`Passwords`]
/// clone is dropped (the queue's sender with it).
struct HashingThreads {
    queue: mpsc::Sender<Job>,
}

impl HashingThreads {
    fn start(threads: usize) -> Result<HashingThreads, CryptoError> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        // One idle thread waits on the queue while the others wait for the
                        // lock; the guard is released as soon as a job is taken.
                        let next = match jobs.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| {
                    CryptoError::Password(format!("cannot start a hashing thread: {e}"))
                })?;
        }
        Ok(HashingThreads { queue })
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    // The constants are within Argon2's limits; should that ever change, fall back to the
    // crate default (stronger memory cost) rather than panic.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Recovery codes carry 50 random bits, where a password may carry 20: a quarter of the
/// passwords' cost still puts an offline search of one code at thousands of GPU-years,
/// and a sign-in that tries up to ten of them stays quick.
fn argon2_recovery() -> Argon2<'static> {
    let params = Params::new(4_864, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> Result<String, CryptoError> {
    hash_with(&argon2(), password)
}

fn hash_with(argon2: &Argon2<'_>, password: &[u8]) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| CryptoError::Password(e.to_string()))?;
    argon2
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Password(e.to_string()))
}

/// The password-hashing schemes a stored hash may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// What we write: Argon2id (any parameters; they are read from the hash).
    Argon2id,
    /// Argon2i or Argon2d from another system.
    Argon2Other,
    Scrypt,
    Bcrypt,
}

/// Does `value` look like a hash in `$scheme$…` form at all? Used to tell a stored hash
/// from a plain password in an import: a plain password that happens to look like one is
/// refused rather than silently taken for a hash.
pub fn looks_like_hash(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('$') else {
        return false;
    };
    match rest.split_once('$') {
        Some((id, tail)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !tail.is_empty()
        }
        None => false,
    }
}

/// Checks that `hash` is a well-formed hash of a scheme we can verify, with parameters in
/// range; the error names what is wrong. Nothing is computed with it.
pub fn check_hash(hash: &str) -> Result<Scheme, String> {
    let scheme = scheme_of(hash).ok_or_else(|| {
        "unsupported password hash: expected Argon2 or scrypt in PHC format, or bcrypt ($2b$…)"
            .to_owned()
    })?;
    match scheme {
        Scheme::Argon2id | Scheme::Argon2Other => {
            let parsed =
                PasswordHash::new(hash).map_err(|e| format!("malformed Argon2 hash: {e}"))?;
            Params::try_from(&parsed)
                .map_err(|e| format!("Argon2 parameters out of range: {e}"))?;
            if parsed.hash.is_none() || parsed.salt.is_none() {
                return Err("malformed Argon2 hash: no salt or no output".into());
            }
        }
        Scheme::Scrypt => {
            let parsed =
                PasswordHash::new(hash).map_err(|e| format!("malformed scrypt hash: {e}"))?;
            scrypt::Params::try_from(&parsed)
                .map_err(|e| format!("scrypt parameters out of range: {e}"))?;
            if parsed.hash.is_none() || parsed.salt.is_none() {
                return Err("malformed scrypt hash: no salt or no output".into());
            }
        }
        Scheme::Bcrypt => check_bcrypt(hash)?,
    }
    Ok(scheme)
}

fn scheme_of(hash: &str) -> Option<Scheme> {
    let id = hash.strip_prefix('$')?.split('$').next()?;
    match id {
        "argon2id" => Some(Scheme::Argon2id),
        "argon2i" | "argon2d" => Some(Scheme::Argon2Other),
        "scrypt" => Some(Scheme::Scrypt),
        "2a" | "2b" | "2x" | "2y" => Some(Scheme::Bcrypt),
        _ => None,
    }
}

/// `$2b$<cost>$<22 salt chars><31 hash chars>` in bcrypt's own base64 alphabet.
fn check_bcrypt(hash: &str) -> Result<(), String> {
    let parts: Vec<&str> = hash.split('$').collect();
    let (cost, rest) = match parts.as_slice() {
        ["", _, cost, rest] => (*cost, *rest),
        _ => return Err("malformed bcrypt hash: expected $2b$<cost>$<53 characters>".into()),
    };
    let cost: u32 = cost
        .parse()
        .ok()
        .filter(|c| (4..=31).contains(c))
        .ok_or("bcrypt cost must be a number from 4 to 31")?;
    let _ = cost;
    let alphabet_ok = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    if rest.len() != 53 || !alphabet_ok {
        return Err("malformed bcrypt hash: expected 53 characters of salt and hash".into());
    }
    Ok(())
}

fn verify_blocking(password: &[u8], stored: &str) -> Result<bool, CryptoError> {
    let err = |e: String| CryptoError::Password(e);
    match scheme_of(stored) {
        Some(Scheme::Argon2id | Scheme::Argon2Other) => {
            let parsed = PasswordHash::new(stored).map_err(|e| err(e.to_string()))?;
            // Verification follows the algorithm and parameters recorded in the hash.
            password_hash_result(argon2().verify_password(password, &parsed))
        }
        Some(Scheme::Scrypt) => {
            let parsed = PasswordHash::new(stored).map_err(|e| err(e.to_string()))?;
            password_hash_result(scrypt::Scrypt.verify_password(password, &parsed))
        }
        Some(Scheme::Bcrypt) => {
            // bcrypt itself reads only the first 72 bytes; the system that made the hash
            // did the same, so this is the comparison it would have made.
            bcrypt::verify(password, stored).map_err(|e| err(e.to_string()))
        }
        None => Err(err("stored password hash has an unknown scheme".into())),
    }
}

fn password_hash_result(r: Result<(), argon2::password_hash::Error>) -> Result<bool, CryptoError> {
    match r {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(CryptoError::Password(e.to_string())),
    }
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The password was right but its stored hash is not Argon2id: hash it again.
    pub needs_rehash: bool,
}

impl Passwords {
    pub fn new(concurrency: usize) -> Result<Self, CryptoError> {
        let mut random = Zeroizing::new([0u8; 32]);
        random_bytes(random.as_mut())?;
        let dummy = hash_blocking(random.as_ref())?;
        Ok(Self {
            pool: Arc::new(HashingThreads::start(concurrency)?),
            dummy: dummy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<T, CryptoError> {
        // The job runs to the end even if the client hangs up and this future is dropped:
        // the threads, not the requests, bound how many hashes run at once.
        let (done, answer) = oneshot::channel();
        self.pool
            .queue
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| CryptoError::Password("the hashing threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| CryptoError::Password("a hashing job was lost".into()))?
    }

    /// A PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, CryptoError> {
        self.run(move || hash_blocking(password.as_bytes())).await
    }

    /// Argon2id hashes of recovery codes (lighter parameters, see [`argon2_recovery`]), in
    /// one job.
    pub async fn hash_recovery_codes(
        &self,
        codes: Vec<Zeroizing<String>>,
    ) -> Result<Vec<String>, CryptoError> {
        self.run(move || {
            let argon2 = argon2_recovery();
            codes
                .iter()
                .map(|c| hash_with(&argon2, c.as_bytes()))
                .collect()
        })
        .await
    }

    /// Which of `candidates` (id, hash) `code` matches, if any, in one job.
    pub async fn find_recovery_code(
        &self,
        code: Zeroizing<String>,
        candidates: Vec<(String, String)>,
    ) -> Result<Option<String>, CryptoError> {
        self.run(move || {
            for (id, hash) in candidates {
                if verify_blocking(code.as_bytes(), &hash)? {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Whether `password` matches the stored hash; with no hash (unknown user, or a user
    /// without a password) it does the same work against a dummy hash and answers `false`.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        stored: Option<String>,
    ) -> Result<Verified, CryptoError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy.to_string());
        let needs_rehash = scheme_of(&stored) != Some(Scheme::Argon2id);
        let ok = self
            .run(move || verify_blocking(password.as_bytes(), &stored))
            .await?
            && known;
        Ok(Verified {
            ok,
            needs_rehash: ok && needs_rehash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_uses_argon2id_owasp_parameters() {
        let p = Passwords::new(1).unwrap();
        let h = p
            .hash(Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let right = p
            .verify(Zeroizing::new("correct horse".into()), Some(h.clone()))
            .await
            .unwrap();
        assert_eq!(
            right,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(
            !p.verify(Zeroizing::new("wrong horse".into()), Some(h))
                .await
                .unwrap()
                .ok
        );
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        let p = Passwords::new(1).unwrap();
        assert!(
            !p.verify(Zeroizing::new(String::new()), None)
                .await
                .unwrap()
                .ok
        );
    }

    /// Hashes made by other implementations (Python's `bcrypt`, `argon2-cffi` and
    /// `hashlib.scrypt`, plus OpenBSD's published bcrypt vector), so the check is against
    /// outputs we did not compute ourselves.
    #[tokio::test]
    async fn hashes_from_other_systems_verify_and_ask_for_a_rehash() {
        let p = Passwords::new(1).unwrap();
        let pw = "correct horse battery";
        let other = [
            (
                "U*U",
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            ),
            (
                pw,
                "$2b$05$A3vI8njO2x2.idj5VIuLuOd.yZKNLC7XR.tG0PCH5AKe/vVEh0U4u",
            ),
            (
                pw,
                "$argon2i$v=19$m=1024,t=2,p=2$Iw/XQ4briLJQwjT9ZJvtgA$RTWNuyTcopVfCC4PAGfndLCo9KDn02/yy05NlQ+mBeg",
            ),
            (
                pw,
                "$scrypt$ln=10,r=8,p=1$dHdvZm9sZC1pbXBvcnQtcw$TcAxVXVwXlplsW8uHODuN81ywMFR8sz/kdjJJFbDSbY",
            ),
        ];
        for (password, hash) in other {
            assert!(check_hash(hash).is_ok(), "{hash}");
            let v = p
                .verify(Zeroizing::new(password.into()), Some(hash.into()))
                .await
                .unwrap();
            assert_eq!(
                v,
                Verified {
                    ok: true,
                    needs_rehash: true
                },
                "{hash}"
            );
            let wrong = p
                .verify(Zeroizing::new("not it".into()), Some(hash.into()))
                .await
                .unwrap();
            assert!(!wrong.ok && !wrong.needs_rehash, "{hash}");
        }
    }

    #[tokio::test]
    async fn an_argon2id_hash_with_other_parameters_is_kept() {
        let p = Passwords::new(1).unwrap();
        let hash = "$argon2id$v=19$m=2048,t=1,p=1$Guh81R9n/WgUF7MbuskktQ$Yr3G1RKFuzoxVs3g94ejMyKY1wm9bsmS9YnecCKEbrM";
        assert_eq!(check_hash(hash), Ok(Scheme::Argon2id));
        let v = p
            .verify(
                Zeroizing::new("correct horse battery".into()),
                Some(hash.into()),
            )
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
    }

    #[test]
    fn malformed_and_unknown_hashes_are_named() {
        assert!(
            check_hash("$md5$abc$def")
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(
            check_hash("$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
                .unwrap_err()
                .contains("cost")
        );
        assert!(check_hash("$2b$05$short").unwrap_err().contains("53"));
        assert!(
            check_hash("$argon2id$v=19$m=1,t=1,p=1$c29tZXNhbHQ$aGFzaA")
                .unwrap_err()
                .contains("Argon2")
        );
        assert!(check_hash("$scrypt$ln=99,r=8,p=1$c29tZXNhbHQ$aGFzaA").is_err());
    }

    #[test]
    fn a_plain_password_is_not_taken_for_a_hash() {
        assert!(!looks_like_hash("$uperSecret"));
        assert!(!looks_like_hash("correct horse"));
        assert!(!looks_like_hash("$$"));
        assert!(looks_like_hash("$2b$12$abc"));
        assert!(looks_like_hash("$argon2id$v=19$x"));
    }

    #[tokio::test]
    async fn recovery_codes_hash_with_lighter_argon2id_and_are_found() {
        let p = Passwords::new(1).unwrap();
        let codes = vec![
            Zeroizing::new("aaaaa-bbbbb".into()),
            Zeroizing::new("ccccc-ddddd".into()),
        ];
        let hashes = p.hash_recovery_codes(codes).await.unwrap();
        assert!(
            hashes[0].starts_with("$argon2id$v=19$m=4864,t=2,p=1$"),
            "{}",
            hashes[0]
        );
        assert_ne!(hashes[0], hashes[1]);
        let candidates = vec![
            ("a".to_owned(), hashes[0].clone()),
            ("c".to_owned(), hashes[1].clone()),
        ];
        let found = p
            .find_recovery_code(Zeroizing::new("ccccc-ddddd".into()), candidates.clone())
            .await
            .unwrap();
        assert_eq!(found.as_deref(), Some("c"));
        let none = p
            .find_recovery_code(Zeroizing::new("eeeee-fffff".into()), candidates)
            .await
            .unwrap();
        assert_eq!(none, None);
    }
}
