//! Interoperability: codes and Key URIs produced by an independent implementation (a few lines
//! of Python standard library: hmac, hashlib, struct, base64, urllib) must agree with ours.
//!
//! python3 is a hard requirement of this test (it is present on the build machines); a missing
//! interpreter fails the test loudly instead of silently skipping the only independent check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use twofold_otp::{Algorithm, KeyUri, Match, Secret, Totp, TotpParams, Window};

/// Runs `python3 -c script` with `input` on stdin and returns stdout.
fn python(script: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-I", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("python3 is required for the interoperability tests (not skipping): {err}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// RFC 6238 TOTP written independently with the Python standard library. Input lines:
/// `base32-secret algorithm digits period unix-time`; output: one code per line.
const PY_TOTP: &str = r#"
import base64, hashlib, hmac, struct, sys
for line in sys.stdin:
    b32, alg, digits, period, now = line.split()
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(now) // int(period)), getattr(hashlib, alg.lower())).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    print(str(value % 10 ** int(digits)).zfill(int(digits)))
"#;

/// Deterministic pseudo-random bytes (splitmix64), so failures are reproducible.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

#[test]
fn python_totp_codes_are_accepted() {
    let mut secrets = vec![
        b"12345678901234567890".to_vec(),
        b"12345678901234567890123456789012".to_vec(),
        b"1234567890123456789012345678901234567890123456789012345678901234".to_vec(),
        Secret::generate().unwrap().as_bytes().to_vec(),
    ];
    for (i, len) in [10, 16, 20, 26, 32, 64].into_iter().enumerate() {
        secrets.push(bytes(i as u64 + 1, len));
    }
    let algorithms = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
    let times = [
        0u64,
        59,
        1_111_111_109,
        1_234_567_890,
        1_700_000_000,
        u64::from(u32::MAX) + 1,
        20_000_000_000,
    ];

    let mut cases = Vec::new();
    for (s, secret) in secrets.iter().enumerate() {
        for (a, &algorithm) in algorithms.iter().enumerate() {
            let digits = 6 + ((s + a) % 3) as u8;
            let period = [30, 60, 1, 300][(s + 2 * a) % 4];
            for &now in &times {
                cases.push((secret.clone(), algorithm, digits, period, now));
            }
        }
    }
    let input: String = cases
        .iter()
        .map(|(secret, alg, digits, period, now)| {
            let b32 = Secret::from_bytes(secret.clone()).unwrap().to_base32();
            format!("{b32} {alg} {digits} {period} {now}\n")
        })
        .collect();
    let output = python(PY_TOTP, &input);
    let codes: Vec<&str> = output.lines().collect();
    assert_eq!(codes.len(), cases.len());

    for ((secret, algorithm, digits, period, now), code) in cases.into_iter().zip(codes) {
        let params = TotpParams {
            algorithm,
            digits,
            period,
        };
        let totp = Totp::new(Secret::from_bytes(secret).unwrap(), params).unwrap();
        let step = totp.step_at(now);
        let context = format!("{params:?} at {now}");
        assert_eq!(totp.generate_at(now), code, "{context}");
        assert_eq!(
            totp.verify(code, now, Window::default()),
            Some(Match { step, offset: 0 }),
            "{context}"
        );
        // The same code one step later (clock behind) is still accepted, at offset -1,
        // unless the new current step happens to share the code (closest match wins).
        let later = totp.verify(code, now + period, Window::default()).unwrap();
        assert!(
            later == Match { step, offset: -1 } || later.offset == 0,
            "{context}"
        );
        assert_eq!(
            totp.verify(code, now, Window::symmetric(0)).map(|m| m.step),
            Some(step)
        );
    }
}

/// Builds Key URIs the way a Python service would (urllib quote + urlencode, which writes
/// spaces as '+') and parses URIs we build with urllib. Fields are hex-encoded UTF-8 on
/// input and output so the exchange needs no escaping.
const PY_URI: &str = r#"
import sys
from urllib.parse import quote, urlencode, urlsplit, parse_qs, unquote
h = lambda s: s.encode().hex()
u = lambda s: bytes.fromhex(s).decode()
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "build":
        issuer, account, secret, alg, digits, period = map(u, args)
        label = quote(issuer) + ":" + quote(account)
        query = urlencode({"secret": secret, "issuer": issuer, "algorithm": alg, "digits": digits, "period": period})
        print(h("otpauth://totp/" + label + "?" + query))
    else:
        parts = urlsplit(u(args[0]))
        assert parts.scheme == "otpauth" and parts.netloc == "totp", parts
        issuer, account = unquote(parts.path[1:]).split(":", 1)
        q = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
        print(" ".join(h(x) for x in [issuer, account, q["secret"], q["issuer"], q["algorithm"], q["digits"], q["period"]]))
"#;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> String {
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn python_key_uris_round_trip() {
    let keys = [
        ("ACME Co", "john.doe@email.com", Algorithm::Sha1, 6, 30),
        (
            "Zürich Bank & Co.",
            "o'brien+test/dev@example.com",
            Algorithm::Sha256,
            8,
            60,
        ),
        (
            "Twofold",
            "José 😀 ?a=b&c=d%20 #x",
            Algorithm::Sha512,
            7,
            45,
        ),
        ("a/b ~_-.", "ends:with:colons:", Algorithm::Sha1, 6, 30),
    ];
    for (i, (issuer, account, algorithm, digits, period)) in keys.into_iter().enumerate() {
        let key = KeyUri {
            issuer: Some(issuer.to_owned()),
            account: account.to_owned(),
            secret: Secret::from_bytes(bytes(100 + i as u64, 20)).unwrap(),
            params: TotpParams {
                algorithm,
                digits,
                period,
            },
        };
        let fields = [
            issuer.to_owned(),
            account.to_owned(),
            key.secret.to_base32(),
            algorithm.to_string(),
            digits.to_string(),
            period.to_string(),
        ];

        // Python builds, we parse.
        let request = format!(
            "build {}\n",
            fields.iter().map(|f| hex(f)).collect::<Vec<_>>().join(" ")
        );
        let python_uri = unhex(python(PY_URI, &request).trim());
        let parsed = KeyUri::parse(&python_uri).unwrap();
        assert_eq!(parsed, key, "{python_uri}");

        // We build, Python parses.
        let ours = key.to_uri();
        let reply = python(PY_URI, &format!("parse {}\n", hex(&ours)));
        let got: Vec<String> = reply.split_whitespace().map(unhex).collect();
        assert_eq!(
            got,
            [
                issuer.to_owned(),
                account.to_owned(),
                fields[2].clone(),
                issuer.to_owned(),
                fields[3].clone(),
                fields[4].clone(),
                fields[5].clone()
            ],
            "{ours}"
        );
    }
}
