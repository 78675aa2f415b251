//! What Argon2id alone allows: hashes per second at the server's parameters (m=19456 KiB,
//! t=2, p=1) back to back on one thread. Sign-in throughput on one core cannot beat this;
//! the gap between the two is the cost of everything else in a sign-in.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::LoadError;
use crate::users::{LOAD_PASSWORD, PasswordCost, argon2id};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// `m=19456,t=2,p=1`.
    pub params: String,
    pub hashes: u64,
    pub elapsed_secs: f64,
    pub hashes_per_sec: f64,
    pub ms_per_hash: f64,
}

impl std::fmt::Display for BaselineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Argon2id {} on one thread: {} hashes in {:.3} s = {:.2} hashes/s ({:.2} ms each)",
            self.params, self.hashes, self.elapsed_secs, self.hashes_per_sec, self.ms_per_hash
        )
    }
}

/// Hashes until `duration` has passed (at least one hash) or `max_hashes` are done.
///
/// Each hash allocates its own 19 MiB, as a verification in the server does, so the
/// allocation is part of the cost measured.
pub fn argon2_baseline(duration: Duration, max_hashes: u64) -> Result<BaselineReport, LoadError> {
    let (m, t, p) = PasswordCost::Owasp.params();
    let argon = argon2id(PasswordCost::Owasp)?;
    let salt = *b"twofold-baseline";
    let mut out = [0u8; 32];
    let start = Instant::now();
    let mut hashes = 0u64;
    while hashes < max_hashes.max(1) && (hashes == 0 || start.elapsed() < duration) {
        argon
            .hash_password_into(LOAD_PASSWORD.as_bytes(), &salt, &mut out)
            .map_err(|e| LoadError::Argon2(e.to_string()))?;
        std::hint::black_box(&out);
        hashes += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(BaselineReport {
        params: format!("m={m},t={t},p={p}"),
        hashes,
        elapsed_secs: secs,
        hashes_per_sec: if secs > 0.0 {
            hashes as f64 / secs
        } else {
            0.0
        },
        ms_per_hash: secs * 1000.0 / hashes.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hash_is_measured() {
        let r = argon2_baseline(Duration::ZERO, 1).unwrap();
        assert_eq!(r.hashes, 1);
        assert_eq!(r.params, "m=19456,t=2,p=1");
        assert!(r.hashes_per_sec > 0.0);
        assert!(
            r.to_string()
                .starts_with("Argon2id m=19456,t=2,p=1 on one thread: 1 hashes")
        );
    }
}
