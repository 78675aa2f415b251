//! Base32 secrets (`Secret::from_base32` / `to_base32`) in both directions.
//!
//! Decoding the input as text (invalid UTF-8 replaced), checked on every input:
//! * `from_base32` never panics;
//! * a decoded secret has an importable length (10 to 64 bytes), and its `to_base32` is the
//!   input's canonical spelling: the input with whitespace and `-` removed, upper-cased and
//!   without trailing `=`. That is the "each secret has exactly one spelling" rule; it also
//!   means re-encoding and decoding again gives the same bytes, which is asserted as well;
//! * each error describes the input truthfully: the reported bad character is at the reported
//!   position, an impossible length is one of the lengths Base32 cannot produce, a length
//!   error names the decoded length, and so on.
//!
//! Encoding the input as raw bytes: every byte string of an accepted length (the first 64
//! bytes when longer) encodes to canonical Base32 that decodes to the same bytes, also when
//! written in lower case and grouped as authenticator apps show it; other lengths are refused
//! by `from_bytes` with an error naming the length.
//!
//! A broken property panics, which is how a fuzz target reports it (libFuzzer saves the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twofold_otp::{Error, Secret};

fuzz_target!(|data: &[u8]| {
    decode_text(&String::from_utf8_lossy(data));
    encode_bytes(data);
});

fn is_base32_symbol(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

/// What a person typed, reduced to what matters: no whitespace or `-`, upper case, no
/// trailing `=` (exactly as documented on `Secret::from_base32`).
fn canonical(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| !(c.is_ascii_whitespace() || *c == '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    kept.trim_end_matches('=').to_owned()
}

fn decode_text(text: &str) {
    let canonical = canonical(text);
    match Secret::from_base32(text) {
        Ok(secret) => {
            assert!(
                (Secret::MIN_IMPORTED_LEN..=Secret::MAX_LEN).contains(&secret.len()),
                "accepted a {}-byte secret",
                secret.len()
            );
            let encoded = secret.to_base32();
            assert_eq!(
                encoded, canonical,
                "a second spelling of the same secret was accepted"
            );
            let again = Secret::from_base32(&encoded).expect("own encoding must decode");
            assert_eq!(again.as_bytes(), secret.as_bytes());
        }
        Err(Error::InvalidBase32Char { ch, position }) => {
            assert!(position >= 1, "positions are 1-based");
            assert_eq!(
                text.chars().nth(position - 1),
                Some(ch),
                "reported {ch:?} at {position} in {text:?}"
            );
            assert!(!(ch.is_ascii() && is_base32_symbol(ch.to_ascii_uppercase() as u8)));
            assert!(!ch.is_ascii_whitespace() && ch != '-');
        }
        Err(Error::InvalidBase32Length { len }) => {
            assert_eq!(len, canonical.len());
            assert!(canonical.bytes().all(is_base32_symbol));
            assert!(
                matches!(len % 8, 1 | 3 | 6),
                "length {len} can be decoded, yet was refused"
            );
        }
        Err(Error::InvalidBase32TrailingBits) => {
            assert!(canonical.bytes().all(is_base32_symbol));
            assert!(!matches!(canonical.len() % 8, 0 | 1 | 3 | 6));
        }
        Err(Error::InvalidSecretLength { len, min, max }) => {
            assert_eq!((min, max), (Secret::MIN_IMPORTED_LEN, Secret::MAX_LEN));
            assert!(!(min..=max).contains(&len));
            assert_eq!(
                len,
                canonical.len() * 5 / 8,
                "wrong decoded length reported"
            );
        }
        Err(other) => panic!("unexpected error kind for Base32 input: {other:?}"),
    }
}

fn encode_bytes(data: &[u8]) {
    let bytes = &data[..data.len().min(Secret::MAX_LEN)];
    let secret = match Secret::from_bytes(bytes.to_vec()) {
        Ok(secret) => secret,
        Err(err) => {
            assert!(bytes.len() < Secret::MIN_IMPORTED_LEN, "refused {bytes:?}");
            assert_eq!(
                err,
                Error::InvalidSecretLength {
                    len: bytes.len(),
                    min: Secret::MIN_IMPORTED_LEN,
                    max: Secret::MAX_LEN,
                }
            );
            return;
        }
    };
    let encoded = secret.to_base32();
    assert_eq!(
        encoded.len(),
        (bytes.len() * 8).div_ceil(5),
        "padded or short"
    );
    assert!(encoded.bytes().all(is_base32_symbol), "{encoded}");
    let decoded = Secret::from_base32(&encoded).expect("own encoding must decode");
    assert_eq!(decoded.as_bytes(), bytes);

    // As an app shows it: lower case, groups of four separated by spaces and dashes.
    let grouped: String = encoded
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(4)
        .enumerate()
        .map(|(i, group)| {
            let sep = if i % 2 == 0 { " " } else { "-" };
            format!("{}{sep}", String::from_utf8_lossy(group))
        })
        .collect();
    let decoded = Secret::from_base32(&grouped).expect("grouped lower case must decode");
    assert_eq!(decoded.as_bytes(), bytes);
}
