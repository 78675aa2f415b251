//! `KeyUri::parse` on arbitrary text (the input bytes, invalid UTF-8 replaced).
//!
//! Properties checked on every input:
//! * parsing never panics, and an error's user-facing message can always be built;
//! * whatever parses passes `validate`, and `to_uri` prints it as plain ASCII without spaces;
//! * that URI parses back to an equal value (every field, the secret included), and printing
//!   the result again gives the same URI: `to_uri` is the canonical form and a fixed point;
//! * the parsed parameters make a working TOTP: codes have `digits` ASCII digits and the code
//!   generated for a time verifies at that time with offset 0, including at the extremes of
//!   the clock.
//!
//! A broken property panics, which is how a fuzz target reports it (libFuzzer saves the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twofold_otp::{KeyUri, Totp, Window};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = match KeyUri::parse(&text) {
        Ok(key) => key,
        Err(err) => {
            // Shown to users as is; building it must not panic either.
            let _ = err.to_string();
            return;
        }
    };

    assert_eq!(key.validate(), Ok(()), "parse accepted an invalid key");
    let uri = key.to_uri();
    assert!(uri.is_ascii(), "to_uri is not ASCII: {uri}");
    assert!(!uri.contains(' '), "to_uri contains a space: {uri}");

    let again = match KeyUri::parse(&uri) {
        Ok(again) => again,
        Err(err) => panic!("to_uri output does not parse: {err}\ninput: {text:?}\nuri: {uri}"),
    };
    // Field by field first, so that a failure says which one differs.
    assert_eq!(again.issuer, key.issuer, "issuer changed; uri: {uri}");
    assert_eq!(again.account, key.account, "account changed; uri: {uri}");
    assert!(again.secret == key.secret, "secret changed; uri: {uri}");
    assert_eq!(again.params, key.params, "params changed; uri: {uri}");
    assert_eq!(again, key);
    assert_eq!(again.to_uri(), uri, "to_uri is not a fixed point");

    // The Debug form (used in logs) never shows the secret, only its length.
    let debug = format!("{key:?}");
    let shown = format!("Secret({} bytes)", key.secret.len());
    assert!(
        debug.contains(&shown),
        "Debug does not hide the secret: {debug}"
    );

    let totp = Totp::new(key.secret.clone(), key.params).expect("validated params");
    let folded = data
        .iter()
        .fold(0u64, |acc, &b| acc.rotate_left(8) ^ u64::from(b));
    for now in [0, 1_700_000_000, folded, u64::MAX] {
        let code = totp.generate_at(now);
        assert_eq!(code.len(), usize::from(key.params.digits), "code {code:?}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "code {code:?}");
        let hit = totp
            .verify(&code, now, Window::default())
            .expect("a fresh code must verify");
        assert_eq!(hit.offset, 0);
        assert_eq!(hit.step, totp.step_at(now));
    }
});
