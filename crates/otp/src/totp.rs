//! TOTP (RFC 6238): time-based codes, their parameters, and windowed constant-time verification.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};

use crate::hotp::{KeyedHmac, write_decimal};
use crate::{Algorithm, Error, Secret, hotp};

/// TOTP parameters (RFC 6238 §4.1 `X` and §1.2 hash choice, plus the HOTP `Digit` of
/// RFC 4226 §5.3). `Default` is what every authenticator app assumes: SHA1, 6 digits, 30 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TotpParams {
    /// HMAC hash function.
    pub algorithm: Algorithm,
    /// Code length, 6 to 8.
    pub digits: u8,
    /// Time step `X` in seconds, 1 to 300.
    pub period: u64,
}

impl Default for TotpParams {
    fn default() -> Self {
        TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl TotpParams {
    /// RFC 4226 §5.3 requires at least 6 digits.
    pub const MIN_DIGITS: u8 = 6;
    /// RFC 6238's reference implementation and the Key URI format stop at 8; more digits
    /// would add little because the truncated value has only 31 bits (~9.3 digits).
    pub const MAX_DIGITS: u8 = 8;
    /// A zero period would divide by zero; anything shorter than the 30 s of RFC 6238 §5.2
    /// is merely unusual, so only zero is refused at the low end.
    pub const MIN_PERIOD: u64 = 1;
    /// Five minutes. Real tokens use 30 or 60 s; beyond a few minutes a code stays valid
    /// (times the verification window) long enough to be phished and replayed at leisure,
    /// which is exactly what RFC 6238 §5.2 warns against.
    pub const MAX_PERIOD: u64 = 300;

    /// Checks the ranges above.
    pub fn validate(&self) -> Result<(), Error> {
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&self.digits) {
            return Err(Error::InvalidDigits(u64::from(self.digits)));
        }
        if !(Self::MIN_PERIOD..=Self::MAX_PERIOD).contains(&self.period) {
            return Err(Error::InvalidPeriod(self.period));
        }
        Ok(())
    }
}

/// Which time steps [`Totp::verify`] accepts, relative to the current step (RFC 6238 §5.2
/// "acceptable transmission delay" and §6 resynchronisation).
///
/// The checked steps are `current + center - behind ..= current + center + ahead`. `center`
/// lets a caller compensate a drift it has learned for this token (§6) without widening the
/// window. `Default` is one step either side, as §5.2 recommends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Offset of the window's middle from the current step, in steps.
    pub center: i64,
    /// Steps accepted before the middle.
    pub behind: u32,
    /// Steps accepted after the middle.
    pub ahead: u32,
}

impl Window {
    /// `n` steps either side of the current step.
    pub const fn symmetric(n: u32) -> Window {
        Window {
            center: 0,
            behind: n,
            ahead: n,
        }
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::symmetric(1)
    }
}

/// A successful [`Totp::verify`]: the step whose code matched (store it to refuse replays,
/// RFC 6238 §5.2) and its offset from the current step (the drift, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// The matching time step `T`.
    pub step: u64,
    /// `step - current step`.
    pub offset: i64,
}

/// A TOTP generator/verifier (RFC 6238 §4): a secret plus validated parameters, with `T0 = 0`.
///
/// `Debug` shows the parameters and only the secret's length.
#[derive(Clone, Debug)]
pub struct Totp {
    secret: Secret,
    params: TotpParams,
}

impl Totp {
    /// Combines a secret with parameters, which must pass [`TotpParams::validate`].
    pub fn new(secret: Secret, params: TotpParams) -> Result<Totp, Error> {
        params.validate()?;
        Ok(Totp { secret, params })
    }

    /// The parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// RFC 6238 §4.2: `T = floor((unix_secs - T0) / X)` with `T0 = 0`.
    pub fn step_at(&self, unix_secs: u64) -> u64 {
        // `new` guarantees period >= 1; max(1) just keeps this total without a panic path.
        unix_secs / self.params.period.max(1)
    }

