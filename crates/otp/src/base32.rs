//! Base32 (RFC 4648 §6) as authenticator apps use it: upper-case, no padding, forgiving input.
//!
//! Encoding is delegated to `data-encoding`'s `BASE32_NOPAD`; this module only adds the
//! normalisation that humans need when they type or paste a secret, and user-facing errors.

use data_encoding::{BASE32_NOPAD, DecodeKind};
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// Encodes `bytes` with the RFC 4648 §6 alphabet, upper-case, without `=` padding
/// (authenticator apps and the Key URI format expect it unpadded).
pub(crate) fn encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Decodes a Base32 secret as a person might have typed it.
///
/// Accepted leniently, because these are presentation details and not part of the secret:
/// lower case, ASCII whitespace and `-` anywhere (apps show secrets in groups of four),
/// and trailing `=` padding. Rejected strictly: any other character, an impossible length,
/// and non-zero unused bits in the last character. Being strict there means each secret
/// has exactly one canonical spelling, so a mistyped secret fails here instead of silently
/// producing wrong codes later.
pub(crate) fn decode(input: &str) -> Result<Vec<u8>, Error> {
    // The normalised copy is as sensitive as the secret itself, hence Zeroizing.
    let mut normalised = Zeroizing::new(Vec::with_capacity(input.len()));
    // 1-based character positions of the kept characters, for error messages only.
    let mut positions = Vec::with_capacity(input.len());
    for (index, ch) in input.chars().enumerate() {
        if ch.is_ascii_whitespace() || ch == '-' {
            continue;
        }
        // Non-ASCII is pushed as a marker so that it is reported with its position below.
        normalised.push(if ch.is_ascii() {
            ch.to_ascii_uppercase() as u8
        } else {
            0
        });
        positions.push((index + 1, ch));
    }
    while normalised.last() == Some(&b'=') {
        normalised.pop();
        positions.pop();
    }
    if let Some(bad) = normalised
        .iter()
        .position(|&b| !(b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
    {
        let (position, ch) = positions.get(bad).copied().unwrap_or((bad + 1, '?'));
        return Err(Error::InvalidBase32Char { ch, position });
    }

    let len = normalised.len();
    let length_error = Error::InvalidBase32Length { len };
    let out_len = BASE32_NOPAD
        .decode_len(len)
        .map_err(|_| length_error.clone())?;
    let mut out = vec![0u8; out_len];
    match BASE32_NOPAD.decode_mut(&normalised, &mut out) {
        Ok(written) => {
            out.truncate(written);
            Ok(out)
        }
        Err(partial) => {
            out.zeroize();
            Err(match partial.error.kind {
                DecodeKind::Trailing => Error::InvalidBase32TrailingBits,
                // Symbols were checked above and padding was stripped, so only a length
                // problem can remain; report it as such rather than inventing a message.
                _ => length_error,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_section_10_vectors() {
        // RFC 4648 §10, with padding removed because we encode without it.
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (bytes, text) in cases {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).unwrap(), bytes);
        }
    }

    #[test]
    fn decode_is_forgiving_about_presentation() {
        let expected = decode("MZXW6YTBOI").unwrap();
        for variant in [
            "mzxw6ytboi",
            "MZXW 6YTB OI",
            "mzxw-6ytb-oi",
            "MZXW6YTBOI======",
            " MZXW6YTBOI\n",
            "\tmZxW 6yTb-Oi==",
        ] {
            assert_eq!(decode(variant).unwrap(), expected, "{variant:?}");
        }
    }

    #[test]
    fn invalid_characters_are_reported_with_their_position() {
        assert_eq!(
            decode("MZXW1YTB"),
            Err(Error::InvalidBase32Char {
                ch: '1',
                position: 5
            })
        );
        // Position counts the characters the user typed, including ignored ones.
        assert_eq!(
            decode("MZ XW 8Y"),
            Err(Error::InvalidBase32Char {
                ch: '8',
                position: 7
            })
        );
        // '=' is only padding at the end.
        assert_eq!(
            decode("MZ=XW6"),
            Err(Error::InvalidBase32Char {
                ch: '=',
                position: 3
            })
        );
        assert_eq!(
            decode("MZXWé"),
            Err(Error::InvalidBase32Char {
                ch: 'é',
                position: 5
            })
        );
        assert_eq!(
            decode("0"),
            Err(Error::InvalidBase32Char {
                ch: '0',
                position: 1
            })
        );
    }

    #[test]
    fn impossible_lengths_are_rejected() {
        for (text, len) in [("M", 1), ("MZX", 3), ("MZXW6Y", 6), ("MZXW6YTBO", 9)] {
            assert_eq!(
                decode(text),
                Err(Error::InvalidBase32Length { len }),
                "{text}"
            );
        }
    }

    #[test]
    fn non_zero_trailing_bits_are_rejected() {
        // "MY" is 'f'; "MZ" sets one of the four unused bits.
        assert_eq!(decode("MZ"), Err(Error::InvalidBase32TrailingBits));
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            decode("AB1").unwrap_err().to_string(),
            "invalid Base32 in secret: character '1' at position 3 is not one of A-Z or 2-7"
        );
        assert_eq!(
            decode("ABC").unwrap_err().to_string(),
            "invalid Base32 in secret: 3 characters cannot encode whole bytes (is a character missing?)"
        );
    }
}
