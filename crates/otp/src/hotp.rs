//! HOTP (RFC 4226): the HMAC-based one-time password that TOTP is built on.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::Error;

/// The HMAC hash function: SHA-1 per RFC 4226 §5.1, SHA-256/SHA-512 per RFC 6238 §1.2.
///
/// Displays and parses as `SHA1`, `SHA256`, `SHA512` (the spelling of the Key URI
/// `algorithm` parameter); parsing ignores case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-1, the default and the only one every authenticator app supports.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The canonical name: `SHA1`, `SHA256` or `SHA512`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownAlgorithm(s.to_owned()))
    }
}

/// An HMAC already keyed with the secret.
///
/// Keying costs two hash compressions (RFC 2104 inner and outer pad); cloning the keyed state
/// per counter lets TOTP verification pay that once per call instead of once per window step.
#[derive(Clone)]
pub(crate) enum KeyedHmac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl KeyedHmac {
    /// `None` cannot actually happen (HMAC accepts keys of any length, RFC 2104 §2), but the
    /// `hmac` API is fallible and this crate does not panic, so callers fail closed instead.
    pub(crate) fn new(key: &[u8], algorithm: Algorithm) -> Option<Self> {
        Some(match algorithm {
            Algorithm::Sha1 => KeyedHmac::Sha1(<Hmac<Sha1> as Mac>::new_from_slice(key).ok()?),
            Algorithm::Sha256 => {
                KeyedHmac::Sha256(<Hmac<Sha256> as Mac>::new_from_slice(key).ok()?)
            }
            Algorithm::Sha512 => {
                KeyedHmac::Sha512(<Hmac<Sha512> as Mac>::new_from_slice(key).ok()?)
            }
        })
    }

    /// RFC 4226 §5.3 steps 1 and 2: `Snum = StToNum(DT(HMAC(K, C)))`, the 31-bit value
    /// before reduction modulo `10^Digit`. The counter is hashed as 8 big-endian bytes (§5.2).
    pub(crate) fn truncated(&self, counter: u64) -> Option<u32> {
        let message = counter.to_be_bytes();
        match self {
            KeyedHmac::Sha1(mac) => {
                dynamic_truncation(&mac.clone().chain_update(message).finalize().into_bytes())
            }
            KeyedHmac::Sha256(mac) => {
                dynamic_truncation(&mac.clone().chain_update(message).finalize().into_bytes())
            }
            KeyedHmac::Sha512(mac) => {
                dynamic_truncation(&mac.clone().chain_update(message).finalize().into_bytes())
            }
        }
    }
}

/// RFC 4226 §5.3 `DT`: the low 4 bits of the last byte select a 4-byte window, of which the
/// top bit is masked off so the result is the same whether read as signed or unsigned.
/// RFC 6238 §1.2 applies the same offset rule to the longer SHA-256/512 outputs.
fn dynamic_truncation(hs: &[u8]) -> Option<u32> {
    let offset = usize::from(hs.last()? & 0x0f);
    let window: [u8; 4] = hs.get(offset..offset + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(window) & 0x7fff_ffff)
}

