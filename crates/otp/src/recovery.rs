//! Recovery codes: the one-use codes a user keeps on paper for when their authenticator
//! is lost. Each is 10 symbols of Crockford's Base32 (50 random bits), shown in two
//! groups of five (`7k3mq-x9d2f`) so it can be read aloud and typed back.
//!
//! Typing is forgiven the way Crockford intends: any case, spaces and hyphens anywhere,
//! `i`/`l` read as `1` and `o` as `0`. [`RecoveryCode::parse`] turns what was typed into
//! the canonical form, which is what gets hashed and compared.

use std::fmt;

use crate::Error;

/// Crockford's Base32 alphabet: no `i`, `l`, `o` or `u`, so nothing reads as something else.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Symbols per code: 10 × 5 bits = 50 bits.
pub const SYMBOLS: usize = 10;

/// A recovery code in canonical form (`xxxxx-xxxxx`, lower case).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// A new code from the operating system's CSPRNG.
    pub fn generate() -> Result<RecoveryCode, Error> {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self::from_random(u64::from_le_bytes(bytes)))
    }

    /// The code whose 50 bits are the low bits of `random`.
    pub fn from_random(random: u64) -> RecoveryCode {
        let mut out = String::with_capacity(SYMBOLS + 1);
        for i in 0..SYMBOLS {
            if i == SYMBOLS / 2 {
                out.push('-');
            }
            let shift = 5 * (SYMBOLS - 1 - i);
            // Masked to 5 bits: always an index into the 32-symbol alphabet.
            let index = usize::try_from((random >> shift) & 31).unwrap_or(0);
            out.push(char::from(ALPHABET[index]));
        }
        RecoveryCode(out)
    }

    /// Reads a code as typed. Anything that is not 10 symbols once spaces and hyphens are
    /// dropped is [`Error::InvalidRecoveryCode`].
    pub fn parse(typed: &str) -> Result<RecoveryCode, Error> {
        let mut symbols = Vec::with_capacity(SYMBOLS);
        for c in typed.chars() {
            let c = match c.to_ascii_lowercase() {
                ' ' | '-' => continue,
                'i' | 'l' => '1',
                'o' => '0',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || symbols.len() == SYMBOLS {
                return Err(Error::InvalidRecoveryCode);
            }
            symbols.push(c);
        }
        if symbols.len() != SYMBOLS {
            return Err(Error::InvalidRecoveryCode);
        }
        let (a, b) = symbols.split_at(SYMBOLS / 2);
        Ok(RecoveryCode(format!(
            "{}-{}",
            a.iter().collect::<String>(),
            b.iter().collect::<String>()
        )))
    }

    /// The canonical form, `xxxxx-xxxxx`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed by accident: the code is a credential.
impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_groups_of_five_symbols_from_fifty_bits() {
        assert_eq!(RecoveryCode::from_random(0).as_str(), "00000-00000");
        assert_eq!(
            RecoveryCode::from_random((1 << 50) - 1).as_str(),
            "zzzzz-zzzzz"
        );
        // Bits above the 50th are not used.
        assert_eq!(
            RecoveryCode::from_random(u64::MAX).as_str(),
            RecoveryCode::from_random((1 << 50) - 1).as_str()
        );
        assert_eq!(RecoveryCode::from_random(32 + 1).as_str(), "00000-00011");
    }

    #[test]
    fn generated_codes_differ_and_parse_back() {
        let a = RecoveryCode::generate().unwrap();
        let b = RecoveryCode::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(RecoveryCode::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn typing_is_forgiven_as_crockford_intends() {
        let want = RecoveryCode::parse("1k3mq-x9d20").unwrap();
        for typed in [
            "1K3MQ-X9D20",
            "1k3mqx9d20",
            " 1k3 mq x9d2 0 ",
            "lk3mq-x9d2o",
            "Ik3mq-x9d2O",
        ] {
            assert_eq!(RecoveryCode::parse(typed).unwrap(), want, "{typed}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "1k3mq",
            "1k3mq-x9d20a",
            "1k3mq-x9d2u",
            "1k3mq_x9d20",
            "1k3mq-x9d2é",
            "123456",
        ] {
            assert_eq!(
                RecoveryCode::parse(bad),
                Err(Error::InvalidRecoveryCode),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_code() {
        let c = RecoveryCode::from_random(12345);
        assert!(!format!("{c:?}").contains(c.as_str()));
    }
}