    /// The code for the step containing `unix_secs`.
    pub fn generate_at(&self, unix_secs: u64) -> String {
        self.generate_for_step(self.step_at(unix_secs))
    }

    /// The code for time step `step` (RFC 6238 §4.2: `TOTP = HOTP(K, T)`).
    pub fn generate_for_step(&self, step: u64) -> String {
        hotp(
            self.secret.as_bytes(),
            step,
            self.params.algorithm,
            self.params.digits,
        )
    }

    /// Checks `code` against steps (current + window.center - window.behind) ..=
    /// (current + window.center + window.ahead).
    ///
    /// Returns which step matched and its offset from the current step, so that the caller
    /// can refuse replays and learn drift. Every step of the window is evaluated and compared
    /// in constant time, with no early exit on a match, so the time taken does not reveal
    /// whether or where the code matched. If several steps match (6-digit codes collide now
    /// and then), the one closest to the current step wins, the later one on a tie.
    ///
    /// A code of the wrong length or containing anything but ASCII digits never matches;
    /// callers that want to allow spaces ("123 456") must strip them first. Steps below 0 or
    /// above `u64::MAX` are skipped. The cost is linear in the window size, which is the
    /// caller's choice and should stay small (RFC 6238 §5.2 recommends at most one step back).
    pub fn verify(&self, code: &str, unix_secs: u64, window: Window) -> Option<Match> {
        let digits = usize::from(self.params.digits);
        // Only the format is checked here, which says nothing about the secret, so this early
        // return is not a timing leak.
        if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut candidate = [0u8; TotpParams::MAX_DIGITS as usize];
        let candidate = candidate.get_mut(..digits)?;
        let mac = KeyedHmac::new(self.secret.as_bytes(), self.params.algorithm)?;

        let current = self.step_at(unix_secs);
        let (first, last) = window_steps(current, window)?;

        let mut found = Choice::from(0);
        let mut best_step = 0u64;
        let mut best_distance = u64::MAX;
        for step in first..=last {
            // Fail closed: an HMAC failure (impossible, see KeyedHmac::new) can never match.
            let (value, ok) = match mac.truncated(step) {
                Some(value) => (value, Choice::from(1)),
                None => (0, Choice::from(0)),
            };
            write_decimal(value, candidate);
            let matched = ok & candidate.ct_eq(code.as_bytes());

            let distance = step.abs_diff(current);
            // Steps are visited in ascending order, so on equal distance the later step comes
            // second and `<=` makes it win, as documented.
            let closer_or_equal = !distance.ct_gt(&best_distance);
            let take = matched & closer_or_equal;
            best_step.conditional_assign(&step, take);
            best_distance.conditional_assign(&distance, take);
            found |= matched;
        }

        if bool::from(found) {
            // window_steps keeps every step within i64 range of `current`.
            let offset = i64::try_from(i128::from(best_step) - i128::from(current)).ok()?;
            Some(Match {
                step: best_step,
                offset,
            })
        } else {
            None
        }
    }
}

