//! The shared secret `K` of RFC 4226 §5.1: generation, import, Base32 and memory hygiene.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::{Error, base32};

/// The shared secret `K` (RFC 4226 §5.1, RFC 6238 §3 R3): raw bytes used as the HMAC key.
///
/// The bytes are wiped from memory when the value is dropped, `Debug` shows only the length,
/// and equality is checked in constant time. There is deliberately no `Display`.
///
/// Length rules (RFC 4226 §4 R6 requires at least 128 bits and recommends 160):
/// * secrets we [`generate`](Secret::generate) are [`DEFAULT_LEN`](Secret::DEFAULT_LEN)
///   (160 bits) or at least [`MIN_GENERATED_LEN`](Secret::MIN_GENERATED_LEN) (128 bits);
/// * secrets we import ([`from_bytes`](Secret::from_bytes), [`from_base32`](Secret::from_base32))
///   may be as short as [`MIN_IMPORTED_LEN`](Secret::MIN_IMPORTED_LEN) (80 bits), because many
///   deployed issuers hand out 80-bit secrets (16 Base32 characters) and refusing them would
///   only make users fall back to a weaker second factor;
/// * nothing longer than [`MAX_LEN`](Secret::MAX_LEN) (512 bits, the size of the RFC 6238
///   SHA-512 seed) is accepted: longer keys add no security and only cost memory.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// 160 bits, the length RFC 4226 §4 R6 recommends and what authenticator apps expect.
    pub const DEFAULT_LEN: usize = 20;
    /// 128 bits, the minimum RFC 4226 §4 R6 requires; applies to generated secrets.
    pub const MIN_GENERATED_LEN: usize = 16;
    /// 80 bits, the minimum accepted for imported secrets (see the type docs for why).
    pub const MIN_IMPORTED_LEN: usize = 10;
    /// 512 bits, the maximum for any secret.
    pub const MAX_LEN: usize = 64;

    /// Generates a [`DEFAULT_LEN`](Self::DEFAULT_LEN)-byte secret from the OS CSPRNG.
    pub fn generate() -> Result<Secret, Error> {
        Self::generate_with_len(Self::DEFAULT_LEN)
    }

    /// Generates a `len`-byte secret from the OS CSPRNG (RFC 4226 §7.5 asks for a strong
    /// random source); `len` must be 16 to 64.
    pub fn generate_with_len(len: usize) -> Result<Secret, Error> {
        Self::generate_using(len, getrandom::getrandom)
    }

    /// [`generate_with_len`](Self::generate_with_len) with the random source injected, so that
    /// tests can exercise the failure path of the OS generator.
    fn generate_using(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<Secret, Error> {
        check_len(len, Self::MIN_GENERATED_LEN)?;
        let mut bytes = vec![0u8; len];
        match fill(&mut bytes) {
            Ok(()) => Ok(Secret(bytes)),
            Err(err) => {
                // A partially filled buffer may still hold random bytes; wipe it anyway.
                bytes.zeroize();
                Err(Error::Random(err.to_string()))
            }
        }
    }

    /// Wraps existing secret bytes (an imported secret); at least 10 and at most 64 bytes.
    ///
    /// On error the rejected bytes are wiped before they are dropped.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Secret, Error> {
        match check_len(bytes.len(), Self::MIN_IMPORTED_LEN) {
            Ok(()) => Ok(Secret(bytes)),
            Err(err) => {
                bytes.zeroize();
                Err(err)
            }
        }
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes in the secret.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: an empty secret cannot be constructed. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// RFC 4648 §6 Base32, upper-case, without padding: the form authenticator apps and the
    /// Key URI `secret` parameter use. The returned string is secret material.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.0)
    }

    /// Parses a Base32 secret as a user may have typed it: case-insensitive, ignoring
    /// whitespace, `-` and trailing `=`. Length rules are those of [`from_bytes`](Self::from_bytes).
    pub fn from_base32(s: &str) -> Result<Secret, Error> {
        Self::from_bytes(base32::decode(s)?)
    }
}

