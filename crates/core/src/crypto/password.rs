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
//! but Argon2id with our parameters is replaced at the user's next successful sign-in
//! ([`Verified::needs_rehash`]), so imported accounts move to our parameters over time.
//!
//! Until they have, a slower imported hash would tell a guesser which usernames exist (a
//! wrong password for a bcrypt-12 user costs ten times a miss). So an organisation that
//! holds such hashes checks unknown usernames against a dummy of the slowest kind it holds
//! ([`Passwords::slowest_dummy`]), and a wrong password for one of its users with a faster
//! hash waits until as long as that dummy takes ([`Passwords::pad_failure`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Passwords shorter than this are refused when set (NIST SP 800-63B §5.1.1.2).
pub const MIN_LEN: usize = 8;
/// Longer ones are refused too: nobody types more, and it bounds the work per request.
pub const MAX_LEN: usize = 1024;

/// The start of every hash this service writes: Argon2id, version 19, OWASP parameters.
/// Any other is replaced at the next successful sign-in.
pub const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

#[derive(Clone)]
pub struct Passwords {
    pool: Arc<HashingThreads>,
    /// Jobs waiting or running, and how many requests may have at once: beyond that a
    /// flood is refused (`Busy`) instead of queueing without end and slowing every sign-in.
    queued: Arc<AtomicUsize>,
    queue_limit: usize,
    dummy: Arc<str>,
    /// How long verifying a hash of each cost (see [`cost_template`]) took lately.
    costs: Arc<Mutex<HashMap<String, Duration>>>,
    /// How long each job waited for a thread (a metric: `twofold_password_hash_wait`).
    wait: prometheus_client::metrics::histogram::Histogram,
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

/// What a hash's cost depends on: everything before its salt (`$2b$12$`,
/// `$argon2id$v=19$m=65536,t=3,p=4$`, `$scrypt$ln=15,r=8,p=1$`).
pub fn cost_template(hash: &str) -> Option<&str> {
    match scheme_of(hash)? {
        Scheme::Bcrypt => hash.get(..7),
        _ => {
            // `<template>$<salt>$<output>`
            let mut dollars = hash.rmatch_indices('$').map(|(i, _)| i);
            let _output = dollars.next()?;
            let salt = dollars.next()?;
            hash.get(..=salt)
        }
    }
}

/// A hash of a random password with the scheme and parameters of `template` (from
/// [`cost_template`]): checking a password against it costs what checking against a real
/// hash of that kind does.
fn dummy_like(template: &str) -> Result<String, CryptoError> {
    let err = |e: String| CryptoError::Password(format!("dummy hash for {template}: {e}"));
    let mut random = Zeroizing::new([0u8; 32]);
    random_bytes(random.as_mut())?;
    let password = data_encoding::BASE64URL_NOPAD.encode(random.as_ref());
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    // The template read as a whole hash, with a placeholder salt and output.
    let placeholder = format!("{template}AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA");
    match scheme_of(template) {
        Some(Scheme::Bcrypt) => {
            let cost: u32 = template
                .get(4..6)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| err("no cost".into()))?;
            bcrypt::hash_with_salt(password.as_bytes(), cost, salt)
                .map(|h| h.format_for_version(bcrypt::Version::TwoB))
                .map_err(|e| err(e.to_string()))
        }
        Some(Scheme::Argon2id | Scheme::Argon2Other) => {
            let parsed = PasswordHash::new(&placeholder).map_err(|e| err(e.to_string()))?;
            let algorithm =
                Algorithm::try_from(parsed.algorithm).map_err(|e| err(e.to_string()))?;
            let params = Params::try_from(&parsed).map_err(|e| err(e.to_string()))?;
            let version = parsed
                .version
                .and_then(|v| Version::try_from(v).ok())
                .unwrap_or(Version::V0x13);
            hash_with(
                &Argon2::new(algorithm, version, params),
                password.as_bytes(),
            )
        }
        Some(Scheme::Scrypt) => {
            let parsed = PasswordHash::new(&placeholder).map_err(|e| err(e.to_string()))?;
            let params = scrypt::Params::try_from(&parsed).map_err(|e| err(e.to_string()))?;
            let salt = SaltString::encode_b64(&salt).map_err(|e| err(e.to_string()))?;
            scrypt::Scrypt
                .hash_password_customized(password.as_bytes(), None, None, params, &salt)
                .map(|h| h.to_string())
                .map_err(|e| err(e.to_string()))
        }
        None => Err(err("unknown scheme".into())),
    }
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
    /// `concurrency` threads; requests may have `queue_limit` jobs waiting or running.
    pub fn new(concurrency: usize, queue_limit: usize) -> Result<Self, CryptoError> {
        let mut random = Zeroizing::new([0u8; 32]);
        random_bytes(random.as_mut())?;
        let dummy = hash_blocking(random.as_ref())?;
        Ok(Self {
            pool: Arc::new(HashingThreads::start(concurrency)?),
            queued: Arc::default(),
            queue_limit: queue_limit.max(1),
            dummy: dummy.into(),
            costs: Arc::default(),
            wait: crate::metrics::latency_histogram(),
        })
    }

