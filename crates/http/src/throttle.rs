//! The per-address limit on guessing: every address may make `ip_failure_burst` failed
//! sign-in or code attempts in a burst, and gets `ip_failures_per_minute` back each minute
//! (a token bucket). Only failures count — a wrong password, a wrong or reused code — so
//! an office behind one address whose people sign in correctly is never slowed. Once the
//! bucket is empty, the address's next attempts are answered 429 `rate_limited` with
//! `Retry-After` before any password is hashed or code compared.
//!
//! Each attempt takes a token when it starts and gives it back unless it failed, so a
//! burst of concurrent guesses cannot all slip in before the first failure is counted.
//! IPv6 addresses count by their /64, which one subscriber usually holds whole. The state
//! is per server process (DESIGN.md allows per-address limits in memory); the per-account
//! throttle and the second-factor lockout, which must hold across servers, live in the
//! database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use twofold_proto::ErrorCode;

use super::AppState;
use super::error::ApiError;
use twofold_core::config::HttpLimits;

/// Addresses tracked at most; past it, those whose allowance is whole are forgotten (and,
/// should that not be enough, all of them: a flood from that many addresses is beyond
/// what this limit is for).
const MAX_TRACKED: usize = 1_000_000;

/// An address as it is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    V4(u32),
    /// The first 64 bits.
    V6(u64),
}

impl From<IpAddr> for Key {
    fn from(ip: IpAddr) -> Key {
        match ip {
            IpAddr::V4(v4) => Key::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::V4(u32::from(v4)),
                None => Key::V6(u64::try_from(u128::from(v6) >> 64).unwrap_or(u64::MAX)),
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    /// Unix ms of the last refill.
    at: i64,
}

/// The buckets of every address seen failing.
pub struct FailureThrottle {
    burst: f64,
    /// Tokens per millisecond.
    rate: f64,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// The attempt may go ahead, holding a token; or wait this many seconds.
#[derive(Debug, PartialEq)]
pub enum Admission {
    Admitted,
    Wait { retry_after: u64 },
}

impl FailureThrottle {
    pub fn new(limits: &HttpLimits) -> Self {
        Self {
            burst: f64::from(limits.ip_failure_burst.max(1)),
            rate: f64::from(limits.ip_failures_per_minute.max(1)) / 60_000.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for an attempt from `ip` at `now` (Unix ms), if one is left.
    pub fn admit(&self, ip: IpAddr, now: i64) -> Admission {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let full = self.burst;
            let rate = self.rate;
            buckets.retain(|_, b| refilled(*b, now, rate, full).tokens < full);
            if buckets.len() >= MAX_TRACKED {
                tracing::warn!("too many addresses failing at once: forgetting them all");
                buckets.clear();
            }
        }
        let b = buckets.entry(Key::from(ip)).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        *b = refilled(*b, now, self.rate, self.burst);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Admission::Admitted;
        }
        let ms = ((1.0 - b.tokens) / self.rate).ceil();
        // At most a minute at any sane setting; the cast cannot overflow.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = ((ms / 1000.0).ceil() as u64).max(1);
        Admission::Wait { retry_after: secs }
    }

    /// Gives back the token of an attempt from `ip` that did not fail.
    pub fn refund(&self, ip: IpAddr) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = Key::from(ip);
        if let Some(b) = buckets.get_mut(&key) {
            b.tokens = (b.tokens + 1.0).min(self.burst);
            if b.tokens >= self.burst {
                buckets.remove(&key);
            }
        }
    }
}

fn refilled(b: Bucket, now: i64, rate: f64, burst: f64) -> Bucket {
    // Milliseconds fit a double exactly for the next few hundred thousand years.
    #[allow(clippy::cast_precision_loss)]
    let elapsed = (now - b.at).max(0) as f64;
    Bucket {
        tokens: (b.tokens + elapsed * rate).min(burst),
        at: now.max(b.at),
    }
}

/// Whether an answer is a failed guess: a wrong password (in an organisation with an
/// identity provider, `use_identity_provider`), a wrong, reused or expired code, or a
/// federated sign-in's code or verifier that did not pass.
fn is_failure(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::InvalidCredentials
            | ErrorCode::UseIdentityProvider
            | ErrorCode::FederationFailed
            | ErrorCode::InvalidCode
            | ErrorCode::PasskeyRefused
            | ErrorCode::ChallengeExpired
            | ErrorCode::PasskeyCloned
            | ErrorCode::CodeReused
            | ErrorCode::CodeExpired
    )
}

/// The layer on the routes that take a password or a code.
pub async fn limit_failures(State(st): State<AppState>, req: Request, next: Next) -> Response {
    guard(&st, req, next, |retry_after| {
        ApiError::rate_limited(
            retry_after,
            "too many failed attempts from your address; try again later",
        )
        .into_response()
    })
    .await
}

/// The throttle around `next`, answering `refused(retry_after)` to an address that must
/// wait (the API with a problem, the pages with a page). An answer that carries a failing
/// [`ErrorCode`] in its extensions keeps the token it took.
pub(crate) async fn guard(
    st: &AppState,
    req: Request,
    next: Next,
    refused: impl FnOnce(u64) -> Response,
) -> Response {
    let ip = super::client_ip::of(&req);
    let now = st.twofold.now().as_millis();
    if let Admission::Wait { retry_after } = st.throttle.admit(ip, now) {
        tracing::info!(event = "ratelimit.refused", %ip, retry_after);
        return refused(retry_after);
    }
    let res = next.run(req).await;
    let failed = res
        .extensions()
        .get::<ErrorCode>()
        .is_some_and(|c| is_failure(*c));
    if !failed {
        st.throttle.refund(ip);
    }
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn throttle(burst: u32, per_minute: u32) -> FailureThrottle {
        FailureThrottle::new(&HttpLimits {
            ip_failure_burst: burst,
            ip_failures_per_minute: per_minute,
            ..HttpLimits::default()
        })
    }

    #[test]
    fn a_burst_then_a_wait_then_the_allowance_comes_back() {
        let t = throttle(3, 6);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.admit(ip, 0), Admission::Admitted);
        }
        assert_eq!(t.admit(ip, 0), Admission::Wait { retry_after: 10 });
        // Another address is not affected.
        assert_eq!(
            t.admit("203.0.113.8".parse().unwrap(), 0),
            Admission::Admitted
        );
        // One token back every 10 s.
        assert_eq!(t.admit(ip, 9_000), Admission::Wait { retry_after: 1 });
        assert_eq!(t.admit(ip, 10_000), Admission::Admitted);
        assert_eq!(t.admit(ip, 10_000), Admission::Wait { retry_after: 10 });
    }

    #[test]
    fn attempts_that_did_not_fail_cost_nothing() {
        let t = throttle(2, 1);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..100 {
            assert_eq!(t.admit(ip, 0), Admission::Admitted);
            t.refund(ip);
        }
        assert!(
            t.buckets.lock().unwrap().is_empty(),
            "a whole allowance is not kept"
        );
    }

    #[test]
    fn ipv6_counts_by_its_64_bit_prefix() {
        let t = throttle(1, 1);
        assert_eq!(
            t.admit("2001:db8:1:2::1".parse().unwrap(), 0),
            Admission::Admitted
        );
        let same_64 = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(matches!(t.admit(same_64, 0), Admission::Wait { .. }));
        assert_eq!(
            t.admit("2001:db8:1:3::1".parse().unwrap(), 0),
            Admission::Admitted
        );
    }
}