/// The inclusive range of steps a window covers around `current`, clipped to steps that exist
/// (0..=u64::MAX) and whose offset from `current` fits in an `i64`. `None` if nothing is left.
fn window_steps(current: u64, window: Window) -> Option<(u64, u64)> {
    // i128 holds every intermediate value exactly, so no overflow or underflow is possible.
    let current = i128::from(current);
    let middle = current + i128::from(window.center);
    let first = (middle - i128::from(window.behind))
        .max(0)
        .max(current + i128::from(i64::MIN));
    let last = (middle + i128::from(window.ahead))
        .min(i128::from(u64::MAX))
        .min(current + i128::from(i64::MAX));
    if first > last {
        return None;
    }
    Some((u64::try_from(first).ok()?, u64::try_from(last).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn totp(seed: &[u8], algorithm: Algorithm, digits: u8) -> Totp {
        Totp::new(
            Secret::from_bytes(seed.to_vec()).unwrap(),
            TotpParams {
                algorithm,
                digits,
                period: 30,
            },
        )
        .unwrap()
    }

    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: time, T, and the 8-digit TOTP for SHA1, SHA256, SHA512.
    const APPENDIX_B: [(u64, u64, [&str; 3]); 6] = [
        (59, 0x1, ["94287082", "46119246", "90693936"]),
        (1111111109, 0x23523EC, ["07081804", "68084774", "25091201"]),
        (1111111111, 0x23523ED, ["14050471", "67062674", "99943326"]),
        (1234567890, 0x273EF07, ["89005924", "91819424", "93441116"]),
        (2000000000, 0x3F940AA, ["69279037", "90698825", "38618901"]),
        (
            20000000000,
            0x27BC86AA,
            ["65353130", "77737706", "47863826"],
        ),
    ];

    fn rfc6238_tokens() -> [Totp; 3] {
        [
            totp(SEED_SHA1, Algorithm::Sha1, 8),
            totp(SEED_SHA256, Algorithm::Sha256, 8),
            totp(SEED_SHA512, Algorithm::Sha512, 8),
        ]
    }

    #[test]
    fn rfc6238_appendix_b() {
        let tokens = rfc6238_tokens();
        for (time, step, codes) in APPENDIX_B {
            for (token, code) in tokens.iter().zip(codes) {
                let alg = token.params().algorithm;
                assert_eq!(token.step_at(time), step, "T at {time}");
                assert_eq!(token.generate_at(time), code, "{alg} at {time}");
                assert_eq!(token.generate_for_step(step), code, "{alg} step {step}");
                assert_eq!(
                    token.verify(code, time, Window::default()),
                    Some(Match { step, offset: 0 }),
                    "{alg} at {time}"
                );
            }
        }
    }

    #[test]
    fn rfc6238_step_boundaries() {
        // 1111111109 and 1111111111 straddle a step boundary (1111111110 = 37037037 * 30).
        let [token, ..] = rfc6238_tokens();
        assert_eq!(token.step_at(1111111109) + 1, token.step_at(1111111110));
        assert_eq!(token.step_at(0), 0);
        assert_eq!(token.step_at(29), 0);
        assert_eq!(token.step_at(30), 1);
        assert_eq!(token.step_at(u64::MAX), u64::MAX / 30);
    }

    #[test]
    fn params_validation() {
        assert_eq!(TotpParams::default().validate(), Ok(()));
        let with = |digits, period| TotpParams {
            algorithm: Algorithm::Sha256,
            digits,
            period,
        };
        for digits in 6..=8 {
            assert_eq!(with(digits, 30).validate(), Ok(()));
        }
        assert_eq!(with(5, 30).validate(), Err(Error::InvalidDigits(5)));
        assert_eq!(with(9, 30).validate(), Err(Error::InvalidDigits(9)));
        assert_eq!(
            Error::InvalidDigits(9).to_string(),
            "digits must be 6 to 8, got 9"
        );
        assert_eq!(with(6, 1).validate(), Ok(()));
        assert_eq!(with(6, 300).validate(), Ok(()));
        assert_eq!(with(6, 0).validate(), Err(Error::InvalidPeriod(0)));
        assert_eq!(with(6, 301).validate(), Err(Error::InvalidPeriod(301)));
        assert_eq!(
            Error::InvalidPeriod(0).to_string(),
            "period must be 1 to 300 seconds, got 0"
        );
        let secret = Secret::from_bytes(SEED_SHA1.to_vec()).unwrap();
        assert_eq!(
            Totp::new(secret, with(10, 30)).unwrap_err(),
            Error::InvalidDigits(10)
        );
    }

    #[test]
    fn debug_hides_secret() {
        let token = totp(SEED_SHA1, Algorithm::Sha1, 6);
        let debug = format!("{token:?}");
        assert!(debug.contains("Secret(20 bytes)"), "{debug}");
        assert!(!debug.contains("1234"), "{debug}");
        assert!(!debug.contains(&token.secret().to_base32()), "{debug}");
    }

    #[test]
    fn window_defaults() {
        assert_eq!(
            Window::default(),
            Window {
                center: 0,
                behind: 1,
                ahead: 1
            }
        );
        assert_eq!(
            Window::symmetric(5),
            Window {
                center: 0,
                behind: 5,
                ahead: 5
            }
        );
    }

    #[test]
    fn verify_reports_offset() {
        let token = totp(SEED_SHA1, Algorithm::Sha1, 6);
        let now = 1_700_000_000;
        let current = token.step_at(now);
        let prev = token.generate_for_step(current - 1);
        let next = token.generate_for_step(current + 1);
        assert_eq!(
            token.verify(&prev, now, Window::default()),
            Some(Match {
                step: current - 1,
                offset: -1
            })
        );
        assert_eq!(
            token.verify(&next, now, Window::default()),
            Some(Match {
                step: current + 1,
                offset: 1
            })
        );
        // Only the current step.
        assert_eq!(token.verify(&prev, now, Window::symmetric(0)), None);
        // A learned drift of -1 moves the window so that current-2 becomes acceptable.
        let older = token.generate_for_step(current - 2);
        let drifted = Window {
            center: -1,
            behind: 1,
            ahead: 1,
        };
        assert_eq!(
            token.verify(&older, now, drifted),
            Some(Match {
                step: current - 2,
                offset: -2
            })
        );
        // Asymmetric: nothing ahead accepted.
        let behind_only = Window {
            center: 0,
            behind: 1,
            ahead: 0,
        };
        assert_eq!(token.verify(&next, now, behind_only), None);
    }

    #[test]
    fn malformed_codes_never_match() {
        let token = totp(SEED_SHA1, Algorithm::Sha1, 8);
        let good = token.generate_at(59);
        assert_eq!(good, "94287082");
        let wide = Window::symmetric(3);
        assert!(token.verify(&good, 59, wide).is_some());
        for bad in [
            "",
            "9428708",
            "942870820",
            "94287082 ",
            " 94287082",
            "9428 7082",
            "-4287082",
            "+4287082",
            "9428708a",
            "９4287082",
            "94287082\0",
        ] {
            assert_eq!(token.verify(bad, 59, wide), None, "{bad:?}");
        }
    }

    #[test]
    fn steps_below_zero_and_above_max_are_skipped() {
        let token = totp(SEED_SHA1, Algorithm::Sha1, 8);
        let code0 = token.generate_for_step(0);
        assert_eq!(
            token.verify(&code0, 0, Window::symmetric(5)),
            Some(Match { step: 0, offset: 0 })
        );
        // Window entirely below zero.
        let past = Window {
            center: -10,
            behind: 2,
            ahead: 2,
        };
        assert_eq!(token.verify(&code0, 0, past), None);
        assert_eq!(
            token.verify(&code0, 30 * 9, past),
            Some(Match {
                step: 0,
                offset: -9
            })
        );
        // Extreme centers and the top of the step range must not overflow.
        let p1 = Totp::new(
            Secret::from_bytes(SEED_SHA1.to_vec()).unwrap(),
            TotpParams {
                period: 1,
                ..TotpParams::default()
            },
        )
        .unwrap();
        let top = p1.generate_for_step(u64::MAX);
        assert_eq!(
            p1.verify(&top, u64::MAX, Window::symmetric(3)),
            Some(Match {
                step: u64::MAX,
                offset: 0
            })
        );
        for center in [i64::MIN, i64::MAX] {
            let w = Window {
                center,
                behind: 2,
                ahead: 2,
            };
            // Clipped to nothing or to a tiny range; must simply not panic.
            let _ = p1.verify("000000", 0, w);
            let _ = p1.verify("000000", u64::MAX, w);
        }
        assert_eq!(
            window_steps(
                0,
                Window {
                    center: i64::MAX,
                    behind: 0,
                    ahead: u32::MAX
                }
            ),
            Some((i64::MAX as u64, i64::MAX as u64))
        );
        assert_eq!(
            window_steps(
                u64::MAX,
                Window {
                    center: i64::MIN,
                    behind: u32::MAX,
                    ahead: 0
                }
            ),
            // u64::MAX + i64::MIN: an offset of exactly i64::MIN is still representable.
            Some((i64::MAX as u64, i64::MAX as u64))
        );
        assert_eq!(window_steps(5, Window::symmetric(10)), Some((0, 15)));
    }

    /// Reference for verify's tie-breaking: closest match, later step on equal distance.
    fn naive_verify(token: &Totp, code: &str, current: u64, first: u64, last: u64) -> Option<u64> {
        (first..=last)
            .filter(|&s| token.generate_for_step(s) == code)
            .min_by_key(|&s| (s.abs_diff(current), std::cmp::Reverse(s)))
    }

    #[test]
    fn several_matches_pick_closest_then_later() {
        // Find real 6-digit collisions instead of faking them: among 20 000 consecutive steps
        // the birthday bound gives ~200 colliding pairs.
        let token = totp(SEED_SHA1, Algorithm::Sha1, 6);
        let mut seen = std::collections::HashMap::new();
        let pair = (0..20_000u64).find_map(|step| {
            let code = token.generate_for_step(step);
            let earlier = seen.insert(code.clone(), step)?;
            ((step - earlier) % 2 == 0).then_some((earlier, step, code))
        });
        let (a, b, code) = pair.expect("no even-distance collision in 20 000 steps");
        let half = (b - a) / 2;
        let period = token.params().period;

        // Exactly between the two: a tie, so the later step wins.
        let mid = a + half;
        let got = token.verify(&code, mid * period, Window::symmetric(half as u32));
        let expected = naive_verify(&token, &code, mid, a, b);
        assert_eq!(expected, Some(b));
        assert_eq!(
            got,
            Some(Match {
                step: b,
                offset: half as i64
            })
        );

        // Current step at `a`: `a` itself is closest even though `b` is also in the window.
        let got = token.verify(&code, a * period, Window::symmetric((b - a) as u32));
        assert_eq!(got, Some(Match { step: a, offset: 0 }));

        // One step nearer to `a` than the middle: `a` wins.
        let got = token.verify(
            &code,
            (mid - 1) * period,
            Window::symmetric(half as u32 + 1),
        );
        assert_eq!(
            got.map(|m| m.step),
            naive_verify(&token, &code, mid - 1, 0, b + 1)
        );
        assert_eq!(got.map(|m| m.step), Some(a));
    }

    proptest! {
        #[test]
        fn default_window_accepts_adjacent_steps_only(
            seed in prop::collection::vec(any::<u8>(), 16..=64),
            alg in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
            digits in 6u8..=8,
            period in prop_oneof![Just(30u64), Just(60), 1u64..=300],
            now in 0u64..=u64::MAX / 2,
        ) {
            let token = Totp::new(
                Secret::from_bytes(seed).unwrap(),
                TotpParams { algorithm: alg, digits, period },
            ).unwrap();
            let current = token.step_at(now);
            for offset in -1i64..=1 {
                let Some(step) = current.checked_add_signed(offset) else { continue };
                let code = token.generate_for_step(step);
                let got = token.verify(&code, now, Window::default()).unwrap();
                // A collision with a closer step may legitimately win (closest wins).
                prop_assert!(got.offset.unsigned_abs() <= offset.unsigned_abs());
                prop_assert_eq!(token.generate_for_step(got.step), code.clone());
                if got.step != step {
                    prop_assert!(got.offset.unsigned_abs() < offset.unsigned_abs()
                        || (got.offset.unsigned_abs() == offset.unsigned_abs() && got.step > step));
                }
            }
            for offset in [-2i64, 2] {
                let Some(step) = current.checked_add_signed(offset) else { continue };
                let code = token.generate_for_step(step);
                let got = token.verify(&code, now, Window::default());
                // Rejected unless the far code happens to equal a code inside the window
                // (probability ~3e-6 with 6 digits); then the inside step must be reported.
                let expected = naive_verify(&token, &code, current, current.saturating_sub(1), current.saturating_add(1));
                prop_assert_eq!(got.map(|m| m.step), expected);
            }
        }
    }
}