fn check_len(len: usize, min: usize) -> Result<(), Error> {
    if (min..=Secret::MAX_LEN).contains(&len) {
        Ok(())
    } else {
        Err(Error::InvalidSecretLength {
            len,
            min,
            max: Secret::MAX_LEN,
        })
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Zeroize for Vec wipes the whole capacity, not just the initialised length.
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material: Debug output ends up in logs and panic messages.
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        // Constant time so that comparing a guess against a stored secret leaks nothing.
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generate_uses_default_length_and_differs_each_time() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_eq!(a.len(), Secret::DEFAULT_LEN);
        assert_ne!(a, b, "two 160-bit random secrets should never collide");
    }

    #[test]
    fn generate_with_len_enforces_rfc4226_minimum() {
        assert_eq!(Secret::generate_with_len(16).unwrap().len(), 16);
        assert_eq!(Secret::generate_with_len(64).unwrap().len(), 64);
        let too_short = Error::InvalidSecretLength {
            len: 15,
            min: 16,
            max: 64,
        };
        assert_eq!(Secret::generate_with_len(15).unwrap_err(), too_short);
        assert_eq!(
            Secret::generate_with_len(65).unwrap_err(),
            Error::InvalidSecretLength {
                len: 65,
                min: 16,
                max: 64
            }
        );
        assert_eq!(
            too_short.to_string(),
            "secret must be 16 to 64 bytes, got 15"
        );
    }

    #[test]
    fn rng_failure_is_reported() {
        let err = Secret::generate_using(20, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert!(matches!(err, Error::Random(_)));
        assert!(
            err.to_string()
                .starts_with("could not generate a secret: the OS random number generator failed"),
            "{err}"
        );
    }

    #[test]
    fn from_bytes_accepts_80_bit_imports() {
        assert_eq!(Secret::from_bytes(vec![7; 10]).unwrap().as_bytes(), [7; 10]);
        assert_eq!(
            Secret::from_bytes(vec![7; 9]).unwrap_err(),
            Error::InvalidSecretLength {
                len: 9,
                min: 10,
                max: 64
            }
        );
        assert!(Secret::from_bytes(Vec::new()).is_err());
        assert!(Secret::from_bytes(vec![0; 65]).is_err());
    }

    #[test]
    fn debug_does_not_show_bytes() {
        let secret = Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(20 bytes)");
        assert_eq!(format!("{secret:#?}"), "Secret(20 bytes)");
    }

    #[test]
    fn base32_of_rfc_seed() {
        let secret = Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            Secret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(),
            secret
        );
    }

    #[test]
    fn from_base32_applies_import_length_rule() {
        // 16 characters = 80 bits, the classic Google Authenticator example secret.
        assert_eq!(Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap().len(), 10);
        assert_eq!(
            Secret::from_base32("MZXW6YTBOI").unwrap_err(),
            Error::InvalidSecretLength {
                len: 6,
                min: 10,
                max: 64
            }
        );
        assert_eq!(
            Secret::from_base32("").unwrap_err(),
            Error::InvalidSecretLength {
                len: 0,
                min: 10,
                max: 64
            }
        );
    }

    /// Inserts a space or '-' before the characters whose index is in `at`.
    fn sprinkle(text: &str, at: &[usize]) -> String {
        let mut out = String::new();
        for (i, ch) in text.chars().enumerate() {
            if at.contains(&i) {
                out.push(if i % 2 == 0 { ' ' } else { '-' });
            }
            out.push(ch);
        }
        out
    }

    proptest! {
        #[test]
        fn base32_round_trip(
            bytes in prop::collection::vec(any::<u8>(), Secret::MIN_IMPORTED_LEN..=Secret::MAX_LEN),
            at in prop::collection::vec(0usize..110, 0..12),
        ) {
            let secret = Secret::from_bytes(bytes.clone()).unwrap();
            let text = secret.to_base32();
            prop_assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
            prop_assert_eq!(Secret::from_base32(&text).unwrap().as_bytes().to_vec(), bytes.clone());
            prop_assert_eq!(Secret::from_base32(&text.to_lowercase()).unwrap().as_bytes().to_vec(), bytes.clone());
            let spaced = sprinkle(&text, &at);
            prop_assert_eq!(Secret::from_base32(&spaced).unwrap().as_bytes().to_vec(), bytes.clone());
            prop_assert_eq!(Secret::from_base32(&spaced.to_lowercase()).unwrap().as_bytes().to_vec(), bytes.clone());
            // Padded form as produced by padding encoders (e.g. Python's base64.b32encode).
            let padded = data_encoding::BASE32.encode(&bytes);
            prop_assert_eq!(Secret::from_base32(&padded).unwrap().as_bytes().to_vec(), bytes.clone());
        }
    }
}