/// Writes `value mod 10^out.len()` into `out` as zero-padded ASCII decimal (RFC 4226 §5.3
/// step 3 plus the left padding its reference code does). Always loops over every digit so
/// the time taken does not depend on the value.
pub(crate) fn write_decimal(mut value: u32, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// HOTP value for `counter` (RFC 4226 §5.3, dynamic truncation), as a string of exactly
/// `digits` decimal digits, zero-padded on the left.
///
/// `digits` is not validated here (this function cannot fail); use
/// [`TotpParams::validate`](crate::TotpParams::validate) for the 6..=8 rule. For any other
/// value the result is still well defined: the low `digits` decimal digits of the 31-bit
/// truncated value.
pub fn hotp(secret: &[u8], counter: u64, algorithm: Algorithm, digits: u8) -> String {
    let mut code = vec![b'0'; usize::from(digits)];
    match KeyedHmac::new(secret, algorithm).and_then(|mac| mac.truncated(counter)) {
        Some(value) => {
            write_decimal(value, &mut code);
            code.into_iter().map(char::from).collect()
        }
        // Unreachable in practice (see KeyedHmac::new). An empty code can never equal a
        // submitted code of the configured length, so failing this way cannot let anyone in.
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 4226 Appendix D: count, HMAC-SHA-1(secret, count), truncated value (hex and
    /// decimal), and the 6-digit HOTP.
    const APPENDIX_D: [(u64, &str, u32, u32, &str); 10] = [
        (
            0,
            "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
            0x4c93cf18,
            1284755224,
            "755224",
        ),
        (
            1,
            "75a48a19d4cbe100644e8ac1397eea747a2d33ab",
            0x41397eea,
            1094287082,
            "287082",
        ),
        (
            2,
            "0bacb7fa082fef30782211938bc1c5e70416ff44",
            0x082fef30,
            137359152,
            "359152",
        ),
        (
            3,
            "66c28227d03a2d5529262ff016a1e6ef76557ece",
            0x66ef7655,
            1726969429,
            "969429",
        ),
        (
            4,
            "a904c900a64b35909874b33e61c5938a8e15ed1c",
            0x61c5938a,
            1640338314,
            "338314",
        ),
        (
            5,
            "a37e783d7b7233c083d4f62926c7a25f238d0316",
            0x33c083d4,
            868254676,
            "254676",
        ),
        (
            6,
            "bc9cd28561042c83f219324d3c607256c03272ae",
            0x7256c032,
            1918287922,
            "287922",
        ),
        (
            7,
            "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
            0x04e5b397,
            82162583,
            "162583",
        ),
        (
            8,
            "1b3c89f65e6c9e883012052823443f048b4332db",
            0x2823443f,
            673399871,
            "399871",
        ),
        (
            9,
            "1637409809a679dc698207310c8c7fc07290d9e5",
            0x2679dc69,
            645520489,
            "520489",
        ),
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc4226_appendix_d_intermediate_hmac() {
        for (count, hmac_hex, _, _, _) in APPENDIX_D {
            let mac = <Hmac<Sha1> as Mac>::new_from_slice(RFC4226_SECRET)
                .unwrap()
                .chain_update(count.to_be_bytes())
                .finalize()
                .into_bytes();
            assert_eq!(hex(&mac), hmac_hex, "count {count}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_truncated_values() {
        let mac = KeyedHmac::new(RFC4226_SECRET, Algorithm::Sha1).unwrap();
        for (count, _, truncated_hex, truncated_dec, _) in APPENDIX_D {
            assert_eq!(
                truncated_hex, truncated_dec,
                "table self-check, count {count}"
            );
            assert_eq!(mac.truncated(count), Some(truncated_dec), "count {count}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp() {
        for (count, _, _, _, code) in APPENDIX_D {
            assert_eq!(
                hotp(RFC4226_SECRET, count, Algorithm::Sha1, 6),
                code,
                "count {count}"
            );
        }
    }

    #[test]
    fn rfc4226_section_5_4_example() {
        // §5.4: HMAC ending in 0x5a selects offset 10, giving 0x50ef7f19 = 1357872921.
        let hs = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(dynamic_truncation(&hs), Some(0x50ef_7f19));
        assert_eq!(0x50ef_7f19_u32, 1_357_872_921);
        let mut code = [0u8; 6];
        write_decimal(1_357_872_921, &mut code);
        assert_eq!(&code, b"872921");
    }

    #[test]
    fn truncation_masks_the_sign_bit() {
        let mut hs = [0xffu8; 20];
        hs[19] = 0x00; // offset 0
        assert_eq!(dynamic_truncation(&hs), Some(0x7fff_ffff));
        assert_eq!(dynamic_truncation(&[]), None);
        assert_eq!(dynamic_truncation(&[0x0f; 4]), None, "offset past the end");
    }

    #[test]
    fn codes_are_zero_padded() {
        // Count 7 truncates to 82162583: 8 digits are "82162583", 6 are "162583".
        assert_eq!(hotp(RFC4226_SECRET, 7, Algorithm::Sha1, 8), "82162583");
        // Count 2 truncates to 137359152; with 10 digits the result is left-padded.
        assert_eq!(hotp(RFC4226_SECRET, 2, Algorithm::Sha1, 10), "0137359152");
        let mut out = [0u8; 8];
        write_decimal(42, &mut out);
        assert_eq!(&out, b"00000042");
    }

    #[test]
    fn out_of_range_digits_do_not_panic() {
        assert_eq!(hotp(RFC4226_SECRET, 0, Algorithm::Sha1, 0), "");
        assert_eq!(hotp(RFC4226_SECRET, 0, Algorithm::Sha1, 1), "4");
        let long = hotp(RFC4226_SECRET, 0, Algorithm::Sha512, u8::MAX);
        assert_eq!(long.len(), 255);
        assert!(long.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn any_key_length_works() {
        // HMAC hashes over-long keys and pads short ones (RFC 2104 §2); neither may fail.
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(hotp(&[], 1, alg, 6).len(), 6);
            assert_eq!(hotp(&[0xab; 300], 1, alg, 6).len(), 6);
        }
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::default(), Algorithm::Sha1);
        for (alg, name) in [
            (Algorithm::Sha1, "SHA1"),
            (Algorithm::Sha256, "SHA256"),
            (Algorithm::Sha512, "SHA512"),
        ] {
            assert_eq!(alg.to_string(), name);
            assert_eq!(name.parse::<Algorithm>().unwrap(), alg);
            assert_eq!(name.to_lowercase().parse::<Algorithm>().unwrap(), alg);
        }
        assert_eq!("Sha256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
    }

    #[test]
    fn unknown_algorithm() {
        let err = "MD5".parse::<Algorithm>().unwrap_err();
        assert_eq!(err, Error::UnknownAlgorithm("MD5".into()));
        assert_eq!(
            err.to_string(),
            "unknown algorithm \"MD5\": expected SHA1, SHA256 or SHA512"
        );
        assert!("SHA-1".parse::<Algorithm>().is_err());
        assert!("".parse::<Algorithm>().is_err());
    }
}