    /// How long jobs waited for a hashing thread.
    pub fn wait_histogram(&self) -> &prometheus_client::metrics::histogram::Histogram {
        &self.wait
    }

    /// Jobs waiting or running now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Runs `f` on the hashing threads for a request: refused with `Busy` when the queue
    /// is full.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<T, CryptoError> {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(CryptoError::Busy);
        }
        self.enqueue(f).await
    }

    /// Runs `f` on the hashing threads whatever the queue holds (an import's batch, which
    /// paces itself).
    async fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<T, CryptoError> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.enqueue(f).await
    }

    /// Sends `f`, already counted in `queued`, to the threads; the count drops when it ends.
    async fn enqueue<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<T, CryptoError> {
        // The job runs to the end even if the client hangs up and this future is dropped:
        // the threads, not the requests, bound how many hashes run at once.
        let (done, answer) = oneshot::channel();
        let queued = self.queued.clone();
        let (wait, sent_at) = (self.wait.clone(), Instant::now());
        let sent = self.pool.queue.send(Box::new(move || {
            wait.observe(sent_at.elapsed().as_secs_f64());
            let _ = done.send(f());
            queued.fetch_sub(1, Ordering::AcqRel);
        }));
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(CryptoError::Password(
                "the hashing threads have stopped".into(),
            ));
        }
        answer
            .await
            .map_err(|_| CryptoError::Password("a hashing job was lost".into()))?
    }

    /// A PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, CryptoError> {
        self.run(move || hash_blocking(password.as_bytes())).await
    }

    /// [`Passwords::hash`] for an import, which is not refused when the queue is full.
    pub async fn hash_for_import(
        &self,
        password: Zeroizing<String>,
    ) -> Result<String, CryptoError> {
        self.submit(move || hash_blocking(password.as_bytes()))
            .await
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
    /// without a password) it does the same work against `miss` (an organisation's dummy
    /// of its slowest imported kind) or our own dummy hash, and answers `false`.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        stored: Option<String>,
        miss: Option<&str>,
    ) -> Result<Verified, CryptoError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| miss.unwrap_or(&self.dummy).to_owned());
        let needs_rehash = !stored.starts_with(CURRENT_PREFIX);
        let template = cost_template(&stored).map(str::to_owned);
        let started = Instant::now();
        let ok = self
            .run(move || verify_blocking(password.as_bytes(), &stored))
            .await?
            && known;
        if let Some(t) = template {
            self.note_cost(t, started.elapsed());
        }
        Ok(Verified {
            ok,
            needs_rehash: ok && needs_rehash,
        })
    }

    /// Remembers how long checking a hash of cost `template` took (a moving average).
    fn note_cost(&self, template: String, took: Duration) {
        let mut costs = self.costs.lock().unwrap_or_else(|p| p.into_inner());
        let avg = costs.entry(template).or_insert(took);
        *avg = (*avg * 7 + took) / 8;
    }

    /// After a wrong password whose check began at `started`: waits until checking
    /// `miss` (the organisation's dummy of its slowest hash kind) would have taken, so
    /// that the answer takes as long as for an unknown username. The first time in a
    /// process, that cost is not known yet: the dummy itself is checked, which both pads
    /// and measures.
    pub async fn pad_failure(&self, miss: &str, started: Instant) {
        let Some(template) = cost_template(miss).map(str::to_owned) else {
            return;
        };
        let known = self
            .costs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&template)
            .copied();
        match known {
            Some(target) => {
                if let Some(rest) = target.checked_sub(started.elapsed()) {
                    tokio::time::sleep(rest).await;
                }
            }
            None => {
                let dummy = miss.to_owned();
                let checked = Instant::now();
                if self
                    .submit(move || verify_blocking(b"not the password", &dummy))
                    .await
                    .is_ok()
                {
                    self.note_cost(template, checked.elapsed());
                }
            }
        }
    }

    /// A dummy of the kind of hash in `hashes` slowest to check on this machine, if that
    /// is not ours (each kind's dummy is made and timed once); `None` when ours is the
    /// slowest, or all are ours.
    pub async fn slowest_dummy(
        &self,
        hashes: impl IntoIterator<Item = &str>,
    ) -> Result<Option<String>, CryptoError> {
        let mut templates: Vec<String> = hashes
            .into_iter()
            .filter(|h| !h.starts_with(CURRENT_PREFIX))
            .filter_map(cost_template)
            .map(str::to_owned)
            .collect();
        if templates.is_empty() {
            return Ok(None);
        }
        templates.sort();
        templates.dedup();
        templates.push(CURRENT_PREFIX.to_owned());
        let mut slowest: Option<(Duration, String, bool)> = None;
        for template in templates {
            let ours = template == CURRENT_PREFIX;
            let dummy = if ours {
                self.dummy.to_string()
            } else {
                let t = template.clone();
                self.submit(move || dummy_like(&t)).await?
            };
            let started = Instant::now();
            let checked = dummy.clone();
            self.submit(move || verify_blocking(b"not the password", &checked))
                .await?;
            let took = started.elapsed();
            self.note_cost(template, took);
            if slowest.as_ref().is_none_or(|(t, _, _)| took > *t) {
                slowest = Some((took, dummy, ours));
            }
        }
        Ok(slowest.and_then(|(_, dummy, ours)| (!ours).then_some(dummy)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_uses_argon2id_owasp_parameters() {
        let p = Passwords::new(1, 16).unwrap();
        let h = p
            .hash(Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let right = p
            .verify(
                Zeroizing::new("correct horse".into()),
                Some(h.clone()),
                None,
            )
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
            !p.verify(Zeroizing::new("wrong horse".into()), Some(h), None)
                .await
                .unwrap()
                .ok
        );
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        let p = Passwords::new(1, 16).unwrap();
        assert!(
            !p.verify(Zeroizing::new(String::new()), None, None)
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
        let p = Passwords::new(1, 16).unwrap();
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
                .verify(Zeroizing::new(password.into()), Some(hash.into()), None)
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
                .verify(Zeroizing::new("not it".into()), Some(hash.into()), None)
                .await
                .unwrap();
            assert!(!wrong.ok && !wrong.needs_rehash, "{hash}");
        }
    }

    #[tokio::test]
    async fn an_argon2id_hash_with_other_parameters_is_replaced_too() {
        let p = Passwords::new(1, 16).unwrap();
        let hash = "$argon2id$v=19$m=2048,t=1,p=1$Guh81R9n/WgUF7MbuskktQ$Yr3G1RKFuzoxVs3g94ejMyKY1wm9bsmS9YnecCKEbrM";
        assert_eq!(check_hash(hash), Ok(Scheme::Argon2id));
        let v = p
            .verify(
                Zeroizing::new("correct horse battery".into()),
                Some(hash.into()),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        // Ours is not.
        let ours = p.hash(Zeroizing::new("x".repeat(12))).await.unwrap();
        assert!(ours.starts_with(CURRENT_PREFIX), "{ours}");
        let v = p
            .verify(Zeroizing::new("x".repeat(12)), Some(ours), None)
            .await
            .unwrap();
        assert!(v.ok && !v.needs_rehash);
    }

    #[test]
    fn cost_templates_keep_the_parameters_and_drop_salt_and_output() {
        assert_eq!(
            cost_template("$2b$12$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
            Some("$2b$12$")
        );
        assert_eq!(
            cost_template("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$aGFzaGhhc2g"),
            Some("$argon2id$v=19$m=65536,t=3,p=4$")
        );
        assert_eq!(
            cost_template(
                "$scrypt$ln=10,r=8,p=1$dHdvZm9sZC1pbXBvcnQtcw$TcAxVXVwXlplsW8uHODuN81ywMFR8sz/kdjJJFbDSbY"
            ),
            Some("$scrypt$ln=10,r=8,p=1$")
        );
        assert_eq!(cost_template("plain"), None);
    }

    #[tokio::test]
    async fn the_miss_dummy_is_of_the_slowest_imported_kind() {
        let p = Passwords::new(1, 16).unwrap();
        // bcrypt cost 10 (~60 ms) against cost 4 and a light Argon2i: bcrypt 10 is slowest,
        // and slower than our own Argon2id.
        let bcrypt4 = "$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        let bcrypt10 = bcrypt::hash_with_salt("x", 10, [7; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        let argon2i = "$argon2i$v=19$m=1024,t=2,p=2$Iw/XQ4briLJQwjT9ZJvtgA$RTWNuyTcopVfCC4PAGfndLCo9KDn02/yy05NlQ+mBeg";
        let dummy = p
            .slowest_dummy([bcrypt4, bcrypt10.as_str(), argon2i])
            .await
            .unwrap()
            .unwrap();
        assert!(dummy.starts_with("$2b$10$"), "{dummy}");
        assert_ne!(dummy, bcrypt10, "a dummy, not a copy of someone's hash");
        assert!(check_hash(&dummy).is_ok());
        // A dummy never matches, and an unknown user checked against it is refused.
        let v = p
            .verify(Zeroizing::new("x".into()), None, Some(&dummy))
            .await
            .unwrap();
        assert!(!v.ok);
        // Only faster kinds than ours, or ours alone: no dummy of theirs.
        assert_eq!(p.slowest_dummy([bcrypt4]).await.unwrap(), None);
        let ours = p.hash(Zeroizing::new("x".repeat(12))).await.unwrap();
        assert_eq!(p.slowest_dummy([ours.as_str()]).await.unwrap(), None);
        // Argon2 and scrypt dummies keep their parameters.
        for template in ["$argon2id$v=19$m=65536,t=3,p=1$", "$scrypt$ln=15,r=8,p=1$"] {
            let d = dummy_like(template).unwrap();
            assert_eq!(cost_template(&d), Some(template), "{d}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let p = Passwords::new(1, 2).unwrap();
        // Two slow jobs fill the queue (one running, one waiting); a third is refused.
        let slow = |p: Passwords| async move {
            p.run(|| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
            .await
        };
        let a = tokio::spawn(slow(p.clone()));
        let b = tokio::spawn(slow(p.clone()));
        while p.queued.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = p.verify(Zeroizing::new("x".into()), None, None).await;
        assert!(matches!(refused, Err(CryptoError::Busy)), "{refused:?}");
        a.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
        // And accepted again once there is room.
        assert!(
            p.verify(Zeroizing::new("x".into()), None, None)
                .await
                .is_ok()
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
        let p = Passwords::new(1, 16).unwrap();
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
